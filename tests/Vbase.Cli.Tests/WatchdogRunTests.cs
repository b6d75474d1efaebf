using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// <c>watchdog:</c> under <c>vbase run</c> with the real hypervisor: a guest kernel that stores to its read-only
/// start-info page forever (bench/hostile/ro-stores.yaml) never calls the hypervisor, so a watchdog ends it with
/// where it was; without one it runs to the instruction limit.
/// </summary>
public sealed class WatchdogRunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-watchdog-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Scenario(string watchdog)
    {
        string path = Path.Combine(directory, "hostile.yaml");
        File.WriteAllText(path, $"""
            name: wedged
            limits:
              max_instructions: 20_000_000
            domains:
              - name: hostile
                memory: 16M
                kernel: {Path.Combine(Repository.Root, "guest", "bin", "hostile", "ro-stores.elf")}
            {watchdog}
            """);
        return path;
    }

    [Fact]
    public void AWatchdogEndsAKernelThatNeverCallsTheHypervisorAndSaysWhere()
    {
        CliResult r = CliRunner.Run("run", Scenario("    watchdog: 1_000_000"));
        Assert.Equal(RunExitCodes.DomainFailed, r.ExitCode);
        Assert.Matches(@"^vbase: run failed: hostile stopped making progress: vCPU 0 ran 1,0\d\d,\d\d\d instructions without a call to the hypervisor, at pc 0x802[0-9a-f]{5} \(a hung or panicked kernel; Linux resets on a panic with panic=-1\)$",
            Assert.Single(r.StderrLines));
    }

    [Fact]
    public void WithoutOneItRunsToTheLimit()
    {
        CliResult r = CliRunner.Run("run", Scenario(""));
        Assert.Equal(RunExitCodes.Limit, r.ExitCode);
        Assert.Contains("instruction limit", Assert.Single(r.StderrLines));
    }
}
