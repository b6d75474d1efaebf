using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Vbase.Hypervisor;
using Vbase.Sapi.Logging;

namespace Vbase.Testbed.Monitoring;

/// <summary>What a watch rule does when an event matches it (docs/monitor.md).</summary>
[Flags]
public enum WatchAction
{
    None = 0,
    /// <summary>Records a <c>monitor.match</c> event in events.jsonl.</summary>
    Log = 1,
    /// <summary>Counts matches; counters are printed at the end and written to summary.json.</summary>
    Count = 2,
    /// <summary>Copies the region in the DRAM and plaintext views (files in --out, digests in the log).</summary>
    Snapshot = 4,
    /// <summary>Pauses the event's domain.</summary>
    Pause = 8,
    /// <summary>Stops the run (in the REPL: returns to the prompt, like a breakpoint).</summary>
    Stop = 16,
    /// <summary>Prints a line on the console (the rule's template).</summary>
    Print = 32,
}

/// <summary>A closed range of guest-physical addresses [First, Last].</summary>
public readonly record struct AddressRange(ulong First, ulong Last)
{
    public bool Contains(ulong address) => address >= First && address <= Last;

    public override string ToString() => First == Last ? $"0x{First:x}" : $"0x{First:x}-0x{Last:x}";
}

/// <summary>
/// One watch: which events it matches (every condition that is set must hold) and what it does then. Rules come
/// from a monitoring script (<see cref="MonitorScriptLoader"/>) or a REPL <c>watch</c> command.
/// </summary>
public sealed record WatchRule
{
    /// <summary>Names the rule in counters, messages and <c>unwatch</c>.</summary>
    public required string Name { get; init; }
    /// <summary>An event kind, exact or a glob (<c>sapi.*</c>, <c>*.write_*</c>); null: any kind.</summary>
    public string? Kind { get; init; }
    /// <summary>A domain name or numeric id; null: any (including hypervisor-wide events).</summary>
    public string? Domain { get; init; }
    /// <summary>The event's <c>region</c> field; null: any.</summary>
    public int? Region { get; init; }
    /// <summary>The event's <c>gpa</c> field must fall in it; null: any.</summary>
    public AddressRange? Gpa { get; init; }
    /// <summary>
    /// Conditions on the event's other fields (docs/events.md), field name → value: a number (decimal or 0x hex)
    /// equals a numeric field's value, yes/no (true/false) a flag's; otherwise the pattern, exact or a glob, must match
    /// the field as the message shows it.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Details { get; init; } = [];
    public required WatchAction Actions { get; init; }
    /// <summary>The template for <see cref="WatchAction.Print"/> and <see cref="WatchAction.Log"/>; null: a default.</summary>
    public string? Message { get; init; }

    /// <param name="fields">The event's fields (<see cref="EventData.Fields"/>), collected once for every rule.</param>
    public bool Matches(HypervisorEvent e, string? domainName, EventFieldList fields)
    {
        if (Kind is not null && !Glob.IsMatch(Kind, e.Kind))
        {
            return false;
        }
        if (Domain is not null)
        {
            if (e.Domain is null)
            {
                return false;
            }
            bool byId = int.TryParse(Domain, NumberStyles.None, CultureInfo.InvariantCulture, out int id) && id == e.Domain.Value.Value;
            if (!byId && !string.Equals(Domain, domainName, StringComparison.Ordinal))
            {
                return false;
            }
        }
        if (Region is int region && (!fields.TryGet("region", out EventField r) || !r.TryGetUnsigned(out ulong number) || number != (ulong)region))
        {
            return false;
        }
        if (Gpa is AddressRange range && (!fields.TryGet("gpa", out EventField gpa) || !gpa.TryGetUnsigned(out ulong at) || !range.Contains(at)))
        {
            return false;
        }
        foreach (var (key, pattern) in Details)
        {
            if (!fields.TryGet(key, out EventField field) || !FieldMatches(field, pattern))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether a field's value satisfies a condition's pattern (see <see cref="Details"/>).</summary>
    public static bool FieldMatches(in EventField field, string pattern)
    {
        switch (field.Type)
        {
            case EventFieldType.Integer when long.TryParse(pattern, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n):
                return field.Integer == n;
            case EventFieldType.Integer or EventFieldType.Unsigned or EventFieldType.Hex when TryParseAddress(pattern, out ulong u):
                return field.TryGetUnsigned(out ulong value) && value == u;
            case EventFieldType.Flag when pattern is "yes" or "true":
                return field.Flag;
            case EventFieldType.Flag when pattern is "no" or "false":
                return !field.Flag;
            default:
                return Glob.IsMatch(pattern, field.FormatValue());
        }
    }

    /// <summary>The one-line form (the REPL's <c>watch</c> syntax), also used to list watches.</summary>
    public override string ToString()
    {
        var s = new StringBuilder($"name={Name}");
        if (Kind is not null)
        {
            s.Append(CultureInfo.InvariantCulture, $" kind={Kind}");
        }
        if (Domain is not null)
        {
            s.Append(CultureInfo.InvariantCulture, $" domain={Domain}");
        }
        if (Region is int region)
        {
            s.Append(CultureInfo.InvariantCulture, $" region={region}");
        }
        if (Gpa is AddressRange gpa)
        {
            s.Append(CultureInfo.InvariantCulture, $" gpa={gpa}");
        }
        foreach (var (key, value) in Details)
        {
            s.Append(CultureInfo.InvariantCulture, $" {key}={value}");
        }
        s.Append(" do=").Append(ActionNames(Actions));
        if (Message is not null)
        {
            s.Append(CultureInfo.InvariantCulture, $" message=\"{Message}\"");
        }
        return s.ToString();
    }

    public static string ActionNames(WatchAction actions) =>
        string.Join(",", Enum.GetValues<WatchAction>().Where(a => a != WatchAction.None && actions.HasFlag(a)).Select(a => a.ToString().ToLowerInvariant()));

    /// <summary>0x-prefixed hex or decimal, '_' allowed between digits.</summary>
    public static bool TryParseAddress(string text, out ulong value)
    {
        text = text.Replace("_", "", StringComparison.Ordinal);
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}

/// <summary>Shell-style globs: <c>*</c> any run of characters, <c>?</c> one; everything else literal.</summary>
public static class Glob
{
    public static bool IsMatch(string pattern, string text)
    {
        if (pattern.IndexOfAny(['*', '?']) < 0)
        {
            return pattern == text;
        }
        string regex = "^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$";
        return Regex.IsMatch(text, regex, RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }
}
