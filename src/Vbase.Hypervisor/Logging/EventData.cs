using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.P2m;
using Vbase.Hypervisor.Sapi;

namespace Vbase.Hypervisor.Logging;

/// <summary>
/// The typed fields of an event, for programs that decide on them (the Controller, the demo); the event's
/// <see cref="HypervisorEvent.Details"/> text is derived from them by <see cref="Details"/>.
/// </summary>
public abstract record EventData
{
    /// <summary>The details text of events.jsonl.</summary>
    public abstract string Details();

    protected static string YesNo(bool b) => b ? "yes" : "no";
}

/// <summary>An access to a protected region that did not happen as asked (refused or a dropped write).</summary>
/// <param name="Owner">The accessor was the application that registered the region (<see cref="MemoryAccessContext.IsApplication"/>).</param>
public abstract record ProtectedAccessData(int RegionId, Accessor Accessor, bool Owner, GuestPhysicalAddress Address, Mfn Mfn, int Size) : EventData;

/// <summary><c>sapi.access_refused</c>: the plug-in faulted the access.</summary>
public sealed record AccessRefusedData(int RegionId, Accessor Accessor, bool Owner, AccessKind Kind, GuestPhysicalAddress Address, Mfn Mfn, int Size)
    : ProtectedAccessData(RegionId, Accessor, Owner, Address, Mfn, Size)
{
    public override string Details() =>
        $"region={RegionId} accessor={SapiHost.Name(Accessor)} owner={YesNo(Owner)} kind={SapiHost.Name(Kind)} gpa=0x{Address.Value:x} mfn=0x{Mfn.Value:x} size={Size}";
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
    public override string Details() =>
        $"region={RegionId} accessor={SapiHost.Name(Accessor)} owner={YesNo(Owner)} gpa=0x{Address.Value:x} mfn=0x{Mfn.Value:x} size={Size} data={Data} p2m={P2m.ToXenName()} by={(By == DropCause.P2m ? "p2m" : "arch")}";
}

/// <summary><c>p2m.changed</c>: an entry of a domain's p2m changed.</summary>
public sealed record P2mChangeData(Gfn Gfn, P2mEntry Old, P2mEntry New) : EventData
{
    public override string Details() => $"{Gfn}: {Old.Type.ToXenName()} {Old.Mfn} -> {New.Type.ToXenName()} {New.Mfn}";
}

/// <summary><c>virq.sent</c>: a VIRQ sent to a guest's port (0: unbound there) or to Dom0's handlers.</summary>
public sealed record VirqSentData(int Virq, DomainId To, int Port, bool Dom0Bound) : EventData
{
    public override string Details() => To == DomainId.Dom0
        ? $"virq={Virq} to=dom0 bound={YesNo(Dom0Bound)}"
        : $"virq={Virq} port={Port}";
}

/// <summary><c>log.suppressed</c>: <paramref name="Suppressed"/> events of one kind and shape, past the flood limit, between two times.</summary>
public sealed record EventsSuppressedData(string Kind, long Suppressed, ulong First, ulong Last, string Shape) : EventData
{
    public override string Details() =>
        $"kind={Kind} suppressed={Suppressed} first={First} last={Last} limit={EventFloodLimiter.Burst}/{EventFloodLimiter.IntervalTicks} shape={Shape}";
}
