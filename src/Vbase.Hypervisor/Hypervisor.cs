using Vbase.Hypervisor.Dom0;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Hypercalls;
using Vbase.Hypervisor.Logging;
using Vbase.Hypervisor.Sapi;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;

namespace Vbase.Hypervisor;

/// <summary>How the hypervisor is built.</summary>
public sealed record HypervisorOptions
{
    /// <summary>Machine memory ("DRAM") shared by all domains.</summary>
    public ulong MachineMemory { get; init; } = 256UL << 20;
    /// <summary>Instructions a vCPU runs before the scheduler moves on (the slice).</summary>
    public ulong SliceInstructions { get; init; } = 10_000;
    /// <summary>Receives the event log; null: events are dropped.</summary>
    public IHypervisorEventSink? EventSink { get; init; }
    /// <summary>How the vCPUs' harts run code: translated (the default) or by the reference interpreter only.</summary>
    public ExecutionEngine Engine { get; init; } = ExecutionEngine.Translator;
    /// <summary>The harts' <see cref="HartOptions.TranslationThreshold"/>; null: the hart's default.</summary>
    public int? TranslationThreshold { get; init; }

    /// <summary>The on-chip boundary: the last-level cache protected lines live in, and the cost model's latencies.</summary>
    public ChipOptions Chip { get; init; } = new();
}

/// <summary>
/// A device with work at virtual times (deliveries, not instructions): the scheduler ends slices at its deadline,
/// skips idle time to it, and runs it between slices, so its timing is as deterministic as the guests'.
/// </summary>
internal interface ITimedDevice
{
    /// <summary>When its next work is due; <see cref="Scheduling.Vcpu.NoDeadline"/> if none.</summary>
    ulong NextDeadline { get; }

    /// <summary>Does all work due at or before <paramref name="now"/>.</summary>
    void RunDue(ulong now);
}

/// <summary>Why <see cref="Hypervisor.Run"/> returned.</summary>
public enum HypervisorStop
{
    /// <summary>Every guest domain has shut down (or none was ever unpaused and none is left).</summary>
    AllShutDown,
    InstructionLimit,
    /// <summary>Every live vCPU is blocked with no timer armed: nothing could ever wake one.</summary>
    Idle,
    /// <summary><see cref="Hypervisor.RequestStop"/> was called.</summary>
    Stopped,
}

/// <param name="Instructions">Instructions executed by all vCPUs during this call.</param>
public sealed record HypervisorRunResult(HypervisorStop Stop, ulong Instructions, ulong VirtualTime);

/// <summary>
/// The Xen of Vbase: machine memory, guest domains (each vCPU a hart whose M-mode is this object), hypercalls,
/// event channels, grants and a deterministic scheduler. Dom0 is <see cref="Dom0"/>: a C# API, not a guest.
/// Single-threaded: call it from one thread (only <see cref="RequestStop"/> may come from another).
/// </summary>
public sealed class Hypervisor : IDisposable
{
    private readonly SortedDictionary<ushort, Domain> domains = [];
    private readonly Scheduler scheduler;
    private ushort nextDomainId = 1;

