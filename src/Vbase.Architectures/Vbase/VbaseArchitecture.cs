using System.Buffers.Binary;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Abi;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.P2m;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Calls;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;

namespace Vbase.Architectures.Vbase;

/// <summary>
/// The paper's architecture (Algorithm 1). On <c>vbase_op(enter)</c> the hypervisor translates each GFN to its
/// MFN, makes it <c>ram_ro</c> in the p2m (Listing 5), encrypts the frame in DRAM with a key only this plug-in
/// holds, and sends VIRQ_VBASE to Dom0 (Listing 6). Afterwards the owning process — its vCPU, its address space,
/// in U-mode, between enter and exit — reads plaintext; every other accessor reads ciphertext; every write to a
/// protected frame, the owner's included, is dropped and reported (the paper's stand-in for integrity checking).
/// </summary>
/// <remarks>
/// Encryption: AES-128 in counter mode, seed = (physical address of the 16-byte block, region id), so frames and
/// re-registrations never share keystream. The key derives from the run's seed, so runs are reproducible.
/// </remarks>
[Architecture("vbase", "the paper's: encrypted, read-only pages; plaintext only to the registering process in secure mode",
    Principal.Application)]
public sealed class VbaseArchitecture : SecureArchitectureBase, IDisposable
{
    private readonly AesCtr cipher;
    private readonly Dictionary<int, long> droppedWrites = [];

    public VbaseArchitecture(ArchitectureOptions options)
    {
        Span<byte> key = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(key, options.Seed ^ 0x5642_4153_455F_4B45UL);  // "VBASE_KE"
        BinaryPrimitives.WriteUInt64LittleEndian(key[8..], ~options.Seed * 0x9E37_79B9_7F4A_7C15UL);
        cipher = new AesCtr(key);
    }

    public override string Name => "vbase";

    protected override void OnAttached() => Host.ClaimVirq(Virq.Vbase);

    public override long OnVbaseOp(VbaseOpCall call) => call.Command switch
    {
        VbaseOpCommand.Enter => Enter(call),
        VbaseOpCommand.Exit => Exit(call),
        _ => Errno.ENOSYS,
    };

    /// <summary>Algorithm 1, steps 7–10.</summary>
    private long Enter(VbaseOpCall call)
    {
        long rc = FrameList.TryRead(call, out RegionRequest? request);
        if (rc < 0)
        {
            return rc;
        }
        foreach (Gfn gfn in request!.Gfns)
        {
            // Step 8: GFN -> MFN; only the caller's own writable RAM can be protected.
            if (Host.Translate(call.Caller, gfn).Type != P2mType.RamRw)
            {
                return Errno.EINVAL;
            }
        }
        // The region (and its golden shadow) is taken while DRAM still holds the plaintext.
        if (Host.Protect(request) is not ProtectedRegion region)
        {
            return Errno.EBUSY;
        }
        for (int i = 0; i < region.Gfns.Count; i++)
        {
            Host.ChangeP2mType(call.Caller, region.Gfns[i], P2mType.RamRo);   // step 9 (Listing 5)
            Span<byte> frame = Host.Dram.Frame(region.Mfns[i]);
            cipher.Transform(frame, frame, region.Mfns[i].Value << PageSize.Shift, (ulong)region.Id);
            Host.NotifyDramWritten(region.Mfns[i]);
        }
        droppedWrites[region.Id] = 0;
        Host.Record("vbase.encrypted", call.Caller, call.VcpuId,
            $"region={region.Id} frames={region.Mfns.Count} cipher=aes-128-ctr");
        Host.SendVirq(DomainId.Dom0, Virq.Vbase);                             // step 10 (Listing 6)
        return region.Id;
    }

    /// <summary>Releases the calling process's regions: plaintext back in DRAM, frames writable again.</summary>
    private long Exit(VbaseOpCall call)
    {
        IReadOnlyList<ProtectedRegion> mine = Host.RegionsOf(call.Caller, call.VcpuId, call.Satp);
        if (mine.Count == 0)
        {
            return Errno.ENOENT;
        }
        foreach (ProtectedRegion region in mine.ToList())
        {
            for (int i = 0; i < region.Gfns.Count; i++)
            {
                Span<byte> frame = Host.Dram.Frame(region.Mfns[i]);
                cipher.Transform(frame, frame, region.Mfns[i].Value << PageSize.Shift, (ulong)region.Id);
                Host.NotifyDramWritten(region.Mfns[i]);
                Host.ChangeP2mType(call.Caller, region.Gfns[i], P2mType.RamRw);
            }
            Host.Release(region);
        }
        return 0;
    }

    /// <summary>Plaintext for the owner in secure execution (and for inspection); ciphertext for everyone else.</summary>
    public override AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data)
    {
        if (access.Accessor != Accessor.Inspection)
        {
            protectedAccesses++;
        }
        if (!access.IsApplication && access.Accessor != Accessor.Inspection)
        {
            return AccessVerdict.Pass;
        }
        // CTR works on 16-byte blocks: decrypt the aligned window that covers the access.
        int start = access.Offset & ~(AesCtr.BlockBytes - 1);
        int end = (access.Offset + data.Length + AesCtr.BlockBytes - 1) & ~(AesCtr.BlockBytes - 1);
        Span<byte> window = stackalloc byte[end - start];
        ulong frameAddress = access.Mfn.Value << PageSize.Shift;
        Host.Dram.Frame(access.Mfn).Slice(start, end - start).CopyTo(window);
        cipher.Transform(window, window, frameAddress + (ulong)start, (ulong)access.Region.Id);
        window.Slice(access.Offset - start, data.Length).CopyTo(data);
        return AccessVerdict.Transformed;
    }

    /// <summary>Every write to a protected frame is dropped (the p2m says ram_ro; Dom0 and devices included).</summary>
    public override AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        protectedAccesses++;
        droppedWrites[access.Region.Id] = droppedWrites.GetValueOrDefault(access.Region.Id) + 1;
        return AccessVerdict.Dropped;
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region) =>
    [
        new("p2m", region.IsActive ? "ram_ro" : "ram_rw"),
        new("dram", region.IsActive ? "ciphertext (aes-128-ctr, seed = block address, region id)" : "plaintext"),
        new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
        new("writes_dropped", droppedWrites.GetValueOrDefault(region.Id).ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    /// <summary>No metadata: only the accesses it handled.</summary>
    public override MetadataTraffic Traffic => new(protectedAccesses, 0, 0, 0, 0);

    private long protectedAccesses;

    public void Dispose() => cipher.Dispose();
}
