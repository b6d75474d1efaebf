namespace Vbase.Cli.Tests.Support;

/// <summary>What one in-process vbase invocation produced.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

internal static class CliRunner
{
    /// <summary>Runs vbase's Main logic in-process with <paramref name="stdin"/> as its input.</summary>
    public static CliResult RunWithInput(string stdin, params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = VbaseCli.Run(args, stdout, stderr, new StringReader(stdin));
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    public static CliResult Run(params string[] args) => RunWithInput("", args);
}
