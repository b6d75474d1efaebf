using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Events;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>event_channel_op (32): the command in a0, its arguments in a1, a2.</summary>
internal static class EventChannelOp
{
    public static long Handle(in HypercallContext c)
    {
        EventChannels ev = c.Domain.Events;
        ulong a1 = c.Arg(1), a2 = c.Arg(2);
        switch (c.Arg(0))
        {
            case EventChannelCommand.AllocUnbound:
                return a1 > ushort.MaxValue ? Errno.ESRCH : ev.AllocUnbound(new DomainId((ushort)a1));
            case EventChannelCommand.BindVirq:
                return a1 >= Virq.Count || a2 >= (ulong)c.Domain.Vcpus.Count ? Errno.EINVAL : ev.BindVirq((int)a1, (int)a2);
            case EventChannelCommand.BindInterdomain:
                return BindInterdomain(c, a1, a2);
            case EventChannelCommand.Close:
                return EventChannels.ValidPort((long)a1) ? ev.Close((int)a1) : Errno.EINVAL;
            case EventChannelCommand.Send:
                return Send(c, a1);
            case EventChannelCommand.Status:
                return EventChannels.ValidPort((long)a1) ? (long)ev.StateOf((int)a1) : Errno.EINVAL;
            case EventChannelCommand.Unmask:
                return EventChannels.ValidPort((long)a1) ? ev.Unmask((int)a1) : Errno.EINVAL;
            default:
                return Errno.EINVAL;
        }
    }

    private static long BindInterdomain(in HypercallContext c, ulong remoteDomid, ulong remotePort)
    {
        if (remoteDomid > ushort.MaxValue || c.Hypervisor.FindDomain(new DomainId((ushort)remoteDomid)) is not Domain remote)
        {
            return Errno.ESRCH;
        }
        if (!EventChannels.ValidPort((long)remotePort))
        {
            return Errno.EINVAL;
        }
        ref EventChannel r = ref remote.Events.Port((int)remotePort);
        // Only a port the remote end opened for us: this is what stops a guest from hijacking other channels.
        if (r.State != EventChannelState.Unbound || r.Remote != c.Caller || (remote == c.Domain))
        {
            return Errno.EINVAL;
        }
        long local = c.Domain.Events.Allocate();
        if (local < 0)
        {
            return local;
        }
        ref EventChannel l = ref c.Domain.Events.Port((int)local);
        l = new EventChannel { State = EventChannelState.Interdomain, Remote = remote.Id, RemotePort = (int)remotePort };
        r = new EventChannel { State = EventChannelState.Interdomain, Remote = c.Caller, RemotePort = (int)local };
        return local;
    }

    private static long Send(in HypercallContext c, ulong port)
    {
        if (!EventChannels.ValidPort((long)port))
        {
            return Errno.EINVAL;
        }
        EventChannel ch = c.Domain.Events.Port((int)port);
        switch (ch.State)
        {
            case EventChannelState.Interdomain:
                if (c.Hypervisor.FindDomain(ch.Remote) is Domain remote)
                {
                    remote.Events.SetPending(ch.RemotePort);
                }
                return 0;
            case EventChannelState.Virq:
                // Xen refuses sends on VIRQ ports; loop-back would let a guest fake hypervisor events to itself only,
                // which is harmless, but we keep Xen's answer.
                return Errno.EINVAL;
            default:
                return Errno.EINVAL;
        }
    }
}
