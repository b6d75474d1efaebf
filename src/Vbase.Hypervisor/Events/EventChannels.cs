using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Traps;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;

namespace Vbase.Hypervisor.Events;

/// <summary>One event-channel port of a domain (Xen's <c>struct evtchn</c>).</summary>
internal struct EventChannel
{
    public EventChannelState State;
    /// <summary>Unbound: who may bind. Interdomain: the other end.</summary>
    public DomainId Remote;
    public int RemotePort;
    public int Virq;
    /// <summary>The vCPU whose upcall this port raises.</summary>
    public int NotifyVcpu;
}

/// <summary>
/// A domain's event channels and the 2-level pending/mask bitmaps in its shared-info page. The guest owns the
/// bitmaps (it clears pending and toggles mask bits with ordinary stores and AMOs); the hypervisor sets pending
/// bits and keeps each vCPU's SEIP line equal to "a pending, unmasked port and upcall_mask clear".
/// </summary>
internal sealed unsafe class EventChannels(Domain domain)
{
    private readonly EventChannel[] ports = new EventChannel[SharedInfoLayout.Ports];
    private readonly int[,] virqPorts = new int[SharedInfoLayout.MaxVcpus, Virq.Count];

    public EventChannelState StateOf(int port) => ValidPort(port) ? ports[port].State : EventChannelState.Closed;

    public static bool ValidPort(long port) => port > 0 && port < SharedInfoLayout.Ports;

    public ref EventChannel Port(int port) => ref ports[port];

    /// <summary>Lowest free port (port 0 is never used, as in Xen); -ENOSPC is reported as -EBUSY.</summary>
    public long Allocate()
    {
        for (int p = 1; p < ports.Length; p++)
        {
            if (ports[p].State == EventChannelState.Closed)
            {
                ports[p] = default;
                return p;
            }
        }
        return Errno.EBUSY;
    }

    public long AllocUnbound(DomainId remote)
    {
        long p = Allocate();
        if (p > 0)
        {
            ports[p] = new EventChannel { State = EventChannelState.Unbound, Remote = remote };
        }
        return p;
    }

    public long BindVirq(int virq, int vcpu)
    {
        if (virq < 0 || virq >= Virq.Count || vcpu < 0 || vcpu >= domain.Vcpus.Count || vcpu >= SharedInfoLayout.MaxVcpus)
        {
            return Errno.EINVAL;
        }
        if (virqPorts[vcpu, virq] != 0)
        {
            return Errno.EBUSY;
        }
        long p = Allocate();
        if (p > 0)
        {
            ports[p] = new EventChannel { State = EventChannelState.Virq, Virq = virq, NotifyVcpu = vcpu };
            virqPorts[vcpu, virq] = (int)p;
        }
        return p;
    }

    /// <summary>The port <paramref name="virq"/> is bound to for <paramref name="vcpu"/>, or 0.</summary>
    public int VirqPort(int virq, int vcpu) =>
        virq is >= 0 and < Virq.Count && vcpu is >= 0 and < SharedInfoLayout.MaxVcpus ? virqPorts[vcpu, virq] : 0;

    public long Close(int port)
    {
        if (!ValidPort(port) || ports[port].State == EventChannelState.Closed)
        {
            return Errno.EINVAL;
        }
        ref EventChannel c = ref ports[port];
        if (c.State == EventChannelState.Virq)
        {
            virqPorts[c.NotifyVcpu, c.Virq] = 0;
        }
        else if (c.State == EventChannelState.Interdomain && domain.Hypervisor.FindDomain(c.Remote) is Domain remote)
        {
            // The other end goes back to unbound, waiting for us again, as Xen does.
            ref EventChannel r = ref remote.Events.Port(c.RemotePort);
            if (r.State == EventChannelState.Interdomain && r.Remote == domain.Id && r.RemotePort == port)
            {
                r = new EventChannel { State = EventChannelState.Unbound, Remote = domain.Id };
            }
        }
        c = default;
        return 0;
    }

    /// <summary>Sets <paramref name="port"/> pending and raises the upcall unless it is masked.</summary>
    public void SetPending(int port)
    {
        byte* si = domain.SharedInfoPointer;
        ulong* pending = (ulong*)(si + SharedInfoLayout.EvtchnPending);
        ulong* mask = (ulong*)(si + SharedInfoLayout.EvtchnMask);
        ulong bit = 1UL << (port & 63);
        pending[port >> 6] |= bit;
        if ((mask[port >> 6] & bit) == 0)
        {
            int vcpu = Math.Min(ports[port].NotifyVcpu, SharedInfoLayout.MaxVcpus - 1);
            si[SharedInfoLayout.VcpuInfo + (vcpu * SharedInfoLayout.VcpuInfoSize) + SharedInfoLayout.UpcallPending] = 1;
        }
        domain.NotifyWritten(GuestLayout.SharedInfo, 64 + (SharedInfoLayout.MaxVcpus * SharedInfoLayout.VcpuInfoSize));
        UpdateUpcallLines();
    }

    /// <summary>unmask: clears the mask bit and re-delivers if the port is pending.</summary>
    public long Unmask(int port)
    {
        if (!ValidPort(port))
        {
            return Errno.EINVAL;
        }
        byte* si = domain.SharedInfoPointer;
        ulong* pending = (ulong*)(si + SharedInfoLayout.EvtchnPending);
        ulong* mask = (ulong*)(si + SharedInfoLayout.EvtchnMask);
        ulong bit = 1UL << (port & 63);
        mask[port >> 6] &= ~bit;
        if ((pending[port >> 6] & bit) != 0)
        {
            SetPending(port);
        }
        else
        {
            UpdateUpcallLines();
        }
        return 0;
    }

    /// <summary>Whether <paramref name="vcpu"/> has a pending port that is not masked (what wakes a blocked vCPU).</summary>
    public bool HasDeliverableEvent(int vcpu)
    {
        byte* si = domain.SharedInfoPointer;
        ulong* pending = (ulong*)(si + SharedInfoLayout.EvtchnPending);
        ulong* mask = (ulong*)(si + SharedInfoLayout.EvtchnMask);
        for (int w = 0; w < SharedInfoLayout.Ports / 64; w++)
        {
            ulong live = pending[w] & ~mask[w];
            while (live != 0)
            {
                int p = (w * 64) + System.Numerics.BitOperations.TrailingZeroCount(live);
                live &= live - 1;
                int target = ports[p].State == EventChannelState.Closed ? 0 : ports[p].NotifyVcpu;
                if (target == vcpu)
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The level of <paramref name="vcpu"/>'s SEIP line: a pending, unmasked port and upcall_mask clear.</summary>
    public bool UpcallLevel(int vcpu)
    {
        byte* si = domain.SharedInfoPointer;
        bool masked = vcpu < SharedInfoLayout.MaxVcpus
            && si[SharedInfoLayout.VcpuInfo + (vcpu * SharedInfoLayout.VcpuInfoSize) + SharedInfoLayout.UpcallMask] != 0;
        return !masked && HasDeliverableEvent(vcpu);
    }

    /// <summary>
    /// Recomputes every vCPU's SEIP line from the page (after any write to it, and at slice boundaries) and the
    /// domain's PLIC, if it has one (after any change of a context's output).
    /// </summary>
    public void UpdateUpcallLines()
    {
        foreach (Vcpu v in domain.Vcpus)
        {
            v.Hart.SetInterruptLine(InterruptCause.SupervisorExternal, domain.ExternalLine(v.Id));
        }
    }
}
