using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TestbedRun = Vbase.Testbed.Running.Testbed;
using Vbase.Isa.Harts;
using Vbase.Platform.Loading;
using Vbase.Testbed.Debugging;
using Vbase.Testbed.Monitoring;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Cli;

/// <summary>What <c>vbase run</c>'s exit status means (docs/cli.md, "vbase run").</summary>
public static class RunExitCodes
{
    public const int Success = 0;
    /// <summary>Every domain shut down, but at least one not with poweroff and exit code 0.</summary>
    public const int DomainFailed = 1;
    public const int UsageError = ExitCodes.UsageError;
    /// <summary>The scenario file is invalid (EX_DATAERR): the message names file, line, column and field.</summary>
    public const int ScenarioError = 65;
    public const int InternalError = ExitCodes.InternalError;
    /// <summary>The output folder or a file in it cannot be written (EX_CANTCREAT).</summary>
    public const int OutputError = 73;
    /// <summary>The instruction limit or the wall-clock timeout ran out before every domain shut down.</summary>
    public const int Limit = ExitCodes.InstructionLimit;
    /// <summary>Some domain never shut down and no vCPU can ever run again.</summary>
    public const int IdleForever = ExitCodes.IdleForever;
    /// <summary>Stopped by Ctrl-C (128 + SIGINT), outputs so far kept.</summary>
    public const int Interrupted = 130;
    /// <summary>Stopped by SIGTERM (128 + 15), outputs so far kept, as for Ctrl-C.</summary>
    public const int Terminated = 143;
    /// <summary>The monitor ended the run before every domain shut down: a <c>stop</c> rule, or <c>quit</c> in the REPL.</summary>
    public const int MonitorStopped = 3;
    /// <summary>The plugged-in architecture threw: the run ended there, outputs (summary.json included) kept.</summary>
    public const int ArchitectureFailed = 4;
}

/// <summary><c>vbase run</c>: boots a scenario's domains on the hypervisor and streams their consoles.</summary>
internal static class RunCommand
{
    private static readonly AsyncLocal<Func<HostSettings, IGuestHost>?> HostOverride = new();

    /// <summary>The hypervisor that runs scenarios; tests put a scripted one in their own async flow.</summary>
    internal static Func<HostSettings, IGuestHost> Hosts
    {
        get => HostOverride.Value ?? HypervisorHost.Create;
        set => HostOverride.Value = value;
    }

    public static Command Create(CliConsole console)
    {
        var scenario = new Argument<string>("scenario") { Description = "The scenario file (YAML, docs/scenarios.md)." };
        scenario.Validators.Add(result =>
        {
            string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (token.Length > 1 && token[0] == '-')
            {
                result.AddError($"unknown option '{token}'");
            }
        });
        var outDirectory = new Option<string?>("--out")
        {
            Description = "Write console-<domain>.log for each domain and summary.json into DIR (created if needed).",
            HelpName = "DIR",
        };
        Func<System.CommandLine.Parsing.ArgumentResult, ulong> parseLimit =
            VbaseCli.WholeNumber("--max-instructions", 1UL, ulong.MaxValue, "a whole number of instructions from 1 up");
        var maxInstructions = new Option<ulong?>("--max-instructions")
        {
            Description = $"Stop after N instructions (all vCPUs together) with exit code {RunExitCodes.Limit}; overrides the scenario's limit.",
            HelpName = "N",
            CustomParser = result => parseLimit(result),
        };
        var monitorScript = new Option<string?>("--monitor")
        {
            Description = "Run the Monitor with the watch rules in FILE (YAML, docs/monitor.md).",
            HelpName = "FILE",
        };
        var monitorRepl = new Option<bool>("--monitor-repl")
        {
            Description = "Drive the run with Monitor commands from stdin, starting before the first instruction (docs/monitor.md).",
        };
        var monitorQuiet = new Option<bool>("--monitor-quiet")
        {
            Description = "The Monitor without its built-in line per event (dropped writes, refusals, violations); rules, reports and counters still print.",
        };
        var monitorCommands = new Option<string?>("--monitor-commands")
        {
            Description = "Drive the run with the Monitor commands in FILE, as --monitor-repl does with stdin.",
            HelpName = "FILE",
        };
        var stats = new Option<bool>("--stats")
        {
            Description = "Print the instructions run, the wall time spent running the domains, MIPS, and the time with building and loading them, to stderr.",
        };
        var engine = VbaseCli.EngineOption();
        var baseline = new Option<bool>("--baseline")
        {
            Description = "Also run the scenario under the architecture none (no outputs): summary.json then gives the extra DRAM traffic and the estimated slowdown against it.",
        };
        var chip = new VbaseCli.ChipArguments();
        var plugins = VbaseCli.PluginOption();
        var gdb = ExecCommand.GdbOption();
        var gdbDomain = new Option<string?>("--gdb-domain")
        {
            Description = "With --gdb: the guest domain to debug (default: the first).",
            HelpName = "NAME",
        };
        var trace = new Option<string?>("--trace")
        {
            Description = "Write one line per executed instruction of the traced domain's vCPUs to FILE (exec --trace's format, each line prefixed by the vCPU).",
            HelpName = "FILE",
        };
        var traceDomain = new Option<string?>("--trace-domain")
        {
            Description = "With --trace: the guest domain to trace (default: the first).",
            HelpName = "NAME",
        };
        var command = new Command("run", "Run a scenario: boot its guest domains and stream their consoles, each line prefixed by the domain's name.")
        {
            scenario, outDirectory, maxInstructions, monitorScript, monitorRepl, monitorCommands, monitorQuiet, stats, engine, baseline, plugins,
            gdb, gdbDomain, trace, traceDomain,
        };
        chip.AddTo(command);
        command.SetAction(parsed => Run(console, parsed.GetValue(scenario)!, parsed.GetValue(outDirectory), parsed.GetValue(maxInstructions),
            new MonitorArguments(parsed.GetValue(monitorScript), parsed.GetValue(monitorRepl), parsed.GetValue(monitorCommands)) { Quiet = parsed.GetValue(monitorQuiet) },
            parsed.GetValue(stats), parsed.GetValue(engine), new BoundaryArguments(parsed.GetValue(baseline), chip, parsed),
            parsed.GetValue(plugins) ?? [], new DebugArguments(parsed.GetValue(gdb), parsed.GetValue(gdbDomain), parsed.GetValue(trace), parsed.GetValue(traceDomain))));
        return command;
    }

