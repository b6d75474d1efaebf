using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.P2m;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Lifecycle;
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
public sealed class VbaseArchitecture : RegionArchitectureBase, IDisposable
{
    private readonly AesCtr cipher;

    public VbaseArchitecture(ArchitectureOptions options)
    {
        Span<byte> key = stackalloc byte[16];
        SeedKeys.Derive(options.Seed, 0x5642_4153_455F_4B45UL /* "VBASE_KE" */, key);
        cipher = new AesCtr(key);
    }

    public override string Name => "vbase";

    /// <summary>Algorithm 1, steps 9–10 (steps 7–8, the translation and <c>Protect</c>, are the base class's).</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        ForEachFrame(region, (page, mfn, frame) =>
        {
            Host.ChangeP2mType(call.Caller, region.Gfns[page], P2mType.RamRo);   // step 9 (Listing 5)
            cipher.Transform(frame, frame, mfn.Value << PageSize.Shift, (ulong)region.Id);
        });
        Host.Record("vbase.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("frames", region.Mfns.Count), EventField.Of("cipher", "aes-128-ctr"));
    }

    /// <summary>Plaintext back in DRAM, frames writable again.</summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region) =>
        ForEachFrame(region, (page, mfn, frame) =>
        {
            cipher.Transform(frame, frame, mfn.Value << PageSize.Shift, (ulong)region.Id);
            Host.ChangeP2mType(call.Caller, region.Gfns[page], P2mType.RamRw);
        });

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

    /// <summary>
    /// Every write to a protected frame is dropped: guest stores by the p2m (ram_ro) before they reach here; anything
    /// else that gets here (a path that bypasses the p2m) is dropped too.
    /// </summary>
    public override AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        protectedAccesses++;
        return AccessVerdict.Dropped;
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region) =>
    [
        new("p2m", region.IsActive ? "ram_ro" : "ram_rw"),
        new("dram", region.IsActive ? "ciphertext (aes-128-ctr, seed = block address, region id)" : "plaintext"),
        new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
        new("writes_dropped", region.DroppedWrites.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    /// <summary>No metadata: only the accesses it handled.</summary>
    public override MetadataTraffic Traffic => new(protectedAccesses, 0, 0, 0, 0);

    private long protectedAccesses;

    public void Dispose() => cipher.Dispose();
}
