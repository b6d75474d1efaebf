using System.Globalization;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;

namespace Vbase.Architectures.Sev;

/// <summary>
/// AMD SEV's memory encryption, shared by <c>sev</c> and <c>sev-snp</c>: a key per VM in the memory controller,
/// AES with a physical-address tweak (XEX, one 16-byte block per data unit), no integrity. Everything that runs
/// inside the VM — the application, other processes, the guest kernel (SEV trusts it) — accesses plaintext: the
/// controller decrypts on read and encrypts on write with the VM's key. Everyone else — Dom0, devices, the
/// hypervisor, another VM — reaches the frame without the key: reads see ciphertext, writes land as raw bytes, which
/// the VM then decrypts to garbage, undetected.
/// </summary>
/// <remarks>
/// SEV encrypts the whole VM; a SAPI plug-in sees only the frames it protects, and the SAPI's unit of protection is
/// the region the application registers. So the encrypted memory here is that region (encrypted at
/// <c>vbase_op(enter)</c>, decrypted at exit); the rest of the VM behaves as SEV's shared, unencrypted pages. See
/// docs/architectures/sev.md for why a whole-VM mode is not built on <see cref="SapiHost.Protect"/>.
/// </remarks>
public abstract class SevArchitectureBase : RegionArchitectureBase, IDisposable
{
    /// <summary>SEV's threat model: the application and its whole VM (kernel and processes) are trusted.</summary>
    public const Principal TrustedPrincipals = Principal.Application | Principal.GuestKernel | Principal.OtherProcesses;

    private const int BlockBytes = VmEncryptionKeys.BlockBytes;
    // Hart accesses are 1-8 bytes, so their aligned window is at most two blocks; Dom0 and hypervisor copies go up
    // to a page. Two stack buffers keep the hot path from zeroing a page per access.
    private const int SmallWindowBytes = 2 * BlockBytes;

    private readonly Dictionary<int, RegionCounters> counters = [];
    private long protectedAccesses;

    protected SevArchitectureBase(ArchitectureOptions options) => Keys = new VmEncryptionKeys(options.Seed);

    /// <summary>The per-VM keys (the memory controller's key slots).</summary>
    public VmEncryptionKeys Keys { get; }

    /// <summary>What the region's DRAM holds and who sees what, for the Monitor.</summary>
    protected abstract string Label { get; }

    /// <summary>
    /// Is this access made from inside the region's VM? Then the memory controller applies the VM's key. Guest user
    /// and kernel code alike (SEV trusts the guest kernel), page walks and fetches included; the hypervisor copying
    /// for a hypercall is outside (it has no key), and so is another VM that reaches the frame.
    /// </summary>
    protected static bool IsInsideVm(in MemoryAccessContext access) =>
        access.Accessor is Accessor.GuestUser or Accessor.GuestKernel
        && access.Initiator == access.Region.Domain && access.Domain == access.Region.Domain;

