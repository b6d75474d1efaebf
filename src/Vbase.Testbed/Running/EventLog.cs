using System.Globalization;
using System.Text.Json;
using Vbase.Sapi.Logging;

namespace Vbase.Testbed.Running;

/// <summary>
/// events.jsonl: one JSON object per line for each event the hypervisor records (virtual time, kind, domain,
/// vCPU, the typed fields, the message derived from them; docs/events.md), in the order it records them; no
/// wall-clock time, and fields in their record's fixed order, so reruns give the same bytes. Every line is
/// flushed to the file as it is written. The file is capped at <see cref="MaxBytes"/>: the line that would pass it
/// is replaced by one <c>log.truncated</c> event and later events are not written (the Monitor, the Controller
/// and the Oracle still see every event; the hypervisor already folds floods into <c>log.suppressed</c> lines).
/// </summary>
internal sealed class EventLog(Stream output, IReadOnlyList<string> domainNames, long maxBytes = EventLog.MaxBytes) : IDisposable, IEventFieldWriter
{
    /// <summary>64 MiB: a few hundred thousand events; ordinary runs write a few kilobytes.</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>Room kept for the <c>log.truncated</c> line itself.</summary>
    private const int TruncationLineBytes = 256;

    public const string TruncatedKind = "log.truncated";

    // Relaxed escaping keeps "->" and quotes in messages readable; the file is never embedded in HTML.
    private readonly Utf8JsonWriter json = new(output, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
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
            Format(new HostEvent(e.Time, null, null, new LogTruncatedData(maxBytes)), line);
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
        json.WriteStartObject("fields");
        e.Data.WriteFields(this);
        json.WriteEndObject();
        json.WriteString("message", e.Message);
        json.WriteEndObject();
        json.Flush();
        to.WriteByte((byte)'\n');
    }

    /// <summary>One field as its JSON type (docs/events.md): numbers, "0x…" strings, strings or null, booleans.</summary>
    void IEventFieldWriter.Write(in EventField f)
    {
        switch (f.Type)
        {
            case EventFieldType.Integer:
                json.WriteNumber(f.Name, f.Integer);
                break;
            case EventFieldType.Unsigned:
                json.WriteNumber(f.Name, f.Unsigned);
                break;
            case EventFieldType.Hex:
                Span<char> hex = stackalloc char[18];
                hex[0] = '0';
                hex[1] = 'x';
                f.Unsigned.TryFormat(hex[2..], out int digits, "x", CultureInfo.InvariantCulture);
                json.WriteString(f.Name, hex[..(digits + 2)]);
                break;
            case EventFieldType.Text when f.Text is null:
                json.WriteNull(f.Name);
                break;
            case EventFieldType.Text:
                json.WriteString(f.Name, f.Text);
                break;
            default:
                json.WriteBoolean(f.Name, f.Flag);
                break;
        }
    }

    public void Flush() => output.Flush();

    public void Dispose()
    {
        json.Dispose();
        line.Dispose();
        output.Dispose();
    }
}

/// <summary><c>log.truncated</c>: events.jsonl reached <paramref name="Limit"/> bytes; later events are not written to it.</summary>
public sealed record LogTruncatedData(long Limit) : EventData
{
    public override string Kind => EventLog.TruncatedKind;
    public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Of("limit", Limit));
    public override string Message() => $"events.jsonl reached its limit of {Limit} bytes; later events are not written";
}
