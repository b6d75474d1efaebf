using Vbase.Isa.Csrs;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;

namespace Vbase.Isa.Harts;

public sealed unsafe partial class Hart
{
    // misa: MXL = 64, extensions A, C, D, F, I, M, S, U. Read-only (writes ignored, as WARL allows).
    public const ulong MisaValue = (2UL << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);

    private const ulong SupervisorInterrupts = (1 << 1) | (1 << 5) | (1 << 9);
    private const ulong AllInterrupts = SupervisorInterrupts | (1 << 3) | (1 << 7) | (1 << 11);
    /// <summary>Exceptions that may be delegated: all but ecall from M (11) and the reserved codes.</summary>
    private const ulong DelegableExceptions = 0xB3FF;

    private ulong mstatus, medeleg, mideleg, mie, mtvec, mcounteren, mscratch, mepc, mcause, mtval, menvcfg, mcountinhibit;
    private ulong stvec, scounteren, sscratch, sepc, scause, stval, satp, senvcfg;
    /// <summary>mip bits written by software (SSIP, STIP, SEIP).</summary>
    private ulong mipSoftware;
    /// <summary>mip bits driven by devices and the timer (MSIP, MTIP, MEIP, and SEIP's external line).</summary>
    private ulong mipLines;
    private ulong instretOffset, cycleOffset;
    private readonly byte[] pmpConfig = new byte[64];
    private readonly ulong[] pmpAddress = new ulong[64];

    private void ResetCsrs()
    {
        mstatus = MStatus.UxlSxl64;
        medeleg = mideleg = mie = mtvec = mcounteren = mscratch = mepc = mcause = mtval = menvcfg = mcountinhibit = 0;
        stvec = scounteren = sscratch = sepc = scause = stval = satp = senvcfg = 0;
        mipSoftware = mipLines = 0;
        Array.Clear(pmpConfig);
        Array.Clear(pmpAddress);
    }

    private ulong ReadMip() => mipSoftware | mipLines;

    public ulong Satp => satp;
    /// <summary>mstatus as software reads it (with SD).</summary>
    public ulong Mstatus => MstatusWithSd;

    private ulong MstatusWithSd => (mstatus & MStatus.Fs) == MStatus.FsDirty ? mstatus | MStatus.Sd : mstatus;

    /// <summary>
    /// Reads a CSR as the instruction at the current privilege would; false if that is illegal.
    /// <paramref name="willWrite"/> makes writes to read-only CSRs illegal, as csrrw/csrrs with rs1≠0 are.
    /// </summary>
    internal bool TryReadCsr(uint csr, bool willWrite, out ulong value) => TryReadCsrAs(Privilege, csr, willWrite, out value);

    /// <summary>Reads any implemented CSR with M-mode rights (debuggers, Dom0's vCPU access). False if it does not exist.</summary>
    public bool TryGetCsr(ushort csr, out ulong value) => TryReadCsrAs(Privilege.Machine, csr, false, out value);

    /// <summary>Writes any implemented, writable CSR with M-mode rights; WARL fields keep legal values.</summary>
    public bool TrySetCsr(ushort csr, ulong value)
    {
        if (!TryReadCsrAs(Privilege.Machine, csr, true, out _))
        {
            return false;
        }
        WriteCsr(csr, value);
        return true;
    }

