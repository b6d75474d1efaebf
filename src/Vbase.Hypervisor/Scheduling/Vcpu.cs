using Vbase.Hypervisor.Domains;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using Vbase.Sapi.Domains;

namespace Vbase.Hypervisor.Scheduling;

/// <summary>A guest vCPU: one hart whose M-mode is the hypervisor, plus the scheduler's view of it.</summary>
internal sealed class Vcpu : IMachineTrapHandler, IDisposable
{
    public const ulong NoDeadline = ulong.MaxValue;

    /// <summary>
    /// The last virtual time (2^63 - 1 ticks): time saturates here instead of wrapping, and a set_timer_op deadline
    /// past it is refused. Nothing real reaches it (2^63 instructions); only a deadline can ask for it.
    /// </summary>
    public const ulong MaxTime = long.MaxValue;

    public Vcpu(Domain domain, int id)
    {
        Domain = domain;
        Id = id;
        HypervisorOptions hv = domain.Hypervisor.Options;
        var options = new HartOptions { HartId = (ulong)id, Engine = hv.Engine };
        Hart = new Hart(domain.Physical, hv.TranslationThreshold is int threshold ? options with { TranslationThreshold = threshold } : options)
        {
            MachineTrapHandler = this,
        };
    }

    public Domain Domain { get; }
    public int Id { get; }
    public Hart Hart { get; }

    /// <summary>Waiting (sched_op block, or WFI with nothing pending) until an event or a timer wakes it.</summary>
    public bool Blocked { get; set; }

    /// <summary>Blocked because the hart idled in WFI (rather than sched_op block).</summary>
    public bool InWfi { get; set; }

    /// <summary>Instructions run since the vCPU last called the hypervisor (an ecall from S): the watchdog's count.</summary>
    public ulong RanSinceCall { get; set; }

    /// <summary>set_timer_op deadline: VIRQ_TIMER at this time.</summary>
    public ulong TimerDeadline { get; set; } = NoDeadline;

    /// <summary>SBI set_timer deadline: STIP rises at this time (stimecmp semantics).</summary>
    public ulong SbiTimerDeadline { get; set; } = NoDeadline;

    public bool TimerInterruptLine { get; set; }

    /// <summary>SBI HSM STOPPED: the hart runs nothing until another vCPU starts it (hart_start).</summary>
    public bool Stopped { get; set; }

    public bool CanRun => !Domain.Paused && !Domain.IsShutdown && !Domain.IsDestroyed && !Stopped && !Blocked;

    /// <summary>Lives for as long as it is not shut down (or HSM-stopped): it can still be woken.</summary>
    public bool IsAlive => !Domain.Paused && !Domain.IsShutdown && !Domain.IsDestroyed && !Stopped;

    public ulong HandleMachineTrap(Hart hart, ulong cause, ulong tval, ulong epc) =>
        Domain.Hypervisor.HandleTrap(this, cause, tval, epc);

    public void SetSbiTimer(ulong deadline, ulong now)
    {
        // Past the end of time means "no timer", as Linux's (u64)-1 does when it clears the timer.
        SbiTimerDeadline = deadline > MaxTime ? NoDeadline : deadline;
        SetTimerLine(deadline <= now);
    }

    public void SetTimerLine(bool level)
    {
        TimerInterruptLine = level;
        Hart.SetInterruptLine(InterruptCause.SupervisorTimer, level);
    }

    public void Dispose() => Hart.Dispose();
}
