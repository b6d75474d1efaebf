using Vbase.Cli.Tests.Support;
using Vbase.Testbed.Running;
using Vbase.Testbed.Tests.Support;
using Vbase.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// <c>vbase run</c>: scenario errors as one located line, exit codes for every way a run ends, outputs in --out.
/// Runs use the scripted stand-in hypervisor (set for each test's own async flow only).
/// </summary>
public sealed class RunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-run-").FullName;

    public RunTests() => RunCommand.Hosts = settings => new ScriptedHost(settings);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private void Kernel(string name, params string[] script) => File.WriteAllBytes(Path.Combine(directory, name), ScriptedHost.Kernel(script));

    private string Scenario(string yaml)
    {
        string path = Path.Combine(directory, "s.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static string OneError(CliResult r, int exitCode)
    {
        Assert.True(exitCode == r.ExitCode, $"exit code {r.ExitCode}, stderr: {r.Stderr}");
        string line = Assert.Single(r.StderrLines);
        Assert.StartsWith("vbase: error: ", line);
        Assert.DoesNotContain("Exception", line);
        return line;
    }

    private static string OneNotice(CliResult r, int exitCode)
    {
        Assert.True(exitCode == r.ExitCode, $"exit code {r.ExitCode}, stderr: {r.Stderr}");
        return Assert.Single(r.StderrLines);
    }

    [Fact]
    public void ASuccessfulRunStreamsPrefixedConsolesAndExitsZero()
    {
        Kernel("a.elf", "print hello from a", "exit 0");
        Kernel("b.elf", "print hello from b", "exit 0");
        string scenario = Scenario("name: two\ndomains:\n  - name: a\n    kernel: a.elf\n  - name: b\n    kernel: b.elf\n");
        string outDirectory = Path.Combine(directory, "out");
        CliResult r = CliRunner.Run("run", scenario, "--out", outDirectory);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("[a] hello from a\n[b] hello from b\n", r.Stdout);
        Assert.Equal("", r.Stderr);
        Assert.Equal("hello from a\n", File.ReadAllText(Path.Combine(outDirectory, "console-a.log")));
        Assert.Contains("\"succeeded\": true", File.ReadAllText(Path.Combine(outDirectory, "summary.json")));
    }

    [Fact]
    public void StatsAndTheInterpreterEngine()
    {
        Kernel("a.elf", "print hello from a", "exit 0");
        string scenario = Scenario("name: s\ndomains:\n  - name: a\n    kernel: a.elf\n");
        CliResult r = CliRunner.Run("run", "--stats", "--engine", "interpreter", scenario);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("[a] hello from a", r.Stdout);
        Assert.Matches(@"^vbase: \d+ instructions in \d+\.\d{3} s, \d+\.\d MIPS \(\d+\.\d{3} s with building and loading the domains\)$",
            Assert.Single(r.StderrLines));
    }

    [Fact]
    public void ADomainThatExitsNonZeroFailsTheRun()
    {
        Kernel("ok.elf", "exit 0");
        Kernel("bad.elf", "exit 3");
        Kernel("crash.elf", "crash");
        CliResult r = CliRunner.Run("run", Scenario(
            "name: f\ndomains:\n  - name: ok\n    kernel: ok.elf\n  - name: bad\n    kernel: bad.elf\n  - name: boom\n    kernel: crash.elf\n"));
        Assert.Equal("vbase: run failed: bad exited with code 3, boom shut down with reason crash", OneNotice(r, RunExitCodes.DomainFailed));
    }

    [Fact]
    public void TheInstructionLimitFromTheCommandLine()
    {
        Kernel("spin.elf", "spin");
        CliResult r = CliRunner.Run("run", "--max-instructions", "1_000", Scenario("name: l\ndomains:\n  - name: s\n    kernel: spin.elf\n"));
        Assert.Equal("vbase: instruction limit 1000 reached before every domain shut down (still running: s)", OneNotice(r, RunExitCodes.Limit));
    }

    [Fact]
    public void TheWallClockTimeoutFromTheScenario()
    {
        Kernel("spin.elf", "spin");
        CliResult r = CliRunner.Run("run", Scenario("name: l\nlimits:\n  timeout: 100ms\ndomains:\n  - name: s\n    kernel: spin.elf\n"));
        Assert.StartsWith("vbase: wall-clock timeout 0.1 s reached", OneNotice(r, RunExitCodes.Limit));
    }

    [Fact]
    public void DomainsBlockedForever()
    {
        Kernel("block.elf", "block");
        CliResult r = CliRunner.Run("run", Scenario("name: i\ndomains:\n  - name: w\n    kernel: block.elf\n"));
        Assert.Equal("vbase: every vCPU is blocked with nothing that could wake it; not shut down: w", OneNotice(r, RunExitCodes.IdleForever));
    }

    [Fact]
    public void AnInterruptedRunKeepsItsOutputs()
    {
        Kernel("k.elf", "print before", "interrupt", "print after", "exit 0");
        string outDirectory = Path.Combine(directory, "out");
        CliResult r = CliRunner.Run("run", Scenario("name: c\ndomains:\n  - name: k\n    kernel: k.elf\n"), "--out", outDirectory);
        Assert.Equal($"vbase: stopped (Ctrl-C); outputs so far are in {outDirectory}", OneNotice(r, RunExitCodes.Interrupted));
        Assert.Equal("[k] before\n", r.Stdout);
        Assert.Equal("before\n", File.ReadAllText(Path.Combine(outDirectory, "console-k.log")));
        Assert.True(File.Exists(Path.Combine(outDirectory, "summary.json")));
    }

    [Fact]
    public void AnInvalidScenarioIsOneLocatedError()
    {
        Kernel("k.elf", "exit 0");
        string path = Scenario("name: x\ndomains:\n  - name: a\n    kernel: k.elf\n  - name: b\n    memory: 12Q\n    kernel: k.elf\n");
        CliResult r = CliRunner.Run("run", path);
        Assert.Equal($"vbase: error: {path}:6:13: domains[1].memory: '12Q' is not a size (use e.g. 16M)", OneError(r, RunExitCodes.ScenarioError));
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void AMissingScenarioFile()
    {
        string path = Path.Combine(directory, "none.yaml");
        Assert.Equal($"vbase: error: {path}: no such file", OneError(CliRunner.Run("run", path), RunExitCodes.ScenarioError));
    }

    [Fact]
    public void AMissingKernel()
    {
        string path = Scenario("name: x\ndomains:\n  - name: a\n    kernel: gone.elf\n");
        Assert.Contains($"{path}:4:13: domains[0].kernel: 'gone.elf' not found", OneError(CliRunner.Run("run", path), RunExitCodes.ScenarioError));
    }

    [Fact]
    public void AnOutFolderThatCannotBeCreated()
    {
        Kernel("k.elf", "exit 0");
        string file = Path.Combine(directory, "a-file");
        File.WriteAllText(file, "");
        CliResult r = CliRunner.Run("run", Scenario("name: x\ndomains:\n  - name: a\n    kernel: k.elf\n"), "--out", Path.Combine(file, "out"));
        Assert.StartsWith("vbase: error: cannot create output folder", OneError(r, RunExitCodes.OutputError));
    }

    [Theory]
    [InlineData("required argument missing for command: 'run'", "run")]
    [InlineData("unknown option '--frobnicate'", "run", "--frobnicate", "x.yaml")]
    [InlineData("--max-instructions: '0' is not a whole number of instructions from 1 up", "run", "--max-instructions", "0", "x.yaml")]
    [InlineData("--max-instructions: 'many' is not a whole number of instructions from 1 up", "run", "--max-instructions", "many", "x.yaml")]
    public void UsageErrors(string message, params string[] args)
    {
        Assert.Equal($"vbase: error: {message} (see 'vbase --help')", OneError(CliRunner.Run(args), RunExitCodes.UsageError));
    }

    [Fact]
    public void HelpListsTheOptions()
    {
        CliResult r = CliRunner.Run("run", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--out <DIR>", r.Stdout);
        Assert.Contains("--max-instructions <N>", r.Stdout);
    }
}

/// <summary><c>vbase run</c> on the real hypervisor, with tiny kernels assembled in the test.</summary>
public sealed class RunOnHypervisorTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-run-hv-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string TwoDomains(long rightExit)
    {
        File.WriteAllBytes(Path.Combine(directory, "left.elf"), AsmKernel.Printer("left says hi", 2));
        File.WriteAllBytes(Path.Combine(directory, "right.elf"), AsmKernel.Printer("right says hi", 2, rightExit));
        string path = Path.Combine(directory, "two.yaml");
        File.WriteAllText(path, "name: two\ndomains:\n  - name: left\n    kernel: left.elf\n  - name: right\n    kernel: right.elf\n");
        return path;
    }

    [Fact]
    public void ConsolesArePrefixedAndAllZeroExitsGiveZero()
    {
        string outDirectory = Path.Combine(directory, "out");
        CliResult r = CliRunner.Run("run", TwoDomains(0), "--out", outDirectory);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("", r.Stderr);
        Assert.Equal(2, r.Stdout.Split('\n').Count(l => l == "[left] left says hi"));
        Assert.Equal(2, r.Stdout.Split('\n').Count(l => l == "[right] right says hi"));
        Assert.Equal("right says hi\nright says hi\n", File.ReadAllText(Path.Combine(outDirectory, "console-right.log")));
    }

    [Fact]
    public void ADomainsNonZeroExitFailsTheRun()
    {
        CliResult r = CliRunner.Run("run", TwoDomains(9));
        Assert.Equal(RunExitCodes.DomainFailed, r.ExitCode);
        Assert.Equal("vbase: run failed: right exited with code 9", Assert.Single(r.StderrLines));
    }

    [Fact]
    public void TheInstructionLimit()
    {
        CliResult r = CliRunner.Run("run", "--max-instructions", "100", TwoDomains(0));
        Assert.Equal(RunExitCodes.Limit, r.ExitCode);
        Assert.StartsWith("vbase: instruction limit 100 reached before every domain shut down (still running: left, right)", Assert.Single(r.StderrLines));
    }

    [Fact]
    public void TheExampleScenarioRunsFromTheRepository()
    {
        // guest/bin/../../scenarios: the example as committed, with its paths relative to itself.
        string scenario = Path.GetFullPath(Path.Combine(GuestPrograms.Path(""), "..", "..", "scenarios", "vbase-syscall.yaml"));
        string outDirectory = Path.Combine(directory, "out");
        CliResult r = CliRunner.Run("run", scenario, "--out", outDirectory);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.StartsWith("[app] ", l));
        Assert.Contains(lines, l => l.StartsWith("[app] vbase-demo: ", StringComparison.Ordinal));
        Assert.Equal("[app] kernel: shutting down, exit code 0", lines[^1]);
        Assert.Equal(string.Concat(lines.Select(l => l["[app] ".Length..] + "\n")), File.ReadAllText(Path.Combine(outDirectory, "console-app.log")));
    }
}