    private sealed record DebugArguments(int? GdbPort, string? GdbDomain, string? TracePath, string? TraceDomain);

    private sealed record BoundaryArguments(bool Baseline, VbaseCli.ChipArguments Chip, System.CommandLine.ParseResult Parsed);

    private sealed record MonitorArguments(string? Script, bool Repl, string? CommandsFile)
    {
        public bool Quiet { get; init; }
        public bool Wanted => Script is not null || Repl || CommandsFile is not null || Quiet;
    }

    private static int Run(CliConsole console, string path, string? outDirectory, ulong? maxInstructions, MonitorArguments monitorArguments,
        bool stats, ExecutionEngine engine, BoundaryArguments boundary, IReadOnlyList<string> plugins, DebugArguments debug)
    {
        Scenario scenario;
        try
        {
            // The command line's plug-ins first, so that their problems are not reported at a line of the scenario.
            Testbed.Plugins.PluginCatalog.Registry(plugins);
            scenario = ScenarioLoader.Load(path, plugins);
        }
        catch (Testbed.Plugins.PluginException e)
        {
            return VbaseCli.Fail(console, RunExitCodes.ScenarioError, e.Message);
        }
        catch (ScenarioException e)
        {
            return VbaseCli.Fail(console, RunExitCodes.ScenarioError, e.Message);
        }
        if (boundary.Chip.Apply(boundary.Parsed, scenario.Chip, out string? chipProblem) is not Vbase.Sapi.Chip.ChipOptions chip)
        {
            return VbaseCli.Fail(console, RunExitCodes.UsageError, $"--llc-size/--llc-ways: {chipProblem}");
        }
        if (monitorArguments.Repl && monitorArguments.CommandsFile is not null)
        {
            return VbaseCli.Fail(console, RunExitCodes.UsageError, "--monitor-repl and --monitor-commands both give the commands; use one");
        }
        if (CheckDebugArguments(debug, monitorArguments, scenario) is string debugProblem)
        {
            return VbaseCli.Fail(console, RunExitCodes.UsageError, debugProblem);
        }
        if (debug.GdbPort is not null && scenario.Limits.Timeout is not null)
        {
            // A debugging session waits for its user: the wall-clock limit would end it under them.
            scenario = scenario with { Limits = scenario.Limits with { Timeout = null } };
        }
        MonitorSetup? monitor = null;
        ReplInput? repl = null;
        TerminalCommands? terminal = null;
        if (monitorArguments.Wanted)
        {
            IReadOnlyList<WatchRule> rules;
            TextReader? commands = null;
            if (monitorArguments.Repl && ReferenceEquals(console.Commands, Console.In) && !Console.IsInputRedirected)
            {
                // A person at a terminal: a prompt, and the terminal's line editing.
                terminal = new TerminalCommands(Console.ReadLine, console.Error);
                commands = terminal;
            }
            else if (monitorArguments.Repl)
            {
                repl = new ReplInput(console.Commands, line =>
                {
                    lock (console.Error)
                    {
                        console.Error.WriteLine(line);
                    }
                });
                commands = repl;
            }
            try
            {
                rules = monitorArguments.Script is string script
                    ? MonitorScriptLoader.Load(script, scenario.Domains.Select(d => d.Name).ToList())
                    : [];
                if (monitorArguments.CommandsFile is string file)
                {
                    commands = new StringReader(InputFiles.ReadText(file, MaxCommandsFileBytes));
                }
            }
            catch (MonitorScriptException e)
            {
                return VbaseCli.Fail(console, RunExitCodes.ScenarioError, e.Message);
            }
            catch (InputFileException e)
            {
                return VbaseCli.Fail(console, RunExitCodes.ScenarioError, $"{monitorArguments.CommandsFile}: {e.Message}");
            }
            monitor = new MonitorSetup { Rules = rules, Commands = commands, EchoCommands = monitorArguments.CommandsFile is not null, Quiet = monitorArguments.Quiet };
        }

        var testbed = new TestbedRun(scenario, Hosts);
        // The first Ctrl-C (SIGINT) or SIGTERM stops the run cleanly, keeping its outputs; a second one ends vbase at once.
        int stoppedBy = 0;
        bool FirstStop(int signal)
        {
            if (Interlocked.CompareExchange(ref stoppedBy, signal, 0) != 0)
            {
                return false;
            }
            testbed.RequestStop();
            // At the REPL's prompt nothing runs to be stopped: end its input, which it takes as 'quit'.
            repl?.Stop();
            terminal?.Stop();
            return true;
        }
        void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            if (FirstStop(SigInt))
            {
                e.Cancel = true;
            }
        }
        Console.CancelKeyPress += OnCancel;
        using PosixSignalRegistration? onTerm = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            if (FirstStop(SigTerm))
            {
                context.Cancel = true;
            }
        });
        TestbedResult result;
        long started = Stopwatch.GetTimestamp();
        GdbRunDriver? gdbDriver = null;
        RunTracer? tracer = null;
        try
        {
            if (debug.GdbPort is int port)
            {
                var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                try
                {
                    listener.Start(1);
                }
                catch (System.Net.Sockets.SocketException e)
                {
                    return VbaseCli.Fail(console, RunExitCodes.UsageError, $"--gdb {port}: cannot listen on localhost:{port}: {VbaseCli.OneLine(e.Message)}");
                }
                gdbDriver = new GdbRunDriver(listener, debug.GdbDomain, line =>
                {
                    lock (console.Error)
                    {
                        console.Error.WriteLine(line);
                        console.Error.Flush();
                    }
                });
            }
            if (debug.TracePath is string tracePath)
            {
                try
                {
                    tracer = new RunTracer(tracePath, debug.TraceDomain, gdbDriver);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    return VbaseCli.Fail(console, RunExitCodes.OutputError, $"cannot write trace file {tracePath}: {VbaseCli.OneLine(e.Message)}");
                }
            }
            result = testbed.Run(new TestbedOptions(console.ProgramOutput, outDirectory, maxInstructions, monitor, (IRunDriver?)tracer ?? gdbDriver)
            {
                Engine = engine,
                Chip = chip,
                Baseline = boundary.Baseline,
            });
        }
        catch (TestbedException e)
        {
            int code = e.Stage switch
            {
                TestbedStage.Outputs => RunExitCodes.OutputError,
                TestbedStage.Images => RunExitCodes.ScenarioError,
                _ => RunExitCodes.InternalError,
            };
            return VbaseCli.Fail(console, code, VbaseCli.OneLine(e.Message));
        }
        catch (TraceFailedException e)
        {
            return VbaseCli.Fail(console, RunExitCodes.OutputError, $"cannot write trace file {debug.TracePath}: {VbaseCli.OneLine(e.Cause.Message)}");
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
            repl?.Dispose();
            terminal?.Dispose();
            gdbDriver?.Dispose();
            tracer?.Dispose();
        }
        console.ProgramOutput.Flush();
        if (stats)
        {
            double seconds = result.RunTime.TotalSeconds, total = Stopwatch.GetElapsedTime(started).TotalSeconds;
            console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"vbase: {result.Instructions} instructions in {seconds:0.000} s, {result.Instructions / Math.Max(seconds, 1e-9) / 1e6:0.0} MIPS ({total:0.000} s with building and loading the domains)"));
        }
        return Report(console, result, outDirectory, monitor?.StopReason ?? (gdbDriver?.Killed == true ? "gdb killed the program" : null),
            Volatile.Read(ref stoppedBy));
    }

    /// <summary>What is wrong with --gdb, --gdb-domain, --trace and --trace-domain together, or null.</summary>
    private static string? CheckDebugArguments(DebugArguments debug, MonitorArguments monitor, Scenario scenario)
    {
        if (debug.GdbDomain is not null && debug.GdbPort is null)
        {
            return "--gdb-domain needs --gdb PORT";
        }
        if (debug.TraceDomain is not null && debug.TracePath is null)
        {
            return "--trace-domain needs --trace FILE";
        }
        if (debug.GdbPort is not null && (monitor.Repl || monitor.CommandsFile is not null))
        {
            return "--gdb and the Monitor's commands (--monitor-repl, --monitor-commands) both drive the run; use one";
        }
        if (debug.TracePath is not null && (monitor.Repl || monitor.CommandsFile is not null))
        {
            return "--trace with the Monitor's commands (--monitor-repl, --monitor-commands) is not supported; trace a plain run";
        }
        foreach ((string option, string? name) in new[] { ("--gdb-domain", debug.GdbDomain), ("--trace-domain", debug.TraceDomain) })
        {
            if (name is not null && !scenario.Domains.Any(d => d.Name == name))
            {
                return $"{option}: no domain '{name}' in the scenario (its domains: {string.Join(", ", scenario.Domains.Select(d => d.Name))})";
            }
        }
        return null;
    }

    private const int SigInt = 2, SigTerm = 15;

    /// <summary>Monitor command files (--monitor-commands) are text of at most 1 MiB.</summary>
    public const long MaxCommandsFileBytes = InputFiles.MaxTextBytes;

    private static int Report(CliConsole console, TestbedResult result, string? outDirectory, string? monitorStop, int signal = 0)
    {
        string unfinished = string.Join(", ", result.Domains.Where(d => d.Outcome.State != DomainState.Shutdown).Select(d => d.Name));
        string kept = outDirectory is null ? "" : $"; outputs so far are in {outDirectory}";
        (int code, string? message) = result.Outcome switch
        {
            RunOutcome.AllShutDown when result.Succeeded => (RunExitCodes.Success, null),
            RunOutcome.AllShutDown => (RunExitCodes.DomainFailed,
                "vbase: run failed: " + string.Join(", ", result.Domains.Where(d => !d.Succeeded).Select(Describe))),
            RunOutcome.InstructionLimit => (RunExitCodes.Limit, string.Create(CultureInfo.InvariantCulture,
                $"vbase: instruction limit {result.MaxInstructions} reached before every domain shut down (still running: {unfinished})")),
            RunOutcome.Timeout => (RunExitCodes.Limit, string.Create(CultureInfo.InvariantCulture,
                $"vbase: wall-clock timeout {result.Scenario.Limits.Timeout!.Value.TotalSeconds:0.###} s reached before every domain shut down (still running: {unfinished}){kept}")),
            RunOutcome.ArchitectureFailed => (RunExitCodes.ArchitectureFailed, $"vbase: {result.Failure}; the run ended there{kept}"),
            RunOutcome.Idle => (RunExitCodes.IdleForever,
                $"vbase: every vCPU is blocked with nothing that could wake it; not shut down: {unfinished}"),
            RunOutcome.Stopped when signal == SigTerm => (RunExitCodes.Terminated, $"vbase: stopped (SIGTERM){kept}"),
            RunOutcome.Stopped when signal == SigInt => (RunExitCodes.Interrupted, $"vbase: stopped (Ctrl-C){kept}"),
            RunOutcome.Stopped when monitorStop is not null => (RunExitCodes.MonitorStopped,
                $"vbase: stopped by the monitor ({monitorStop}); still running: {unfinished}{kept}"),
            _ => (RunExitCodes.Interrupted, $"vbase: stopped (Ctrl-C){kept}"),
        };
        if (message is not null)
        {
            console.Error.WriteLine(message);
        }
        return code;
    }

    private static string Describe(DomainResult domain) => domain.Outcome switch
    {
        { Watchdog: WatchdogStop w } => string.Create(CultureInfo.InvariantCulture,
            $"{domain.Name} stopped making progress: vCPU {w.Vcpu} ran {w.Instructions:N0} instructions without a call to the hypervisor, at pc 0x{w.Pc:x} (a hung or panicked kernel; Linux resets on a panic with panic=-1)"),
        { Reason: ShutdownReason.Poweroff, ExitCode: long code } => $"{domain.Name} exited with code {code}",
        // A run has no second boot: a reset (SBI SRST reboot, as Linux does on a panic with panic=-1) ends it.
        { Reason: ShutdownReason.Reboot } => $"{domain.Name} reset itself (a guest panic or reboot: SBI system reset)",
        { Reason: ShutdownReason reason } => $"{domain.Name} shut down with reason {reason.ToString().ToLowerInvariant()}"
            + (domain.Outcome.ExitCode is long c && c != 0 ? $" (exit code {c})" : ""),
        _ => $"{domain.Name} did not shut down",
    };
}
