using System.Text.RegularExpressions;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Sapi.Logging;

/// <summary>
/// What an event says, as typed fields (docs/events.md): every event carries one. Programs decide on the record's
/// properties or on <see cref="Fields"/>, never on <see cref="Message"/>, which is derived from them for people.
/// </summary>
/// <remarks>
/// Each kind has one record type that names its kind (<see cref="Kind"/>, a constant of <see cref="EventKind"/> or
/// its own assembly's list) and writes its fields in a fixed order, so events.jsonl is deterministic. A plug-in's
/// kinds need no type of their own: <see cref="PlugInEventData"/>. <see cref="WriteFields"/> must not throw on a
/// record whose fields hold default values: the schema test (docs/events.md) reads field names that way.
/// </remarks>
public abstract record EventData
{
    /// <summary>The event kind (<c>sapi.write_dropped</c>).</summary>
    public abstract string Kind { get; }

    /// <summary>Writes the fields, in their fixed order, without allocating.</summary>
    public abstract void WriteFields(IEventFieldWriter writer);

    /// <summary>The human message: by default the fields as <c>name=value</c> words.</summary>
    public virtual string Message() => Fields().ToString();

    /// <summary>The fields, collected (allocates; <see cref="WriteFields"/> does not).</summary>
    public EventFieldList Fields()
    {
        var list = new EventFieldList();
        WriteFields(list);
        return list;
    }

    protected static string YesNo(bool b) => b ? "yes" : "no";
}

/// <summary>
/// An event of a kind a plug-in (or another program) defines, with its typed fields in order, so that its author
/// need not write a record per event: <c>Host.Record("mine.sealed", domain, vcpu, EventField.Of("region", id))</c>.
/// </summary>
public sealed partial record PlugInEventData : EventData
{
    private readonly EventField[] fields;

    /// <exception cref="ArgumentException">The kind is not <c>prefix.name</c> (lower case, digits, '_' and '-'), or a field name repeats.</exception>
    public PlugInEventData(string kind, ReadOnlySpan<EventField> fields)
    {
        if (!KindPattern().IsMatch(kind))
        {
            throw new ArgumentException($"event kind '{kind}' is not of the form prefix.name (a-z, 0-9, '_', '-')", nameof(kind));
        }
        for (int i = 0; i < fields.Length; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (fields[j].Name == fields[i].Name)
                {
                    throw new ArgumentException($"event {kind} has two fields named '{fields[i].Name}'", nameof(fields));
                }
            }
        }
        Kind = kind;
        this.fields = fields.ToArray();
    }

    public override string Kind { get; }

    public IReadOnlyList<EventField> Values => fields;

    public override void WriteFields(IEventFieldWriter writer)
    {
        foreach (EventField f in fields)
        {
            writer.Write(f);
        }
    }

    public bool Equals(PlugInEventData? other) =>
        other is not null && Kind == other.Kind && fields.AsSpan().SequenceEqual(other.fields);

    public override int GetHashCode() => HashCode.Combine(Kind, fields.Length);

    [GeneratedRegex(@"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")]
    private static partial Regex KindPattern();
}

// ---- domains ----

/// <summary><c>domain.created</c>: Dom0 built a domain (paused).</summary>
public sealed record DomainCreatedData(string Name, ulong MemoryBytes, int Vcpus, int Modules) : EventData
{
    public override string Kind => EventKind.DomainCreated;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("name", Name));
        w.Write(EventField.Of("memory", MemoryBytes));
        w.Write(EventField.Of("vcpus", Vcpus));
        w.Write(EventField.Of("modules", Modules));
    }
}

/// <summary><c>domain.unpaused</c>: no fields.</summary>
public sealed record DomainUnpausedData : EventData
{
    public override string Kind => EventKind.DomainUnpaused;
    public override void WriteFields(IEventFieldWriter w) { }
}

/// <summary><c>domain.paused</c>: no fields.</summary>
public sealed record DomainPausedData : EventData
{
    public override string Kind => EventKind.DomainPaused;
    public override void WriteFields(IEventFieldWriter w) { }
}

