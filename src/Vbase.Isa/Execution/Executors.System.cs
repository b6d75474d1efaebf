using Vbase.Isa.Csrs;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Execution;

// Zicsr, Zifencei and the privileged instructions. Everything that can change the privilege, the
// translation or interrupt enables leaves through the outer loop (returns null), which re-evaluates them.
internal static unsafe partial class Executors
{
    /// <summary>Any encoding the table does not hold; mtval gets the instruction bits, as QEMU and Spike do.</summary>
    public static DecodedInstruction* Illegal(Hart h, DecodedInstruction* d)
    {
        h.RaiseException(ExceptionCause.IllegalInstruction, d->Raw);
        return null;
    }

    /// <summary>One in-order hart with no caches: memory is always ordered, so every FENCE is a no-op.</summary>
    public static DecodedInstruction* Fence(Hart h, DecodedInstruction* d) => Next(d);

    public static DecodedInstruction* FenceI(Hart h, DecodedInstruction* d)
    {
        // Stores from this hart already invalidate the decodes they overwrite; fence.i also covers memory
        // written by others (devices, a debugger), so start decoding afresh.
        h.FlushDecodeCache();
        return LeaveAfter(h, d);
    }

    public static DecodedInstruction* Ecall(Hart h, DecodedInstruction* d)
    {
        h.RaiseException(h.Privilege switch
        {
            Privilege.User => ExceptionCause.EcallFromU,
            Privilege.Supervisor => ExceptionCause.EcallFromS,
            _ => ExceptionCause.EcallFromM,
        }, 0);
        return null;
    }

    /// <summary>mtval is 0 for ebreak, as in QEMU's virt (the spec allows 0 or the pc).</summary>
    public static DecodedInstruction* Ebreak(Hart h, DecodedInstruction* d)
    {
        h.RaiseException(ExceptionCause.Breakpoint, 0);
        return null;
    }

    public static DecodedInstruction* Mret(Hart h, DecodedInstruction* d)
    {
        if (h.Privilege != Privilege.Machine)
        {
            return Illegal(h, d);
        }
        h.ReturnFromMachineTrap();
        return null;
    }

    public static DecodedInstruction* Sret(Hart h, DecodedInstruction* d)
    {
        if (h.Privilege == Privilege.User || (h.Privilege == Privilege.Supervisor && (h.Mstatus & MStatus.Tsr) != 0))
        {
            return Illegal(h, d);
        }
        h.ReturnFromSupervisorTrap();
        return null;
    }

    /// <summary>WFI is illegal in U-mode and, with mstatus.TW, in S-mode (the "bounded time" is zero, as in QEMU).</summary>
    public static DecodedInstruction* Wfi(Hart h, DecodedInstruction* d)
    {
        if (h.Privilege == Privilege.User || (h.Privilege == Privilege.Supervisor && (h.Mstatus & MStatus.Tw) != 0))
        {
            return Illegal(h, d);
        }
        h.EnterWfi();
        return LeaveAfter(h, d);
    }

    public static DecodedInstruction* SfenceVma(Hart h, DecodedInstruction* d)
    {
        if (h.Privilege == Privilege.User || (h.Privilege == Privilege.Supervisor && (h.Mstatus & MStatus.Tvm) != 0))
        {
            return Illegal(h, d);
        }
        h.FlushTranslationCaches();
        return LeaveAfter(h, d);
    }

    // CSR access: csrrw with rd = x0 does not read; csrrs/csrrc with rs1 = x0 (or a zero uimm) do not write.
    private static DecodedInstruction* CsrAccess(Hart h, DecodedInstruction* d, ulong operand, int kind, bool writes)
    {
        uint csr = (uint)d->Imm;
        bool reads = kind != 0 || d->Rd != DecodedInstruction.SinkRegister;
        if (!h.TryReadCsr(csr, writes, out ulong old))
        {
            return Illegal(h, d);
        }
        if (writes)
        {
            h.WriteCsr(csr, kind switch { 0 => operand, 1 => old | operand, _ => old & ~operand });
        }
        if (reads)
        {
            h.X[d->Rd] = old;
        }
        return writes ? LeaveAfter(h, d) : Next(d);
    }

    public static DecodedInstruction* Csrrw(Hart h, DecodedInstruction* d) => CsrAccess(h, d, h.X[d->Rs1], 0, true);
    public static DecodedInstruction* Csrrs(Hart h, DecodedInstruction* d) => CsrAccess(h, d, h.X[d->Rs1], 1, d->Rs1 != 0);
    public static DecodedInstruction* Csrrc(Hart h, DecodedInstruction* d) => CsrAccess(h, d, h.X[d->Rs1], 2, d->Rs1 != 0);
    public static DecodedInstruction* Csrrwi(Hart h, DecodedInstruction* d) => CsrAccess(h, d, d->Rs1, 0, true);
    public static DecodedInstruction* Csrrsi(Hart h, DecodedInstruction* d) => CsrAccess(h, d, d->Rs1, 1, d->Rs1 != 0);
    public static DecodedInstruction* Csrrci(Hart h, DecodedInstruction* d) => CsrAccess(h, d, d->Rs1, 2, d->Rs1 != 0);
}
