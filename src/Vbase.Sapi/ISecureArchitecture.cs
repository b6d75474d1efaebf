using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Sapi;

/// <summary>
/// A secure processor architecture plugged into the hypervisor (layer 5 of docs/design.md). One instance serves
/// one hypervisor. It reaches the machine only through the <see cref="SapiHost"/> given to
/// <see cref="Attach"/>, and the hypervisor reaches it only through the four hook sets below.
/// </summary>
/// <remarks>
/// Derive from <see cref="SecureArchitectureBase"/>, which answers every hook with "no effect", and override
/// what the design changes.
/// </remarks>
public interface ISecureArchitecture : IVcpuHooks, IVmmuHooks, IDramBoundaryHooks, IIntrospection
{
    /// <summary>The name scenarios and <c>--arch</c> use (lower case, e.g. <c>vbase</c>).</summary>
    string Name { get; }

    /// <summary>Called once, before any domain runs.</summary>
    void Attach(SapiHost host);
}

/// <summary>VCPU hooks: the plug-in's own hypercalls, secure registers and secure-execution transitions.</summary>
public interface IVcpuHooks
{
    /// <summary>
    /// Per-vCPU secure registers this architecture adds. The hypervisor keeps them per vCPU, hides them (saves
    /// and zeroes) whenever the vCPU leaves secure execution and restores them when it comes back; a guest
    /// sees them only through the plug-in's own sub-calls (<see cref="SapiHost.SecureRegisters"/>).
    /// </summary>
    int SecureRegisterCount { get; }

    /// <summary>
    /// A guest's <c>vbase_op</c> sub-call (enter, exit or one of the plug-in's own from
    /// <see cref="Abi.VbaseOpCommand.FirstPlugin"/>). Returns a0: ≥ 0, or a negative errno. Arguments are untrusted.
    /// </summary>
    long OnVbaseOp(VbaseOpCall call);

    /// <summary>A vCPU entered, left, suspended or resumed secure execution (see <see cref="SecureTransitionKind"/>).</summary>
    void OnSecureTransition(SecureTransition transition);
}

/// <summary>
/// VMMU hooks: called for every access to a frame the plug-in protects (<see cref="SapiHost.Protect"/>), from
/// every accessor — guest fetch, load, store, AMO, page walk; the hypervisor on a guest's behalf; Dom0; the
/// device path. Frames nobody protects never reach these hooks and keep the hart's fast path.
/// </summary>
public interface IVmmuHooks
{
    /// <summary>
    /// A read of <paramref name="data"/>.Length bytes at <see cref="MemoryAccessContext.Mfn"/> +
    /// <see cref="MemoryAccessContext.Offset"/> (never crossing a frame). On entry <paramref name="data"/> holds
    /// the DRAM bytes; <see cref="AccessVerdict.Transformed"/> means the plug-in replaced them (e.g. decrypted).
    /// </summary>
    AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data);

    /// <summary>
    /// A write of <paramref name="data"/> (the plaintext the accessor stores). <see cref="AccessVerdict.Pass"/>:
    /// the hypervisor stores it as is; <see cref="AccessVerdict.Transformed"/>: the plug-in already wrote DRAM
    /// (e.g. ciphertext) itself; <see cref="AccessVerdict.Dropped"/>: nothing changes and the drop is reported.
    /// </summary>
    AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data);

    /// <summary>
    /// Someone other than the plug-in is about to change a p2m entry of a domain (Dom0's <c>SetP2mEntry</c>, a
    /// grant or foreign mapping): <paramref name="current"/> → <paramref name="proposed"/>. False refuses it (the
    /// change does not happen and is reported): how a reverse-map table (SEV-SNP) keeps remaps away.
    /// </summary>
    bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester);

    /// <summary>
    /// Dom0 built guest domain <paramref name="domain"/> and is about to start it (SEV's LAUNCH_FINISH): a design that
    /// encrypts whole VMs takes the domain's memory here (<see cref="SapiHost.EncryptVm"/>). Default: nothing.
    /// </summary>
    void OnDomainLaunched(DomainId domain)
    {
    }

    /// <summary>The domain is being destroyed and its frames are about to be freed: drop what the plug-in keeps for them.</summary>
    void OnDomainDestroyed(DomainId domain)
    {
    }

    /// <summary>
    /// Dom0 is about to write raw bytes into <paramref name="mfn"/>, a private frame of the encrypted VM
    /// <paramref name="owner"/> outside any region (<see cref="SapiHost.EncryptVm"/>). False refuses it (the writer gets
    /// an error): how SEV-SNP's reverse map keeps the hypervisor's writes out of a VM's memory. Default: allowed (the
    /// bytes land raw in DRAM and the VM decrypts them to garbage).
    /// </summary>
    bool AllowVmMemoryWrite(DomainId owner, Mfn mfn, Accessor writer) => true;
}

