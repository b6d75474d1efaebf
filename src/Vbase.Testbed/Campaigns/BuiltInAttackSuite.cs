using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Campaigns;

/// <summary>The attack suite that ships with Vbase: a thin adapter over the catalogue and the runner.</summary>
public sealed class BuiltInAttackSuite : IAttackSuite
{
    public static BuiltInAttackSuite Instance { get; } = new();

    private BuiltInAttackSuite()
    {
    }

    public IReadOnlyList<AttackSpec> Attacks => AttackCatalogue.All;

    public IReadOnlyList<string> Apps => AppCatalogue.Names;

    public AttackRunResult Run(AttackRunRequest request) => AttackRunner.Run(request);

    public Vbase.Sapi.Chip.DramTraffic? RunCost(string architecture, string app, ulong seed, Vbase.Sapi.Chip.ChipOptions chip) =>
        AttackRunner.RunCost(architecture, app, seed, chip);
}
