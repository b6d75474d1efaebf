using Vbase.Hypervisor.Domains;
using Vbase.Isa.Harts;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;

namespace Vbase.Hypervisor.Scheduling;

/// <summary>
/// Deterministic round-robin over runnable vCPUs (by domain id, then vCPU id) in slices of executed
/// instructions. One global virtual time: each hart's <see cref="Hart.Time"/> is set from it before its slice
/// and it advances by what the slice executed, so the same inputs always give the same interleaving.
/// </summary>
internal sealed class Scheduler(Hypervisor hv)
{
    private int cursor;
    private Vcpu? lastRun;
    private volatile bool stopRequested;

    public void RequestStop()
    {
        stopRequested = true;
        hv.Current?.Hart.RequestStop();
    }

    public HypervisorRunResult Run(ulong maxInstructions)
    {
        try
        {
            return RunUntilStop(maxInstructions);
        }
        finally
        {
            // A flood's summary is due by the end of every run call, so that a caller (and the log) sees it.
            hv.FlushFloodSummaries(all: true);
        }
    }

    private HypervisorRunResult RunUntilStop(ulong maxInstructions)
    {
        ulong executed = 0;
        while (true)
        {
            if (stopRequested)
            {
                stopRequested = false;
                return new(HypervisorStop.Stopped, executed, hv.Now);
            }
            List<Vcpu> all = [.. hv.Domains.Where(d => !d.IsDestroyed).SelectMany(d => d.Vcpus)];
            // No domain left, or every one shut down (true for an empty list too).
            if (all.All(v => v.Domain.IsShutdown))
            {
                return new(HypervisorStop.AllShutDown, executed, hv.Now);
            }
            if (executed >= maxInstructions)
            {
                return new(HypervisorStop.InstructionLimit, executed, hv.Now);
            }
            FireTimers(all);
            Vcpu? next = PickNext(all);
            ulong nextDeadline = NextDeadline(all);
            if (next is null)
            {
                if (nextDeadline == Vcpu.NoDeadline)
                {
                    hv.Record(null, null, new RunIdleData());
                    return new(HypervisorStop.Idle, executed, hv.Now);
                }
                // Nobody can run before the next deadline: skip virtual time to it, as an idle CPU would.
                AdvanceTime(nextDeadline - hv.Now);
                continue;
            }
            ulong budget = Math.Min(hv.Options.SliceInstructions, maxInstructions - executed);
            if (nextDeadline != Vcpu.NoDeadline)
            {
                budget = Math.Min(budget, Math.Max(1, nextDeadline - hv.Now));
            }
            executed += RunSlice(next, budget);
            hv.FlushFloodSummaries(all: false);
        }
    }

    private ulong RunSlice(Vcpu v, ulong budget)
    {
        Hart hart = v.Hart;
        if (lastRun != v)
        {
            // Other vCPUs stored through host pointers while this one was descheduled, unseen by its LR/SC
            // reservation; dropping it is always allowed (an SC may fail) and keeps SC from succeeding wrongly.
            hart.InvalidateReservation(0, ulong.MaxValue);
            lastRun = v;
        }
        hart.Time = hv.Now;
        ulong before = hart.Cycle;
        hv.Current = v;
        HartExit exit;
        try
        {
            exit = hart.Run(budget);
        }
        finally
        {
            hv.Current = null;
        }
        ulong ran = hart.Cycle - before;
        AdvanceTime(ran);
        v.RanSinceCall += ran;
        if (v.Domain.WatchdogInstructions != 0 && v.RanSinceCall >= v.Domain.WatchdogInstructions && !v.Domain.IsShutdown)
        {
            v.Domain.Wedged(v);
        }
        if (exit == HartExit.Idle && !v.Domain.IsShutdown)
        {
            // WFI with nothing pending: the vCPU waits for an event or a timer like a blocked one.
            v.Blocked = true;
            v.InWfi = true;
        }
        if (!v.Domain.IsShutdown)
        {
            v.Domain.Events.UpdateUpcallLines();
        }
        return ran;
    }

    /// <summary>Virtual time saturates at <see cref="Vcpu.MaxTime"/> (recorded once) rather than wrapping.</summary>
    private void AdvanceTime(ulong ticks)
    {
        if (hv.Now == Vcpu.MaxTime)
        {
            return;
        }
        hv.Now = hv.Now >= Vcpu.MaxTime - Math.Min(ticks, Vcpu.MaxTime) ? Vcpu.MaxTime : hv.Now + ticks;
        if (hv.Now == Vcpu.MaxTime)
        {
            hv.Record(null, null, new TimeSaturatedData(Vcpu.MaxTime));
        }
    }

    private void FireTimers(List<Vcpu> all)
    {
        hv.RunDueDeviceWork();
        foreach (Vcpu v in all)
        {
            if (!v.IsAlive)
            {
                continue;
            }
            if (v.TimerDeadline <= hv.Now)
            {
                v.TimerDeadline = Vcpu.NoDeadline;
                hv.SendVirq(v.Domain.Id, Virq.Timer, v.Id);
                // The timer ends a block even when VIRQ_TIMER is not bound ("block until an event or the timer").
                if (!v.InWfi)
                {
                    v.Blocked = false;
                }
            }
            if (v.SbiTimerDeadline <= hv.Now && !v.TimerInterruptLine)
            {
                v.SetTimerLine(true);
            }
        }
    }

    private Vcpu? PickNext(List<Vcpu> all)
    {
        for (int i = 0; i < all.Count; i++)
        {
            int index = (cursor + i) % all.Count;
            Vcpu v = all[index];
            if (!v.IsAlive)
            {
                continue;
            }
            if (v.Blocked && CanWake(v))
            {
                v.Blocked = false;
                v.InWfi = false;
            }
            if (!v.Blocked)
            {
                cursor = (index + 1) % all.Count;
                return v;
            }
        }
        return null;
    }

    /// <summary>
    /// WFI resumes only on an interrupt line the hart sees; sched_op block also on a pending port whose upcall
    /// is masked (as Xen's block, which re-enables event delivery).
    /// </summary>
    private static bool CanWake(Vcpu v) =>
        v.TimerInterruptLine || (v.InWfi ? v.Domain.ExternalLine(v.Id) : v.Domain.Events.HasDeliverableEvent(v.Id));

    private ulong NextDeadline(List<Vcpu> all)
    {
        ulong next = hv.NextDeviceDeadline();
        foreach (Vcpu v in all)
        {
            if (!v.IsAlive)
            {
                continue;
            }
            next = Math.Min(next, v.TimerDeadline);
            if (!v.TimerInterruptLine)
            {
                next = Math.Min(next, v.SbiTimerDeadline);
            }
        }
        return next;
    }
}
