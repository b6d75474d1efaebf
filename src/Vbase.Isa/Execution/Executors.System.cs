using Vbase.Isa.Csrs;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Execution;

// The privileged instructions and illegal words. Everything that can change the privilege, the translation or
// interrupt enables leaves through the outer loop (returns null), which re-evaluates them.
internal static unsafe partial class Executors
{
    /// <summary>Any encoding the table does not hold; mtval gets the instruction bits, as QEMU and Spike do.</summary>
    public static DecodedInstruction* Illegal(Hart h, DecodedInstruction* d)
    {
        h.RaiseException(ExceptionCause.IllegalInstruction, d->Raw);
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
}
