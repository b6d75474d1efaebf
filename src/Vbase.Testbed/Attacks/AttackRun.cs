using Vbase.Sapi.Chip;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Attacks;

/// <summary>One attack against one architecture, in a fresh testbed.</summary>
/// <param name="Architecture">A registry name (<c>vbase list archs</c>).</param>
/// <param name="Attack">An attack id (<c>vbase list attacks</c>).</param>
/// <param name="App">The secure application: <c>vault</c> or <c>paper</c>.</param>
/// <param name="OutDirectory">Where this run's events.jsonl, consoles and summary go; null: nowhere.</param>
/// <param name="Parameters">Overrides of the attack's parameters (name → value).</param>
public sealed record AttackRunRequest(string Architecture, string Attack, string App, ulong Seed, string? OutDirectory,
    IReadOnlyDictionary<string, string>? Parameters = null)
{
    /// <summary>The architecture's parameters (name → value), as a scenario's <c>arch_parameters</c>.</summary>
    public IReadOnlyDictionary<string, string>? ArchitectureParameters { get; init; }

    /// <summary>The on-chip boundary (cache geometry, cost latencies).</summary>
    public ChipOptions Chip { get; init; } = new();

    /// <summary>Where <see cref="Architecture"/> is found; null: the built-in architectures.</summary>
    public Vbase.Sapi.Registry.ArchitectureRegistry? Registry { get; init; }
}

/// <summary>The Oracle's verdict on one run, with its evidence.</summary>
/// <param name="Impact">For <see cref="Verdict.Breached"/>: what broke; null otherwise.</param>
/// <param name="OutsideThreatModel">The architecture trusts the attack's position (it was run and judged anyway).</param>
/// <param name="Evidence">One paragraph: what the attacker did and saw, what the application read against the shadow,
/// which violation was raised and when.</param>
/// <param name="EventsPath">This run's events.jsonl, if it was written.</param>
/// <param name="Traffic">What crossed the chip boundary over the run (data and metadata lines, hits, cipher and MAC work).</param>
public sealed record AttackRunResult(string Architecture, string Attack, string App, Verdict Verdict, Impact? Impact,
    bool OutsideThreatModel, string Evidence, string? EventsPath, ulong Instructions, ulong VirtualTime)
{
    public DramTraffic Traffic { get; init; } = DramTraffic.None;
}
