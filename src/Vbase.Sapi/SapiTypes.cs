using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;

namespace Vbase.Sapi;

/// <summary>One access to a protected frame, as a VMMU hook sees it.</summary>
public readonly record struct MemoryAccessContext
{
    public required Accessor Accessor { get; init; }
    public required AccessKind Kind { get; init; }
    /// <summary>The domain whose memory is accessed (whose p2m led to the frame).</summary>
    public required DomainId Domain { get; init; }
    /// <summary>Who initiated it: the domain itself, Dom0, or the domain that asked for a grant copy.</summary>
    public required DomainId Initiator { get; init; }
    /// <summary>The accessing vCPU of <see cref="Initiator"/> (guest accesses and hypercalls), else null.</summary>
    public int? Vcpu { get; init; }
    /// <summary>The accessing hart's satp (its address space) for guest accesses; 0 otherwise.</summary>
    public ulong Satp { get; init; }
    /// <summary>
    /// For guest code's accesses (and its MMU's walks): the virtual address the hart translated, so that a plug-in
    /// can check the mapping (SGX's EPCM). Null for the hypervisor, Dom0 and devices.
    /// </summary>
    public ulong? VirtualAddress { get; init; }
    public required Gfn Gfn { get; init; }
    public required Mfn Mfn { get; init; }
    /// <summary>Byte offset in the frame; the access never crosses the frame.</summary>
    public required int Offset { get; init; }
    public required ProtectedRegion Region { get; init; }
    /// <summary>Which page of <see cref="Region"/> (index into its frame list).</summary>
    public required int RegionPage { get; init; }
    public required ulong Time { get; init; }

    public GuestPhysicalAddress Address => new((Gfn.Value << PageSize.Shift) + (ulong)Offset);

    /// <summary>
    /// The application that registered <see cref="Region"/>, running: guest user code on the registering vCPU
    /// in the registering address space. Page walks are the MMU's, not the application's.
    /// </summary>
    public bool IsApplication =>
        Accessor == Accessor.GuestUser && Kind != AccessKind.PageWalk && Initiator == Region.Domain
        && Domain == Region.Domain && Vcpu == Region.Vcpu && Satp == Region.Satp;
}

/// <summary>A region an architecture protects: page-aligned, registered by one process of one domain.</summary>
public sealed class ProtectedRegion
{
    internal ProtectedRegion(int id, DomainId domain, int vcpu, ulong satp, GuestVirtualAddress va, Gfn[] gfns, Mfn[] mfns, ulong time)
    {
        Id = id;
        Domain = domain;
        Vcpu = vcpu;
        Satp = satp;
        VirtualAddress = va;
        Gfns = gfns;
        Mfns = mfns;
        ProtectedAt = time;
        // Pooled: a guest that loops on enter and exit would otherwise allocate (and the GC collect) up to 2 MiB a turn.
        Shadow = System.Buffers.ArrayPool<byte>.Shared.Rent(gfns.Length * PageSize.Bytes);
    }

    /// <summary>Numbered from 1 in registration order (deterministic).</summary>
    public int Id { get; }
    public DomainId Domain { get; }
    /// <summary>The vCPU that registered it.</summary>
    public int Vcpu { get; }
    /// <summary>The address space (satp) that registered it.</summary>
    public ulong Satp { get; }
    /// <summary>Where the application sees it (as its kernel reported it; 0 if unknown).</summary>
    public GuestVirtualAddress VirtualAddress { get; }
    public IReadOnlyList<Gfn> Gfns { get; }
    public IReadOnlyList<Mfn> Mfns { get; }
    public ulong Length => (ulong)Gfns.Count * PageSize.Bytes;
    public ulong ProtectedAt { get; }
    public ulong? ReleasedAt { get; internal set; }
    /// <summary>The plug-in has set up its state for the region (<see cref="SapiHost.MarkSealed"/>): inspection may decrypt it.</summary>
    public bool Sealed { get; internal set; }
    public bool IsActive => ReleasedAt is null;

