using Vbase.Isa.Csrs;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Harts;

public sealed unsafe partial class Hart
{
    private const ulong InterruptBit = 1UL << 63;

    // Interrupt priority, highest first (privileged spec 3.1.9): MEI, MSI, MTI, SEI, SSI, STI.
    private static ReadOnlySpan<byte> InterruptPriority => [11, 3, 7, 9, 1, 5];

    /// <summary>
    /// Raises a synchronous exception for the instruction at <see cref="Pc"/>: it does not retire, and the
    /// hart continues at the trap vector.
    /// </summary>
    internal void RaiseException(ExceptionCause cause, ulong tval)
    {
        notRetired++;
        TakeTrap((ulong)cause, tval, current is null ? pc : PcOf(current));
    }

    /// <summary>Takes the highest-priority pending and enabled interrupt, if any (sets NextPc).</summary>
    private bool TakePendingInterrupt()
    {
        ulong pending = ReadMip() & mie;
        if (pending == 0)
        {
            return false;
        }
        // Interrupts for M are enabled below M, or in M with mstatus.MIE; those delegated to S are enabled
        // below S, or in S with mstatus.SIE, and never in M.
        bool machineEnabled = Privilege < Privilege.Machine || (mstatus & MStatus.Mie) != 0;
        bool supervisorEnabled = Privilege < Privilege.Supervisor
            || (Privilege == Privilege.Supervisor && (mstatus & MStatus.Sie) != 0);
        ulong forMachine = machineEnabled ? pending & ~mideleg : 0;
        ulong forSupervisor = supervisorEnabled ? pending & mideleg : 0;
        ulong candidates = forMachine != 0 ? forMachine : forSupervisor;
        if (candidates == 0)
        {
            return false;
        }
        foreach (byte code in InterruptPriority)
        {
            if ((candidates & (1UL << code)) != 0)
            {
                TakeTrap(InterruptBit | code, 0, pc);
                return true;
            }
        }
        return false;
    }

    private void TakeTrap(ulong cause, ulong tval, ulong epc)
    {
        TrapTaken = true;
        LastTrapCause = cause;
        reservationValid = false;
        bool isInterrupt = (cause & InterruptBit) != 0;
        int code = (int)(cause & 63);
        ulong delegation = isInterrupt ? mideleg : medeleg;
        ulong vectorOffset;
        if (Privilege <= Privilege.Supervisor && ((delegation >> code) & 1) != 0)
        {
            scause = cause;
            sepc = epc;
            stval = tval;
            ulong sie = (mstatus & MStatus.Sie) != 0 ? MStatus.Spie : 0;
            ulong spp = Privilege == Privilege.Supervisor ? MStatus.Spp : 0;
            mstatus = (mstatus & ~(MStatus.Sie | MStatus.Spie | MStatus.Spp)) | sie | spp;
            vectorOffset = isInterrupt && (stvec & 1) != 0 ? 4UL * (ulong)code : 0;
            Hot.NextPc = (stvec & ~3UL) + vectorOffset;
            SetPrivilege(Privilege.Supervisor);
        }
        else if (MachineTrapHandler is { } firmware)
        {
            Hot.NextPc = firmware.HandleMachineTrap(this, cause, tval, epc);
        }
        else
        {
            mcause = cause;
            mepc = epc;
            mtval = tval;
            ulong mpie = (mstatus & MStatus.Mie) != 0 ? MStatus.Mpie : 0;
            ulong mpp = (ulong)Privilege << MStatus.MppShift;
            mstatus = (mstatus & ~(MStatus.Mie | MStatus.Mpie | MStatus.Mpp)) | mpie | mpp;
            vectorOffset = isInterrupt && (mtvec & 1) != 0 ? 4UL * (ulong)code : 0;
            Hot.NextPc = (mtvec & ~3UL) + vectorOffset;
            SetPrivilege(Privilege.Machine);
        }
    }

    /// <summary>mret: back to mstatus.MPP with MIE restored from MPIE.</summary>
    internal void ReturnFromMachineTrap()
    {
        var target = (Privilege)((mstatus & MStatus.Mpp) >> MStatus.MppShift);
        ulong mie = (mstatus & MStatus.Mpie) != 0 ? MStatus.Mie : 0;
        mstatus = (mstatus & ~(MStatus.Mie | MStatus.Mpp)) | mie | MStatus.Mpie;
        if (target != Privilege.Machine)
        {
            mstatus &= ~MStatus.Mprv;
        }
        reservationValid = false;
        Hot.NextPc = mepc;
        SetPrivilege(target);
        BreakOutOfLoop();
    }

    /// <summary>sret: back to sstatus.SPP with SIE restored from SPIE.</summary>
    internal void ReturnFromSupervisorTrap()
    {
        var target = (mstatus & MStatus.Spp) != 0 ? Privilege.Supervisor : Privilege.User;
        ulong sie = (mstatus & MStatus.Spie) != 0 ? MStatus.Sie : 0;
        mstatus = (mstatus & ~(MStatus.Sie | MStatus.Spp | MStatus.Mprv)) | sie | MStatus.Spie;
        reservationValid = false;
        Hot.NextPc = sepc;
        SetPrivilege(target);
        BreakOutOfLoop();
    }

    /// <summary>
    /// When set, traps that would enter M-mode go to this host-side handler instead (the hart then models a
    /// guest whose M-mode belongs to the hypervisor, as with the H extension's HS-mode).
    /// </summary>
    public IMachineTrapHandler? MachineTrapHandler { get; set; }

    /// <summary>Puts the hart in <paramref name="level"/> at <paramref name="entry"/>, between instructions (boot).</summary>
    public void Enter(Privilege level, ulong entry)
    {
        SetPrivilege(level);
        Pc = entry;
    }

    /// <summary>
    /// Called after every change of privilege (traps, xRET, <see cref="Enter"/>); null costs nothing. The
    /// hypervisor's SAPI uses it to see a secure process leave and regain the hart.
    /// </summary>
    public Action<Hart>? PrivilegeChanged { get; set; }

    private void SetPrivilege(Privilege level)
    {
        Privilege previous = Privilege;
        Privilege = level;
        SelectTranslationContext();
        if (PrivilegeChanged is not null && previous != level)
        {
            PrivilegeChanged(this);
        }
    }
}
