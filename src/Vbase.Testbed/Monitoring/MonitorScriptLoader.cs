using Vbase.Testbed.Yaml;
using System.Globalization;
using System.Text;
using Vbase.Platform.Loading;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vbase.Testbed.Monitoring;

/// <summary>
/// Reads monitoring scripts (a YAML list of watch rules, docs/monitor.md) and the REPL's one-line rules. Every
/// problem is one <see cref="MonitorScriptException"/> naming file, line, column and field; unknown keys are errors.
/// </summary>
public static class MonitorScriptLoader
{
    private static readonly string[] RuleKeys = ["name", "kind", "domain", "region", "gpa", "details", "do", "message"];
    private static readonly Dictionary<string, WatchAction> ActionsByName = new(StringComparer.Ordinal)
    {
        ["log"] = WatchAction.Log,
        ["count"] = WatchAction.Count,
        ["snapshot"] = WatchAction.Snapshot,
        ["pause"] = WatchAction.Pause,
        ["stop"] = WatchAction.Stop,
        ["print"] = WatchAction.Print,
    };

    /// <summary>Monitoring scripts are text files of at most 1 MiB.</summary>
    public const long MaxFileBytes = InputFiles.MaxTextBytes;

    /// <summary>
    /// Reads the script in <paramref name="path"/>; with <paramref name="domains"/> (the scenario's domain names, in
    /// order: domain ids 1, 2, …), a rule's <c>domain</c> must name one of them, or id 0 (Dom0) to their count.
    /// </summary>
    public static IReadOnlyList<WatchRule> Load(string path, IReadOnlyList<string>? domains = null)
    {
        string text;
        try
        {
            text = InputFiles.ReadText(path, MaxFileBytes);
        }
        catch (InputFileException e)
        {
            throw new MonitorScriptException(path, 0, 0, "", e.Message);
        }
        return Parse(text, path, domains);
    }

