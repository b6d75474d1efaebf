using System.Text;
using System.Text.Json;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;
using Vbase.Testbed.Tests.Support;

namespace Vbase.Testbed.Tests;

/// <summary>
/// The harness around the hypervisor, driven by <see cref="ScriptedHost"/>: prefixed console streaming, console
/// logs, summary.json, limits, stopping, and byte-identical outputs for the same scenario and seed.
/// </summary>
public sealed class TestbedTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-testbed-").FullName;
    private ScriptedHost? lastHost;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Kernel(string name, params string[] script)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path, ScriptedHost.Kernel(script));
        return path;
    }

    private Scenario Scenario(string yaml)
    {
        string path = Path.Combine(directory, "s.yaml");
        File.WriteAllText(path, yaml);
        return ScenarioLoader.Load(path);
    }

    private (TestbedResult Result, string Console) Run(Scenario scenario, string? outDirectory = null, ulong? maxInstructions = null)
    {
        var console = new MemoryStream();
        var testbed = new Running.Testbed(scenario, settings => lastHost = new ScriptedHost(settings));
        TestbedResult result = testbed.Run(new TestbedOptions(console, outDirectory, maxInstructions));
        return (result, Encoding.UTF8.GetString(console.ToArray()));
    }

    private Scenario TwoDomains()
    {
        Kernel("a.elf", "print a one", "write a tw", "write o", "print ", "exit 0");
        Kernel("b.elf", "print b one", "print b two", "write b no newline", "exit 0");
        return Scenario("name: two\nseed: 7\ndomains:\n  - name: a\n    kernel: a.elf\n  - name: b\n    kernel: b.elf\n");
    }

    [Fact]
    public void ConsolesStreamLineByLinePrefixedByTheDomainsName()
    {
        (TestbedResult result, string console) = Run(TwoDomains());
        Assert.Equal("[a] a one\n[b] b one\n[b] b two\n[a] a two\n[b] b no newline\n", console);
        Assert.Equal(RunOutcome.AllShutDown, result.Outcome);
        Assert.True(result.Succeeded);
        Assert.True(lastHost!.Disposed);
        // The domains' 32 MiB and a quarter more, set aside for a plug-in's off-chip metadata, and 64 KiB for Dom0's own
        // allocations (dom0-remap's populate_physmap).
        Assert.Equal(new HostSettings(7, null, (40UL << 20) + (64UL << 10)) { ArchitectureParameters = lastHost.Settings.ArchitectureParameters }, lastHost.Settings);
        Assert.Empty(lastHost.Settings.ArchitectureParameters);
        Assert.Null(lastHost.Settings.Events); // no --out, no event log
    }

    [Fact]
    public void TheOutFolderHoldsRawConsoleLogsAndASummary()
    {
        string outDirectory = Path.Combine(directory, "out", "nested");
        Run(TwoDomains(), outDirectory);
        Assert.Equal("a one\na two\n", File.ReadAllText(Path.Combine(outDirectory, "console-a.log")));
        Assert.Equal("b one\nb two\nb no newline", File.ReadAllText(Path.Combine(outDirectory, "console-b.log")));
        string summary = File.ReadAllText(Path.Combine(outDirectory, "summary.json"));
        Assert.Equal("""
            {
              "scenario": "two",
              "seed": 7,
              "outcome": "all_shut_down",
              "succeeded": true,
              "virtual_time": 900,
              "instructions": 900,
              "max_instructions": null,
              "domains": [
                {
                  "name": "a",
                  "domain_id": 1,
                  "state": "shutdown",
                  "shutdown_reason": "poweroff",
                  "exit_code": 0,
                  "instructions": 500,
                  "console_bytes": 12
                },
                {
                  "name": "b",
                  "domain_id": 2,
                  "state": "shutdown",
                  "shutdown_reason": "poweroff",
                  "exit_code": 0,
                  "instructions": 400,
                  "console_bytes": 24
                }
              ]
            }

            """.ReplaceLineEndings("\n"), summary);
    }

    [Fact]
    public void TheSameScenarioAndSeedGiveByteIdenticalOutputs()
    {
        Scenario scenario = TwoDomains();
        string first = Path.Combine(directory, "first"), second = Path.Combine(directory, "second");
        (_, string console1) = Run(scenario, first);
        (_, string console2) = Run(scenario, second);
        Assert.Equal(console1, console2);
        string[] names = ["console-a.log", "console-b.log", "events.jsonl", "summary.json"];
        Assert.Equal(names, Directory.GetFiles(first).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string name in names)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, name)), File.ReadAllBytes(Path.Combine(second, name)));
        }
    }

    [Fact]
    public void ADomainsFailureIsInItsOutcome()
    {
        Kernel("ok.elf", "exit 0");
        Kernel("bad.elf", "print oops", "exit 3");
        Kernel("crash.elf", "crash");
        TestbedResult result = Run(Scenario(
            "name: f\ndomains:\n  - name: ok\n    kernel: ok.elf\n  - name: bad\n    kernel: bad.elf\n  - name: boom\n    kernel: crash.elf\n")).Result;
        Assert.Equal(RunOutcome.AllShutDown, result.Outcome);
        Assert.False(result.Succeeded);
        Assert.Equal([true, false, false], result.Domains.Select(d => d.Succeeded));
        Assert.Equal(new DomainOutcome(DomainState.Shutdown, ShutdownReason.Poweroff, 3, 200), result.Domains[1].Outcome);
        Assert.Equal(ShutdownReason.Crash, result.Domains[2].Outcome.Reason);
    }

    [Fact]
    public void TheInstructionLimitStopsTheRunAndTheOptionOverridesTheScenario()
    {
        Kernel("spin.elf", "print start", "spin");
        Scenario scenario = Scenario("name: l\nlimits:\n  max_instructions: 1000\ndomains:\n  - name: s\n    kernel: spin.elf\n");
        (TestbedResult result, string console) = Run(scenario, Path.Combine(directory, "o"));
        Assert.Equal(RunOutcome.InstructionLimit, result.Outcome);
        Assert.Equal(1000UL, result.Instructions);
        Assert.Equal(DomainState.Running, result.Domains[0].Outcome.State);
        Assert.Equal("[s] start\n", console);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "o", "summary.json")));
        Assert.Equal("instruction_limit", summary.RootElement.GetProperty("outcome").GetString());
        Assert.Equal(1000UL, summary.RootElement.GetProperty("max_instructions").GetUInt64());
        Assert.Equal(JsonValueKind.Null, summary.RootElement.GetProperty("domains")[0].GetProperty("exit_code").ValueKind);

        Assert.Equal(300UL, Run(scenario, maxInstructions: 300).Result.Instructions);
    }

    [Fact]
    public void DomainsThatCanNeverRunAgainEndTheRunAsIdle()
    {
        Kernel("block.elf", "print waiting", "block");
        Kernel("ok.elf", "exit 0");
        TestbedResult result = Run(Scenario("name: i\ndomains:\n  - name: w\n    kernel: block.elf\n  - name: ok\n    kernel: ok.elf\n")).Result;
        Assert.Equal(RunOutcome.Idle, result.Outcome);
        Assert.Equal(DomainState.Blocked, result.Domains[0].Outcome.State);
        Assert.False(result.Succeeded);
    }

    [Fact]
    public void AStopKeepsTheOutputsSoFar()
    {
        Kernel("k.elf", "print before", "write half a line", "interrupt", "print after", "exit 0");
        string outDirectory = Path.Combine(directory, "o");
        (TestbedResult result, string console) = Run(Scenario("name: c\ndomains:\n  - name: k\n    kernel: k.elf\n"), outDirectory);
        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        Assert.Equal("[k] before\n[k] half a line\n", console);
        Assert.Equal("before\nhalf a line", File.ReadAllText(Path.Combine(outDirectory, "console-k.log")));
        Assert.Contains("\"outcome\": \"stopped\"", File.ReadAllText(Path.Combine(outDirectory, "summary.json")));
    }

    [Fact]
    public void AStopRequestedBeforeTheRunStartsStopsItAtOnce()
    {
        Kernel("k.elf", "print never", "exit 0");
        var console = new MemoryStream();
        var testbed = new Running.Testbed(Scenario("name: c\ndomains:\n  - name: k\n    kernel: k.elf\n"), s => new ScriptedHost(s));
        testbed.RequestStop();
        Assert.Equal(RunOutcome.Stopped, testbed.Run(new TestbedOptions(console)).Outcome);
        Assert.Equal(0, console.Length);
    }

    [Fact]
    public void TheWallClockTimeoutStopsARunThatNeverEnds()
    {
        Kernel("spin.elf", "spin");
        TestbedResult result = Run(Scenario("name: t\nlimits:\n  timeout: 200ms\ndomains:\n  - name: s\n    kernel: spin.elf\n")).Result;
        Assert.Equal(RunOutcome.Timeout, result.Outcome);
    }

    [Fact]
    public void DomainsGetTheirModulesInOrderAndTheirConsoleInput()
    {
        Kernel("k.elf", "modules", "input", "exit 0");
        File.WriteAllBytes(Path.Combine(directory, "hello.elf"), "\u007fELFhello"u8.ToArray());
        File.WriteAllBytes(Path.Combine(directory, "counter.elf"), "\u007fELFcounter"u8.ToArray());
        string console = Run(Scenario(
            "name: m\ndomains:\n  - name: k\n    kernel: k.elf\n    programs: [hello.elf, counter.elf, counter.elf]\n    console_input: \"typed\\n\"\n")).Console;
        Assert.Equal("[k] hello.elf counter.elf counter.elf\n[k] typed\n", console);
    }

    [Fact]
    public void CarriageReturnsBeforeNewlinesAreDroppedFromPrefixedLinesButKeptInTheLog()
    {
        Kernel("k.elf", "write dos\r", "print ", "exit 0");
        string outDirectory = Path.Combine(directory, "o");
        string console = Run(Scenario("name: r\ndomains:\n  - name: k\n    kernel: k.elf\n"), outDirectory).Console;
        Assert.Equal("[k] dos\n", console);
        Assert.Equal("dos\r\n", File.ReadAllText(Path.Combine(outDirectory, "console-k.log")));
    }

    [Fact]
    public void AnOutFolderThatCannotBeCreatedIsAnOutputsError()
    {
        string file = Path.Combine(directory, "a-file");
        File.WriteAllText(file, "");
        var e = Assert.Throws<TestbedException>(() => Run(TwoDomains(), Path.Combine(file, "out")));
        Assert.Equal(TestbedStage.Outputs, e.Stage);
        Assert.StartsWith("cannot create output folder", e.Message);
    }
}
