using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
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
/// At the DRAM boundary: the owner sees the on-chip plaintext (its hits stay on the hart's fast path), lines are
/// decrypted when filled and encrypted when written back; everyone else sees the DRAM ciphertext. Guest stores are
/// dropped by the p2m (<c>ram_ro</c>) before the plug-in is asked; a store that bypasses the p2m (Dom0, a device, a
/// hypervisor copy) sees the <see cref="PageView.Abort"/> view, whose stores are dropped and reported too.
/// Encryption: AES-128 in counter mode, seed = (machine address of the 16-byte block, region id), so frames and
/// re-registrations never share keystream. No counters, MACs or tree: nothing off chip but the ciphertext. The key
/// derives from the run's seed, so runs are reproducible.
/// </remarks>
[Architecture("vbase", "the paper's: encrypted, read-only pages; plaintext only to the registering process in secure mode",
    Principal.Application)]
public sealed class VbaseArchitecture : RegionArchitectureBase, IDisposable
{
    private const int LinesPerPage = PageSize.Bytes / ChipOptions.LineBytes;

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
            Host.Cost.CipherOps += LinesPerPage;
        });
        Host.Record("vbase.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("frames", region.Mfns.Count), EventField.Of("cipher", "aes-128-ctr"));
    }

    /// <summary>Plaintext back in DRAM (the base class wrote every line back first), frames writable again.</summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region) =>
        ForEachFrame(region, (page, mfn, frame) =>
        {
            cipher.Transform(frame, frame, mfn.Value << PageSize.Shift, (ulong)region.Id);
            Host.Cost.CipherOps += LinesPerPage;
            Host.ChangeP2mType(call.Caller, region.Gfns[page], P2mType.RamRw);
        });

    /// <summary>
    /// Stores: dropped and reported, whoever makes them (<see cref="PageView.Abort"/>'s stores; guest stores never get
    /// here, the p2m drops them first). Loads and fetches: the owner in secure execution sees the on-chip plaintext,
    /// everyone else the DRAM ciphertext.
    /// </summary>
    public override PageView DecideView(in MemoryAccessContext access) =>
        access.Kind == AccessKind.Store ? PageView.Abort
        : access.IsApplication ? PageView.Plaintext
        : PageView.Dram;

    /// <summary>The line's plaintext: CTR under (block address, region id). No integrity to check.</summary>
    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        cipher.Transform(dram, plaintext, line.MachineAddress, (ulong)line.Region.Id);
        if (!line.Inspection)
        {
            Host.Cost.CipherOps++;
        }
        return true;
    }

    /// <summary>
    /// Only reached if a line was dirtied on chip, which no store does here (they are all dropped); encrypting it
    /// keeps DRAM ciphertext whatever happens.
    /// </summary>
    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        cipher.Transform(plaintext, dram, line.MachineAddress, (ulong)line.Region.Id);
        Host.Cost.CipherOps++;
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region) =>
    [
        new("p2m", region.IsActive ? "ram_ro" : "ram_rw"),
        new("dram", region.IsActive ? "ciphertext (aes-128-ctr, seed = block address, region id)" : "plaintext"),
        new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
        new("writes_dropped", region.DroppedWrites.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    public void Dispose() => cipher.Dispose();
}