    /// <summary>Parses script text; <paramref name="path"/> is only quoted in messages (domains: as for <see cref="Load"/>).</summary>
    public static IReadOnlyList<WatchRule> Parse(string yaml, string path, IReadOnlyList<string>? domains = null)
    {
        YamlStream stream = YamlText.Load(yaml, (line, column, problem) => new MonitorScriptException(path, line, column, "", problem));
        if (stream.Documents.Count == 0)
        {
            // An empty script watches nothing; the monitor's built-in messages still run.
            return [];
        }
        if (stream.Documents.Count > 1)
        {
            throw Error(path, stream.Documents[1].RootNode, "", "more than one YAML document; a monitoring script holds one list of rules");
        }
        if (stream.Documents[0].RootNode is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" })
        {
            return [];
        }
        if (stream.Documents[0].RootNode is not YamlSequenceNode list)
        {
            throw Error(path, stream.Documents[0].RootNode, "", "a monitoring script is a list of watch rules ('- kind: sapi.write_dropped' …)");
        }
        var rules = new List<WatchRule>();
        for (int i = 0; i < list.Children.Count; i++)
        {
            rules.Add(Rule(path, list.Children[i], $"[{i}]", i + 1, domains));
        }
        CheckUniqueNames(rules, i => Error(path, list.Children[i], $"[{i}].name", $"'{rules[i].Name}' names an earlier rule too; rule names must be unique"));
        return rules;
    }

    private static WatchRule Rule(string path, YamlNode node, string at, int number, IReadOnlyList<string>? domains)
    {
        if (node is not YamlMappingNode map)
        {
            throw Error(path, node, at, "a watch rule is a mapping (kind, domain, region, gpa, details, do, message)");
        }
        var fields = new Dictionary<string, (string Value, int Line, int Column)>(StringComparer.Ordinal);
        var details = new List<KeyValuePair<string, string>>();
        YamlNode? actionsNode = null;
        foreach (var (keyNode, valueNode) in map.Children)
        {
            string key = keyNode is YamlScalarNode k ? k.Value ?? "" : "";
            if (fields.ContainsKey(key) || (key == "details" && details.Count > 0) || (key == "do" && actionsNode is not null))
            {
                throw Error(path, keyNode, $"{at}.{key}", "given twice");
            }
            if (!RuleKeys.Contains(key))
            {
                throw Error(path, keyNode, $"{at}.{key}", $"unknown key (known keys: {string.Join(", ", RuleKeys)})");
            }
            if (key == "details")
            {
                if (valueNode is not YamlMappingNode detailMap)
                {
                    throw Error(path, valueNode, $"{at}.details", "a mapping of detail keys to values, e.g. 'accessor: dom0'");
                }
                foreach (var (dk, dv) in detailMap.Children)
                {
                    string detailKey = dk is YamlScalarNode s ? s.Value ?? "" : "";
                    if (detailKey.Length == 0 || detailKey.Any(char.IsWhiteSpace))
                    {
                        throw Error(path, dk, $"{at}.details", $"'{detailKey}' is not a detail key (one word, e.g. accessor)");
                    }
                    details.Add(new(detailKey, Scalar(path, dv, $"{at}.details.{detailKey}")));
                }
            }
            else if (key == "do")
            {
                actionsNode = valueNode;
            }
            else
            {
                fields[key] = (Scalar(path, valueNode, $"{at}.{key}"), (int)valueNode.Start.Line, (int)valueNode.Start.Column);
            }
        }
        if (actionsNode is null)
        {
            throw Error(path, node, $"{at}.do", $"missing; say what the rule does ({string.Join(", ", ActionsByName.Keys)})");
        }
        WatchAction actions = WatchAction.None;
        IEnumerable<YamlNode> actionNodes = actionsNode is YamlSequenceNode seq ? seq.Children : [actionsNode];
        foreach (YamlNode a in actionNodes)
        {
            foreach (string name in Scalar(path, a, $"{at}.do").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                actions |= ActionsByName.TryGetValue(name, out WatchAction action)
                    ? action
                    : throw Error(path, a, $"{at}.do", $"unknown action '{name}' (known: {string.Join(", ", ActionsByName.Keys)})");
            }
        }
        if (actions == WatchAction.None)
        {
            throw Error(path, actionsNode, $"{at}.do", "no action given");
        }
        return Build(fields, details, actions, number, (key, problem) => new MonitorScriptException(path, fields[key].Line, fields[key].Column, $"{at}.{key}", problem),
            domains);
    }

    /// <summary>
    /// The REPL's one-line rule: <c>kind=sapi.* domain=app region=1 gpa=0x80212000-0x80212fff accessor=dom0
    /// do=print,count message="…" name=w</c>; a key that is not a rule field is a condition on the details.
    /// </summary>
    /// <remarks>With <paramref name="domains"/> (the scenario's domain names), <c>domain=</c> must name one of them, as in a script.</remarks>
    public static WatchRule ParseLine(string line, int number, string source = "watch", IReadOnlyList<string>? domains = null)
    {
        var fields = new Dictionary<string, (string Value, int Line, int Column)>(StringComparer.Ordinal);
        var details = new List<KeyValuePair<string, string>>();
        WatchAction actions = WatchAction.None;
        foreach (var (word, column) in CommandLine.Split(line))
        {
            int eq = word.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new MonitorScriptException(source, 1, column, word, "expected key=value (e.g. kind=sapi.write_dropped do=pause)");
            }
            string key = word[..eq], value = word[(eq + 1)..];
            if (key == "do")
            {
                foreach (string name in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    actions |= ActionsByName.TryGetValue(name, out WatchAction action)
                        ? action
                        : throw new MonitorScriptException(source, 1, column, "do", $"unknown action '{name}' (known: {string.Join(", ", ActionsByName.Keys)})");
                }
            }
            else if (RuleKeys.Contains(key) && key != "details")
            {
                fields[key] = (value, 1, column);
            }
            else
            {
                details.Add(new(key, value));
            }
        }
        if (actions == WatchAction.None)
        {
            throw new MonitorScriptException(source, 1, 1, "do", $"missing; say what the rule does, e.g. do=print ({string.Join(", ", ActionsByName.Keys)})");
        }
        return Build(fields, details, actions, number,
            (key, problem) => new MonitorScriptException(source, 1, fields[key].Column, key, problem), domains);
    }

