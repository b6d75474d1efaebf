namespace Vbase.Testbed.Monitoring;

/// <summary>
/// Asks the testbed to run the Monitor in a run (<c>vbase run --monitor/--monitor-repl/--monitor-commands</c>):
/// its watch rules, and, for the interactive mode, where its commands come from. After the run it tells how the
/// monitor ended it.
/// </summary>
public sealed class MonitorSetup
{
    public IReadOnlyList<WatchRule> Rules { get; init; } = [];
    /// <summary>REPL commands (docs/monitor.md); null: no REPL, the run goes to its end at once.</summary>
    public TextReader? Commands { get; init; }
    /// <summary>Prints each command ("&gt; run 1000") before its answer, so a transcript from a file reads well.</summary>
    public bool EchoCommands { get; init; }
    /// <summary>Receives the monitor's lines; null: the run's console stream.</summary>
    public Action<string>? Output { get; init; }
    /// <summary>Starts with the built-in per-event lines off (<c>--monitor-quiet</c>; the REPL's <c>quiet on|off</c>).</summary>
    public bool Quiet { get; init; }

    /// <summary>The monitor of the run (set once the run has built the hypervisor).</summary>
    public Dom0Monitor? Monitor { get; internal set; }

    /// <summary>Why the monitor ended the run early (a <c>stop</c> rule, or <c>quit</c> in the REPL); null if it did not.</summary>
    public string? StopReason { get; internal set; }
}
