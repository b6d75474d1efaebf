using System.Text;
using System.Text.RegularExpressions;
using Vbase.Isa.Harts;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests;

/// <summary>
/// The example scenarios (scenarios/*.yaml) run end to end: the real hypervisor, the guest kernel
/// (guest/bin/kernel.elf) and its user programs (guest/bin/apps).
/// </summary>
public sealed class ExampleScenarioRunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-examples-run-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static (TestbedResult Result, string Console) Run(string name, string? outDirectory = null, TestbedOptions? options = null)
    {
        Scenario scenario = ScenarioLoader.Load(Path.Combine(ExampleScenarioTests.ScenariosFolder(), name));
        var console = new MemoryStream();
        TestbedResult result = new Running.Testbed(scenario, HypervisorHost.Create)
            .Run((options ?? new TestbedOptions(Stream.Null)) with { Console = console, OutDirectory = outDirectory });
        return (result, Encoding.UTF8.GetString(console.ToArray()));
    }

    private static string[] Lines(string console) => console.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void HelloRunsHelloAndTwoCountersAndPowersOff()
    {
        (TestbedResult result, string console) = Run("hello.yaml");
        Assert.True(result.Succeeded, console);
        string[] lines = Lines(console);
        Assert.All(lines, l => Assert.StartsWith("[app] ", l));
        Assert.Contains("[app] kernel: domain 1, RAM 0x80000000-0x81000000, 3 modules, cmdline \"\"", lines);
        // Process names come from the module names (the kernel may drop their ".elf").
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^\[app\] hello(\.elf)?: hello from pid 1$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^\[app\] kernel: pid 1 \(hello(\.elf)?\) exited with 0$"));
        Assert.Equal(2, lines.Count(l => l.EndsWith(" done", StringComparison.Ordinal)));
        Assert.Equal("[app] kernel: shutting down, exit code 0", lines[^1]);
        Assert.Equal(ShutdownReason.Poweroff, result.Domains[0].Outcome.Reason);
    }

    [Fact]
    public void TwoDomainsInterleaveTheirConsoles()
    {
        (TestbedResult result, string console) = Run("two-domains.yaml");
        Assert.True(result.Succeeded, console);
        // "[left] counter 3" (or "counter.elf 3": process names come from module names) → "left 3".
        string[] counters = [.. Lines(console).Select(l => Regex.Match(l, @"^\[(\w+)\] counter(?:\.elf)? (\d+)$"))
            .Where(m => m.Success).Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}")];
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"left {i}"), counters.Where(l => l.StartsWith("left", StringComparison.Ordinal)));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"right {i}"), counters.Where(l => l.StartsWith("right", StringComparison.Ordinal)));
        // Interleaved, not one after the other: the right domain counts before the left one has finished.
        Assert.True(Array.IndexOf(counters, "right 0") < Array.IndexOf(counters, "left 7"), console);
        Assert.Equal([1, 2], result.Domains.Select(d => d.DomainId));
    }

    [Fact]
    public void TheVbaseSyscallReachesTheHypervisor()
    {
        (TestbedResult result, string console) = Run("vbase-syscall.yaml");
        Assert.True(result.Succeeded, console);
        string[] lines = Lines(console);
        // No architecture is plugged in: vbase_op answers -ENOSYS (-38) through the kernel to the process.
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^\[app\] kernel: vbase\(0x[0-9a-f]+, \d+, enter\) by pid 1: \d+ frames from GFN 0x[0-9a-f]+ -> -38$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^\[app\] vbase-demo: vbase enter\(0x[0-9a-f]+, \d+\) = -38$"));
        Assert.Contains(lines, l => l.StartsWith("[app] vbase-demo: secret checksum 0x", StringComparison.Ordinal) && l.EndsWith(" (intact)", StringComparison.Ordinal));
    }

    [Fact]
    public void TwoFpProcessesKeepTheirFpStateWhileTheKernelSwitchesThem()
    {
        (TestbedResult result, string console) = Run("fp-processes.yaml");
        Assert.True(result.Succeeded, console);
        string[] lines = Lines(console);
        // Each checks its 32 registers and fcsr after every round (preempted several times within it) and computes
        // pi with doubles: both say so, and their rounds interleave.
        Assert.Contains("[app] fpswitch: FP state kept over 6 rounds", lines);
        Assert.Contains("[app] fpswitch.3: FP state kept over 6 rounds", lines);
        Assert.Equal(6, lines.Count(l => l.StartsWith("[app] fpswitch ", StringComparison.Ordinal) && l.EndsWith(": pi ~ 3.141545", StringComparison.Ordinal)));
        Assert.Equal(6, lines.Count(l => l.StartsWith("[app] fpswitch.3 ", StringComparison.Ordinal) && l.EndsWith(": pi ~ 3.141549", StringComparison.Ordinal)));
        Assert.True(Array.IndexOf(lines, "[app] fpswitch.3 0: pi ~ 3.141549") < Array.IndexOf(lines, "[app] fpswitch 5: pi ~ 3.141545"), console);
        Assert.Contains("[app] counter done", lines);
        Assert.All(result.Domains, d => Assert.Equal(0L, d.Outcome.ExitCode));
    }

    [Theory]
    [InlineData("sgx-mee")]
    [InlineData("pmp")]
    [InlineData("xom")]
    [InlineData("aegis")]
    public void TheVaultRunsToItsEndUnderTheDesignsThatHideItsRegisters(string arch)
    {
        // The vault makes system calls in secure mode and carries on after vbase(exit): each time its registers were
        // scrubbed for the kernel, they come back (after the exit too: SecureTransitionKind.Leave).
        Scenario scenario = ScenarioLoader.Load(Path.Combine(ExampleScenarioTests.ScenariosFolder(), "vault.yaml")) with { Architecture = arch };
        var console = new MemoryStream();
        TestbedResult result = new Running.Testbed(scenario, HypervisorHost.Create)
            .Run(new TestbedOptions(Stream.Null) with { Console = console });
        string text = Encoding.UTF8.GetString(console.ToArray());
        Assert.True(result.Succeeded, text);
        Assert.Contains("[app] kernel: pid 1 (vault) exited with 0", Lines(text));
    }

    [Theory]
    [InlineData("hello.yaml")]
    [InlineData("two-domains.yaml")]
    [InlineData("vbase-syscall.yaml")]
    [InlineData("fp-processes.yaml")]
    public void TwoRunsGiveByteIdenticalOutputs(string name)
    {
        string first = Path.Combine(directory, "first"), second = Path.Combine(directory, "second");
        (_, string console1) = Run(name, first);
        (_, string console2) = Run(name, second);
        AssertSameOutputs(first, second, console1, console2);
    }

    /// <summary>
    /// The translator changes speed, never results: every scenario run on the reference interpreter and with
    /// everything translated at its first touch (threshold 1) writes the same consoles, event log (virtual
    /// times of every VIRQ, fault and plug-in report included) and summary, byte for byte.
    /// </summary>
    [Theory]
    [InlineData("hello.yaml")]
    [InlineData("two-domains.yaml")]
    [InlineData("paper.yaml")]
    [InlineData("vault.yaml")]
    public void TheInterpreterAndTheTranslatorGiveByteIdenticalOutputs(string name)
    {
        string interpreted = Path.Combine(directory, "interpreted"), translated = Path.Combine(directory, "translated");
        (TestbedResult reference, string console1) = Run(name, interpreted, new TestbedOptions(Stream.Null) { Engine = ExecutionEngine.Interpreter });
        (_, string console2) = Run(name, translated, new TestbedOptions(Stream.Null) { TranslationThreshold = 1 });
        Assert.True(reference.Instructions > 100_000, $"{name} ran {reference.Instructions} instructions");
        AssertSameOutputs(interpreted, translated, console1, console2);
    }

    private static void AssertSameOutputs(string first, string second, string console1, string console2)
    {
        Assert.Equal(console1, console2);
        string[] files = [.. Directory.GetFiles(first).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Contains("summary.json", files);
        Assert.Equal(files, Directory.GetFiles(second).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string file in files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, file)), File.ReadAllBytes(Path.Combine(second, file)));
        }
    }
}