    /// <summary>
    /// The golden shadow: the plaintext as the application last wrote it through accepted writes (the first
    /// <see cref="Length"/> bytes of a pooled array); empty once the region is released.
    /// </summary>
    internal byte[] Shadow { get; private set; }

    internal void FreeShadow()
    {
        if (Shadow.Length != 0)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(Shadow);
            Shadow = [];
        }
    }

    /// <summary>Writes to the region that did not happen (dropped by the p2m or by the plug-in), counted ones included.</summary>
    public long DroppedWrites
    {
        get
        {
            long n = droppedWrites;
            foreach (ulong c in FastDrops)
            {
                n += (long)c;
            }
            return n;
        }
    }

    private long droppedWrites;

    /// <summary>A write reported one by one (<c>sapi.write_dropped</c>) or counted in a <c>sapi.writes_dropped</c> event.</summary>
    internal void CountDropped(long writes) => droppedWrites += writes;

    /// <summary>
    /// Stores the harts dropped themselves, not yet reported: one counter per (accessor, owner) slot
    /// (<see cref="FastDropSlot"/>), pinned because the harts' store TLBs point at them.
    /// </summary>
    internal ulong[] FastDrops { get; } = GC.AllocateArray<ulong>(4, pinned: true);

    /// <summary>The <see cref="FastDrops"/> slot of a guest accessor: kernel or user, owner or not.</summary>
    internal static int FastDropSlot(bool user, bool owner) => (user ? 2 : 0) + (owner ? 1 : 0);

    /// <summary>Frames an attacker remapped a page of this region to, watched for the Oracle (<see cref="SapiHost.Observe"/>).</summary>
    internal List<Mfn> ObservedFrames { get; } = [];

    public override string ToString() =>
        $"region {Id} (dom {Domain.Value}, vcpu {Vcpu}, va 0x{VirtualAddress.Value:x}, {Gfns.Count} pages)";
}

/// <summary>What a registration asks for (built by a plug-in from a guest's <c>vbase_op(enter)</c>).</summary>
public sealed record RegionRequest(DomainId Domain, int Vcpu, ulong Satp, GuestVirtualAddress VirtualAddress, IReadOnlyList<Gfn> Gfns);

public enum SecureTransitionKind
{
    /// <summary>A region was registered: the process becomes a secure one.</summary>
    Enter,
    /// <summary>Its last region was released.</summary>
    Exit,
    /// <summary>The secure process lost the hart (trap to its kernel: syscall, interrupt, fault).</summary>
    Suspend,
    /// <summary>It has the hart again (the kernel returned to it).</summary>
    Resume,
    /// <summary>
    /// It has the hart again for the first time after its last region was released (<see cref="Exit"/>, made in a
    /// system call): what a design kept of its registers since its last <see cref="Suspend"/> goes back now, and the
    /// context ends. No event is recorded for it.
    /// </summary>
    Leave,
}

/// <summary>A secure context (one process on one vCPU) changed state.</summary>
/// <param name="Registers">
/// The vCPU's registers as the process left them (<see cref="SecureTransitionKind.Suspend"/>, before its kernel's trap
/// handler saves them) or as its kernel put them back (<see cref="SecureTransitionKind.Resume"/>,
/// <see cref="SecureTransitionKind.Leave"/>, before the process's next instruction); null for Enter and Exit, made
/// while the kernel holds the hart.
/// </param>
public sealed record SecureTransition(SecureTransitionKind Kind, SecureContext Context, ProtectedRegion? Region, ulong Time,
    VcpuRegisters? Registers = null);

/// <summary>
/// The register file of the vCPU a secure process runs on, handed to the plug-in at its transitions: what a design
/// that keeps a process's registers from its kernel (SGX's AEX, a security monitor) saves, scrubs and restores.
/// Writes change neither <c>mstatus.FS</c> nor anything else a kernel could use to tell.
/// </summary>
public abstract class VcpuRegisters
{
    /// <summary>x<paramref name="index"/> (1–31).</summary>
    public abstract ulong GetX(int index);