/// <summary>
/// The DRAM boundary (docs/sapi.md): a protected frame's lines live on chip in plaintext, in the modelled
/// last-level cache, and the plug-in acts where real designs act: when a line is filled from DRAM and when a dirty
/// one is written back. Who sees the on-chip plaintext is decided once per page when an accessor's translation is
/// cached (<see cref="DecideView"/>); a hit then never calls the plug-in.
/// </summary>
public interface IDramBoundaryHooks
{
    /// <summary>
    /// What <paramref name="access"/>'s accessor sees of its page (the decision is cached with the hart's TLB entry
    /// and dropped by secure transitions, context switches, <c>sfence.vma</c>, satp and p2m changes;
    /// <see cref="SapiHost.InvalidateViews"/> drops it when the plug-in's own state changes it).
    /// <see cref="MemoryAccessContext.Offset"/> is the first access's; decide for the whole page. Default:
    /// <see cref="PageView.EveryAccess"/>, the per-access hooks of <see cref="IVmmuHooks"/>.
    /// </summary>
    PageView DecideView(in MemoryAccessContext access) => PageView.EveryAccess;

    /// <summary>
    /// A protected line is filled from DRAM into the chip: produce its <paramref name="plaintext"/> from its DRAM
    /// bytes (decrypt) and check them (MAC, counters, tree), reading metadata through the plug-in's metadata cache.
    /// False: an integrity failure, already reported (<see cref="SapiHost.ReportViolation(in LineContext, string)"/>);
    /// the line stays off chip and the access that needed it faults. Default: DRAM holds plaintext.
    /// </summary>
    bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        dram.CopyTo(plaintext);
        return true;
    }

    /// <summary>
    /// A dirty line leaves the chip: write its <paramref name="dram"/> bytes from the <paramref name="plaintext"/>
    /// (encrypt, MAC, bump counters, update the tree). Default: plaintext to DRAM.
    /// </summary>
    void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram) => plaintext.CopyTo(dram);

    /// <summary>
    /// Write back every dirty line of the plug-in's metadata cache and empty it (before a physical attack acts, as
    /// an attacker forces eviction, and at the end of every run). Only keys, roots and registers stay on chip.
    /// </summary>
    void FlushMetadata()
    {
    }

    /// <summary>
    /// Where the off-chip metadata covering a data line lies in machine memory (counters, MACs, tree nodes below the
    /// root), for physical attacks and the Monitor. Default: none.
    /// </summary>
    IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line) => [];
}

/// <summary>What an accessor sees of a protected page (<see cref="IDramBoundaryHooks.DecideView"/>).</summary>
public enum PageView
{
    /// <summary>The on-chip plaintext: fills and write-backs go through the plug-in, hits stay on the fast path.</summary>
    Plaintext,
    /// <summary>The bytes in DRAM (ciphertext where the design encrypts); a store first pushes the line out of the chip.</summary>
    Dram,
    /// <summary>SGX's abort page: loads read all ones, stores are dropped (and reported).</summary>
    Abort,
    /// <summary>Refused: an access fault for a hart, an error for the hypervisor and Dom0 (reported).</summary>
    Fault,
    /// <summary>Every access goes to <see cref="IVmmuHooks.OnRead"/>/<see cref="IVmmuHooks.OnWrite"/> (the slow path).</summary>
    EveryAccess,
}

