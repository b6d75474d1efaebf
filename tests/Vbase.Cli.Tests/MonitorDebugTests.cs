using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// The Monitor's debugger commands (docs/monitor.md, "Breakpoints, steps, virtual addresses and attacks"): the page's
/// example prints what it shows under both engines, bad commands are errors, and the terminal prompt.
/// </summary>
public sealed class MonitorDebugTests
{
    private static string Repo => Repository.Root;

    private static CliResult RunDebugExample(string engine) => CliRunner.Run("run", Path.Combine(Repo, "scenarios", "paper.yaml"),
        "--monitor-commands", Path.Combine(Repo, "scenarios", "monitor", "debug.txt"), "--monitor-quiet", "--engine", engine);

    [Fact]
    public void TheDebugExamplePrintsWhatThePageShowsTranslatedOrInterpreted()
    {
        string page = File.ReadAllText(Path.Combine(Repo, "docs", "monitor.md"));
        int start = page.IndexOf("$ vbase run scenarios/paper.yaml --monitor-commands scenarios/monitor/debug.txt", StringComparison.Ordinal);
        Assert.True(start > 0, "docs/monitor.md has no such example");
        string[] shown = [.. page[start..page.IndexOf("```", start, StringComparison.Ordinal)].Split('\n')
            .Where(l => l.StartsWith("monitor: ", StringComparison.Ordinal) && !l.EndsWith('…'))];
        Assert.True(shown.Length >= 20, $"only {shown.Length} lines in the example");

        CliResult translated = RunDebugExample("translator");
        Assert.True(translated.ExitCode == 0, $"exit {translated.ExitCode}: {translated.Stderr}");
        string[] printed = [.. translated.Stdout.Split('\n')];
        int at = 0;
        foreach (string line in shown)
        {
            int found = Array.IndexOf(printed, line, at);
            Assert.True(found >= 0, $"not printed (in this order): {line}");
            at = found + 1;
        }
        // Breakpoints and steps land on the same instruction, at the same time, whichever engine runs the code.
        Assert.Equal(translated.Stdout, RunDebugExample("interpreter").Stdout);
    }

    [Fact]
    public void BadDebuggerCommandsAreErrorsAndTheReplGoesOn()
    {
        string commands = Path.Combine(Path.GetTempPath(), $"vbase-monitor-{Guid.NewGuid():N}.txt");
        File.WriteAllText(commands, "break zz\nbreak 0x10084 nope\nstep 0\nstep 1 app 9\nattack nope\nattack phys-snoop\n"
            + "attack vm-map-foreign\nattack net-sniff\nx/1x app v:zz\nx/1x app v:0x10000@5\nmem app v:0x10000 4 dram\nattack phys-snoop delay\ndelete 0x1\nstep 3\nregs app\n");
        try
        {
            CliResult r = CliRunner.Run("run", Path.Combine(Repo, "scenarios", "paper.yaml"), "--monitor-commands", commands);
            string[] lines = r.Stdout.Split('\n');
            string[] errors = [.. lines.Where(l => l.StartsWith("monitor: error: ", StringComparison.Ordinal))];
            Assert.Equal(12, errors.Length);
            Assert.Contains("monitor: error: net-sniff acts on the wire between the bank's VMs: fire it from a campaign (vbase campaign --app net-plain or net-sealed)", errors);
            Assert.Contains("monitor: error: no active protected region yet (run until one is registered)", errors);
            Assert.Contains("monitor: no such breakpoint", lines);
            Assert.Contains("monitor: dom 1 vcpu 0: stepped 3, now at pc 0x8020000c Supervisor-mode: csrrw zero, sscratch, zero (t=3)", lines);
        }
        finally
        {
            File.Delete(commands);
        }
    }

    [Theory]
    [InlineData("none", false)]
    [InlineData("sev", true)]
    [InlineData("sev-snp", true)]
    public void MemShowsTheDebugReadAndTheBusWhichDifferWhereTheWholeVmIsEncrypted(string arch, bool encrypted)
    {
        string directory = Directory.CreateTempSubdirectory("vbase-monitor-mem-").FullName;
        try
        {
            string scenario = Path.Combine(directory, "paper.yaml");
            File.WriteAllText(scenario, File.ReadAllText(Path.Combine(Repo, "scenarios", "paper.yaml"))
                .Replace("arch: vbase", $"arch: {arch}", StringComparison.Ordinal)
                .Replace("../guest/", Path.Combine(Repo, "guest") + "/", StringComparison.Ordinal));
            string commands = Path.Combine(directory, "commands.txt");
            File.WriteAllText(commands, "mem app 0x80200000 16 dom0\nmem app 0x80200000 16 dram\nquit\n");
            CliResult r = CliRunner.Run("run", scenario, "--monitor-commands", commands, "--monitor-quiet");
            string[] lines = r.Stdout.Split('\n');
            string debug = Assert.Single(lines, l => l.StartsWith("monitor: dom 1 dom0 0x80200000: ", StringComparison.Ordinal));
            string bus = Assert.Single(lines, l => l.StartsWith("monitor: dom 1 dram 0x80200000: ", StringComparison.Ordinal));
            // The kernel's first instructions in plaintext to the toolstack's debug read; under a whole-VM design the
            // bus carries their ciphertext.
            Assert.Equal(encrypted, debug[debug.IndexOf(':', 10)..] != bus[bus.IndexOf(':', 10)..]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task TheTerminalPromptComesBeforeEachCommandAndStopEndsTheInput()
    {
        var typed = new Queue<string?>(["regions", "quit"]);
        var prompt = new StringWriter();
        using var terminal = new TerminalCommands(() => typed.Count > 0 ? typed.Dequeue() : null, prompt);
        Assert.Equal("regions", terminal.ReadLine());
        Assert.Equal(TerminalCommands.Prompt, prompt.ToString());
        Assert.Equal("quit", terminal.ReadLine());
        Assert.Equal(TerminalCommands.Prompt + TerminalCommands.Prompt, prompt.ToString());

        using var blocked = new TerminalCommands(() =>
        {
            Thread.Sleep(Timeout.Infinite); // a person who never types
            return null;
        }, TextWriter.Null);
        Task<string?> reader = Task.Run(blocked.ReadLine);
        blocked.Stop();
        Assert.Null(await reader.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Null(blocked.ReadLine());
    }
}
