using Vbase.Platform.Loading;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Vbase.Testbed.Yaml;

/// <summary>
/// A YAML input file (a scenario, a monitoring script) that cannot be used, with where and what, as one line:
/// <c>file:line:col: field: problem</c>. <see cref="Exception.Message"/> is that line.
/// </summary>
public abstract class LocatedYamlException : Exception
{
    protected LocatedYamlException(string file, int line, int column, string field, string problem)
        : base(Format(file, line, column, field, problem))
    {
        File = file;
        Line = line;
        Column = column;
        Field = field;
        Problem = problem;
    }

    /// <summary>The file as the user named it.</summary>
    public string File { get; }
    /// <summary>1-based line; 0 when the error is about the file as a whole.</summary>
    public int Line { get; }
    public int Column { get; }
    /// <summary>The field's path (e.g. <c>domains[1].memory</c>); empty for the file itself.</summary>
    public string Field { get; }
    public string Problem { get; }

    private static string Format(string file, int line, int column, string field, string problem)
    {
        string where = line > 0 ? $"{file}:{line}:{column}" : file;
        return InputFiles.Printable(field.Length > 0 ? $"{where}: {field}: {problem}" : $"{where}: {problem}");
    }

}

/// <summary>
/// Loading YAML text with a located message for a syntax error, and with the YAML that vbase's inputs never need
/// refused before it can do harm: a node inside itself (a recursive alias, which overflowed the stack when used as a
/// key), keys that are lists or mappings, nesting deeper than <see cref="MaxDepth"/>, and tags other than YAML's core
/// ones (<c>!!str</c>, <c>!!int</c>…), which vbase would otherwise ignore silently.
/// </summary>
public static class YamlText
{
    /// <summary>Lists and mappings inside each other, at most; vbase's files need four or five.</summary>
    public const int MaxDepth = 32;

    private static readonly HashSet<string> CoreTags = new(StringComparer.Ordinal)
    {
        "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq",
    };

    /// <summary>
    /// Parses <paramref name="yaml"/>; a syntax error becomes <paramref name="fail"/>(line, column, "not valid YAML: …"),
    /// with YamlDotNet's own "(Line: …)" position cut, since ours comes first.
    /// </summary>
    public static YamlStream Load(string yaml, Func<int, int, string, Exception> fail)
    {
        ArgumentNullException.ThrowIfNull(fail);
        var stream = new YamlStream();
        var parser = new CheckedParser(new Parser(new StringReader(yaml)));
        try
        {
            stream.Load(parser);
        }
        catch (Refused r)
        {
            throw fail(r.Line, r.Column, r.Problem);
        }
        catch (YamlException e)
        {
            string problem = (e.InnerException is YamlException inner ? inner.Message : e.Message).ReplaceLineEndings(" ");
            int cut = problem.IndexOf("(Line:", StringComparison.Ordinal);
            problem = (cut > 0 ? problem[..cut] : problem).Trim().TrimEnd('.');
            throw fail((int)e.Start.Line, (int)e.Start.Column, $"not valid YAML: {problem}");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or InvalidCastException)
        {
            // YamlDotNet's scanner throws these for some broken input (an unclosed '{' before a block list) instead
            // of a YamlException: say where it stopped, and which open bracket is the likely cause.
            string cause = parser.OpenFlow is Mark open
                ? $"the {parser.OpenFlowBracket} at line {open.Line}, column {open.Column} is not closed"
                : e.Message.ReplaceLineEndings(" ").Trim().TrimEnd('.');
            throw fail((int)parser.LastEnd.Line, (int)parser.LastEnd.Column, $"not valid YAML after this point: {cause}");
        }
        return stream;
    }

    private sealed class Refused(Mark at, string problem) : Exception(problem)
    {
        public int Line { get; } = (int)at.Line;
        public int Column { get; } = (int)at.Column;
        public string Problem { get; } = problem;
    }

    /// <summary>Passes the parser's events on, refusing those vbase's inputs never need (see <see cref="YamlText"/>).</summary>
    private sealed class CheckedParser(IParser inner) : IParser
    {
        private sealed class Open(bool mapping, string? anchor, Mark start, string? flow)
        {
            public bool Mapping { get; } = mapping;
            public string? Anchor { get; } = anchor;
            public Mark Start { get; } = start;
            /// <summary>"'['" or "'{'" for a flow list or mapping; null for block style.</summary>
            public string? Flow { get; } = flow;
            public bool ExpectKey { get; set; } = true;
        }

