using System.Text.RegularExpressions;
using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// Every <c>vbase …</c> and <c>dotnet run --project src/Vbase.Cli -- …</c> line in a shell block of docs/*.md runs as
/// written, in-process, from the repository's root, the way <see cref="ReadmeExamplesTests"/> runs the README's:
/// <list type="bullet">
/// <item>shell blocks are <c>```sh</c>, <c>bash</c>, <c>shell</c>, <c>console</c> and plain <c>```</c> ones; in a block
/// with <c>$ </c> prompts only the prompted lines are commands (the rest is output); synopses (<c>[…]</c>, <c>|</c>,
/// <c>…</c>, <c>&lt;…&gt;</c>) are not commands;</item>
/// <item><c>--out</c> and <c>--json</c> go to a temporary folder; paths in the repository become absolute;</item>
/// <item>files a reader makes by following the page are made from the page: <c>watch.yaml</c> (docs/monitor.md's rules),
/// <c>cmds.txt</c> (the commands its transcript echoes), <c>my-vault.yaml</c> (docs/apps.md's manifest, with copies of
/// the vault and the kernel as its ELFs), the shard parts <c>out/slurm/part-*.json</c> (two shards of a small
/// campaign), and the sample plug-in's project folder is the assembly the test build made of it;</item>
/// <item>fast settings: a campaign that names neither architectures nor a file runs <c>--arch none,vbase</c>.</item>
/// </list>
/// A line the docs mark <c># not run by the docs test: WHY</c> is not run; <see cref="NotRunHere"/> lists them all, so
/// the list cannot grow unseen.
/// </summary>
public sealed partial class DocsExamplesTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-docs-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Repo => Repository.Root;

    private const string Marker = "# not run by the docs test:";

    /// <summary>The lines marked not runnable here, and why: Slurm, a run waiting for gdb (GdbTests drives one), a plug-in made by the template (TemplateTests runs those), or the whole Linux matrix (too slow; LinuxModuleTests runs a subset).</summary>
    private static readonly string[] NotRunHere =
    [
        "docs/campaigns.md: vbase campaign --seed 7 --slurm --shards 20 --partition short --time 30 --out /shared/c7 --json /shared/c7.json",
        "docs/debugging.md: vbase exec guest/bin/debugme.elf --gdb 1234",
        "docs/debugging.md: vbase run scenarios/paper.yaml --gdb 1234 &",
        "docs/linux.md: vbase campaign --app vault-linux --arch all --attack all --json out/vault-linux.json",
        "docs/plugins.md: dotnet run --project src/Vbase.Cli -- list archs --plugin ~/acme/Acme",
        "docs/plugins.md: dotnet run --project src/Vbase.Cli -- campaign --plugin ~/acme/Acme --arch acme,none --app vault --attack-param phys-spoof.data=0x42",
    ];

    /// <summary>
    /// Commands whose documented outcome is not exit 0: a Monitor command file that ends before the app does stops the
    /// run (docs/monitor.md: "outcome stopped, exit 3 unless every domain had already shut down").
    /// </summary>
    private static readonly Dictionary<string, int> DocumentedExit = new(StringComparer.Ordinal)
    {
        ["run scenarios/paper.yaml --monitor-commands scenarios/monitor/look.txt"] = 3,
        ["run scenarios/paper.yaml --monitor-commands cmds.txt"] = 3,
    };

    [GeneratedRegex(@"^(?:vbase|dotnet run --project src/Vbase\.Cli(?: -c Release)? --) (?<args>.*)$")]
    private static partial Regex Command();

    /// <summary>Every command line of the docs: (page, line number, the line as written).</summary>
    private static List<(string Page, int Line, string Text)> Lines()
    {
        var found = new List<(string, int, string)>();
        foreach (string path in Directory.GetFiles(Path.Combine(Repo, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            string[] lines = File.ReadAllLines(path);
            string page = "docs/" + Path.GetFileName(path);
            for (int i = 0; i < lines.Length; i++)
            {
                if (!lines[i].StartsWith("```", StringComparison.Ordinal))
                {
                    continue;
                }
                string fence = lines[i][3..].Trim();
                int end = Array.FindIndex(lines, i + 1, l => l.StartsWith("```", StringComparison.Ordinal));
                end = end < 0 ? lines.Length : end;
                if (fence is "sh" or "bash" or "shell" or "console" or "")
                {
                    bool prompts = lines[(i + 1)..end].Any(l => l.StartsWith("$ ", StringComparison.Ordinal));
                    for (int j = i + 1; j < end; j++)
                    {
                        string line = lines[j];
                        if (prompts != line.StartsWith("$ ", StringComparison.Ordinal))
                        {
                            continue;
                        }
                        line = prompts ? line[2..] : line;
                        if (Command().Match(line) is { Success: true } m && !IsSynopsis(m.Groups["args"].Value))
                        {
                            found.Add((page, j + 1, line.TrimEnd()));
                        }
                    }
                }
                i = end;
            }
        }
        return found;
    }

    private static bool IsSynopsis(string args) => WithoutComment(args).IndexOfAny(['[', '|', '…', '<']) >= 0;

    private static string WithoutComment(string text)
    {
        int hash = text.IndexOf(" #", StringComparison.Ordinal);
        return (hash < 0 ? text : text[..hash]).Trim();
    }

    public static TheoryData<string, int, string> Commands()
    {
        var data = new TheoryData<string, int, string>();
        foreach ((string page, int line, string text) in Lines().Where(l => !l.Text.Contains(Marker, StringComparison.Ordinal)))
        {
            data.Add(page, line, Command().Match(text).Groups["args"].Value);
        }
        return data;
    }

    [Fact]
    public void TheDocsHaveTheirCommandsAndFewExceptions()
    {
        Assert.True(Commands().Count >= 10, $"only {Commands().Count} commands found in docs/*.md");
        string[] marked = [.. Lines().Where(l => l.Text.Contains(Marker, StringComparison.Ordinal))
            .Select(l => $"{l.Page}: {l.Text[..l.Text.IndexOf(Marker, StringComparison.Ordinal)].TrimEnd()}")];
        Assert.Equal(NotRunHere, marked);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void RunsAsWritten(string page, int line, string command)
    {
        List<string> words = [.. WithoutComment(command).Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        for (int i = 0; i < words.Count; i++)
        {
            string word = words[i];
            if (i > 0 && words[i - 1] is "--out" or "--json")
            {
                words[i] = Path.Combine(directory, word);
            }
            else if (word.Contains('*', StringComparison.Ordinal))
            {
                string[] matches = Parts(word);
                words.RemoveAt(i);
                words.InsertRange(i, matches);
                i += matches.Length - 1;
            }
            else if (Fixture(page, line, word) is string made)
            {
                words[i] = made;
            }
            else if (word.Replace('\\', '/') == "tests/Plugins/Vbase.Plugin.Sample")
            {
                words[i] = SampleDll;
            }
            else if (word.Contains('/', StringComparison.Ordinal) && (File.Exists(Path.Combine(Repo, word)) || Directory.Exists(Path.Combine(Repo, word))))
            {
                words[i] = Path.Combine(Repo, word);
            }
        }
        if (words[0] == "campaign" && !words.Contains("--arch") && !(words.Count > 1 && words[1].EndsWith(".yaml", StringComparison.Ordinal))
            && words.Count > 1 && words[1] != "merge")
        {
            words.AddRange(["--arch", "none,vbase"]);
        }
        int expected = DocumentedExit.GetValueOrDefault(WithoutComment(command));
        CliResult r = CliRunner.Run([.. words]);
        Assert.True(r.ExitCode == expected, $"{page}:{line}: vbase {command}: exit {r.ExitCode} (expected {expected})\n{r.Stderr}");
    }

    /// <summary>The sample plug-in built with the tests (same configuration as this assembly).</summary>
    private static string SampleDll => Path.Combine(Repo, "tests", "Plugins", "Vbase.Plugin.Sample", "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "Vbase.Plugin.Sample.dll");

    /// <summary>A file the page has its reader make, made from the page itself; null: not one of those.</summary>
    private string? Fixture(string page, int line, string word)
    {
        string text = File.ReadAllText(Path.Combine(Repo, page));
        string path = Path.Combine(directory, word);
        switch (word)
        {
            case "watch.yaml":
                File.WriteAllText(path, Block(text, "```yaml\n# watch.yaml\n"));
                return path;
            case "cmds.txt":
                // The commands the transcript echoes ("monitor: > …"), in order.
                string[] transcript = File.ReadAllLines(Path.Combine(Repo, page))[line..];
                File.WriteAllLines(path, transcript.TakeWhile(l => !l.StartsWith("```", StringComparison.Ordinal))
                    .Where(l => l.StartsWith("monitor: > ", StringComparison.Ordinal)).Select(l => l["monitor: > ".Length..]));
                return path;
            case "my-vault.yaml":
                File.WriteAllText(path, Block(text, "```yaml\nname: my-vault"));
                File.Copy(Vbase.Testbed.Attacks.AppCatalogue.Find("vault")!.ProgramPath, Path.Combine(directory, "my-vault.elf"), overwrite: true);
                File.Copy(Vbase.Testbed.Attacks.AppCatalogue.Find("vault")!.KernelPath, Path.Combine(directory, "my-kernel.elf"), overwrite: true);
                return path;
            default:
                return null;
        }
    }

    /// <summary>The code block that starts with <paramref name="start"/> (its fence line included), without its fences.</summary>
    private static string Block(string text, string start)
    {
        int at = text.IndexOf(start, StringComparison.Ordinal);
        Assert.True(at >= 0, $"no block starting {start}");
        int body = text.IndexOf('\n', at) + 1;
        return text[body..text.IndexOf("```", body, StringComparison.Ordinal)];
    }

    /// <summary>The parts a glob such as <c>out/slurm/part-*.json</c> stands for: two shards of a small campaign, made here.</summary>
    private string[] Parts(string glob)
    {
        string folder = Path.Combine(directory, Path.GetDirectoryName(glob)!);
        Directory.CreateDirectory(folder);
        string pattern = Path.GetFileName(glob);
        for (int k = 1; k <= 2; k++)
        {
            string part = Path.Combine(folder, pattern.Replace("*", k.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
            CliResult r = CliRunner.Run("campaign", "--arch", "none,vbase", "--attack", "phys-snoop,os-read", "--shard", $"{k}/2", "--json", part,
                "--out", Path.Combine(directory, "out"));
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
        return [.. Directory.GetFiles(folder, pattern).Order(StringComparer.Ordinal)];
    }
}
