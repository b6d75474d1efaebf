using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// What a campaign needs from the attack suite: its catalogue, its applications, and a way to run one attack in a
/// fresh testbed. The campaign takes it as a parameter so its ordering, parallelism and reports can be tested with
/// a fast fake; <see cref="BuiltInAttackSuite"/> is the real one.
/// </summary>
public interface IAttackSuite
{
    /// <summary>Every attack, in catalogue order (the order of a report's columns).</summary>
    IReadOnlyList<AttackSpec> Attacks { get; }

    /// <summary>The secure applications an attack can run against.</summary>
    IReadOnlyList<string> Apps { get; }

    /// <summary>Runs one attack in a testbed of its own. Called from several threads at once.</summary>
    AttackRunResult Run(AttackRunRequest request);

    /// <summary>
    /// The application alone under an architecture, unattacked, for the cost model (null: not measured, or it did not
    /// finish). Called from several threads at once.
    /// </summary>
    Vbase.Sapi.Chip.DramTraffic? RunCost(string architecture, string app, ulong seed, Vbase.Sapi.Chip.ChipOptions chip) => null;

    /// <summary>The cost run with the architecture's parameters (<c>--arch-param</c>); default: without them.</summary>
    Vbase.Sapi.Chip.DramTraffic? RunCost(string architecture, string app, ulong seed, Vbase.Sapi.Chip.ChipOptions chip,
        IReadOnlyDictionary<string, string>? architectureParameters) => RunCost(architecture, app, seed, chip);
}
