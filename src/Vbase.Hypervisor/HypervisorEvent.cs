using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;

namespace Vbase.Hypervisor;

/// <summary>One line of the event log (events.jsonl): what happened, where, and at which virtual time.</summary>
/// <param name="Vcpu">The vCPU involved, or null for domain- or hypervisor-wide events.</param>
/// <param name="Data">The event's typed fields; its record type names the kind (docs/events.md).</param>
public sealed record HypervisorEvent(ulong Time, DomainId? Domain, int? Vcpu, EventData Data)
{
    public string Kind => Data.Kind;

    /// <summary>For people (derived from <see cref="Data"/>; decide on the fields, not on this).</summary>
    public string Message => Data.Message();
}

/// <summary>Receives the hypervisor's event log. Called on the thread that runs the hypervisor.</summary>
public interface IHypervisorEventSink
{
    void Record(HypervisorEvent e);
}
