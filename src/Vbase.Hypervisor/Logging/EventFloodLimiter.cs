using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;

namespace Vbase.Hypervisor.Logging;

/// <summary>
/// Bounds the events a guest can make the hypervisor record: within each interval of
/// <see cref="IntervalTicks"/> of virtual time, at most <see cref="Burst"/> events of one shape (kind, domain, and
/// the fields with every number taken out: <c>accessor=guest_user owner=yes gpa=# …</c>) are recorded; the rest
/// are counted, and one <c>log.suppressed</c> event (kind, shape, count, first and last time) takes their place when
/// the interval is over. The shape keeps apart what differs in kind rather than in value: the application's own
/// dropped writes do not hide the guest kernel's. Only events recorded while a guest vCPU runs are limited: those are the
/// ones a guest can repeat at will (a store loop on a read-only page), Dom0's reactions to them included (a handler of
/// the VIRQ each <c>enter</c> sends); what the harness does between slices (attacks, Monitor commands) never is.
/// </summary>
/// <remarks>
/// The first events of a flood are kept, so whatever a verdict looks for first (a violation, a dropped write) is
/// there; deterministic, since it counts virtual time, not wall-clock time.
/// </remarks>
internal sealed class EventFloodLimiter(Action<ulong, DomainId?, EventsSuppressedData> emit) : IEventFieldWriter
{
    /// <summary>10 M ticks (as many instructions): about a hundredth of a second of guest work.</summary>
    public const ulong IntervalTicks = 10_000_000;

    /// <summary>Events of one kind for one domain per interval before the rest are counted instead.</summary>
    public const int Burst = 100;

    private sealed class Bucket(string kind, DomainId? domain, string shape)
    {
        public readonly string Kind = kind;
        public readonly string Shape = shape;
        public readonly DomainId? Domain = domain;
        public ulong Interval = ulong.MaxValue;
        public int Recorded;
        public long Suppressed;
        public ulong FirstSuppressed, LastSuppressed;
    }

    private readonly Dictionary<(string, ushort, string), Bucket> buckets = [];
    private readonly List<Bucket> pending = [];

    /// <summary>True if the event is to be recorded now; false if it is counted in its bucket instead.</summary>
    public bool Admit(ulong time, DomainId? domain, EventData data)
    {
        string kind = data.Kind;
        string shape = Shape(data);
        (string, ushort, string) key = (kind, domain?.Value ?? ushort.MaxValue, shape);
        if (!buckets.TryGetValue(key, out Bucket? b))
        {
            buckets[key] = b = new Bucket(kind, domain, shape);
        }
        ulong interval = time / IntervalTicks;
        if (b.Interval != interval)
        {
            if (b.Suppressed > 0)
            {
                Summarise(b, time);
                pending.Remove(b);
            }
            b.Interval = interval;
            b.Recorded = 0;
        }
        if (b.Recorded < Burst)
        {
            b.Recorded++;
            return true;
        }
        if (b.Suppressed++ == 0)
        {
            b.FirstSuppressed = time;
            pending.Add(b);
        }
        b.LastSuppressed = time;
        return false;
    }

    /// <summary>Records, at <paramref name="now"/>, the summaries of buckets whose interval ended (all of them if <paramref name="all"/>).</summary>
    public void Flush(ulong now, bool all)
    {
        for (int i = 0; i < pending.Count; i++)
        {
            Bucket b = pending[i];
            if (!all && now / IntervalTicks == b.Interval)
            {
                continue;
            }
            Summarise(b, now);
            pending.RemoveAt(i--);
        }
    }

    /// <summary>Whether some suppressed events still wait for their summary.</summary>
    public bool HasPending => pending.Count > 0;

    private void Summarise(Bucket b, ulong now)
    {
        emit(now, b.Domain, new EventsSuppressedData(b.Kind, b.Suppressed, b.FirstSuppressed, b.LastSuppressed, b.Shape, Burst, IntervalTicks));
        b.Suppressed = 0;
    }

    private readonly System.Text.StringBuilder shapeText = new();

    /// <summary>
    /// The fields as <c>name=value</c> words, each number replaced by <c>#</c> and each text by <see cref="Shape(string)"/>,
    /// so that events differing only in addresses, sizes, data or counts share a shape.
    /// </summary>
    internal string Shape(EventData data)
    {
        shapeText.Clear();
        data.WriteFields(this);
        return shapeText.ToString();
    }

    void IEventFieldWriter.Write(in EventField field)
    {
        if (field.Type == EventFieldType.Text && field.Text is null)
        {
            return;
        }
        if (shapeText.Length > 0)
        {
            shapeText.Append(' ');
        }
        shapeText.Append(field.Name).Append('=');
        switch (field.Type)
        {
            case EventFieldType.Text:
                Shape(field.Text!, shapeText);
                break;
            case EventFieldType.Flag:
                shapeText.Append(field.Flag ? "yes" : "no");
                break;
            default:
                shapeText.Append('#');
                break;
        }
    }

    /// <summary>
    /// A text with each number (a word of decimal or hex digits, 0x-prefixed or not) replaced by <c>#</c>: a
    /// plug-in's reason names lines and addresses in words. Words made of the letters a–f only count as numbers
    /// too; that can only merge shapes, never split a flood.
    /// </summary>
    internal static string Shape(string text)
    {
        var shape = new System.Text.StringBuilder(text.Length);
        Shape(text, shape);
        return shape.ToString();
    }

    private static void Shape(string details, System.Text.StringBuilder shape)
    {
        int i = 0;
        while (i < details.Length)
        {
            int end = i;
            while (end < details.Length && !IsSeparator(details[end]))
            {
                end++;
            }
            if (end == i)
            {
                shape.Append(details[i++]);
                continue;
            }
            ReadOnlySpan<char> word = details.AsSpan(i, end - i);
            if (word.StartsWith("0x") && word.Length > 2)
            {
                word = word[2..];
            }
            bool number = true;
            foreach (char c in word)
            {
                number &= char.IsAsciiHexDigit(c);
            }
            if (number)
            {
                shape.Append('#');
            }
            else
            {
                shape.Append(details, i, end - i);
            }
            i = end;
        }
    }

    private static bool IsSeparator(char c) => c is ' ' or '=' or ',' or ':' or ';' or '(' or ')' or '[' or ']' or '/' or '-' or '>';
}