/// <summary><c>domain.destroyed</c>: no fields.</summary>
public sealed record DomainDestroyedData : EventData
{
    public override string Kind => EventKind.DomainDestroyed;
    public override void WriteFields(IEventFieldWriter w) { }
}

/// <summary><c>domain.shutdown</c>: the domain shut down (SCHEDOP_shutdown, or a crash).</summary>
public sealed record DomainShutdownData(ShutdownReason Reason, long ExitCode) : EventData
{
    public override string Kind => EventKind.DomainShutdown;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("reason", Name(Reason)));
        w.Write(EventField.Of("exit_code", ExitCode));
    }

    public static string Name(ShutdownReason r) => r switch
    {
        ShutdownReason.Poweroff => "poweroff",
        ShutdownReason.Reboot => "reboot",
        ShutdownReason.Suspend => "suspend",
        _ => "crash",
    };
}

/// <summary>The watchdog stopped a domain: <paramref name="Instructions"/> run by the vCPU without a call to the hypervisor, at <paramref name="Pc"/>.</summary>
public sealed record DomainWedgedData(int Vcpu, ulong Pc, ulong Instructions) : EventData
{
    public override string Kind => EventKind.DomainWedged;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("vcpu", Vcpu));
        w.Write(EventField.Hex("pc", Pc));
        w.Write(EventField.Of("instructions", Instructions));
    }
}

/// <summary><c>domain.crashed</c>: a trap no guest handles reached the hypervisor (then the domain shuts down: crash).</summary>
public sealed record DomainCrashedData(ulong Cause, ulong Tval, ulong Epc) : EventData
{
    public override string Kind => EventKind.DomainCrashed;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Hex("cause", Cause));
        w.Write(EventField.Hex("tval", Tval));
        w.Write(EventField.Hex("epc", Epc));
    }

    public override string Message() => "unexpected trap " + base.Message();
}

/// <summary>
/// <c>console.dropped</c>: the domain's console passed its limit. Recorded when output is first dropped
/// (<paramref name="AtShutdown"/> false, <paramref name="Dropped"/> 0) and, with the total, when the domain shuts down.
/// </summary>
public sealed record ConsoleDroppedData(ulong Limit, ulong Dropped, bool AtShutdown) : EventData
{
    public override string Kind => EventKind.ConsoleDropped;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("limit", Limit));
        w.Write(EventField.Of("dropped", Dropped));
        w.Write(EventField.Of("at_shutdown", AtShutdown));
    }

    public override string Message() => AtShutdown
        ? $"dropped={Dropped} bytes past limit={Limit}"
        : $"limit={Limit} bytes: later console output is dropped";
}

// ---- memory, hypercalls, grants, VIRQs ----

/// <summary><c>p2m.write_to_readonly</c>: a guest store to a read-only p2m mapping, dropped (the guest carries on).</summary>
public sealed record P2mReadOnlyWriteData(GuestPhysicalAddress Address, int Size, P2mType Type) : EventData
{
    public override string Kind => EventKind.P2mReadOnlyWrite;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Hex("gpa", Address.Value));
        w.Write(EventField.Of("size", Size));
        w.Write(EventField.Of("type", Type.ToXenName()));
    }
}

/// <summary>The fields of a p2m entry's change (old and new type and frame), shared by <c>p2m.changed</c> and <c>sapi.p2m_refused</c>.</summary>
internal static class P2mChangeFields
{
    public static void Write(IEventFieldWriter w, Gfn gfn, P2mEntry old, P2mEntry changed)
    {
        w.Write(EventField.Hex("gfn", gfn.Value));
        w.Write(EventField.Of("old_type", old.Type.ToXenName()));
        w.Write(EventField.Hex("old_mfn", old.Mfn.Value));
        w.Write(EventField.Of("new_type", changed.Type.ToXenName()));
        w.Write(EventField.Hex("new_mfn", changed.Mfn.Value));
    }

    public static string Message(Gfn gfn, P2mEntry old, P2mEntry changed) =>
        $"{gfn}: {old.Type.ToXenName()} {old.Mfn} -> {changed.Type.ToXenName()} {changed.Mfn}";
}

