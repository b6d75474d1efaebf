using Vbase.Platform.Loading;
using YamlDotNet.RepresentationModel;

namespace Vbase.Testbed.Yaml;

/// <summary>
/// Reading the fields of a YAML input (a scenario, an app manifest): typed values, known keys with "did you mean",
/// every problem one <see cref="Error"/> at the node it is about.
/// </summary>
public abstract class YamlFields
{
    /// <summary>The input's own exception, naming file, line, column and field.</summary>
    protected abstract LocatedYamlException Error(YamlNode node, string field, string problem);

    protected ulong WholeNumber(YamlNode node, string field, ulong min, ulong max, string what)
    {
        string text = Text(node, field);
        if (!GroupedDigits.TryParse(text, out ulong value))
        {
            throw Error(node, field, GroupedDigits.Ungroup(text) is not null
                ? $"{text} is out of range: expected {what}"
                : $"'{text}' is not {what}");
        }
        if (value < min || value > max)
        {
            throw Error(node, field, $"{text} is out of range: expected {what}");
        }
        return value;
    }

    protected string Name(YamlNode node, string field)
    {
        string name = Text(node, field);
        if (name.Length == 0 || name.Length > 32 || name[0] == '.'
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw Error(node, field, $"'{name}' is not a name: use 1 to 32 letters, digits, '-', '_' or '.', not starting with '.'");
        }
        return name;
    }

    protected string Text(YamlNode node, string field)
    {
        if (node is not YamlScalarNode scalar)
        {
            throw Error(node, field, $"expected a single value, not {Kind(node)}");
        }
        if (IsNull(scalar))
        {
            throw Error(node, field, "has no value");
        }
        return scalar.Value ?? "";
    }

    protected static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null";

    protected YamlMappingNode Mapping(YamlNode node, string field, string what) =>
        node as YamlMappingNode ?? throw Error(node, field, $"expected {what} as 'key: value' lines, not {Kind(node)}");

    protected static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? value) ? value : null;

    protected YamlNode Required(YamlMappingNode map, string at, string key, string why) =>
        Get(map, key) ?? throw Error(map, Join(at, key), $"missing: {why}");

    protected void CheckKeys(YamlMappingNode map, string at, string[] known)
    {
        foreach (YamlNode keyNode in map.Children.Keys)
        {
            string key = keyNode is YamlScalarNode s ? s.Value ?? "" : "";
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                string? near = known.FirstOrDefault(k => Distance(k, key) <= 2);
                string hint = near is not null ? $"did you mean '{near}'? " : "";
                throw Error(keyNode, Join(at, key), $"unknown key ({hint}known keys: {string.Join(", ", known)})");
            }
        }
    }

    protected static string Join(string at, string key) => at.Length == 0 ? key : $"{at}.{key}";

    protected static string Kind(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "a single value",
    };


    /// <summary>Levenshtein distance, for "did you mean".</summary>
    protected static int Distance(string a, string b)
    {
        int[] row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
