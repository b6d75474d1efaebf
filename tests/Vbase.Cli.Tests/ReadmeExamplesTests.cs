using System.Text.RegularExpressions;
using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// Every <c>dotnet run --project src/Vbase.Cli -- …</c> line in the README runs as written (in-process, from the
/// repository's root, with <c>--out</c>/<c>--json</c> sent to a temporary folder) and exits 0. Lines that are
/// synopses (with <c>[…]</c> or <c>|</c>) are not commands; the fuzzers' <c>--seconds 60</c> become 1 second, and the
/// REPL ("drive it by hand") gets <c>continue</c> on its stdin.
/// </summary>
public sealed partial class ReadmeExamplesTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-readme-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Repo => Repository.Root;

    [GeneratedRegex(@"^dotnet run --project src/Vbase\.Cli(?: -c Release)? -- (?<args>.*?)\s*(?:#.*)?$")]
    private static partial Regex Command();

    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        bool inShell = false;
        foreach (string line in File.ReadLines(Path.Combine(Repo, "README.md")))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inShell = line == "```sh";
                continue;
            }
            if (inShell && Command().Match(line) is { Success: true } m && !m.Groups["args"].Value.Contains('[') && !m.Groups["args"].Value.Contains('|'))
            {
                data.Add(m.Groups["args"].Value);
            }
        }
        return data;
    }

    [Fact]
    public void TheReadmeHasItsCommands() => Assert.True(Commands().Count >= 7, $"only {Commands().Count} commands found in README.md");

    [Theory]
    [MemberData(nameof(Commands))]
    public void RunsAsWritten(string command)
    {
        string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < words.Length; i++)
        {
            if (i > 0 && words[i - 1] is "--out" or "--json")
            {
                words[i] = Path.Combine(directory, words[i]);
            }
            else if (i > 0 && words[i - 1] == "--seconds")
            {
                words[i] = "1";
            }
            else if (words[i].Contains('/') && File.Exists(Path.Combine(Repo, words[i])))
            {
                words[i] = Path.Combine(Repo, words[i]);
            }
        }
        CliResult r = CliRunner.RunWithInput(words.Contains("--monitor-repl") ? "continue\n" : "", words);
        Assert.True(r.ExitCode == 0, $"vbase {command}: exit {r.ExitCode}\n{r.Stderr}");
    }
}
