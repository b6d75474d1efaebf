using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Running;

/// <summary>How a run ended as a whole.</summary>
public enum RunOutcome
{
    /// <summary>Every domain shut down (each with its own reason and exit code).</summary>
    AllShutDown,
    /// <summary>The instruction limit ran out first.</summary>
    InstructionLimit,
    /// <summary>No vCPU could ever run again, yet some domain had not shut down.</summary>
    Idle,
    /// <summary>Stopped on request (Ctrl-C).</summary>
    Stopped,
    /// <summary>The scenario's wall-clock timeout ran out.</summary>
    Timeout,
    /// <summary>The plugged-in architecture threw (<see cref="TestbedResult.Failure"/>): the run ended there.</summary>
    ArchitectureFailed,
}

/// <summary>What a plug-in that threw did: which architecture, from which SAPI call, with which exception.</summary>
public sealed record ArchitectureFailure(string Architecture, string Hook, string Exception, string Reason)
{
    public override string ToString() => $"architecture {Architecture} failed in {Hook}: {Exception}: {Reason}";
}

/// <summary>One domain at the end of a run.</summary>
/// <param name="ConsoleBytes">Bytes it wrote to its console.</param>
public sealed record DomainResult(string Name, int DomainId, DomainOutcome Outcome, long ConsoleBytes)
{
    /// <summary>Powered off with exit code 0.</summary>
    public bool Succeeded => Outcome is { State: DomainState.Shutdown, Reason: ShutdownReason.Poweroff, ExitCode: 0 };
}

/// <summary>The outcome of <see cref="Testbed.Run"/>.</summary>
/// <param name="MaxInstructions">The instruction limit in force; null: none.</param>
public sealed record TestbedResult(Scenario Scenario, RunOutcome Outcome, ulong VirtualTime, ulong? MaxInstructions, IReadOnlyList<DomainResult> Domains)
{
    /// <summary>Every domain powered off with exit code 0.</summary>
    public bool Succeeded => Outcome == RunOutcome.AllShutDown && Domains.All(d => d.Succeeded);

    public ulong Instructions => Domains.Aggregate(0UL, (sum, d) => sum + d.Outcome.Instructions);

    /// <summary>
    /// Host wall time spent running the domains (after they were built and loaded). For speed reports only: it
    /// is never written to summary.json, which stays the same for the same scenario and seed.
    /// </summary>
    public TimeSpan RunTime { get; init; }

    /// <summary>What crossed the chip boundary over the run (null: a host without one).</summary>
    public Vbase.Sapi.Chip.DramTraffic? Traffic { get; init; }

    /// <summary>The chip the run had (cache geometry, cost latencies).</summary>
    public Vbase.Sapi.Chip.ChipOptions Chip { get; init; } = new();

    /// <summary>Set when the outcome is <see cref="RunOutcome.ArchitectureFailed"/>.</summary>
    public ArchitectureFailure? Failure { get; init; }

    /// <summary>The same scenario under <c>none</c> (<c>vbase run --baseline</c>): the cost model's reference.</summary>
    public TestbedResult? Baseline { get; init; }
}

/// <summary>Which stage of a run failed.</summary>
public enum TestbedStage
{
    /// <summary>A kernel or program image could not be read or loaded into its domain.</summary>
    Images,
    /// <summary>The output folder or a file in it could not be written.</summary>
    Outputs,
    /// <summary>The hypervisor could not be built or refused the domains.</summary>
    Host,
}

/// <summary>A run that could not be carried out; the message is one line that says what and where.</summary>
public sealed class TestbedException(TestbedStage stage, string message) : Exception(message)
{
    public TestbedStage Stage { get; } = stage;
}