    private bool TryReadCsrAs(Privilege privilege, uint csr, bool willWrite, out ulong value)
    {
        value = 0;
        if ((int)((csr >> 8) & 3) > (int)privilege || (willWrite && (csr >> 10) == 3))
        {
            return false;
        }
        switch (csr)
        {
            case Fflags:
            case Frm:
            case CsrAddress.Fcsr:
                return TryReadFpCsr(csr, out value);
            case CsrAddress.Cycle:
            case CsrAddress.Time:
            case CsrAddress.Instret:
            case >= HpmCounter3 and <= HpmCounter31:
                if (!CounterAccessible(privilege, csr - CsrAddress.Cycle))
                {
                    return false;
                }
                value = csr switch { CsrAddress.Cycle => McycleValue, CsrAddress.Time => Time, CsrAddress.Instret => MinstretValue, _ => 0 };
                return true;

            case Sstatus: value = MstatusWithSd & MStatus.SupervisorView; return true;
            case Sie: value = mie & mideleg; return true;
            case Stvec: value = stvec; return true;
            case Scounteren: value = scounteren; return true;
            case Senvcfg: value = senvcfg; return true;
            case Sscratch: value = sscratch; return true;
            case Sepc: value = sepc; return true;
            case Scause: value = scause; return true;
            case Stval: value = stval; return true;
            case Sip: value = ReadMip() & mideleg; return true;
            case CsrAddress.Satp:
                if (privilege == Privilege.Supervisor && (mstatus & MStatus.Tvm) != 0)
                {
                    return false;
                }
                value = satp;
                return true;

            case Mvendorid: case Marchid: case Mimpid: case Mconfigptr: value = 0; return true;
            case Mhartid: value = options.HartId; return true;
            case CsrAddress.Mstatus: value = MstatusWithSd; return true;
            case Misa: value = MisaValue; return true;
            case Medeleg: value = medeleg; return true;
            case Mideleg: value = mideleg; return true;
            case Mie: value = mie; return true;
            case Mtvec: value = mtvec; return true;
            case Mcounteren: value = mcounteren; return true;
            case Menvcfg: value = menvcfg; return true;
            case Mcountinhibit: value = mcountinhibit; return true;
            case >= MhpmEvent3 and <= MhpmEvent31: value = 0; return true;
            case Mscratch: value = mscratch; return true;
            case Mepc: value = mepc; return true;
            case Mcause: value = mcause; return true;
            case Mtval: value = mtval; return true;
            case Mip: value = ReadMip(); return true;
            case >= PmpCfg0 and <= PmpCfg15:
                if ((csr & 1) != 0)
                {
                    return false; // RV64 has only the even pmpcfg registers
                }
                int first = (int)(csr - PmpCfg0) * 4;
                for (int i = 7; i >= 0; i--)
                {
                    value = (value << 8) | pmpConfig[first + i];
                }
                return true;
            case >= PmpAddr0 and <= PmpAddr63: value = pmpAddress[csr - PmpAddr0]; return true;
            case Mcycle: value = McycleValue; return true;
            case Minstret: value = MinstretValue; return true;
            case >= MhpmCounter3 and <= MhpmCounter31: value = 0; return true;

            // Sdtrig with no triggers: tselect is 0, tdata1 reads type 0 ("no trigger here"), tinfo says only
            // type 0 exists. Software that probes for triggers finds none.
            case Tselect: case Tdata1: case Tdata2: case Tdata3: value = 0; return true;
            case Tinfo: value = 1; return true;
        }
        return false;
    }

    private bool CounterAccessible(Privilege privilege, uint index)
    {
        if (privilege == Privilege.Machine)
        {
            return true;
        }
        if (((mcounteren >> (int)index) & 1) == 0)
        {
            return false;
        }
        return privilege == Privilege.Supervisor || ((scounteren >> (int)index) & 1) != 0;
    }

    /// <summary>Writes a CSR whose read (and privilege check) has already succeeded; WARL fields keep legal values.</summary>
    internal void WriteCsr(uint csr, ulong value)
    {
        switch (csr)
        {
            case Fflags: case Frm: case CsrAddress.Fcsr: WriteFpCsr(csr, value); break;
            case Sstatus:
                WriteMstatus((mstatus & ~MStatus.SupervisorWritable) | (value & MStatus.SupervisorWritable));
                break;
            case Sie: mie = (mie & ~mideleg) | (value & mideleg & AllInterrupts); break;
            case Stvec: stvec = LegalTvec(value, stvec); break;
            case Scounteren: scounteren = value & 0xFFFF_FFFF; break;
            case Senvcfg: senvcfg = value & 1; break; // FIOM only
            case Sscratch: sscratch = value; break;
            case Sepc: sepc = value & ~1UL; break;
            case Scause: scause = value; break;
            case Stval: stval = value; break;
            case Sip:
                // Only SSIP is writable through sip, and only when delegated.
                ulong ssip = 1UL << (int)InterruptCause.SupervisorSoftware;
                ulong writable = mideleg & ssip;
                mipSoftware = (mipSoftware & ~writable) | (value & writable);
                break;
            case CsrAddress.Satp: WriteSatp(value); break;

            case CsrAddress.Mstatus: WriteMstatus(value); break;
            case Misa: break;
            case Medeleg: medeleg = value & DelegableExceptions; break;
            case Mideleg: mideleg = value & SupervisorInterrupts; break;
            case Mie: mie = value & AllInterrupts; break;
            case Mtvec: mtvec = LegalTvec(value, mtvec); break;
            case Mcounteren: mcounteren = value & 0xFFFF_FFFF; break;
            case Menvcfg: menvcfg = value & 1; break;
            case Mcountinhibit: WriteCountInhibit(value & 0xFFFF_FFFD); break;
            case >= MhpmEvent3 and <= MhpmEvent31: break;
            case Mscratch: mscratch = value; break;
            case Mepc: mepc = value & ~1UL; break;
            case Mcause: mcause = value; break;
            case Mtval: mtval = value; break;
            case Mip: mipSoftware = value & SupervisorInterrupts; break;
            case >= PmpCfg0 and <= PmpCfg15:
                int first = (int)(csr - PmpCfg0) * 4;
                for (int i = 0; i < 8; i++)
                {
                    WritePmpConfig(first + i, (byte)(value >> (8 * i)));
                }
                break;
            case >= PmpAddr0 and <= PmpAddr63:
                int index = (int)(csr - PmpAddr0);
                if ((pmpConfig[index] & 0x80) == 0)
                {
                    pmpAddress[index] = value & ((1UL << 54) - 1);
                }
                break;
            // A write to a counter sets the value the next instruction sees, so cancel this one's increment.
            case Mcycle:
                cycleOffset = value - (Cycle + 1);
                frozenCycle = value;
                break;
            case Minstret:
                instretOffset = value - (Cycle + 1 - notRetired);
                frozenInstret = value;
                break;
            case >= MhpmCounter3 and <= MhpmCounter31: break;
            case Tselect: case Tdata1: case Tdata2: case Tdata3: case Tinfo: break;
        }
        BreakOutOfLoop();
    }

