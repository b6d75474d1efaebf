namespace Vbase.Sapi.Abi;

/// <summary>The guest-physical layout every guest domain gets (docs/abi.md, "Guest memory layout").</summary>
public static class GuestLayout
{
    public const ulong RamBase = 0x8000_0000;
    public const ulong StartInfo = 0x8000_1000;
    public const ulong SharedInfo = 0x8000_2000;
    public const ulong ModulesBase = 0x8001_0000;
    public const ulong ModulesEnd = 0x8020_0000;
    public const ulong KernelBase = 0x8020_0000;
    public const ulong DefaultRamBytes = 16UL << 20;
}

/// <summary>Hypercall numbers (a7), Xen's where Xen has one.</summary>
public static class HypercallNumber
{
    public const ulong MemoryOp = 12;
    public const ulong SetTimerOp = 15;
    public const ulong ConsoleIo = 18;
    public const ulong GrantTableOp = 20;
    public const ulong VcpuOp = 24;
    public const ulong SchedOp = 29;
    public const ulong EventChannelOp = 32;
    public const ulong Domctl = 36;
    public const ulong VbaseOp = 64;
}

/// <summary>Negative results (Xen's errno values).</summary>
public static class Errno
{
    public const long EPERM = -1, ENOENT = -2, ESRCH = -3, EAGAIN = -11, ENOMEM = -12, EFAULT = -14, EBUSY = -16,
        EINVAL = -22, ENOSYS = -38;
}

public static class MemoryOpCommand
{
    public const ulong RamSize = 0, RamBase = 1, MapForeign = 100;
}

public static class ConsoleIoCommand
{
    public const ulong Write = 0, Read = 1;
}

public static class VcpuOpCommand
{
    public const ulong MyId = 0, Count = 1, CurrentTime = 2;
}

public static class SchedOpCommand
{
    public const ulong Yield = 0, Block = 1, Shutdown = 2;
}

/// <summary>sched_op shutdown reasons.</summary>
public enum ShutdownReason
{
    Poweroff = 0,
    Reboot = 1,
    Suspend = 2,
    Crash = 3,
}

public static class EventChannelCommand
{
    public const ulong BindInterdomain = 0, BindVirq = 1, Close = 3, Send = 4, Status = 5, AllocUnbound = 6, Unmask = 9;
}

/// <summary>event_channel_op status results.</summary>
public enum EventChannelState
{
    Closed = 0,
    Unbound = 1,
    Interdomain = 2,
    Virq = 3,
}

public static class Virq
{
    public const int Timer = 0;
    public const int Console = 2;
    /// <summary>Sent to Dom0 when a guest domain shuts down (Xen's VIRQ_DOM_EXC).</summary>
    public const int DomainException = 3;
    public const int Vbase = 16;
    /// <summary>VIRQs 16–23 belong to plug-ins.</summary>
    public const int FirstPlugin = 16, LastPlugin = 23;
    public const int Count = 24;
}

/// <summary>vbase_op sub-calls (a0). The guest kernel passes a1 = frame-list GPA, a2 = count, a3 = op, a4 = VA.</summary>
public static class VbaseOpCommand
{
    public const ulong Enter = 0, Exit = 1;
    /// <summary>Privileged: Dom0's Monitor asks for region details (guests get -EPERM).</summary>
    public const ulong Query = 2;
    /// <summary>Sub-calls from here on belong to the plugged-in architecture.</summary>
    public const ulong FirstPlugin = 16;
}

public static class GrantTableCommand
{
    public const ulong MapGrantRef = 0, UnmapGrantRef = 1, SetupTable = 2, Copy = 5, QuerySize = 6;
    public const int MaxEntries = 512;
}

/// <summary>Grant entry (8 bytes): u16 flags, u16 domid, u32 gfn.</summary>
public static class GrantEntryLayout
{
    public const int Size = 8, Flags = 0, DomId = 2, Gfn = 4;
    public const ushort PermitAccess = 1 << 0, ReadOnly = 1 << 2;
    public const ulong MapFlagReadOnly = 1;
}

/// <summary><c>vbase_gnttab_copy</c>.</summary>
public static class GrantCopyLayout
{
    public const int Flags = 0, SourceDomId = 4, DestDomId = 6, Source = 8, Dest = 16, SourceOffset = 24, DestOffset = 28,
        Length = 32, Status = 36, Size = 40;
    public const uint SourceIsGrant = 1, DestIsGrant = 2;
}

/// <summary><c>vbase_start_info</c> offsets.</summary>
public static class StartInfoLayout
{
    public const string Magic = "VBASEST1";
    public const int MagicOffset = 0, DomId = 8, NrVcpus = 16, RamBase = 24, RamSize = 32, SharedInfoGpa = 40,
        ConsolePort = 48, NrModules = 56, Modules = 64, ModuleSize = 64, MaxModules = 16, ModuleNameBytes = 48,
        Cmdline = Modules + (MaxModules * ModuleSize), CmdlineBytes = 256;
}

/// <summary><c>vbase_shared_info</c> offsets.</summary>
public static class SharedInfoLayout
{
    public const int Ports = 256;
    public const int EvtchnPending = 0, EvtchnMask = 32, VcpuInfo = 64, VcpuInfoSize = 8, UpcallPending = 0, UpcallMask = 1;
    public const int MaxVcpus = 8;
}

/// <summary>SBI extension ids and errors (the RISC-V SBI specification).</summary>
public static class Sbi
{
    public const ulong Base = 0x10, Time = 0x54494D45, Dbcn = 0x4442434E;
    public const ulong LegacySetTimer = 0, LegacyPutchar = 1, LegacyGetchar = 2, LegacyShutdown = 8, LegacyLast = 8;
    public const ulong FirstExtension = 0x10_0000;
    public const long Success = 0, ErrFailed = -1, ErrNotSupported = -2, ErrInvalidParam = -3, ErrInvalidAddress = -5;
    public const ulong SpecVersion = 2UL << 24;
    public const ulong ImplementationId = 0x7662; // "vb"
}