    public override AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data)
    {
        if (access.Accessor != Accessor.Inspection)
        {
            protectedAccesses++;
            if (!IsInsideVm(access))
            {
                return AccessVerdict.Pass;     // no key: the DRAM ciphertext as is
            }
        }
        int start = access.Offset & ~(BlockBytes - 1);
        int length = ((access.Offset + data.Length + BlockBytes - 1) & ~(BlockBytes - 1)) - start;
        Span<byte> window = length <= SmallWindowBytes ? stackalloc byte[SmallWindowBytes] : stackalloc byte[PageSize.Bytes];
        window = window[..length];
        ulong address = (access.Mfn.Value << PageSize.Shift) + (ulong)start;
        Keys.Of(access.Region.Domain).DecryptAtAddress(Host.Dram.Frame(access.Mfn).Slice(start, length), window, address);
        window.Slice(access.Offset - start, data.Length).CopyTo(data);
        return AccessVerdict.Transformed;
    }

    public override AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        protectedAccesses++;
        if (!IsInsideVm(access))
        {
            AccessVerdict outside = OnWriteFromOutside(access, data);
            if (outside == AccessVerdict.Pass)
            {
                Counters(access.Region.Id).RawWrites++;
            }
            return outside;
        }
        // Read-modify-write of the 16-byte blocks the store touches: decrypt, merge, re-encrypt in place.
        int start = access.Offset & ~(BlockBytes - 1);
        int length = ((access.Offset + data.Length + BlockBytes - 1) & ~(BlockBytes - 1)) - start;
        Span<byte> window = length <= SmallWindowBytes ? stackalloc byte[SmallWindowBytes] : stackalloc byte[PageSize.Bytes];
        window = window[..length];
        ulong address = (access.Mfn.Value << PageSize.Shift) + (ulong)start;
        Span<byte> dram = Host.Dram.Frame(access.Mfn).Slice(start, length);
        AesXts key = Keys.Of(access.Region.Domain);
        key.DecryptAtAddress(dram, window, address);
        data.CopyTo(window[(access.Offset - start)..]);
        key.EncryptAtAddress(window, dram, address);
        return AccessVerdict.Transformed;
    }

    /// <summary>
    /// A write from outside the VM (Dom0, a device, the hypervisor, another VM). SEV: it goes to DRAM without the
    /// VM's key, so the bytes land raw (<see cref="AccessVerdict.Pass"/>) and the VM decrypts them to garbage.
    /// </summary>
    protected virtual AccessVerdict OnWriteFromOutside(in MemoryAccessContext access, ReadOnlySpan<byte> data) => AccessVerdict.Pass;

    /// <summary>Extra lines for <see cref="DescribeRegion"/>.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> DescribeMore(ProtectedRegion region) => [];

    /// <summary>The region's counters (for the Monitor).</summary>
    protected RegionCounters Counters(int region)
    {
        if (!counters.TryGetValue(region, out RegionCounters? c))
        {
            c = new RegionCounters();
            counters.Add(region, c);
        }
        return c;
    }

    public override void OnRegionForgotten(ProtectedRegion region) => counters.Remove(region.Id);

    /// <summary>The region becomes the VM's private (encrypted) memory. SEV-SNP assigns its frames in the RMP after this.</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        AesXts key = Keys.Of(region.Domain);
        ForEachFrame(region, (_, mfn, frame) => key.EncryptAtAddress(frame, frame, mfn.Value << PageSize.Shift));
        Counters(region.Id);
        Host.Record($"{Name}.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("frames", region.Mfns.Count), EventField.Of("cipher", "xts-aes-128"),
            EventField.Of("tweak", "machine-address"), EventField.Of("key_domain", region.Domain.Value));
    }

    /// <summary>Plaintext back in DRAM (the pages become shared again). SEV-SNP unassigns the frames before this.</summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        AesXts key = Keys.Of(region.Domain);
        ForEachFrame(region, (_, mfn, frame) => key.DecryptAtAddress(frame, frame, mfn.Value << PageSize.Shift));
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region)
    {
        RegionCounters c = Counters(region.Id);
        return
        [
            new("architecture", Label),
            new("dram", region.IsActive ? "ciphertext (xts-aes-128, 16-byte blocks tweaked by machine address)" : "plaintext"),
            new("key", $"dom {region.Domain.Value}'s VM encryption key"),
            new("plaintext_to", $"everything inside dom {region.Domain.Value} (user and kernel)"),
            new("integrity", "none"),
            new("raw_writes_from_outside", c.RawWrites.ToString(CultureInfo.InvariantCulture)),
            .. DescribeMore(region),
        ];
    }

    /// <summary>SEV keeps no metadata: only the protected accesses are counted.</summary>
    public override MetadataTraffic Traffic => new(protectedAccesses, 0, 0, 0, 0);

    public void Dispose()
    {
        Keys.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>What happened to one region, for the Monitor.</summary>
    protected sealed class RegionCounters
    {
        /// <summary>Writes from outside the VM that landed in DRAM as raw bytes (SEV).</summary>
        public long RawWrites { get; set; }
        /// <summary>Writes from outside the VM refused (SEV-SNP's RMP).</summary>
        public long RefusedWrites { get; set; }
        /// <summary>p2m changes refused (SEV-SNP's RMP).</summary>
        public long RefusedRemaps { get; set; }
    }
}
