namespace Vbase.Testbed.Monitoring;

/// <summary>
/// A monitoring script (or a REPL <c>watch</c> line) that cannot be used, with where and what, in the scenario
/// loader's style: <c>watch.yaml:3:7: [0].do: unknown action 'paws' (known: log, count, …)</c>.
/// </summary>
public sealed class MonitorScriptException : Exception
{
    public MonitorScriptException(string file, int line, int column, string field, string problem)
        : base(Format(file, line, column, field, problem))
    {
        File = file;
        Line = line;
        Column = column;
        Field = field;
        Problem = problem;
    }

    public string File { get; }
    /// <summary>1-based line; 0 when the error is about the file as a whole.</summary>
    public int Line { get; }
    public int Column { get; }
    /// <summary>The field's path, e.g. <c>[1].region</c>; empty for the file itself.</summary>
    public string Field { get; }
    public string Problem { get; }

    private static string Format(string file, int line, int column, string field, string problem)
    {
        string where = line > 0 ? $"{file}:{line}:{column}" : file;
        return field.Length > 0 ? $"{where}: {field}: {problem}" : $"{where}: {problem}";
    }
}