        private readonly Stack<Open> open = new();
        private readonly HashSet<string> openAnchors = new(StringComparer.Ordinal);
        private readonly HashSet<string> collectionAnchors = new(StringComparer.Ordinal);

        public ParsingEvent? Current => inner.Current;

        /// <summary>Where the last event read ended.</summary>
        public Mark LastEnd { get; private set; } = Mark.Empty;

        /// <summary>The innermost flow ('[' or '{') list or mapping still open, if any.</summary>
        public Mark? OpenFlow => open.FirstOrDefault(o => o.Flow is not null)?.Start;

        public string OpenFlowBracket => open.FirstOrDefault(o => o.Flow is not null)?.Flow ?? "";

        public bool MoveNext()
        {
            if (!inner.MoveNext())
            {
                return false;
            }
            LastEnd = inner.Current!.End;
            Check(inner.Current!);
            return true;
        }

        private void Check(ParsingEvent e)
        {
            switch (e)
            {
                case AnchorAlias alias:
                    string name = alias.Value.Value;
                    if (openAnchors.Contains(name))
                    {
                        throw new Refused(e.Start, $"the alias *{name} is inside the node &{name} it names (a node cannot contain itself)");
                    }
                    Node(e, collectionAnchors.Contains(name) ? "a list or mapping (through an alias)" : null);
                    break;
                case Scalar scalar:
                    Tag(scalar);
                    Node(e, null);
                    if (!scalar.Anchor.IsEmpty)
                    {
                        collectionAnchors.Remove(scalar.Anchor.Value);
                    }
                    break;
                case SequenceStart sequence:
                    Tag(sequence);
                    Node(e, "a list");
                    Push(e, mapping: false, sequence.Anchor, sequence.Style == SequenceStyle.Flow ? "'['" : null);
                    break;
                case MappingStart mapping:
                    Tag(mapping);
                    Node(e, "a mapping");
                    Push(e, mapping: true, mapping.Anchor, mapping.Style == MappingStyle.Flow ? "'{'" : null);
                    break;
                case SequenceEnd or MappingEnd:
                    Open done = open.Pop();
                    if (done.Anchor is string anchor)
                    {
                        openAnchors.Remove(anchor);
                        collectionAnchors.Add(anchor);
                    }
                    break;
                case DocumentStart:
                    open.Clear();
                    openAnchors.Clear();
                    collectionAnchors.Clear();
                    break;
            }
        }

        /// <summary>A node: a key in a mapping must be a single value.</summary>
        private void Node(ParsingEvent e, string? collection)
        {
            if (open.TryPeek(out Open? parent) && parent.Mapping)
            {
                if (parent.ExpectKey && collection is not null)
                {
                    throw new Refused(e.Start, $"a key must be a single value, not {collection}");
                }
                parent.ExpectKey = !parent.ExpectKey;
            }
        }

        private void Push(ParsingEvent e, bool mapping, AnchorName anchor, string? flow)
        {
            if (open.Count >= MaxDepth)
            {
                throw new Refused(e.Start, $"lists and mappings nested more than {MaxDepth} deep");
            }
            string? name = anchor.IsEmpty ? null : anchor.Value;
            if (name is not null)
            {
                // A redefined anchor names the new node from here on.
                collectionAnchors.Remove(name);
                openAnchors.Add(name);
            }
            open.Push(new Open(mapping, name, e.Start, flow));
        }

        private static void Tag(NodeEvent node)
        {
            if (!node.Tag.IsEmpty && !CoreTags.Contains(node.Tag.Value))
            {
                string shown = node.Tag.Value.StartsWith("tag:yaml.org,2002:", StringComparison.Ordinal)
                    ? "!!" + node.Tag.Value["tag:yaml.org,2002:".Length..]
                    : node.Tag.Value;
                throw new Refused(node.Start, $"unknown YAML tag '{shown}' (vbase reads plain YAML; only the core tags !!str, !!int, !!float, !!bool, !!null, !!map and !!seq are allowed)");
            }
        }
    }
}
