using System.Diagnostics;
using System.Text;
using Vbase.Hypervisor.Sapi;
using Vbase.Isa.Harts;
using Vbase.Platform.Loading;
using Vbase.Sapi.Logging;
using Vbase.Testbed.Monitoring;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Running;

/// <summary>How a run is observed and bounded, beyond what the scenario says.</summary>
/// <param name="Console">Every domain's console, line by line, prefixed by the domain's name.</param>
/// <param name="OutDirectory">Where console-&lt;domain&gt;.log and summary.json go; null: nowhere.</param>
/// <param name="MaxInstructions">Overrides the scenario's limits.max_instructions.</param>
/// <param name="Monitor">Runs the Monitor (docs/monitor.md) with these rules and, for the REPL, commands; null: none.</param>
/// <param name="Driver">Runs the guests instead of running them straight to the end (the attack suite's Controller); null: none.</param>
public sealed record TestbedOptions(Stream Console, string? OutDirectory = null, ulong? MaxInstructions = null, MonitorSetup? Monitor = null,
    IRunDriver? Driver = null)
{
    /// <summary>How the harts run code; the interpreter alone is the reference, and gives the same results.</summary>
    public ExecutionEngine Engine { get; init; } = ExecutionEngine.Translator;
    /// <summary>The harts' translation threshold (HartOptions.TranslationThreshold); null: the default.</summary>
    public int? TranslationThreshold { get; init; }
    /// <summary>The on-chip boundary, overriding the scenario's <c>chip:</c>; null: the scenario's.</summary>
    public Vbase.Sapi.Chip.ChipOptions? Chip { get; init; }
    /// <summary>
    /// Also run the scenario under <c>none</c> (no outputs) for the cost model's reference: summary.json then gives the
    /// extra DRAM traffic and the estimated slowdown against it.
    /// </summary>
    public bool Baseline { get; init; }
}

/// <summary>
/// Runs a scenario: builds its domains in the hypervisor (Dom0's API), unpauses them, runs the deterministic
/// scheduler within the scenario's limits, streams the consoles and writes the outputs. Same scenario, same
/// seed: byte-identical console logs and summary.
/// </summary>
public sealed class Testbed(Scenario scenario, Func<HostSettings, IGuestHost> hostFactory)
{
    public const string SummaryFile = "summary.json";
    public const string EventsFile = "events.jsonl";

    /// <summary>Every frame through the bridge, when a domain has a NIC (docs/network.md).</summary>
    public const string CaptureFile = "network.pcap";

    private readonly Lock gate = new();
    private IGuestHost? host;
    private bool stopRequested, timedOut;

    public static string ConsoleLogFile(string domain) => $"console-{domain}.log";

    /// <summary>Stops a run in progress (or the one about to start) soon; its outputs so far are kept. Any thread.</summary>
    public void RequestStop()
    {
        lock (gate)
        {
            stopRequested = true;
            host?.RequestStop();
        }
    }

