using System.Globalization;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Architectures.Sev;

/// <summary>
/// AMD SEV's memory encryption, shared by <c>sev</c> and <c>sev-snp</c>: a key per VM in the memory controller,
/// AES with a physical-address tweak (XEX, one 16-byte block per data unit), no integrity. Lines are encrypted
/// where the memory controller encrypts them: decrypted when filled into the chip, encrypted when written back.
/// Everything that runs inside the VM — the application, other processes, the guest kernel (SEV trusts it) — sees
/// the on-chip plaintext. Everyone else — Dom0, devices, the hypervisor, another VM — reaches the frame without the
/// key: it sees the DRAM ciphertext, and its writes land there as raw bytes (the line is written back first), which
/// the VM then decrypts to garbage, undetected. No counters, MACs or tree: nothing off chip but the ciphertext.
/// </summary>
/// <remarks>
/// SEV encrypts the whole VM: at launch (<see cref="OnDomainLaunched"/>) every RAM frame of each guest domain becomes
/// its private memory (<see cref="SapiHost.EncryptVm"/>, the same cipher and key). The region the application
/// registers is, in addition, the plug-in's through the chip: its lines are filled and written back through the
/// modelled cache, which is where the cost figures come from, and the hypervisor's copies and devices get its
/// ciphertext too (the application does not share it). <c>whole-vm: false</c> encrypts the region only, the rest of
/// the VM being SEV's shared pages (docs/architectures/sev.md).
/// </remarks>
public abstract class SevArchitectureBase : RegionArchitectureBase, IDisposable
{
    /// <summary>SEV's threat model: the application and its whole VM (kernel and processes) are trusted.</summary>
    public const Principal TrustedPrincipals = Principal.Application | Principal.GuestKernel | Principal.OtherProcesses;

    private const int LinesPerPage = PageSize.Bytes / ChipOptions.LineBytes;

    /// <summary>Key: encrypt every guest VM's memory at launch (true, the default) or only the registered region.</summary>
    public const string WholeVmKey = "whole-vm";

    private readonly Dictionary<int, RegionCounters> counters = [];
    private readonly HashSet<ushort> encryptedVms = [];

    protected SevArchitectureBase(ArchitectureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        WholeVm = !options.Parameters.TryGetValue(WholeVmKey, out string? whole) || ParameterValues.Boolean(WholeVmKey, whole);
        Keys = new VmEncryptionKeys(options.Seed);
    }

    /// <summary>Whether each VM's whole memory is encrypted at launch (<see cref="WholeVmKey"/>).</summary>
    public bool WholeVm { get; }

    /// <summary>Whether <paramref name="domain"/>'s memory was encrypted at its launch.</summary>
    protected bool IsEncryptedVm(DomainId domain) => encryptedVms.Contains(domain.Value);

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

    /// <summary>
    /// Inside the VM: the on-chip plaintext (<see cref="DecideInside"/> may refuse it). Outside: the DRAM ciphertext
    /// for loads; stores as <see cref="DecideOutsideStore"/> says.
    /// </summary>
    public sealed override PageView DecideView(in MemoryAccessContext access)
    {
        if (IsInsideVm(access))
        {
            return DecideInside(access);
        }
        if (access.Kind != AccessKind.Store)
        {
            return PageView.Dram;   // no key: the ciphertext as DRAM holds it
        }
        PageView store = DecideOutsideStore(access);
        // Dom0, devices and hypervisor copies never cache a view: each of their stores is decided here, once.
        if (access.Accessor is Accessor.Dom0 or Accessor.Device or Accessor.Hypervisor)
        {
            RegionCounters c = Counters(access.Region.Id);
            if (store == PageView.Dram)
            {
                c.RawWrites++;
            }
            else
            {
                c.RefusedWrites++;
            }
        }
        return store;
    }

    /// <summary>
    /// SEV's LAUNCH_FINISH: every RAM frame of the new guest becomes its private memory under its key. The firmware's
    /// launch work is not the workload's: it is recorded, not counted in the cost.
    /// </summary>
    public override void OnDomainLaunched(DomainId domain)
    {
        if (!WholeVm)
        {
            return;
        }
        IReadOnlyList<(Gfn Gfn, Mfn Mfn)> frames = Host.EncryptVm(domain, new SevMemoryCipher(Keys.Of(domain)));
        encryptedVms.Add(domain.Value);
        Host.Record($"{Name}.vm_encrypted", domain, null, EventField.Of("frames", frames.Count),
            EventField.Of("cipher", "xts-aes-128"), EventField.Of("tweak", "machine-address"), EventField.Of("key_domain", domain.Value));
        OnVmEncrypted(domain, frames);
    }

    /// <summary>After a VM's memory was taken at launch (SEV-SNP assigns the frames in its RMP).</summary>
    protected virtual void OnVmEncrypted(DomainId domain, IReadOnlyList<(Gfn Gfn, Mfn Mfn)> frames)
    {
    }

    public override void OnDomainDestroyed(DomainId domain) => encryptedVms.Remove(domain.Value);

    /// <summary>An access from inside the VM. SEV: the plaintext, always.</summary>
    protected virtual PageView DecideInside(in MemoryAccessContext access) => PageView.Plaintext;

    /// <summary>
    /// A store from outside the VM (Dom0, a device, the hypervisor, another VM). SEV: it goes to DRAM without the
    /// VM's key, so the bytes land raw (<see cref="PageView.Dram"/>) and the VM decrypts them to garbage.
    /// </summary>
    protected virtual PageView DecideOutsideStore(in MemoryAccessContext access) => PageView.Dram;

    /// <summary>The memory controller decrypts the line with the VM's key, each 16-byte block tweaked by its machine address.</summary>
    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        Keys.Of(line.Region.Domain).DecryptAtAddress(dram, plaintext, line.MachineAddress);
        if (!line.Inspection)
        {
            Host.Cost.CipherOps++;
        }
        return true;
    }

    /// <summary>And encrypts it on its way out; nothing else (no counter, no MAC).</summary>
    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        Keys.Of(line.Region.Domain).EncryptAtAddress(plaintext, dram, line.MachineAddress);
        Host.Cost.CipherOps++;
    }

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
        Host.Cost.CipherOps += (long)region.Mfns.Count * LinesPerPage;
        Counters(region.Id);
        Host.Record($"{Name}.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("frames", region.Mfns.Count), EventField.Of("cipher", "xts-aes-128"),
            EventField.Of("tweak", "machine-address"), EventField.Of("key_domain", region.Domain.Value));
    }

    /// <summary>
    /// Plaintext back in the frames (the base class wrote every line back first): with <c>whole-vm</c> they are the VM's
    /// private memory again, whose DRAM bytes the host computes with the same cipher, so nobody outside sees a change;
    /// without it they become shared pages. SEV-SNP unassigns the frames of a region-only VM before this.
    /// </summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        AesXts key = Keys.Of(region.Domain);
        ForEachFrame(region, (_, mfn, frame) => key.DecryptAtAddress(frame, frame, mfn.Value << PageSize.Shift));
        Host.Cost.CipherOps += (long)region.Mfns.Count * LinesPerPage;
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
            new("vm_memory", IsEncryptedVm(region.Domain) ? "encrypted at launch (whole VM)" : "shared (region only)"),
            new("integrity", "none"),
            new("raw_writes_from_outside", c.RawWrites.ToString(CultureInfo.InvariantCulture)),
            .. DescribeMore(region),
        ];
    }

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
