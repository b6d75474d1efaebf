using YamlDotNet.Core;
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
        return field.Length > 0 ? $"{where}: {field}: {problem}" : $"{where}: {problem}";
    }
}

/// <summary>Loading YAML text with a located message for a syntax error.</summary>
public static class YamlText
{
    /// <summary>
    /// Parses <paramref name="yaml"/>; a syntax error becomes <paramref name="fail"/>(line, column, "not valid YAML: …"),
    /// with YamlDotNet's own "(Line: …)" position cut, since ours comes first.
    /// </summary>
    public static YamlStream Load(string yaml, Func<int, int, string, Exception> fail)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            string problem = (e.InnerException is YamlException inner ? inner.Message : e.Message).ReplaceLineEndings(" ");
            int cut = problem.IndexOf("(Line:", StringComparison.Ordinal);
            problem = (cut > 0 ? problem[..cut] : problem).Trim().TrimEnd('.');
            throw fail((int)e.Start.Line, (int)e.Start.Column, $"not valid YAML: {problem}");
        }
        return stream;
    }
}
