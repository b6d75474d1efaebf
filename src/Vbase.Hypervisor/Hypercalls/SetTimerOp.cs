using Vbase.Hypervisor.Scheduling;
using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>set_timer_op (15): a one-shot deadline in ticks that sends VIRQ_TIMER; 0 cancels; past <see cref="Vcpu.MaxTime"/>: -EINVAL.</summary>
internal static class SetTimerOp
{
    public static long Handle(in HypercallContext c)
    {
        ulong deadline = c.Arg(0);
        if (deadline > Vcpu.MaxTime)
        {
            // A deadline time cannot reach: refused, so that no skip to it can wrap virtual time.
            return Errno.EINVAL;
        }
        c.Vcpu.TimerDeadline = deadline == 0 ? Vcpu.NoDeadline : deadline;
        // The slice ends so that the scheduler can fire a deadline that is already due (or due within it) on time.
        c.Vcpu.Hart.RequestStop();
        return 0;
    }
}
