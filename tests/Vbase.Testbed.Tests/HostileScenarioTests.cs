using System.Text;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests;

/// <summary>
/// bench/hostile.sh's scenarios run the committed hostile guest kernels (guest/bin/hostile): each loads, and a
/// short run of each keeps within the bounds docs/robustness.md gives.
/// </summary>
public sealed class HostileScenarioTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-hostile-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Folder() => Path.Combine(Path.GetDirectoryName(ExampleScenarioTests.ScenariosFolder())!, "bench", "hostile");

    public static TheoryData<string> Scenarios() => new(Directory.GetFiles(Folder(), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    private (TestbedResult Result, string Out) Run(string name, ulong instructions)
    {
        Scenario scenario = ScenarioLoader.Load(Path.Combine(Folder(), name));
        string outDirectory = Path.Combine(directory, Path.GetFileNameWithoutExtension(name));
        TestbedResult result = new Running.Testbed(scenario, HypervisorHost.Create)
            .Run(new TestbedOptions(Stream.Null, outDirectory, instructions));
        return (result, outDirectory);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void TheScenarioLoadsAndNamesItsImage(string name)
    {
        Scenario scenario = ScenarioLoader.Load(Path.Combine(Folder(), name));
        Assert.Equal("hostile-" + Path.GetFileNameWithoutExtension(name), scenario.Name);
        Assert.True(File.Exists(Assert.Single(scenario.Domains).Kernel));
    }

    [Fact]
    public void TheTimeGuestIsRefusedItsDeadlineAndSeesTimeSaturate()
    {
        (TestbedResult result, string outDirectory) = Run("time.yaml", 10_000_000);
        Assert.True(result.Succeeded);   // its own checks: -EINVAL, then time stays at its end
        string events = File.ReadAllText(Path.Combine(outDirectory, Running.Testbed.EventsFile));
        Assert.Contains("\"kind\":\"time.saturated\"", events, StringComparison.Ordinal);
    }

    [Fact]
    public void TheConsoleFloodStopsAtTheLimit()
    {
        (_, string outDirectory) = Run("console.yaml", 5_000_000);
        Assert.Equal(16L << 20, new FileInfo(Path.Combine(outDirectory, Running.Testbed.ConsoleLogFile("hostile"))).Length);
        string events = File.ReadAllText(Path.Combine(outDirectory, Running.Testbed.EventsFile), Encoding.UTF8);
        Assert.Contains("\"kind\":\"console.dropped\"", events, StringComparison.Ordinal);
    }
}