    private static WatchRule Build(Dictionary<string, (string Value, int Line, int Column)> fields, List<KeyValuePair<string, string>> details,
        WatchAction actions, int number, Func<string, string, MonitorScriptException> error, IReadOnlyList<string>? domains = null)
    {
        string? Field(string key) => fields.TryGetValue(key, out var f) ? f.Value : null;
        if (Field("domain") is string domainText && domains is not null && !domains.Contains(domainText, StringComparer.Ordinal)
            && !(int.TryParse(domainText, NumberStyles.None, CultureInfo.InvariantCulture, out int id) && id <= domains.Count))
        {
            throw error("domain", $"no domain '{domainText}' in the scenario (its domains: {string.Join(", ", domains)}; or an id from 0, Dom0, to {domains.Count})");
        }
        int? region = null;
        if (Field("region") is string regionText)
        {
            region = int.TryParse(regionText, NumberStyles.None, CultureInfo.InvariantCulture, out int r) && r > 0
                ? r
                : throw error("region", $"'{regionText}' is not a region id (a whole number from 1)");
        }
        AddressRange? gpa = null;
        if (Field("gpa") is string gpaText)
        {
            gpa = ParseRange(gpaText) ?? throw error("gpa", $"'{gpaText}' is not an address or range (0x80212000, 0x80212000-0x80212fff or 0x80212000+0x1000)");
        }
        if (Field("name") is string nameText && (nameText.Length == 0 || nameText.Any(char.IsWhiteSpace)))
        {
            throw error("name", "a rule name is one word");
        }
        return new WatchRule
        {
            Name = Field("name") ?? $"rule{number}",
            Kind = Field("kind"),
            Domain = Field("domain"),
            Region = region,
            Gpa = gpa,
            Details = details,
            Actions = actions,
            Message = Field("message"),
        };
    }

    private static AddressRange? ParseRange(string text)
    {
        int dash = text.IndexOf('-', StringComparison.Ordinal), plus = text.IndexOf('+', StringComparison.Ordinal);
        if (dash > 0)
        {
            return WatchRule.TryParseAddress(text[..dash], out ulong first) && WatchRule.TryParseAddress(text[(dash + 1)..], out ulong last) && last >= first
                ? new AddressRange(first, last) : null;
        }
        if (plus > 0)
        {
            return WatchRule.TryParseAddress(text[..plus], out ulong first) && WatchRule.TryParseAddress(text[(plus + 1)..], out ulong length)
                && length > 0 && first + (length - 1) >= first
                ? new AddressRange(first, first + length - 1) : null;
        }
        return WatchRule.TryParseAddress(text, out ulong at) ? new AddressRange(at, at) : null;
    }

    internal static void CheckUniqueNames(IReadOnlyList<WatchRule> rules, Func<int, Exception> error)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < rules.Count; i++)
        {
            if (!seen.Add(rules[i].Name))
            {
                throw error(i);
            }
        }
    }

    private static string Scalar(string path, YamlNode node, string field) => node switch
    {
        YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" } => throw Error(path, node, field, "has no value"),
        YamlScalarNode s => s.Value ?? "",
        _ => throw Error(path, node, field, "expected a single value"),
    };

    private static MonitorScriptException Error(string path, YamlNode node, string field, string problem) =>
        new(path, (int)node.Start.Line, (int)node.Start.Column, field, problem);
}

/// <summary>Splits a REPL line into words; double quotes group a value with spaces (<c>message="a b"</c>).</summary>
internal static class CommandLine
{
    public static List<(string Word, int Column)> Split(string line)
    {
        var words = new List<(string, int)>();
        int i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
            {
                i++;
            }
            if (i >= line.Length)
            {
                break;
            }
            int start = i;
            var word = new StringBuilder();
            bool quoted = false;
            while (i < line.Length && (quoted || !char.IsWhiteSpace(line[i])))
            {
                if (line[i] == '"')
                {
                    quoted = !quoted;
                }
                else
                {
                    word.Append(line[i]);
                }
                i++;
            }
            words.Add((word.ToString(), start + 1));
        }
        return words;
    }
}