/// <summary><c>p2m.changed</c>: an entry of a domain's p2m changed.</summary>
public sealed record P2mChangeData(Gfn Gfn, P2mEntry Old, P2mEntry New) : EventData
{
    public override string Kind => EventKind.P2mChanged;
    public override void WriteFields(IEventFieldWriter w) => P2mChangeFields.Write(w, Gfn, Old, New);
    public override string Message() => P2mChangeFields.Message(Gfn, Old, New);
}

/// <summary><c>hypercall.denied</c>: an unprivileged domain called a privileged hypercall (or sub-operation).</summary>
/// <param name="Operation">The sub-operation refused (<c>map_foreign</c>); null when the whole hypercall is privileged.</param>
public sealed record HypercallDeniedData(string Hypercall, string? Operation) : EventData
{
    public override string Kind => EventKind.HypercallDenied;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("hypercall", Hypercall));
        w.Write(EventField.Of("op", Operation));
    }

    public override string Message() => Operation is null ? $"{Hypercall}: not privileged" : $"{Hypercall} {Operation}: not privileged";
}

/// <summary><c>grant.mapped</c>: the domain mapped another's grant at <paramref name="At"/>.</summary>
public sealed record GrantMappedData(DomainId Granter, uint Reference, Gfn At, bool ReadOnly) : EventData
{
    public override string Kind => EventKind.GrantMapped;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("granter", Granter.Value));
        w.Write(EventField.Of("ref", Reference));
        w.Write(EventField.Hex("at", At.Value));
        w.Write(EventField.Of("ro", ReadOnly));
    }
}

/// <summary><c>grant.unmapped</c>: the domain unmapped a grant mapping.</summary>
public sealed record GrantUnmappedData(ulong Handle, Gfn At) : EventData
{
    public override string Kind => EventKind.GrantUnmapped;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("handle", Handle));
        w.Write(EventField.Hex("at", At.Value));
    }
}

/// <summary><c>grant.refused</c>: a grant mapping was refused by the granter's table (<paramref name="Rc"/>: the errno).</summary>
public sealed record GrantRefusedData(DomainId Granter, uint Reference, long Rc) : EventData
{
    public override string Kind => EventKind.GrantRefused;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("granter", Granter.Value));
        w.Write(EventField.Of("ref", Reference));
        w.Write(EventField.Of("rc", Rc));
    }
}

/// <summary><c>virq.sent</c>: a VIRQ sent to a guest's port (0: unbound there) or to Dom0's handlers.</summary>
public sealed record VirqSentData(int Virq, DomainId To, int Port, bool Dom0Bound) : EventData
{
    public override string Kind => EventKind.VirqSent;

    /// <summary>Someone receives it: a Dom0 handler is bound, or the guest bound the VIRQ to a port.</summary>
    public bool Bound => To == DomainId.Dom0 ? Dom0Bound : Port != 0;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("virq", Virq));
        w.Write(EventField.Of("port", Port));
        w.Write(EventField.Of("bound", Bound));
    }

    public override string Message() => To == DomainId.Dom0
        ? $"virq={Virq} to=dom0 bound={YesNo(Dom0Bound)}"
        : $"virq={Virq} port={Port}";
}

/// <summary><c>dom0.foreign_write</c>: Dom0 wrote into a domain's memory through its foreign mapping.</summary>
public sealed record ForeignWriteData(GuestPhysicalAddress Address, int Length) : EventData
{
    public override string Kind => EventKind.ForeignWrite;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Hex("gpa", Address.Value));
        w.Write(EventField.Of("length", Length));
    }
}

// ---- the run ----

/// <summary><c>run.idle</c>: no fields.</summary>
public sealed record RunIdleData : EventData
{
    public override string Kind => EventKind.RunIdle;
    public override void WriteFields(IEventFieldWriter w) { }
    public override string Message() => "every live vCPU is blocked and no timer is armed";
}

/// <summary><c>time.saturated</c>: virtual time reached its end, <paramref name="Time"/>, and stays there.</summary>
public sealed record TimeSaturatedData(ulong Time) : EventData
{
    public override string Kind => EventKind.TimeSaturated;
    public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Of("time", Time));
    public override string Message() => $"time={Time}: virtual time stops here";
}

