using System.Text.Json;
using Vbase.Testbed.Monitoring;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests.Monitoring;

/// <summary>
/// A counting watch rule counts the events the hypervisor's flood limiter suppressed too (their <c>log.suppressed</c>
/// summaries carry the counts) and the dropped writes the harts counted themselves (<c>sapi.writes_dropped</c>), not
/// just the ones recorded: the vault under vbase drops far more writes than a burst.
/// </summary>
public sealed class MonitorFloodCountTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-monitor-flood-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void ACounterCountsTheSuppressedEventsOfItsFlood()
    {
        Scenario vault = ScenarioLoader.Load(Path.Combine(ExampleScenarioTests.ScenariosFolder(), "vault.yaml"));
        IReadOnlyList<WatchRule> rules = MonitorScriptLoader.Parse(
            "- {name: dropped, kind: sapi.write_dropped, domain: app, do: count}\n- {name: elsewhere, kind: sapi.write_dropped, domain: 0, do: count}\n", "count.yaml");
        var lines = new List<string>();
        TestbedResult result = new Running.Testbed(vault, HypervisorHost.Create)
            .Run(new TestbedOptions(Stream.Null, directory, null, new MonitorSetup { Rules = rules, Output = lines.Add }));
        Assert.True(result.Succeeded);

        long recorded = 0, suppressed = 0, counted = 0;
        foreach (string line in File.ReadLines(Path.Combine(directory, Running.Testbed.EventsFile)))
        {
            JsonElement e = JsonDocument.Parse(line).RootElement;
            string kind = e.GetProperty("kind").GetString()!;
            if (kind == "sapi.write_dropped")
            {
                recorded++;
            }
            else if (kind == "log.suppressed" && e.GetProperty("fields").GetProperty("kind").GetString() == "sapi.write_dropped")
            {
                suppressed += e.GetProperty("fields").GetProperty("suppressed").GetInt64();
            }
            else if (kind == "sapi.writes_dropped")
            {
                counted += e.GetProperty("fields").GetProperty("count").GetInt64();
            }
        }
        Assert.True(suppressed + counted > recorded, $"the vault's drops were all recorded ({recorded} recorded, {suppressed} suppressed, {counted} counted)");
        // 8192 updates of three stores each, every one dropped: the counter has them all.
        Assert.Equal(24_576, recorded + suppressed + counted);
        Assert.Contains("monitor: counter dropped = 24576", lines);
        // A rule that did not match the recorded burst does not count its suppressed rest either.
        Assert.Contains("monitor: counter elsewhere = 0", lines);
    }
}