    /// <exception cref="TestbedException">An image could not be read or loaded, or an output could not be written.</exception>
    public TestbedResult Run(TestbedOptions options)
    {
        List<DomainImages> images = scenario.Domains.Select(ReadImages).ToList();
        if (options.OutDirectory is string outDirectory)
        {
            CreateOutDirectory(outDirectory);
        }
        ulong? limit = options.MaxInstructions ?? scenario.Limits.MaxInstructions;
        var sharedLock = new object();
        var consoles = new List<ConsoleFanOut>();
        EventLog? events = null;
        try
        {
            if (options.OutDirectory is string eventsDirectory)
            {
                events = new EventLog(OpenOutput(Path.Combine(eventsDirectory, EventsFile)), scenario.Domains.Select(d => d.Name).ToList());
            }
            foreach (DomainSpec domain in scenario.Domains)
            {
                consoles.Add(new ConsoleFanOut(domain.Name, options.Console, OpenLog(options.OutDirectory, domain.Name), sharedLock));
            }
            IGuestHost guests;
            try
            {
                guests = hostFactory(new HostSettings(scenario.Seed, scenario.Limits.SliceInstructions, MachineMemory(scenario), events is null ? null : events.Write, scenario.Architecture)
                {
                    ArchitectureParameters = scenario.ArchitectureParameters,
                    Registry = scenario.Plugins.Count > 0 ? Plugins.PluginCatalog.Registry(scenario.Plugins) : null,
                    Chip = options.Chip ?? scenario.Chip,
                    Engine = options.Engine,
                    TranslationThreshold = options.TranslationThreshold,
                    Network = scenario.Network,
                    CapturePath = options.OutDirectory is string capture && scenario.Domains.Any(d => d.Nic is not null)
                        ? Path.Combine(capture, CaptureFile)
                        : null,
                });
            }
            catch (ArchitectureFailedException e)
            {
                // The plug-in threw from its constructor or Attach: no machine to run, but the run's outputs still say why.
                return Failed(options, e, 0, [], events, consoles);
            }
            using IGuestHost _ = guests;
            // Attached before the domains are built, so that the monitor sees every event.
            MonitorSession? monitor = options.Monitor is MonitorSetup setup
                ? MonitorSession.Start(setup, guests, line => WriteLine(options.Console, line, sharedLock), options.OutDirectory)
                : null;
            var ids = new List<int>();
            HostStop stop;
            ArchitectureFailedException? failure = null;
            TimeSpan runTime;
            bool wallClockRanOut;
            try
            {
                for (int i = 0; i < images.Count; i++)
                {
                    ConsoleFanOut console = consoles[i];
                    ids.Add(guests.CreateDomain(images[i], bytes => console.Write(bytes)));
                }
                foreach (int id in ids)
                {
                    guests.Unpause(id);
                }
                lock (gate)
                {
                    host = guests;
                    if (stopRequested)
                    {
                        guests.RequestStop();
                    }
                }
                options.Driver?.Start(guests, ids);
                // The REPL waits for its user, so the wall-clock timeout does not apply to it.
                bool interactive = options.Monitor?.Commands is not null;
                long runStarted = Stopwatch.GetTimestamp();
                using (var timer = scenario.Limits.Timeout is TimeSpan timeout && !interactive ? new Timer(_ => TimeOut(), null, timeout, Timeout.InfiniteTimeSpan) : null)
                {
                    try
                    {
                        stop = options.Driver is IRunDriver driver ? driver.Drive(guests, limit ?? ulong.MaxValue)
                            : monitor is null ? guests.Run(limit ?? ulong.MaxValue)
                            : monitor.Drive(limit ?? ulong.MaxValue);
                    }
                    finally
                    {
                        runTime = Stopwatch.GetElapsedTime(runStarted);
                    }
                }
            }
            catch (ArchitectureFailedException e)
            {
                // The machine may be half-way through an access: nothing more runs, not even the end-of-run flush
                // (it would call the plug-in again), but everything recorded so far is kept.
                failure = e;
                stop = HostStop.Stopped;
                runTime = TimeSpan.Zero;
            }
            lock (gate)
            {
                host = null;
                wallClockRanOut = timedOut;
            }
            Vbase.Sapi.Chip.DramTraffic? traffic = failure is null ? guests.FinishChip() : null;
            if (failure is not null)
            {
                events?.Write(new HostEvent(guests.VirtualTime, null, null, FailureData(failure)));
            }
            foreach (ConsoleFanOut console in consoles)
            {
                console.Finish();
            }
            monitor?.Finish();
            events?.Flush();
            var domains = ids.Select((id, i) => new DomainResult(scenario.Domains[i].Name, id, guests.Outcome(id), consoles[i].Bytes)).ToList();
            RunOutcome outcome = failure is not null ? RunOutcome.ArchitectureFailed : stop switch
            {
                HostStop.AllShutDown => RunOutcome.AllShutDown,
                HostStop.InstructionLimit => RunOutcome.InstructionLimit,
                HostStop.Idle => RunOutcome.Idle,
                _ => wallClockRanOut ? RunOutcome.Timeout : RunOutcome.Stopped,
            };
            var result = new TestbedResult(scenario, outcome, guests.VirtualTime, limit, domains)
            {
                RunTime = runTime,
                Traffic = traffic,
                Chip = options.Chip ?? scenario.Chip,
                Failure = failure is null ? null : FailureOf(failure),
            };
            if (options.Baseline && failure is null && scenario.Architecture is string arch && arch != "none")
            {
                Scenario reference = scenario with { Architecture = "none", ArchitectureParameters = new Dictionary<string, string>() };
                result = result with
                {
                    Baseline = new Testbed(reference, hostFactory).Run(new TestbedOptions(Stream.Null, MaxInstructions: limit)
                    {
                        Engine = options.Engine,
                        TranslationThreshold = options.TranslationThreshold,
                        Chip = options.Chip,
                    }),
                };
            }
            if (options.OutDirectory is string directory)
            {
                WriteSummary(directory, result, monitor?.Monitor);
            }
            return result;
        }
        finally
        {
            lock (gate)
            {
                host = null;
            }
            foreach (ConsoleFanOut console in consoles)
            {
                console.Dispose();
            }
            events?.Dispose();
        }
    }

    private static ArchitectureFailure FailureOf(ArchitectureFailedException e) =>
        new(e.Architecture, e.Hook, e.InnerException?.GetType().Name ?? nameof(Exception), OneLine(e.InnerException?.Message ?? e.Message));

