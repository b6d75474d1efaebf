namespace Vbase.Isa.Csrs;

/// <summary>CSR numbers of the privileged specification that the hart implements.</summary>
public static class CsrAddress
{
    // Unprivileged floating-point CSRs (F, D).
    public const ushort Fflags = 0x001, Frm = 0x002, Fcsr = 0x003;

    // Unprivileged counters.
    public const ushort Cycle = 0xC00, Time = 0xC01, Instret = 0xC02, HpmCounter3 = 0xC03, HpmCounter31 = 0xC1F;

    // Supervisor.
    public const ushort Sstatus = 0x100, Sie = 0x104, Stvec = 0x105, Scounteren = 0x106, Senvcfg = 0x10A;
    public const ushort Sscratch = 0x140, Sepc = 0x141, Scause = 0x142, Stval = 0x143, Sip = 0x144, Satp = 0x180;

    // Machine.
    public const ushort Mvendorid = 0xF11, Marchid = 0xF12, Mimpid = 0xF13, Mhartid = 0xF14, Mconfigptr = 0xF15;
    public const ushort Mstatus = 0x300, Misa = 0x301, Medeleg = 0x302, Mideleg = 0x303, Mie = 0x304, Mtvec = 0x305;
    public const ushort Mcounteren = 0x306, Menvcfg = 0x30A, Mcountinhibit = 0x320, MhpmEvent3 = 0x323, MhpmEvent31 = 0x33F;
    public const ushort Mscratch = 0x340, Mepc = 0x341, Mcause = 0x342, Mtval = 0x343, Mip = 0x344;
    public const ushort PmpCfg0 = 0x3A0, PmpCfg15 = 0x3AF, PmpAddr0 = 0x3B0, PmpAddr63 = 0x3EF;
    public const ushort Mcycle = 0xB00, Minstret = 0xB02, MhpmCounter3 = 0xB03, MhpmCounter31 = 0xB1F;

    // Debug triggers (Sdtrig), implemented as "no triggers".
    public const ushort Tselect = 0x7A0, Tdata1 = 0x7A1, Tdata2 = 0x7A2, Tdata3 = 0x7A3, Tinfo = 0x7A4;
}

/// <summary>mstatus/sstatus fields.</summary>
public static class MStatus
{
    public const ulong Sie = 1UL << 1, Mie = 1UL << 3, Spie = 1UL << 5, Mpie = 1UL << 7, Spp = 1UL << 8;
    public const int MppShift = 11;
    public const ulong Mpp = 3UL << MppShift;
    public const ulong Mprv = 1UL << 17, Sum = 1UL << 18, Mxr = 1UL << 19, Tvm = 1UL << 20, Tw = 1UL << 21, Tsr = 1UL << 22;
    public const ulong UxlSxl64 = (2UL << 32) | (2UL << 34);
    /// <summary>FS, the floating-point unit's state: 0 Off (FP instructions and CSRs are illegal), 1 Initial, 2 Clean, 3 Dirty.</summary>
    public const int FsShift = 13;
    public const ulong Fs = 3UL << FsShift, FsInitial = 1UL << FsShift, FsClean = 2UL << FsShift, FsDirty = Fs;
    /// <summary>SD: read-only, set while FS (or the absent VS, XS) is Dirty; the hart computes it on every read.</summary>
    public const ulong Sd = 1UL << 63;

    /// <summary>Bits M-mode may write (VS/XS stay 0: no V, no custom state; UBE/SBE/MBE stay 0: little-endian only).</summary>
    public const ulong MachineWritable = Sie | Mie | Spie | Mpie | Spp | Mpp | Fs | Mprv | Sum | Mxr | Tvm | Tw | Tsr;

    /// <summary>The sstatus view of mstatus.</summary>
    public const ulong SupervisorView = Sie | Spie | Spp | Fs | Sum | Mxr | (3UL << 32) | Sd;
    public const ulong SupervisorWritable = Sie | Spie | Spp | Fs | Sum | Mxr;
}