    public Hypervisor(HypervisorOptions? options = null)
    {
        Options = options ?? new HypervisorOptions();
        if (Options.SliceInstructions == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "the slice must be at least one instruction");
        }
        Machine = new MachineMemory(Options.MachineMemory);
        scheduler = new Scheduler(this);
        Dom0 = new Dom0Api(this);
        Sapi = new HypervisorSapiHost(this);
        floods = new EventFloodLimiter((time, domain, data) =>
            Options.EventSink?.Record(new HypervisorEvent(time, domain, null, data)));
    }

    private readonly EventFloodLimiter floods;

    public HypervisorOptions Options { get; }

    /// <summary>Machine memory: what a physical attacker sees, below every p2m.</summary>
    public MachineMemory Machine { get; }

    /// <summary>The privileged API (Xen's libxc and libxenforeignmemory for the MoCo domain).</summary>
    public Dom0Api Dom0 { get; }

    /// <summary>Where a secure-architecture plug-in claims vbase_op and its VIRQs.</summary>
    public HypervisorExtensions Extensions { get; } = new();

    /// <summary>The SAPI: the plugged-in architecture, protected regions, secure contexts, golden shadow.</summary>
    public HypervisorSapiHost Sapi { get; }

    /// <summary>Plugs a secure architecture in; once, before any domain is created.</summary>
    public void Plug(ISecureArchitecture architecture) => Sapi.Plug(architecture);

    /// <summary>Global virtual time in ticks: the sum of what every slice executed, plus skips while all wait.</summary>
    public ulong Now { get; internal set; }

    /// <summary>Virtual time as the running vCPU sees it (its clock runs on within its slice), else <see cref="Now"/>.</summary>
    public ulong CurrentTime => Math.Min(Current is Vcpu v ? v.Hart.Time : Now, Vcpu.MaxTime);

    private readonly List<ITimedDevice> timedDevices = [];

    /// <summary>Adds a device whose work falls due at virtual times (the network bridge's deliveries).</summary>
    internal void AddTimedDevice(ITimedDevice device) => timedDevices.Add(device);

    /// <summary>The earliest time a timed device has work, or <see cref="Vcpu.NoDeadline"/>.</summary>
    internal ulong NextDeviceDeadline()
    {
        ulong next = Vcpu.NoDeadline;
        foreach (ITimedDevice d in timedDevices)
        {
            next = Math.Min(next, d.NextDeadline);
        }
        return next;
    }

    /// <summary>Runs every timed device's work that is due (between slices, in the order the devices were added).</summary>
    internal void RunDueDeviceWork()
    {
        foreach (ITimedDevice d in timedDevices)
        {
            if (d.NextDeadline <= Now)
            {
                d.RunDue(Now);
            }
        }
    }

    /// <summary>The vCPU running now (inside <see cref="Run"/>), for the event log.</summary>
    internal Vcpu? Current { get; set; }
    internal int? CurrentVcpuId => Current?.Id;

    internal IEnumerable<Domain> Domains => domains.Values;

    internal Domain? FindDomain(DomainId id) =>
        domains.TryGetValue(id.Value, out Domain? d) && !d.IsDestroyed ? d : null;

    internal DomainId NextDomainId() => new(nextDomainId++);

    internal void AddDomain(Domain d) => domains.Add(d.Id.Value, d);

    internal void RemoveDomain(Domain d) => domains.Remove(d.Id.Value);

    /// <summary>Runs guest vCPUs until <paramref name="maxInstructions"/> have executed or nothing can run.</summary>
    public HypervisorRunResult Run(ulong maxInstructions) => scheduler.Run(maxInstructions);

    /// <summary>Makes <see cref="Run"/> return soon, at an instruction boundary. Any thread.</summary>
    public void RequestStop() => scheduler.RequestStop();

    /// <summary>
    /// Sends <paramref name="virq"/> to <paramref name="domain"/> without its cooperation (the paper's "event
    /// trigger"): on the port the guest bound it to on vCPU 0, or, for Dom0, to its C# handlers. False if unbound.
    /// </summary>
    public bool SendVirq(DomainId domain, int virq, int vcpu = 0)
    {
        if (domain == DomainId.Dom0)
        {
            // Logged before delivery, so that what Dom0's handlers do appears after it.
            Record(domain, null, new VirqSentData(virq, domain, 0, Dom0.IsVirqBound(virq)));
            return Dom0.DeliverVirq(virq);
        }
        if (FindDomain(domain) is not Domain d)
        {
            return false;
        }
        int port = d.Events.VirqPort(virq, vcpu);
        Record(domain, vcpu, new VirqSentData(virq, domain, port, false));
        if (port == 0)
        {
            return false;
        }
        d.Events.SetPending(port);
        return true;
    }

    /// <summary>Adds an event to the log (its kind is the record's), unless it is part of a guest's flood.</summary>
    internal void Record(DomainId? domain, int? vcpu, EventData data) => Record(domain, vcpu, data, guestCaused: false);

    /// <summary>
    /// As <see cref="Record(DomainId?, int?, EventData)"/>; <paramref name="guestCaused"/> puts the event under the
    /// flood limit even between slices (a frame a guest sent, dropped when it is delivered later).
    /// </summary>
    internal void Record(DomainId? domain, int? vcpu, EventData data, bool guestCaused)
    {
        if (Options.EventSink is not IHypervisorEventSink sink)
        {
            return;
        }
        // A hart's clock runs on within its slice; past the end of time the log stays at it.
        ulong time = Math.Min(Current is Vcpu v ? v.Hart.Time : Now, Vcpu.MaxTime);
        // A guest that repeats an event at will (stores to a read-only page) gets a summary, not a line each.
        if ((Current is not null || guestCaused) && !floods.Admit(time, domain, data))
        {
            return;
        }
        sink.Record(new HypervisorEvent(time, domain, vcpu, data));
    }

    /// <summary>Records the flood summaries that are due (all of them at the end of a run).</summary>
    internal void FlushFloodSummaries(bool all)
    {
        if (floods.HasPending)
        {
            floods.Flush(Now, all);
        }
    }

    /// <summary>A frame changed behind the harts' backs (grant copy, Dom0): every domain mapping it must know.</summary>
    internal void NotifyMachineWrite(Mfn mfn, uint offset, uint length)
    {
        foreach (Domain d in domains.Values)
        {
            // A linear scan: grant copies and Dom0 writes are rare next to guest execution, and a reverse map
            // would have to follow every p2m change.
            bool sharedInfo = false;
            foreach (var (gfn, e) in d.P2m.Entries)
            {
                if (e.Mfn == mfn)
                {
                    d.NotifyWritten((gfn << PageSize.Shift) + offset, length);
                    sharedInfo |= gfn == d.SharedInfoGfn.Value;
                }
            }
            if (sharedInfo)
            {
                d.Events.UpdateUpcallLines();
            }
        }
    }

    /// <summary>Every trap a guest hart does not delegate to its own kernel: ecall from S, and nothing else.</summary>
    internal ulong HandleTrap(Vcpu vcpu, ulong cause, ulong tval, ulong epc)
    {
        if (cause != (ulong)ExceptionCause.EcallFromS)
        {
            // A guest has no M-mode; anything else reaching here is a hypervisor bug or a broken guest state.
            Record(vcpu.Domain.Id, vcpu.Id, new DomainCrashedData(cause, tval, epc));
            vcpu.Domain.Shutdown(ShutdownReason.Crash, -1);
            return epc;
        }
        vcpu.RanSinceCall = 0;   // the guest called its firmware: it is making progress (the watchdog)
        var c = new HypercallContext(this, vcpu);
        ulong a7 = vcpu.Hart.GetRegister(17);
        if (SbiCalls.IsSbi(a7))
        {
            var (error, value, hasValue) = SbiCalls.Handle(c, a7, vcpu.Hart.GetRegister(16));
            vcpu.Hart.SetRegister(10, (ulong)error);
            if (hasValue)
            {
                vcpu.Hart.SetRegister(11, value);
            }
            return epc + 4;
        }
        long result;
        if (HypercallTable.Find(a7) is not HypercallDefinition def)
        {
            result = Errno.ENOSYS;
        }
        else if (def.PrivilegedOnly && !vcpu.Domain.Privileged)
        {
            Record(vcpu.Domain.Id, vcpu.Id, new HypercallDeniedData(def.Name, null));
            result = Errno.EPERM;
        }
        else
        {
            result = def.Handler(c);
        }
        vcpu.Hart.SetRegister(10, (ulong)result);
        return epc + 4;
    }

    public void Dispose()
    {
        foreach (Domain d in domains.Values)
        {
            foreach (Vcpu v in d.Vcpus)
            {
                v.Dispose();
            }
        }
        domains.Clear();
        Sapi.FreeChip();
        Machine.Dispose();
    }
}

