using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>sched_op (29): yield, block until an event or timer, shut the domain down.</summary>
internal static class SchedOp
{
    public static long Handle(in HypercallContext c)
    {
        switch (c.Arg(0))
        {
            case SchedOpCommand.Yield:
                c.Vcpu.Hart.RequestStop();
                return 0;
            case SchedOpCommand.Block:
                // As Xen's SCHEDOP_block: an event already pending means there is nothing to wait for.
                if (!c.Domain.Events.HasDeliverableEvent(c.VcpuId) && !c.Vcpu.TimerInterruptLine)
                {
                    c.Vcpu.Blocked = true;
                }
                c.Vcpu.Hart.RequestStop();
                return 0;
            case SchedOpCommand.Shutdown:
                ulong reason = c.Arg(1);
                if (reason > (ulong)ShutdownReason.Crash)
                {
                    return Errno.EINVAL;
                }
                c.Domain.Shutdown((ShutdownReason)reason, (long)c.Arg(2));
                return 0;
            default:
                return Errno.EINVAL;
        }
    }
}
