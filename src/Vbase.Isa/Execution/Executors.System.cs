using Vbase.Isa.Csrs;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Execution;

// Zicsr, Zifencei and the privileged instructions.
internal static unsafe partial class Executors
{
    /// <summary>Any encoding the table does not hold; mtval gets the instruction bits, as QEMU and Spike do.</summary>
    public static void Illegal(Hart h, ref DecodedInstruction d) => h.RaiseException(ExceptionCause.IllegalInstruction, d.Raw);

    public static void Fence(Hart h, ref DecodedInstruction d)
    {
        // One in-order hart with no caches: memory is always ordered.
    }

    public static void FenceI(Hart h, ref DecodedInstruction d)
    {
        // Stores from this hart already invalidate the decodes they overwrite; fence.i also covers memory
        // written by others (devices, a debugger), so start decoding afresh.
        h.FlushDecodeCache();
    }

    public static void Ecall(Hart h, ref DecodedInstruction d) =>
        h.RaiseException(h.Privilege switch
        {
            Privilege.User => ExceptionCause.EcallFromU,
            Privilege.Supervisor => ExceptionCause.EcallFromS,
            _ => ExceptionCause.EcallFromM,
        }, 0);

    /// <summary>mtval is 0 for ebreak, as in QEMU's virt (the spec allows 0 or the pc).</summary>
    public static void Ebreak(Hart h, ref DecodedInstruction d) => h.RaiseException(ExceptionCause.Breakpoint, 0);

    public static void Mret(Hart h, ref DecodedInstruction d)
    {
        if (h.Privilege != Privilege.Machine)
        {
            Illegal(h, ref d);
            return;
        }
        h.ReturnFromMachineTrap();
    }

    public static void Sret(Hart h, ref DecodedInstruction d)
    {
        if (h.Privilege == Privilege.User || (h.Privilege == Privilege.Supervisor && (h.Mstatus & MStatus.Tsr) != 0))
        {
            Illegal(h, ref d);
            return;
        }
        h.ReturnFromSupervisorTrap();
    }

    /// <summary>WFI is illegal in U-mode and, with mstatus.TW, in S-mode (the "bounded time" is zero, as in QEMU).</summary>
    public static void Wfi(Hart h, ref DecodedInstruction d)
    {
        if (h.Privilege == Privilege.User || (h.Privilege == Privilege.Supervisor && (h.Mstatus & MStatus.Tw) != 0))
        {
            Illegal(h, ref d);
            return;
        }
        h.EnterWfi();
    }

    public static void SfenceVma(Hart h, ref DecodedInstruction d)
    {
        if (h.Privilege == Privilege.User || (h.Privilege == Privilege.Supervisor && (h.Mstatus & MStatus.Tvm) != 0))
        {
            Illegal(h, ref d);
            return;
        }
        h.FlushTranslationCaches();
    }

    // CSR access: csrrw with rd = x0 does not read; csrrs/csrrc with rs1 = x0 (or a zero uimm) do not write.
    private static void CsrAccess(Hart h, ref DecodedInstruction d, ulong operand, int kind, bool writes)
    {
        uint csr = (uint)d.Imm;
        bool reads = kind != 0 || d.Rd != DecodedInstruction.SinkRegister;
        if (!h.TryReadCsr(csr, writes, out ulong old))
        {
            Illegal(h, ref d);
            return;
        }
        if (writes)
        {
            h.WriteCsr(csr, kind switch { 0 => operand, 1 => old | operand, _ => old & ~operand });
        }
        if (reads)
        {
            h.X[d.Rd] = old;
        }
    }

    public static void Csrrw(Hart h, ref DecodedInstruction d) => CsrAccess(h, ref d, h.X[d.Rs1], 0, true);
    public static void Csrrs(Hart h, ref DecodedInstruction d) => CsrAccess(h, ref d, h.X[d.Rs1], 1, d.Rs1 != 0);
    public static void Csrrc(Hart h, ref DecodedInstruction d) => CsrAccess(h, ref d, h.X[d.Rs1], 2, d.Rs1 != 0);
    public static void Csrrwi(Hart h, ref DecodedInstruction d) => CsrAccess(h, ref d, d.Rs1, 0, true);
    public static void Csrrsi(Hart h, ref DecodedInstruction d) => CsrAccess(h, ref d, d.Rs1, 1, d.Rs1 != 0);
    public static void Csrrci(Hart h, ref DecodedInstruction d) => CsrAccess(h, ref d, d.Rs1, 2, d.Rs1 != 0);
}
