using System.Text;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;
using Vbase.Testbed.Tests.Support;

namespace Vbase.Testbed.Tests;

/// <summary>
/// Scenarios run end to end on the real hypervisor (<see cref="HypervisorHost"/>), with tiny kernels assembled
/// here: consoles through console_io, shutdown codes through sched_op, interleaving by the scheduler.
/// </summary>
public sealed class HypervisorRunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-hv-run-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private Scenario Scenario(string yaml)
    {
        string path = Path.Combine(directory, "s.yaml");
        File.WriteAllText(path, yaml);
        return ScenarioLoader.Load(path);
    }

    private static (TestbedResult Result, string Console) Run(Scenario scenario, string? outDirectory = null, ulong? maxInstructions = null)
    {
        var console = new MemoryStream();
        TestbedResult result = new Running.Testbed(scenario, HypervisorHost.Create).Run(new TestbedOptions(console, outDirectory, maxInstructions));
        return (result, Encoding.UTF8.GetString(console.ToArray()));
    }

    private Scenario TwoPrinters()
    {
        File.WriteAllBytes(Path.Combine(directory, "left.elf"), AsmKernel.Printer("left", 3));
        File.WriteAllBytes(Path.Combine(directory, "right.elf"), AsmKernel.Printer("right", 3, exitCode: 0, spin: 300));
        return Scenario("""
            name: two
            seed: 5
            limits:
              slice_instructions: 500
              max_instructions: 1_000_000
            domains:
              - name: left
                kernel: left.elf
              - name: right
                kernel: right.elf
            """);
    }

    [Fact]
    public void ADomainPrintsAndPowersOff()
    {
        File.WriteAllBytes(Path.Combine(directory, "k.elf"), AsmKernel.Printer("hello from the guest", 2, exitCode: 0));
        (TestbedResult result, string console) = Run(Scenario("name: one\ndomains:\n  - name: app\n    kernel: k.elf\n"));
        Assert.Equal("[app] hello from the guest\n[app] hello from the guest\n", console);
        Assert.Equal(RunOutcome.AllShutDown, result.Outcome);
        Assert.True(result.Succeeded);
        DomainOutcome app = result.Domains[0].Outcome;
        Assert.Equal((DomainState.Shutdown, ShutdownReason.Poweroff, 0L), (app.State, app.Reason, app.ExitCode));
        Assert.True(app.Instructions > 400, $"{app.Instructions} instructions");
        Assert.True(result.VirtualTime >= app.Instructions);
    }

    [Fact]
    public void TheExitCodeOfTheGuestIsInTheOutcome()
    {
        File.WriteAllBytes(Path.Combine(directory, "k.elf"), AsmKernel.Printer("failing", 1, exitCode: 7));
        TestbedResult result = Run(Scenario("name: one\ndomains:\n  - name: app\n    kernel: k.elf\n")).Result;
        Assert.Equal(7L, result.Domains[0].Outcome.ExitCode);
        Assert.False(result.Succeeded);
    }

    [Fact]
    public void TwoDomainsInterleaveLineByLine()
    {
        string console = Run(TwoPrinters()).Console;
        string[] lines = console.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["[left] left", "[left] left", "[left] left"], lines.Where(l => l.StartsWith("[left]", StringComparison.Ordinal)));
        Assert.Equal(3, lines.Count(l => l == "[right] right"));
        Assert.Equal(6, lines.Length);
        // Slices of 500 instructions and ~1000-instruction busy loops: the scheduler alternates the two.
        int firstRight = Array.IndexOf(lines, "[right] right"), lastLeft = Array.LastIndexOf(lines, "[left] left");
        Assert.True(firstRight < lastLeft, console);
    }

    [Fact]
    public void TheSameScenarioTwiceGivesByteIdenticalOutputs()
    {
        Scenario scenario = TwoPrinters();
        string first = Path.Combine(directory, "first"), second = Path.Combine(directory, "second");
        (_, string console1) = Run(scenario, first);
        (_, string console2) = Run(scenario, second);
        Assert.Equal(console1, console2);
        foreach (string name in new[] { "console-left.log", "console-right.log", "events.jsonl", "summary.json" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, name)), File.ReadAllBytes(Path.Combine(second, name)));
        }
        Assert.Contains("\"succeeded\": true", File.ReadAllText(Path.Combine(first, "summary.json")));
    }

    [Fact]
    public void TheEventLogHasOneJsonObjectPerLineInVirtualTimeOrder()
    {
        string outDirectory = Path.Combine(directory, "out");
        Run(TwoPrinters(), outDirectory);
        string[] lines = File.ReadAllLines(Path.Combine(outDirectory, "events.jsonl"));
        var events = lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("domain.created", events[0].GetProperty("kind").GetString());
        Assert.Equal("left", events[0].GetProperty("domain").GetString());
        Assert.Equal(1, events[0].GetProperty("domain_id").GetInt32());
        var shutdowns = events.Where(e => e.GetProperty("kind").GetString() == "domain.shutdown").ToList();
        Assert.Equal(["left", "right"], shutdowns.Select(e => e.GetProperty("domain").GetString()).Order(StringComparer.Ordinal));
        Assert.All(shutdowns, e => Assert.Equal("""{"reason":"poweroff","exit_code":0}""", e.GetProperty("fields").GetRawText()));
        Assert.All(shutdowns, e => Assert.Equal("reason=poweroff exit_code=0", e.GetProperty("message").GetString()));
        ulong[] times = [.. events.Select(e => e.GetProperty("time").GetUInt64())];
        Assert.Equal(times.Order(), times);
    }

    [Fact]
    public void TheInstructionLimitStopsTheGuests()
    {
        (TestbedResult result, _) = Run(TwoPrinters(), maxInstructions: 1500);
        Assert.Equal(RunOutcome.InstructionLimit, result.Outcome);
        Assert.All(result.Domains, d => Assert.NotEqual(DomainState.Shutdown, d.Outcome.State));
    }

    [Fact]
    public void AKernelTheHypervisorCannotLoadIsAnImagesError()
    {
        // An ELF whose segment lies below the kernel base.
        File.WriteAllBytes(Path.Combine(directory, "low.elf"), AsmKernel.Elf([0x13, 0, 0, 0], 0x8000_0000));
        var e = Assert.Throws<TestbedException>(() => Run(Scenario("name: bad\ndomains:\n  - name: app\n    kernel: low.elf\n")));
        Assert.Equal(TestbedStage.Images, e.Stage);
        Assert.StartsWith("domain app: kernel: ", e.Message);
    }
}
