using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vbase.Architectures;
using Vbase.Sapi.Logging;
using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Tests;

/// <summary>
/// docs/events.md documents every event kind the code can record, each with its fields in order, and nothing
/// else: typed kinds are found by reflection, plug-in kinds in the source of their <c>Record</c> calls, and real
/// runs check that what reaches events.jsonl is what the page says.
/// </summary>
public sealed partial class EventSchemaTests
{
    private static readonly string Root = FindRoot();

    /// <summary>Kind → its documented fields (name and type), in the order of the page's table.</summary>
    private static readonly Dictionary<string, (string Name, string Type)[]> Documented = ReadPage();

    private static string FindRoot()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Vbase.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Vbase.sln not found");
        }
        return root;
    }

    private static Dictionary<string, (string Name, string Type)[]> ReadPage()
    {
        var kinds = new Dictionary<string, (string, string)[]>(StringComparer.Ordinal);
        string? kind = null;
        var fields = new List<(string, string)>();
        foreach (string line in File.ReadAllLines(Path.Combine(Root, "docs", "events.md")))
        {
            if (line.StartsWith('#'))
            {
                if (kind is not null)
                {
                    Assert.True(kinds.TryAdd(kind, [.. fields]), $"docs/events.md documents {kind} twice");
                }
                Match heading = KindHeading().Match(line);
                kind = heading.Success ? heading.Groups[1].Value : null;
                fields.Clear();
            }
            else if (kind is not null && FieldRow().Match(line) is { Success: true } row)
            {
                fields.Add((row.Groups[1].Value, row.Groups[2].Value));
            }
        }
        if (kind is not null)
        {
            kinds.Add(kind, [.. fields]);
        }
        return kinds;
    }

    /// <summary>The page's name of a field type (<see cref="EventFieldType.Hex"/> is <c>hex</c>).</summary>
    private static string TypeName(EventFieldType t) => t.ToString().ToLowerInvariant();

    private static string Show(IEnumerable<(string Name, string Type)> fields) => string.Join(", ", fields.Select(f => $"{f.Name}: {f.Type}"));

    /// <summary>Every typed record (one per kind), read as a record with default values: its kind and fields.</summary>
    private static IEnumerable<(Type Type, string Kind, (string Name, string Type)[] Fields)> TypedKinds()
    {
        // The SAPI (the hypervisor's and the toolkit's kinds), the hypervisor, the architectures and the testbed.
        Assembly[] assemblies = [typeof(EventData).Assembly, typeof(Vbase.Hypervisor.Hypervisor).Assembly,
            typeof(BuiltInArchitectures).Assembly, typeof(AttackEvents).Assembly];
        foreach (Type t in assemblies.Distinct().SelectMany(a => a.GetTypes()))
        {
            if (t.IsAbstract || !t.IsSubclassOf(typeof(EventData)) || t == typeof(PlugInEventData))
            {
                continue;
            }
            var data = (EventData)RuntimeHelpers.GetUninitializedObject(t);
            yield return (t, data.Kind, [.. data.Fields().Select(f => (f.Name, TypeName(f.Type)))]);
        }
    }

    /// <summary>
    /// Every <c>Record("kind", …, EventField.Of("name", …), …)</c> call in src/: the kind (a pattern where it is
    /// interpolated, <c>{Name}.encrypted</c>) and the fields in order (the type only as <c>hex</c> or a number-or-text:
    /// which <c>Of</c> overload applies depends on the argument's C# type).
    /// </summary>
    private static IEnumerable<(string Kind, (string Name, bool Hex)[] Fields, string Where)> PlugInCalls()
    {
        foreach (string file in Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }
            string text = File.ReadAllText(file);
            foreach (Match m in RecordCall().Matches(text))
            {
                int lineStart = text.LastIndexOf('\n', m.Index) + 1;
                if (text.AsSpan(lineStart, m.Index - lineStart).TrimStart().StartsWith("//"))
                {
                    continue;   // an example in a comment
                }
                string call = text[m.Index..CallEnd(text, m.Index + m.Value.IndexOf('(', StringComparison.Ordinal))];
                (string, bool)[] fields = [.. FieldCall().Matches(call).Select(f => (f.Groups[2].Value, f.Groups[1].Value == "Hex"))];
                yield return (m.Groups[1].Value, fields, $"{Path.GetRelativePath(Root, file)}:{text[..m.Index].Count(c => c == '\n') + 1}");
            }
        }
    }

    /// <summary>The index just past the ')' that closes the '(' at <paramref name="open"/>, skipping string and char literals.</summary>
    private static int CallEnd(string text, int open)
    {
        int depth = 0;
        for (int i = open; i < text.Length; i++)
        {
            char c = text[i];
            if (c is '"' or '\'')
            {
                for (i++; i < text.Length && text[i] != c; i++)
                {
                    if (text[i] == '\\')
                    {
                        i++;
                    }
                }
            }
            else if (c == '(')
            {
                depth++;
            }
            else if (c == ')' && --depth == 0)
            {
                return i + 1;
            }
        }
        throw new InvalidOperationException($"unbalanced call at {open}");
    }

    private static Regex Pattern(string kind) =>
        new("^" + string.Join("[a-z0-9_-]+", InterpolationHole().Split(kind).Select(Regex.Escape)) + "$");

    [Fact]
    public void EveryTypedKindIsDocumentedWithItsFieldsInOrder()
    {
        var seen = new Dictionary<string, Type>(StringComparer.Ordinal);
        foreach ((Type type, string kind, (string, string)[] fields) in TypedKinds())
        {
            // One definition per kind: a second record claiming the kind would be a second schema.
            Assert.True(seen.TryAdd(kind, type), $"{type.Name} and {seen.GetValueOrDefault(kind)?.Name} both record {kind}");
            Assert.True(Documented.TryGetValue(kind, out (string, string)[]? documented), $"docs/events.md has no section for {kind} ({type.Name})");
            Assert.True(fields.SequenceEqual(documented!), $"{kind}: the code writes [{Show(fields)}], docs/events.md lists [{Show(documented!)}]");
        }
        Assert.True(seen.Count >= 40, $"only {seen.Count} typed kinds found");
    }

    [Fact]
    public void EveryPlugInKindInTheSourceIsDocumentedWithItsFieldsInOrder()
    {
        (string Kind, (string Name, bool Hex)[] Fields, string Where)[] calls = [.. PlugInCalls()];
        Assert.Contains(calls, c => c.Kind == "bmt.page_reencrypted");
        Assert.Contains(calls, c => c.Kind == "{Name}.encrypted");
        foreach ((string kind, (string Name, bool Hex)[] fields, string where) in calls)
        {
            bool Same((string Name, string Type)[] documented) =>
                fields.Select(f => f.Name).SequenceEqual(documented.Select(d => d.Name))
                && fields.Zip(documented).All(p => p.First.Hex == (p.Second.Type == "hex"));
            string shown = string.Join(", ", fields.Select(f => f.Name + (f.Hex ? ": hex" : "")));
            if (kind.Contains('{'))
            {
                // An interpolated kind ({Name}.encrypted) may match other kinds too: one section at least must be its
                // (the runs below check each architecture's real kind).
                Regex pattern = Pattern(kind);
                Assert.True(Documented.Any(d => pattern.IsMatch(d.Key) && Same(d.Value)), $"{where}: docs/events.md has no {kind} with fields [{shown}]");
                continue;
            }
            Assert.True(Documented.TryGetValue(kind, out (string Name, string Type)[]? documented), $"{where}: docs/events.md has no section for {kind}");
            Assert.True(Same(documented!), $"{where}: {kind} has fields [{shown}], docs/events.md lists [{Show(documented!)}]");
        }
    }

    [Fact]
    public void EveryDocumentedKindIsOneTheCodeRecords()
    {
        string[] typed = [.. TypedKinds().Select(t => t.Kind)];
        Regex[] plugIn = [.. PlugInCalls().Select(c => Pattern(c.Kind))];
        foreach (string kind in Documented.Keys)
        {
            Assert.True(typed.Contains(kind) || plugIn.Any(p => p.IsMatch(kind)), $"docs/events.md documents {kind}, which nothing records");
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("vbase")]
    [InlineData("xom")]
    [InlineData("aegis")]
    [InlineData("sgx-mee")]
    [InlineData("sev")]
    [InlineData("sev-snp")]
    [InlineData("bmt")]
    [InlineData("pmp")]
    public void WhatARunWritesToEventsJsonlIsWhatThePageSays(string architecture)
    {
        string directory = Path.Combine(Path.GetTempPath(), "vbase-schema-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (string attack in new[] { "dom0-remap", "os-write" })
            {
                string outDirectory = Path.Combine(directory, attack);
                AttackRunner.Run(new AttackRunRequest(architecture, attack, "vault", 1, outDirectory));
                foreach (string line in File.ReadAllLines(Path.Combine(outDirectory, Running.Testbed.EventsFile)))
                {
                    JsonElement e = JsonDocument.Parse(line).RootElement;
                    string kind = e.GetProperty("kind").GetString()!;
                    JsonProperty[] fields = [.. e.GetProperty("fields").EnumerateObject()];
                    Assert.True(Documented.TryGetValue(kind, out (string Name, string Type)[]? documented), $"{architecture} x {attack}: {kind} is not in docs/events.md");
                    Assert.True(fields.Select(f => f.Name).SequenceEqual(documented!.Select(d => d.Name)),
                        $"{kind}: the run wrote [{string.Join(", ", fields.Select(f => f.Name))}], docs/events.md lists [{Show(documented!)}]");
                    foreach ((JsonProperty f, (string _, string type)) in fields.Zip(documented))
                    {
                        Assert.True(IsJsonOf(f.Value, type), $"{kind}.{f.Name} is documented as {type} but the run wrote {f.Value.GetRawText()}");
                    }
                    Assert.Equal(["time", "kind"], e.EnumerateObject().Take(2).Select(p => p.Name));
                    Assert.Equal(["fields", "message"], e.EnumerateObject().TakeLast(2).Select(p => p.Name));
                }
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Whether a JSON value is how events.jsonl writes a field of the documented type.</summary>
    private static bool IsJsonOf(JsonElement value, string type) => type switch
    {
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "unsigned" => value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out _),
        "hex" => value.ValueKind == JsonValueKind.String && HexValue().IsMatch(value.GetString()!),
        "text" => value.ValueKind is JsonValueKind.String or JsonValueKind.Null,
        _ => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
    };

    [GeneratedRegex("^0x(0|[1-9a-f][0-9a-f]*)$")]
    private static partial Regex HexValue();

    /// <summary>A kind's heading: <c>#### `sapi.write_dropped`</c>.</summary>
    [GeneratedRegex(@"^#+ `([a-z0-9_.{}-]+)`\s*$")]
    private static partial Regex KindHeading();

    /// <summary>A row of a kind's field table: <c>| `region` | integer | … |</c>.</summary>
    [GeneratedRegex(@"^\| `([a-z0-9_]+)` \| (integer|unsigned|hex|text|flag) \|")]
    private static partial Regex FieldRow();

    /// <summary>A Record call whose first argument is a string: a plug-in's (or a program's) own kind.</summary>
    [GeneratedRegex(@"\bRecord\(\s*\$?""([^""]+)""")]
    private static partial Regex RecordCall();

    [GeneratedRegex(@"EventField\.(Of|Hex)\(\s*""([a-z0-9_]+)""")]
    private static partial Regex FieldCall();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex InterpolationHole();
}