    // mcountinhibit: CY (bit 0) freezes mcycle, IR (bit 2) freezes minstret, at the value the next
    // instruction would have seen; clearing the bit resumes counting from there.
    private const ulong InhibitCycle = 1, InhibitInstret = 4;
    private ulong frozenCycle, frozenInstret;

    private ulong McycleValue => (mcountinhibit & InhibitCycle) != 0 ? frozenCycle : Cycle + cycleOffset;
    private ulong MinstretValue => (mcountinhibit & InhibitInstret) != 0 ? frozenInstret : Instret;

    private void WriteCountInhibit(ulong value)
    {
        ulong started = mcountinhibit & ~value, stopped = value & ~mcountinhibit;
        if ((stopped & InhibitCycle) != 0)
        {
            frozenCycle = Cycle + 1 + cycleOffset;
        }
        if ((stopped & InhibitInstret) != 0)
        {
            frozenInstret = Cycle + 1 - notRetired + instretOffset;
        }
        if ((started & InhibitCycle) != 0)
        {
            cycleOffset = frozenCycle - (Cycle + 1);
        }
        if ((started & InhibitInstret) != 0)
        {
            instretOffset = frozenInstret - (Cycle + 1 - notRetired);
        }
        mcountinhibit = value;
    }

    private void WritePmpConfig(int index, byte value)
    {
        if ((pmpConfig[index] & 0x80) != 0)
        {
            return; // locked
        }
        value &= 0x9F; // bits 6:5 are reserved
        if ((value & 3) == 2)
        {
            value &= 0xFC; // R=0, W=1 is reserved: drop the write permission
        }
        pmpConfig[index] = value;
    }

    private static ulong LegalTvec(ulong value, ulong previous)
    {
        ulong mode = value & 3;
        return mode <= 1 ? value : (value & ~3UL) | (previous & 3);
    }

    private void WriteMstatus(ulong value)
    {
        ulong mpp = (value & MStatus.Mpp) >> MStatus.MppShift;
        if (mpp == 2)
        {
            value = (value & ~MStatus.Mpp) | (mstatus & MStatus.Mpp); // reserved encoding: keep the old MPP
        }
        ulong old = mstatus;
        mstatus = (mstatus & ~MStatus.MachineWritable) | (value & MStatus.MachineWritable);
        const ulong translationBits = MStatus.Mprv | MStatus.Mpp | MStatus.Sum | MStatus.Mxr;
        if (((old ^ mstatus) & translationBits) != 0)
        {
            FlushTranslationCaches();
        }
    }

    private void WriteSatp(ulong value)
    {
        ulong mode = value >> 60;
        if (mode != 0 && mode != 8)
        {
            return; // unsupported mode: the write has no effect
        }
        // ASIDs are 16 bits and writable; translations are not tagged by ASID, so any change flushes.
        satp = value & ((0xFUL << 60) | (0xFFFFUL << 44) | ((1UL << 44) - 1));
        FlushTranslationCaches();
    }
}
