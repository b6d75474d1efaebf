using System.Text.Json;

namespace Vbase.Testbed.Running;

/// <summary>
/// events.jsonl: one JSON object per line for each event the hypervisor records (virtual time, kind, domain,
/// vCPU, details), in the order it records them; no wall-clock time, so reruns give the same bytes. Every line is
/// flushed to the file as it is written. The file is capped at <see cref="MaxBytes"/>: the line that would pass it
/// is replaced by one <c>log.truncated</c> event and later events are not written (the Monitor, the Controller
/// and the Oracle still see every event; the hypervisor already folds floods into <c>log.suppressed</c> lines).
/// </summary>
internal sealed class EventLog(Stream output, IReadOnlyList<string> domainNames, long maxBytes = EventLog.MaxBytes) : IDisposable
{
    /// <summary>64 MiB: a few hundred thousand events; ordinary runs write a few kilobytes.</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>Room kept for the <c>log.truncated</c> line itself.</summary>
    private const int TruncationLineBytes = 256;

    public const string TruncatedKind = "log.truncated";

    private readonly Utf8JsonWriter json = new(output, new JsonWriterOptions { Indented = false });
    private readonly MemoryStream line = new();
    private long written;
    private bool truncated;

    public void Write(HostEvent e)
    {
        if (truncated)
        {
            return;
        }
        line.SetLength(0);
        Format(e, line);
        if (written + line.Length > maxBytes - TruncationLineBytes)
        {
            truncated = true;
            line.SetLength(0);
            Format(new HostEvent(e.Time, TruncatedKind, null, null, $"events.jsonl reached its limit of {maxBytes} bytes; later events are not written"), line);
        }
        line.WriteTo(output);
        written += line.Length;
        // Each event reaches the file at once, so a run that is killed (a second Ctrl-C, a crash) keeps every
        // event up to that moment; events are few enough per run for this to cost little.
        output.Flush();
    }

    private void Format(HostEvent e, Stream to)
    {
        json.Reset(to);
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
        to.WriteByte((byte)'\n');
    }

    public void Flush() => output.Flush();

    public void Dispose()
    {
        json.Dispose();
        line.Dispose();
        output.Dispose();
    }
}
