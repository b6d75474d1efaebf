using System.Globalization;
using System.Text;

namespace Vbase.Sapi.Logging;

/// <summary>How a field's value is typed, in C# and in events.jsonl (docs/events.md).</summary>
public enum EventFieldType : byte
{
    /// <summary>A signed number (counts, return codes, exit codes): a JSON number.</summary>
    Integer,
    /// <summary>An unsigned number (times, sizes, arguments): a JSON number.</summary>
    Unsigned,
    /// <summary>An address, a frame number or a register value: a JSON string <c>"0x…"</c> (lower-case hex).</summary>
    Hex,
    /// <summary>A name or words: a JSON string, or null when absent.</summary>
    Text,
    /// <summary>Yes or no: a JSON boolean.</summary>
    Flag,
}

/// <summary>One typed field of an event: a name (snake_case, unique within its event) and a value.</summary>
public readonly record struct EventField
{
    private readonly ulong bits;

    private EventField(string name, EventFieldType type, ulong bits, string? text)
    {
        Name = name;
        Type = type;
        this.bits = bits;
        Text = text;
    }

    public string Name { get; }
    public EventFieldType Type { get; }
    /// <summary>The value of a <see cref="EventFieldType.Text"/> field; null for other types (or an absent text).</summary>
    public string? Text { get; }

    public static EventField Of(string name, long value) => new(name, EventFieldType.Integer, (ulong)value, null);
    public static EventField Of(string name, ulong value) => new(name, EventFieldType.Unsigned, value, null);
    public static EventField Of(string name, string? value) => new(name, EventFieldType.Text, 0, value);
    public static EventField Of(string name, bool value) => new(name, EventFieldType.Flag, value ? 1UL : 0, null);
    /// <summary>An address, frame number or register: written as <c>0x…</c>.</summary>
    public static EventField Hex(string name, ulong value) => new(name, EventFieldType.Hex, value, null);

    /// <summary>The value of an <see cref="EventFieldType.Integer"/> field.</summary>
    public long Integer => (long)bits;
    /// <summary>The value of an <see cref="EventFieldType.Unsigned"/> or <see cref="EventFieldType.Hex"/> field.</summary>
    public ulong Unsigned => bits;
    public bool Flag => bits != 0;
    public bool IsNumber => Type is EventFieldType.Integer or EventFieldType.Unsigned or EventFieldType.Hex;

    /// <summary>The value as an unsigned number, for numeric fields that hold one (a negative integer does not).</summary>
    public bool TryGetUnsigned(out ulong value)
    {
        value = bits;
        return Type is EventFieldType.Unsigned or EventFieldType.Hex || Type == EventFieldType.Integer && (long)bits >= 0;
    }

    /// <summary>
    /// The value as the human message and the Monitor's templates show it: decimal, <c>0x…</c>, the text (empty if
    /// absent), <c>yes</c>/<c>no</c>.
    /// </summary>
    public string FormatValue() => Type switch
    {
        EventFieldType.Integer => ((long)bits).ToString(CultureInfo.InvariantCulture),
        EventFieldType.Unsigned => bits.ToString(CultureInfo.InvariantCulture),
        EventFieldType.Hex => "0x" + bits.ToString("x", CultureInfo.InvariantCulture),
        EventFieldType.Text => Text ?? "",
        _ => bits != 0 ? "yes" : "no",
    };

    /// <summary><c>name=value</c>.</summary>
    public override string ToString() => Name + "=" + FormatValue();

    /// <summary>The fields as <c>name=value</c> words, absent texts left out: the default human message.</summary>
    public static string Join(IEnumerable<EventField> fields)
    {
        var s = new StringBuilder();
        foreach (EventField f in fields)
        {
            if (f.Type == EventFieldType.Text && f.Text is null)
            {
                continue;
            }
            if (s.Length > 0)
            {
                s.Append(' ');
            }
            s.Append(f.Name).Append('=').Append(f.FormatValue());
        }
        return s.ToString();
    }
}

/// <summary>Receives an event's fields in order (<see cref="EventData.WriteFields"/>): the JSON writer, a hash, a list.</summary>
public interface IEventFieldWriter
{
    void Write(in EventField field);
}

/// <summary>An event's fields, in order, with look-up by name.</summary>
public sealed class EventFieldList : IReadOnlyList<EventField>, IEventFieldWriter
{
    private readonly List<EventField> fields = [];

    public EventFieldList()
    {
    }

    public EventFieldList(IEnumerable<EventField> fields)
    {
        foreach (EventField f in fields)
        {
            Write(f);
        }
    }

    public int Count => fields.Count;
    public EventField this[int index] => fields[index];

    /// <summary>The field called <paramref name="name"/>. <exception cref="KeyNotFoundException">The event has none.</exception></summary>
    public EventField this[string name] =>
        TryGet(name, out EventField f) ? f : throw new KeyNotFoundException($"the event has no field '{name}' (it has: {string.Join(", ", fields.Select(x => x.Name))})");

    /// <summary>The field called <paramref name="name"/>; false if the event has none.</summary>
    public bool TryGet(string name, out EventField field)
    {
        foreach (EventField f in fields)
        {
            if (f.Name == name)
            {
                field = f;
                return true;
            }
        }
        field = default;
        return false;
    }

    public void Write(in EventField field)
    {
        if (TryGet(field.Name, out _))
        {
            throw new ArgumentException($"the event has a field '{field.Name}' already", nameof(field));
        }
        fields.Add(field);
    }

    public IEnumerator<EventField> GetEnumerator() => fields.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => EventField.Join(fields);
}