/// <summary>One line of a protected frame crossing the chip boundary.</summary>
public readonly record struct LineContext
{
    public required ProtectedRegion Region { get; init; }
    /// <summary>Which page of <see cref="Region"/>.</summary>
    public required int RegionPage { get; init; }
    /// <summary>Which 64-byte line of the page (0–63).</summary>
    public required int Line { get; init; }
    public required Mfn Mfn { get; init; }
    public required ulong Time { get; init; }
    /// <summary>
    /// The Monitor or the Oracle looking (the Application view): decrypt and check, but count nothing, report
    /// nothing and change no state; the line does not enter the chip.
    /// </summary>
    public bool Inspection { get; init; }
    /// <summary>The access that needed the fill, if one did (null for write-backs and flushes).</summary>
    public MemoryAccessContext? Cause { get; init; }

    public Gfn Gfn => Region.Gfns[RegionPage];
    /// <summary>The line's machine address (the tweak or seed of address-bound designs).</summary>
    public ulong MachineAddress => (Mfn.Value << PageSize.Shift) + (ulong)(Line * Chip.ChipOptions.LineBytes);
    /// <summary>The line's byte offset in its region.</summary>
    public ulong RegionOffset => ((ulong)RegionPage << PageSize.Shift) + (ulong)(Line * Chip.ChipOptions.LineBytes);
}

/// <summary>Bytes of machine memory that hold metadata of one data line: what a physical attacker can change.</summary>
/// <param name="What">What they hold ("counter", "mac", "tree level 1"…).</param>
public readonly record struct MetadataRange(string What, ulong MachineAddress, int Length);

/// <summary>Introspection: what the Monitor and the Oracle may learn about protected regions.</summary>
public interface IIntrospection
{
    /// <summary>Architecture-specific state of <paramref name="region"/> (e.g. "encryption": "aes-128-ctr").</summary>
    IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region);

    /// <summary>
    /// The hypervisor no longer keeps <paramref name="region"/> (released, and past the history of
    /// <see cref="SapiHost.ReleasedRegionHistory"/> released regions): drop whatever the plug-in keeps for it, so
    /// that a guest looping on enter and exit cannot grow the host. Default: nothing kept.
    /// </summary>
    void OnRegionForgotten(ProtectedRegion region)
    {
    }
}

/// <summary>What a VMMU hook decided about one access.</summary>
public enum AccessVerdict
{
    /// <summary>Unchanged: the DRAM bytes are read, the written bytes are stored.</summary>
    Pass,
    /// <summary>The plug-in produced the bytes read or wrote DRAM itself.</summary>
    Transformed,
    /// <summary>A write that does not happen; the accessor carries on (Xen's dropped write to <c>ram_ro</c>).</summary>
    Dropped,
    /// <summary>Refused with a fault: an access fault for a hart, an error for Dom0 and hypercalls.</summary>
    Fault,
}

/// <summary>Who makes an access to a protected frame.</summary>
public enum Accessor
{
    /// <summary>Guest code in U-mode.</summary>
    GuestUser,
    /// <summary>Guest code in S-mode (the guest kernel), including the MMU walking its page tables.</summary>
    GuestKernel,
    /// <summary>The hypervisor copying guest memory on the guest's behalf (hypercall arguments and buffers).</summary>
    Hypervisor,
    /// <summary>Dom0 through the privileged API (foreign mapping, guest memory reads and writes).</summary>
    Dom0,
    /// <summary>The I/O path: grant copies, which is how Xen's backends move device data (DMA).</summary>
    Device,
    /// <summary>The Monitor or Oracle inspecting memory; the plug-in must not count or report it.</summary>
    Inspection,
}

/// <summary>The kind of access.</summary>
public enum AccessKind
{
    Fetch,
    Load,
    /// <summary>Stores, AMOs and SC.</summary>
    Store,
    /// <summary>A page-table read by the guest's MMU.</summary>
    PageWalk,
}