/// <summary>The extension points a secure-architecture plug-in uses (SAPI): vbase_op and VIRQ numbers.</summary>
public sealed class HypervisorExtensions
{
    private readonly Dictionary<int, string> virqOwners = [];

    /// <summary>The vbase_op handler; null: vbase_op answers -ENOSYS.</summary>
    public HypercallHandler? VbaseOp { get; private set; }

    public void ClaimVbaseOp(HypercallHandler handler)
    {
        if (VbaseOp is not null)
        {
            throw new InvalidOperationException("vbase_op is already claimed");
        }
        VbaseOp = handler;
    }

    /// <summary>Reserves a plug-in VIRQ (16–23) for <paramref name="owner"/>.</summary>
    public void ClaimVirq(int virq, string owner)
    {
        if (virq is < Virq.FirstPlugin or > Virq.LastPlugin)
        {
            throw new ArgumentOutOfRangeException(nameof(virq), $"plug-in VIRQs are {Virq.FirstPlugin}..{Virq.LastPlugin}");
        }
        if (!virqOwners.TryAdd(virq, owner))
        {
            throw new InvalidOperationException($"VIRQ {virq} is already claimed by {virqOwners[virq]}");
        }
    }

    public string? OwnerOfVirq(int virq) => virqOwners.GetValueOrDefault(virq);
}