/// <summary><c>log.suppressed</c>: <paramref name="Suppressed"/> events of one kind and shape, past the flood limit, between two times.</summary>
/// <param name="SuppressedKind">The kind of the events counted instead of recorded.</param>
/// <param name="Shape">Their fields with every number taken out (the hypervisor's flood limiter).</param>
/// <param name="Burst">The limit: events of one shape recorded per interval.</param>
/// <param name="Interval">The interval, in ticks of virtual time.</param>
public sealed record EventsSuppressedData(string SuppressedKind, long Suppressed, ulong First, ulong Last, string Shape, int Burst, ulong Interval)
    : EventData
{
    public override string Kind => EventKind.EventsSuppressed;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("kind", SuppressedKind));
        w.Write(EventField.Of("suppressed", Suppressed));
        w.Write(EventField.Of("first", First));
        w.Write(EventField.Of("last", Last));
        w.Write(EventField.Of("burst", Burst));
        w.Write(EventField.Of("interval", Interval));
        w.Write(EventField.Of("shape", Shape));
    }

    public override string Message() =>
        $"kind={SuppressedKind} suppressed={Suppressed} first={First} last={Last} limit={Burst}/{Interval} shape={Shape}";
}

// ---- the SAPI ----

/// <summary><c>sapi.plugged</c>: the architecture plugged in.</summary>
public sealed record ArchitecturePluggedData(string Architecture) : EventData
{
    public override string Kind => EventKind.ArchitecturePlugged;
    public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Of("arch", Architecture));
}

/// <summary>
/// <c>sapi.architecture_failed</c>: the plug-in threw from <paramref name="Hook"/>; the run ended there, with an
/// <c>error</c> verdict.
/// </summary>
/// <param name="Exception">The exception's type name.</param>
public sealed record ArchitectureFailedData(string Architecture, string Hook, string Exception, string Reason) : EventData
{
    public override string Kind => EventKind.ArchitectureFailed;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("arch", Architecture));
        w.Write(EventField.Of("hook", Hook));
        w.Write(EventField.Of("exception", Exception));
        w.Write(EventField.Of("reason", Reason));
    }

    public override string Message() => $"arch={Architecture} hook={Hook} exception={Exception} {Reason}";
}

/// <summary><c>sapi.region_protected</c>: a region registered (its first frame; <paramref name="Pages"/> in all).</summary>
public sealed record RegionProtectedData(int RegionId, ulong VirtualAddress, int Pages, Gfn Gfn, Mfn Mfn, ulong Satp) : EventData
{
    public override string Kind => EventKind.RegionProtected;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("region", RegionId));
        w.Write(EventField.Hex("va", VirtualAddress));
        w.Write(EventField.Of("pages", Pages));
        w.Write(EventField.Hex("gfn", Gfn.Value));
        w.Write(EventField.Hex("mfn", Mfn.Value));
        w.Write(EventField.Hex("satp", Satp));
    }
}

/// <summary><c>sapi.region_released</c>: a region's protection ended.</summary>
public sealed record RegionReleasedData(int RegionId) : EventData
{
    public override string Kind => EventKind.RegionReleased;
    public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Of("region", RegionId));
}

/// <summary>A secure process (its address space <paramref name="Satp"/>) left or re-entered U-mode.</summary>
public abstract record SecureTransitionData(ulong Satp) : EventData
{
    public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Hex("satp", Satp));
}

/// <summary><c>sapi.secure_suspend</c>: the secure process stopped running (a trap, another process).</summary>
public sealed record SecureSuspendData(ulong Satp) : SecureTransitionData(Satp)
{
    public override string Kind => EventKind.SecureSuspend;
}

/// <summary><c>sapi.secure_resume</c>: the secure process runs again.</summary>
public sealed record SecureResumeData(ulong Satp) : SecureTransitionData(Satp)
{
    public override string Kind => EventKind.SecureResume;
}

/// <summary>An access to a protected region that did not happen as asked (refused or a dropped write).</summary>
/// <param name="Owner">The accessor was the application that registered the region (<see cref="MemoryAccessContext.IsApplication"/>).</param>
public abstract record ProtectedAccessData(int RegionId, Accessor Accessor, bool Owner, GuestPhysicalAddress Address, Mfn Mfn, int Size) : EventData;

