using System.Text;
using System.Text.Json;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Logging;
using Vbase.Testbed.Monitoring;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests.Monitoring;

/// <summary>
/// The Monitor on real runs of scenarios/paper.yaml (the paper's secure-app under the vbase architecture): VIRQ
/// handling, watch rules and their actions, the REPL, and events.jsonl of runs that end early.
/// </summary>
public sealed class MonitorTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-monitor-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static Scenario Paper() => ScenarioLoader.Load(Path.Combine(ExampleScenarioTests.ScenariosFolder(), "paper.yaml"));

    /// <summary>paper.yaml with another architecture, written next to the scenarios so its relative paths hold.</summary>
    private static Scenario PaperUnder(string arch)
    {
        string folder = ExampleScenarioTests.ScenariosFolder();
        string text = File.ReadAllText(Path.Combine(folder, "paper.yaml")).Replace("arch: vbase", $"arch: {arch}", StringComparison.Ordinal);
        return ScenarioLoader.Parse(text, $"paper-{arch}.yaml", folder);
    }

    private (TestbedResult Result, List<string> Lines, string Console) Run(Scenario scenario, MonitorSetup setup, ulong? maxInstructions = null)
    {
        var lines = new List<string>();
        var console = new MemoryStream();
        setup = new MonitorSetup
        {
            Rules = setup.Rules,
            Commands = setup.Commands,
            EchoCommands = setup.EchoCommands,
            Output = setup.Output ?? lines.Add,
        };
        TestbedResult result = new Running.Testbed(scenario, HypervisorHost.Create)
            .Run(new TestbedOptions(console, directory, maxInstructions, setup));
        LastSetup = setup;
        return (result, lines, Encoding.UTF8.GetString(console.ToArray()));
    }

    private MonitorSetup LastSetup { get; set; } = new();

    private string[] EventLines() => File.ReadAllLines(Path.Combine(directory, Running.Testbed.EventsFile));

    /// <summary>The events of a kind in events.jsonl, as their JSON <c>fields</c> objects.</summary>
    private JsonElement[] Fields(string kind) =>
        [.. EventLines().Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("kind").GetString() == kind).Select(e => e.GetProperty("fields"))];

    private static IReadOnlyList<WatchRule> Rules(string yaml) => MonitorScriptLoader.Parse(yaml, "test.yaml");

    [Fact]
    public void TheMonitorGetsVirqVbaseAndPrintsTheRegionItQueried()
    {
        (TestbedResult result, List<string> lines, string console) = Run(Paper(), new MonitorSetup());

        Assert.True(result.Succeeded, console);
        Assert.Contains(lines, l => l.StartsWith(
            "monitor: VIRQ_VBASE at t=94318: region 1 of dom 1 (app) registered: va 0x12000, 1 page, gfn 0x80219 -> mfn 0x219, p2m ram_ro, dram != plaintext; vbase: ",
            StringComparison.Ordinal));
        Assert.Contains("monitor: dropped write by guest_user to region 1 at gpa 0x80219000 (t=99012)", lines);
        Assert.Contains("monitor: VIRQ_DOM_EXC at t=122451: dom 1 (app) shut down: poweroff, exit code 0", lines);
        // The monitor bound the VIRQs and asked the hypervisor (vbase_op query) on its own.
        Assert.Contains(Fields(EventKind.VirqSent), f => f.GetProperty("virq").GetInt32() == Virq.Vbase && f.GetProperty("bound").GetBoolean());
        JsonElement query = Assert.Single(Fields(EventKind.VbaseOp), f => f.GetProperty("cmd").GetUInt64() == VbaseOpCommand.Query);
        Assert.Equal(1, query.GetProperty("result").GetInt64());   // Dom0's query: one region
        Assert.Equal(string.Concat(lines.Select(l => l + "\n")), File.ReadAllText(Path.Combine(directory, "monitor.log")));
    }

    [Fact]
    public void AnotherProgramCanBuildTheMonitorOnAHypervisorHostAndReadItsLines()
    {
        // What `vbase demo` does: its own host, a monitor on its hypervisor, lines through a TextWriter.
        Scenario scenario = Paper();
        DomainSpec spec = scenario.Domains[0];
        using var host = (HypervisorHost)HypervisorHost.Create(new HostSettings(scenario.Seed, null, spec.MemoryBytes, Architecture: "vbase"));
        var output = new StringWriter { NewLine = "\n" };
        Dom0Monitor monitor = Dom0Monitor.Attach(host, new MonitorOptions { Output = output.WriteLine });
        var images = new DomainImages(spec, File.ReadAllBytes(spec.Kernel), [.. spec.Programs.Select(p => new GuestModule(Path.GetFileName(p), File.ReadAllBytes(p)))]);
        int id = host.CreateDomain(images, _ => { });
        host.Unpause(id);

        Assert.Equal(HostStop.AllShutDown, host.Run(200_000_000));
        string text = output.ToString();
        Assert.Contains("monitor: VIRQ_VBASE at t=94318: region 1 of dom 1 (app) registered", text, StringComparison.Ordinal);
        Assert.Contains("monitor: dropped write by guest_user to region 1 at gpa 0x80219000 (t=99012)\n", text, StringComparison.Ordinal);
        Assert.Equal(text, string.Concat(monitor.Lines.Select(l => l + "\n")));
    }

    [Fact]
    public void APauseRuleOnADroppedWritePausesTheDomain()
    {
        var setup = new MonitorSetup { Rules = Rules("- {name: hold, kind: sapi.write_dropped, do: pause}") };
        (TestbedResult result, List<string> lines, string console) = Run(Paper(), setup);

        // The only domain is paused, so nothing can run any more: the run ends idle with the app mid-way.
        Assert.Equal(RunOutcome.Idle, result.Outcome);
        Assert.Equal(DomainState.Paused, result.Domains[0].Outcome.State);
        Assert.DoesNotContain("The secret_key after system call", console, StringComparison.Ordinal);
        Assert.Contains("monitor: rule hold paused dom 1 (app) (t=99012)", lines);
        string[] kinds = [.. EventLines().Select(e => JsonDocument.Parse(e).RootElement.GetProperty("kind").GetString()!)];
        Assert.Equal("domain.paused", kinds[Array.IndexOf(kinds, EventKind.ProtectedWriteDropped) + 1]);
    }

    [Fact]
    public void AStopRuleStopsTheRunAndSaysWhy()
    {
        var setup = new MonitorSetup { Rules = Rules("- {name: halt, kind: 'sapi.region_*', do: stop}") };
        (TestbedResult result, List<string> lines, _) = Run(Paper(), setup);

        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        Assert.Equal("rule halt on sapi.region_protected at t=94318", LastSetup.StopReason);
        Assert.Contains("monitor: rule halt stops the run (t=94318)", lines);
        Assert.NotEqual(DomainState.Shutdown, result.Domains[0].Outcome.State);
        Assert.DoesNotContain(EventLines(), e => e.Contains(EventKind.ProtectedWriteDropped, StringComparison.Ordinal));
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, Running.Testbed.SummaryFile)));
        Assert.Equal("rule halt on sapi.region_protected at t=94318", summary.RootElement.GetProperty("monitor").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void CountersCountMatchesAndReachTheSummary()
    {
        var setup = new MonitorSetup
        {
            Rules = Rules("""
                - name: dropped
                  kind: sapi.write_dropped
                  domain: app
                  region: 1
                  gpa: 0x80219000+0x1000
                  details: { accessor: guest_user }
                  do: [count, log, snapshot]
                - name: vbase_virqs
                  kind: virq.sent
                  details: { virq: "16" }
                  do: count
                - name: other_domain
                  kind: sapi.*
                  domain: "2"
                  do: count
                - name: p2m
                  kind: "p2m.*"
                  do: count,print
                  message: "p2m change in {domain} at t={time}"
                """),
        };
        (TestbedResult result, List<string> lines, _) = Run(Paper(), setup);

        Assert.True(result.Succeeded);
        Assert.Equal(
            ["monitor: counter dropped = 1", "monitor: counter vbase_virqs = 1", "monitor: counter other_domain = 0", "monitor: counter p2m = 2"],
            lines.Where(l => l.StartsWith("monitor: counter ", StringComparison.Ordinal)));
        Assert.Contains("monitor: p2m change in app at t=94318", lines);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, Running.Testbed.SummaryFile)));
        JsonElement counters = summary.RootElement.GetProperty("monitor").GetProperty("counters");
        Assert.Equal(1, counters.GetProperty("dropped").GetInt64());
        Assert.Equal(0, counters.GetProperty("other_domain").GetInt64());
        // log and snapshot: a monitor.match and a monitor.snapshot event, and the region in both views on disk.
        JsonElement match = Assert.Single(Fields(Dom0Monitor.MatchEvent), f => f.GetProperty("rule").GetString() == "dropped");
        Assert.Equal(EventKind.ProtectedWriteDropped, match.GetProperty("matched").GetString());
        JsonElement snapshot = Assert.Single(Fields(Dom0Monitor.SnapshotEvent));
        Assert.False(snapshot.GetProperty("equal").GetBoolean());
        Assert.Equal("snapshot-001-t99012-region1.dram.bin,snapshot-001-t99012-region1.plain.bin", snapshot.GetProperty("files").GetString());
        byte[] dram = File.ReadAllBytes(Path.Combine(directory, "snapshot-001-t99012-region1.dram.bin"));
        byte[] plain = File.ReadAllBytes(Path.Combine(directory, "snapshot-001-t99012-region1.plain.bin"));
        Assert.Equal(4096, dram.Length);
        Assert.Equal(654321, BitConverter.ToInt32(plain, 0));
        Assert.NotEqual(dram, plain);
    }

    [Fact]
    public void ReplCommandsReadARegionInBothViewsUnderVbase()
    {
        string[] lines = ReadRegionThroughTheRepl(Paper());
        string dram = Assert.Single(lines, l => l.StartsWith("monitor: region 1 dram 0x0:", StringComparison.Ordinal));
        string plain = Assert.Single(lines, l => l.StartsWith("monitor: region 1 plain 0x0:", StringComparison.Ordinal));
        // 654321 = 0x9fbf1, little-endian; DRAM holds ciphertext.
        Assert.Equal("monitor: region 1 plain 0x0: f1 fb 09 00 00 00 00 00", plain);
        Assert.NotEqual(plain["monitor: region 1 plain".Length..], dram["monitor: region 1 dram".Length..]);
    }

    [Fact]
    public void ReplCommandsReadARegionInBothViewsUnderNone()
    {
        string[] lines = ReadRegionThroughTheRepl(PaperUnder("none"));
        string dram = Assert.Single(lines, l => l.StartsWith("monitor: region 1 dram 0x0:", StringComparison.Ordinal));
        string plain = Assert.Single(lines, l => l.StartsWith("monitor: region 1 plain 0x0:", StringComparison.Ordinal));
        Assert.Equal("monitor: region 1 plain 0x0: f1 fb 09 00 00 00 00 00", plain);
        Assert.Equal(plain["monitor: region 1 plain".Length..], dram["monitor: region 1 dram".Length..]);
    }

    private string[] ReadRegionThroughTheRepl(Scenario scenario)
    {
        const string Commands = """
            # break when the region is registered, look at it, then finish
            watch name=registered kind=sapi.region_protected do=stop
            continue
            regions
            read 1 0 8 dram
            read 1 0 8 plain
            unwatch registered
            continue
            domains
            """;
        (TestbedResult result, List<string> lines, string console) = Run(scenario, new MonitorSetup { Commands = new StringReader(Commands), EchoCommands = true });
        Assert.True(result.Succeeded, console);
        Assert.Equal("monitor: ready at t=0: domains built and unpaused, no instruction run yet; 'help' lists the commands", lines[0]);
        Assert.Contains("monitor: > continue", lines);
        Assert.Contains(lines, l => l.StartsWith("monitor: stopped by rule registered on sapi.region_protected at t=", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("monitor: every domain has shut down", StringComparison.Ordinal));
        Assert.Null(LastSetup.StopReason);
        // Same commands, same answers.
        string first = string.Join("\n", lines);
        (_, List<string> again, _) = Run(scenario, new MonitorSetup { Commands = new StringReader(Commands), EchoCommands = true });
        Assert.Equal(first, string.Join("\n", again));
        return [.. lines];
    }

    [Fact]
    public void QuitEndsTheRunWhereItStands()
    {
        (TestbedResult result, List<string> lines, _) = Run(Paper(), new MonitorSetup { Commands = new StringReader("run 5000\nbogus\nquit\n") });
        Assert.Equal(RunOutcome.Stopped, result.Outcome);
        Assert.Equal("quit", LastSetup.StopReason);
        Assert.Contains("monitor: ran 5000 instructions (t=5000, 5000 instructions in all)", lines);
        Assert.Contains("monitor: error: unknown command 'bogus' ('help' lists the commands)", lines);
    }

    [Fact]
    public void EventsReachTheFileAsTheyHappen()
    {
        // At the moment the monitor prints the dropped write, the event is already in events.jsonl on disk: a
        // run killed right then (a second Ctrl-C, a crash) would keep it.
        string path = Path.Combine(directory, Running.Testbed.EventsFile);
        string? onDisk = null;
        var setup = new MonitorSetup
        {
            Output = line =>
            {
                if (line.StartsWith("monitor: dropped write", StringComparison.Ordinal))
                {
                    using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                    onDisk = reader.ReadToEnd();
                }
            },
        };
        Run(Paper(), setup);
        Assert.NotNull(onDisk);
        Assert.EndsWith("\n", onDisk, StringComparison.Ordinal);
        string last = onDisk.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.Contains("\"kind\":\"sapi.write_dropped\"", last, StringComparison.Ordinal);
    }

    [Fact]
    public void ARunEndedByTheInstructionLimitKeepsEveryEventUpToThen()
    {
        (TestbedResult result, _, _) = Run(Paper(), new MonitorSetup(), maxInstructions: 96_000);   // registered at t=94318
        Assert.Equal(RunOutcome.InstructionLimit, result.Outcome);
        string[] events = EventLines();
        foreach (string e in events)
        {
            using JsonDocument parsed = JsonDocument.Parse(e);
            Assert.True(parsed.RootElement.GetProperty("time").GetUInt64() <= result.VirtualTime);
        }
        Assert.Contains(events, e => e.Contains("\"sapi.region_protected\"", StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => e.Contains("\"domain.shutdown\"", StringComparison.Ordinal));
    }
}