    public abstract void SetX(int index, ulong value);

    /// <summary>f<paramref name="index"/> (0–31), all 64 bits.</summary>
    public abstract ulong GetF(int index);

    public abstract void SetF(int index, ulong value);

    /// <summary>fcsr (frm and fflags).</summary>
    public abstract uint Fcsr { get; set; }

    /// <summary><c>mstatus.FS</c> is not Off: the f registers and fcsr are the process's (its kernel enabled them).</summary>
    public abstract bool FpEnabled { get; }

    /// <summary>The cause (scause) of the trap that suspended the process: 8 for its own <c>ecall</c>.</summary>
    public abstract ulong TrapCause { get; }
}

/// <summary>
/// A secure process as the hypervisor tracks it: domain, vCPU and address space, its regions, whether it holds
/// the hart now, and the plug-in's secure registers (kept here, out of the guest's reach).
/// </summary>
public sealed class SecureContext
{
    internal SecureContext(DomainId domain, int vcpu, ulong satp, int registers)
    {
        Domain = domain;
        Vcpu = vcpu;
        Satp = satp;
        Registers = new ulong[registers];
    }

    public DomainId Domain { get; }
    public int Vcpu { get; }
    public ulong Satp { get; }
    /// <summary>The plug-in's secure registers for this process.</summary>
    public ulong[] Registers { get; }
    public List<ProtectedRegion> Regions { get; } = [];
    /// <summary>True while the process runs in U-mode on its vCPU.</summary>
    public bool Running { get; internal set; }

    /// <summary>What <see cref="Toolkit.Registers.RegisterShield"/> keeps of the process's registers while it is suspended.</summary>
    internal Toolkit.Registers.ShieldedRegisters? Shielded { get; set; }
}

/// <summary>A guest's <c>vbase_op</c>, as the plug-in receives it (the hypervisor supplies its registers and memory).</summary>
public abstract class VbaseOpCall
{
    protected VbaseOpCall(ulong command, DomainId caller, int vcpuId, ulong satp, ulong time)
    {
        Command = command;
        Caller = caller;
        VcpuId = vcpuId;
        Satp = satp;
        Time = time;
    }

    /// <summary>a0: <see cref="Abi.VbaseOpCommand"/> or a plug-in sub-call.</summary>
    public ulong Command { get; }
    public DomainId Caller { get; }
    public int VcpuId { get; }
    /// <summary>The calling hart's address space: the process on whose behalf its kernel calls.</summary>
    public ulong Satp { get; }
    public ulong Time { get; }

    /// <summary>Argument register a<paramref name="index"/> (untrusted).</summary>
    public abstract ulong Arg(int index);

    /// <summary>Copies the caller's guest-physical memory; false = -EFAULT.</summary>
    public abstract bool TryRead(ulong gpa, Span<byte> dest);

    public abstract bool TryWrite(ulong gpa, ReadOnlySpan<byte> source);
}

/// <summary>One region as the Monitor's <c>vbase_op(query)</c> reports it.</summary>
public sealed record RegionReport(
    int Id, DomainId Domain, int Vcpu, ulong Satp, GuestVirtualAddress VirtualAddress,
    IReadOnlyList<Gfn> Gfns, IReadOnlyList<Mfn> Mfns, bool Active, ulong ProtectedAt,
    IReadOnlyList<KeyValuePair<string, string>> State);

/// <summary>The application read data that differs from the golden shadow.</summary>
public sealed record ShadowMismatch(ulong Time, int RegionId, GuestPhysicalAddress Address, byte[] Expected, byte[] Actual);

/// <summary>How memory is viewed by the Monitor.</summary>
public enum MemoryView
{
    /// <summary>The bytes in machine memory (ciphertext where the architecture encrypts).</summary>
    Dram,
    /// <summary>What the owning application would read now (through the plug-in, without side effects).</summary>
    Application,
    /// <summary>The golden shadow: what the application last wrote.</summary>
    Shadow,
}
