namespace Vbase.Testbed.Scenarios;

/// <summary>
/// A scenario file that cannot be run, with where and what: <c>scenarios/x.yaml:7:5: domains[1].memory: '12Q' is
/// not a size (use e.g. 16M)</c>. <see cref="Exception.Message"/> is that one line.
/// </summary>
public sealed class ScenarioException : Exception
{
    public ScenarioException(string file, int line, int column, string field, string problem)
        : base(Format(file, line, column, field, problem))
    {
        File = file;
        Line = line;
        Column = column;
        Field = field;
        Problem = problem;
    }

    /// <summary>The scenario file as the user named it.</summary>
    public string File { get; }
    /// <summary>1-based line; 0 when the error is about the file as a whole.</summary>
    public int Line { get; }
    public int Column { get; }
    /// <summary>The field's path, e.g. <c>domains[1].memory</c>; empty for the file itself.</summary>
    public string Field { get; }
    public string Problem { get; }

    private static string Format(string file, int line, int column, string field, string problem)
    {
        string where = line > 0 ? $"{file}:{line}:{column}" : file;
        return field.Length > 0 ? $"{where}: {field}: {problem}" : $"{where}: {problem}";
    }
}