    private static ArchitectureFailedData FailureData(ArchitectureFailedException e)
    {
        ArchitectureFailure f = FailureOf(e);
        return new ArchitectureFailedData(f.Architecture, f.Hook, f.Exception, f.Reason);
    }

    /// <summary>The plug-in failed before any domain existed: the event, the (empty) consoles and the summary.</summary>
    private TestbedResult Failed(TestbedOptions options, ArchitectureFailedException e, ulong time, List<DomainResult> domains,
        EventLog? events, List<ConsoleFanOut> consoles)
    {
        events?.Write(new HostEvent(time, null, null, FailureData(e)));
        foreach (ConsoleFanOut console in consoles)
        {
            console.Finish();
        }
        events?.Flush();
        var result = new TestbedResult(scenario, RunOutcome.ArchitectureFailed, time, options.MaxInstructions ?? scenario.Limits.MaxInstructions, domains)
        {
            Chip = options.Chip ?? scenario.Chip,
            Failure = FailureOf(e),
        };
        if (options.OutDirectory is string directory)
        {
            WriteSummary(directory, result, null);
        }
        return result;
    }

    /// <summary>
    /// The domains' memory and a quarter more (at least 4 MiB), which the hypervisor sets aside for a plug-in's
    /// off-chip metadata at the top of machine memory (<see cref="Vbase.Hypervisor.Sapi.HypervisorSapiHost.MetadataBudget"/>: a fifth
    /// of the whole, reserved when it is plugged in, before any domain), and <see cref="Dom0SlackBytes"/>.
    /// </summary>
    private static ulong MachineMemory(Scenario scenario)
    {
        ulong domains = scenario.Domains.Aggregate(0UL, (sum, d) => sum + d.MemoryBytes);
        return domains + Math.Max(4UL << 20, (domains / 4 + 0xFFF) & ~0xFFFUL) + Dom0SlackBytes;
    }

    /// <summary>
    /// Frames left free for Dom0's own allocations after the domains and a full metadata budget (which would
    /// otherwise take the last free frame): the fresh frame <c>dom0-remap</c> adds with populate_physmap. 16 frames,
    /// of which the metadata budget's fifth takes about 3.
    /// </summary>
    internal const ulong Dom0SlackBytes = 64UL << 10;

    private void TimeOut()
    {
        lock (gate)
        {
            timedOut = true;
        }
        RequestStop();
    }

    private static DomainImages ReadImages(DomainSpec domain)
    {
        byte[] kernel = ReadImage(domain, domain.Kernel);
        var modules = domain.Programs.Select(p => new GuestModule(Path.GetFileName(p), ReadImage(domain, p))).ToList();
        byte[]? initrd = domain.Initrd is string path ? ReadImage(domain, path) : null;
        return new DomainImages(domain, kernel, modules, initrd);
    }

    private static byte[] ReadImage(DomainSpec domain, string path)
    {
        try
        {
            // Checked again here, not only at load: a file swapped for a FIFO or a device since then is refused.
            return InputFiles.Read(path, InputFiles.MaxElfBytes);
        }
        catch (InputFileException e)
        {
            throw new TestbedException(TestbedStage.Images, $"domain {domain.Name}: {path}: {OneLine(e.Message)}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TestbedException(TestbedStage.Images, $"domain {domain.Name}: cannot read {path}: {OneLine(e.Message)}");
        }
    }

    private static void CreateOutDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new TestbedException(TestbedStage.Outputs, $"cannot create output folder {directory}: {OneLine(e.Message)}");
        }
    }

    private static FileStream? OpenLog(string? directory, string domain) =>
        directory is null ? null : OpenOutput(Path.Combine(directory, ConsoleLogFile(domain)));

    private static FileStream OpenOutput(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TestbedException(TestbedStage.Outputs, $"cannot write {path}: {OneLine(e.Message)}");
        }
    }

    private static void WriteLine(Stream console, string line, object sharedLock)
    {
        // The same lock as the domains' consoles, so that a monitor line never lands inside a console line.
        lock (sharedLock)
        {
            console.Write(Encoding.UTF8.GetBytes(line + "\n"));
            console.Flush();
        }
    }

    private static void WriteSummary(string directory, TestbedResult result, Dom0Monitor? monitor)
    {
        string path = Path.Combine(directory, SummaryFile);
        try
        {
            byte[] summary = Summary.ToJson(result);
            File.WriteAllBytes(path, monitor is null ? summary : MonitorSummary.AddTo(summary, monitor));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TestbedException(TestbedStage.Outputs, $"cannot write {path}: {OneLine(e.Message)}");
        }
    }

    internal static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