/// <summary><c>sapi.access_refused</c>: the plug-in faulted the access.</summary>
public sealed record AccessRefusedData(int RegionId, Accessor Accessor, bool Owner, AccessKind Access, GuestPhysicalAddress Address, Mfn Mfn, int Size)
    : ProtectedAccessData(RegionId, Accessor, Owner, Address, Mfn, Size)
{
    public override string Kind => EventKind.ProtectedAccessRefused;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("region", RegionId));
        w.Write(EventField.Of("accessor", SapiHost.Name(Accessor)));
        w.Write(EventField.Of("owner", Owner));
        w.Write(EventField.Of("kind", SapiHost.Name(Access)));
        w.Write(EventField.Hex("gpa", Address.Value));
        w.Write(EventField.Hex("mfn", Mfn.Value));
        w.Write(EventField.Of("size", Size));
    }
}

/// <summary>Who dropped a write to a protected region.</summary>
public enum DropCause
{
    /// <summary>The p2m maps the frame read-only: the hypervisor dropped it before the plug-in saw it.</summary>
    P2m,
    /// <summary>The plug-in answered <see cref="AccessVerdict.Dropped"/>.</summary>
    Architecture,
}

/// <summary><c>sapi.write_dropped</c>: a write to a protected region that did not happen.</summary>
/// <param name="Data">The first (up to 16) bytes the accessor wrote, as lower-case hex.</param>
/// <param name="P2m">The frame's p2m type in the region's domain.</param>
public sealed record WriteDroppedData(int RegionId, Accessor Accessor, bool Owner, GuestPhysicalAddress Address, Mfn Mfn, int Size,
    string Data, P2mType P2m, DropCause By) : ProtectedAccessData(RegionId, Accessor, Owner, Address, Mfn, Size)
{
    public override string Kind => EventKind.ProtectedWriteDropped;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("region", RegionId));
        w.Write(EventField.Of("accessor", SapiHost.Name(Accessor)));
        w.Write(EventField.Of("owner", Owner));
        w.Write(EventField.Hex("gpa", Address.Value));
        w.Write(EventField.Hex("mfn", Mfn.Value));
        w.Write(EventField.Of("size", Size));
        w.Write(EventField.Of("data", Data));
        w.Write(EventField.Of("p2m", P2m.ToXenName()));
        w.Write(EventField.Of("by", By == DropCause.P2m ? "p2m" : "arch"));
    }
}

/// <summary>
/// <c>sapi.writes_dropped</c>: stores to a region's read-only frames that the harts dropped themselves after the first
/// of them had been reported (<see cref="WriteDroppedData"/>), counted per accessor; recorded when the region is
/// released and at the end of the run.
/// </summary>
public sealed record WritesDroppedData(int RegionId, Accessor Accessor, bool Owner, long Count) : EventData
{
    public override string Kind => EventKind.ProtectedWritesCounted;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("region", RegionId));
        w.Write(EventField.Of("accessor", SapiHost.Name(Accessor)));
        w.Write(EventField.Of("owner", Owner));
        w.Write(EventField.Of("count", Count));
    }
}

/// <summary><c>sapi.violation</c>: the plug-in detected a violation on an access (<see cref="SapiHost.ReportViolation"/>).</summary>
/// <param name="Reason">The plug-in's words for what it saw.</param>
public sealed record ViolationData(int RegionId, Accessor Accessor, AccessKind Access, GuestPhysicalAddress Address, Mfn Mfn, string Reason) : EventData
{
    public override string Kind => EventKind.Violation;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("region", RegionId));
        w.Write(EventField.Of("accessor", SapiHost.Name(Accessor)));
        w.Write(EventField.Of("kind", SapiHost.Name(Access)));
        w.Write(EventField.Hex("gpa", Address.Value));
        w.Write(EventField.Hex("mfn", Mfn.Value));
        w.Write(EventField.Of("reason", Reason));
    }

    public override string Message() =>
        $"region={RegionId} accessor={SapiHost.Name(Accessor)} kind={SapiHost.Name(Access)} gpa=0x{Address.Value:x} mfn=0x{Mfn.Value:x} {Reason}";
}

