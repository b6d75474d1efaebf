using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>docs/monitor.md's "Looking at a vCPU": the shipped command file gives the lines the page shows.</summary>
public sealed class MonitorDocExampleTests
{
    private static string Repo => Repository.Root;

    [Fact]
    public void TheLookingAtAVcpuExamplePrintsWhatThePageShows()
    {
        string page = File.ReadAllText(Path.Combine(Repo, "docs", "monitor.md"));
        int start = page.IndexOf("$ vbase run scenarios/paper.yaml --monitor-commands scenarios/monitor/look.txt", StringComparison.Ordinal);
        Assert.True(start > 0, "docs/monitor.md has no such example");
        string[] shown = [.. page[start..page.IndexOf("```", start, StringComparison.Ordinal)].Split('\n')
            .Where(l => l.StartsWith("monitor: ", StringComparison.Ordinal) && !l.EndsWith('…'))];
        Assert.True(shown.Length >= 15, $"only {shown.Length} lines in the example");

        CliResult r = CliRunner.Run("run", Path.Combine(Repo, "scenarios", "paper.yaml"), "--monitor-commands",
            Path.Combine(Repo, "scenarios", "monitor", "look.txt"));
        Assert.True(r.ExitCode == 3, $"exit {r.ExitCode}: {r.Stderr}");   // the file ends before the app does: quit
        string[] printed = [.. r.Stdout.Split('\n')];
        int at = 0;
        foreach (string line in shown)
        {
            int found = Array.IndexOf(printed, line, at);
            Assert.True(found >= 0, $"not printed (in this order): {line}");
            at = found + 1;
        }
        Assert.DoesNotContain(printed, l => l.StartsWith("monitor: dropped write", StringComparison.Ordinal));   // quiet
    }

    [Fact]
    public void BadExamineAndWriteCommandsAreErrorsAndTheReplGoesOn()
    {
        string commands = Path.Combine(Path.GetTempPath(), $"vbase-monitor-{Guid.NewGuid():N}.txt");
        File.WriteAllText(commands, "x/0x app 0x80200000\nx/4q app 0x80200000\nwrite app 0x80400000 zz\nregs app 7\nquiet maybe\nx/2x app 0x1000\nregs app\n");
        try
        {
            CliResult r = CliRunner.Run("run", Path.Combine(Repo, "scenarios", "paper.yaml"), "--monitor-commands", commands);
            string[] errors = [.. r.Stdout.Split('\n').Where(l => l.StartsWith("monitor: error: ", StringComparison.Ordinal))];
            Assert.Equal(6, errors.Length);
            Assert.Contains(r.Stdout.Split('\n'), l => l.StartsWith("monitor: dom 1 vcpu 0: pc 0x0000000080200000", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(commands);
        }
    }
}
