using System.Text.Json;

namespace Vbase.Testbed.Running;

/// <summary>
/// events.jsonl: one JSON object per line for each event the hypervisor records (virtual time, kind, domain,
/// vCPU, details), in the order it records them; no wall-clock time, so reruns give the same bytes. Every line is
/// flushed to the file as it is written.
/// </summary>
internal sealed class EventLog(Stream output, IReadOnlyList<string> domainNames) : IDisposable
{
    private readonly Utf8JsonWriter json = new(output, new JsonWriterOptions { Indented = false });

    public void Write(HostEvent e)
    {
        json.Reset(output);
        json.WriteStartObject();
        json.WriteNumber("time", e.Time);
        json.WriteString("kind", e.Kind);
        if (e.DomainId is int id)
        {
            json.WriteNumber("domain_id", id);
            // Domains are created in scenario order, so domain id n is the scenario's n-th domain.
            if (id >= 1 && id <= domainNames.Count)
            {
                json.WriteString("domain", domainNames[id - 1]);
            }
        }
        if (e.Vcpu is int vcpu)
        {
            json.WriteNumber("vcpu", vcpu);
        }
        json.WriteString("details", e.Details);
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
        // Each event reaches the file at once, so a run that is killed (a second Ctrl-C, a crash) keeps every
        // event up to that moment; events are few enough per run for this to cost little.
        output.Flush();
    }

    public void Flush() => output.Flush();

    public void Dispose()
    {
        json.Dispose();
        output.Dispose();
    }
}