/// <summary>
/// <c>sapi.vbase_op</c>: a <c>vbase_op</c> hypercall the plug-in answered with <paramref name="Result"/>; or Dom0's
/// query (<see cref="VbaseOpCommand.Query"/>, arguments 0), whose result is the number of regions.
/// </summary>
public sealed record VbaseOpData(ulong Command, ulong A1, ulong A2, ulong A3, long Result) : EventData
{
    public override string Kind => EventKind.VbaseOp;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("cmd", Command));
        w.Write(EventField.Hex("a1", A1));
        w.Write(EventField.Of("a2", A2));
        w.Write(EventField.Of("a3", A3));
        w.Write(EventField.Of("result", Result));
    }

    public override string Message() => $"cmd={Command}{CommandName(Command)} a1=0x{A1:x} a2={A2} a3={A3} -> {Result}";

    private static string CommandName(ulong command) => command switch
    {
        VbaseOpCommand.Enter => " (enter)",
        VbaseOpCommand.Exit => " (exit)",
        VbaseOpCommand.Query => " (query)",
        _ => "",
    };
}

/// <summary><c>sapi.p2m_refused</c>: the plug-in refused a p2m change <paramref name="By"/> someone else.</summary>
public sealed record P2mChangeRefusedData(Gfn Gfn, P2mEntry Current, P2mEntry Proposed, Accessor By) : EventData
{
    public override string Kind => EventKind.P2mChangeRefused;

    public override void WriteFields(IEventFieldWriter w)
    {
        P2mChangeFields.Write(w, Gfn, Current, Proposed);
        w.Write(EventField.Of("by", SapiHost.Name(By)));
    }

    public override string Message() => $"{P2mChangeFields.Message(Gfn, Current, Proposed)} by {SapiHost.Name(By)}";
}

/// <summary><c>oracle.read_mismatch</c>: the application read protected data that differs from the golden shadow.</summary>
/// <param name="Expected">The shadow's bytes, lower-case hex.</param>
/// <param name="Read">The bytes the application got, lower-case hex.</param>
public sealed record ShadowMismatchData(int RegionId, GuestPhysicalAddress Address, string Expected, string Read) : EventData
{
    public override string Kind => EventKind.ShadowMismatch;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("region", RegionId));
        w.Write(EventField.Hex("gpa", Address.Value));
        w.Write(EventField.Of("expected", Expected));
        w.Write(EventField.Of("read", Read));
    }
}

/// <summary><c>sapi.dram_traffic</c>: what crossed the chip boundary over a run, and the cost model's cycle estimate.</summary>
public sealed record DramTrafficData(string Architecture, Chip.DramTraffic Traffic, ulong Cycles) : EventData
{
    public override string Kind => EventKind.DramTraffic;

    public override void WriteFields(IEventFieldWriter w)
    {
        Chip.DramTraffic t = Traffic ?? Chip.DramTraffic.None;   // (built field by field by the schema test)
        w.Write(EventField.Of("arch", Architecture));
        w.Write(EventField.Of("data_reads", t.DataReads));
        w.Write(EventField.Of("data_writes", t.DataWrites));
        w.Write(EventField.Of("metadata_reads", t.MetadataReads));
        w.Write(EventField.Of("metadata_writes", t.MetadataWrites));
        w.Write(EventField.Of("hits", t.Hits));
        w.Write(EventField.Of("cipher_ops", t.CipherOps));
        w.Write(EventField.Of("mac_ops", t.MacOps));
        w.Write(EventField.Of("instructions", t.Instructions));
        w.Write(EventField.Of("cycles", Cycles));
    }
}

/// <summary><c>sapi.metadata_area</c>: the plug-in reserved machine memory for its off-chip metadata.</summary>
public sealed record MetadataAreaData(Mfn First, ulong Frames) : EventData
{
    public override string Kind => EventKind.MetadataArea;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Hex("mfn", First.Value));
        w.Write(EventField.Of("frames", Frames));
        w.Write(EventField.Of("bytes", Frames << PageSize.Shift));
    }
}
