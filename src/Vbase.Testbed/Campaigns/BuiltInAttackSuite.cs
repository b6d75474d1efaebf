using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Campaigns;

/// <summary>The attack suite that ships with Vbase: a thin adapter over the catalogue and the runner.</summary>
public sealed class BuiltInAttackSuite : IAttackSuite
{
    private readonly Vbase.Sapi.Registry.ArchitectureRegistry? registry;

    /// <summary>Over the built-in architectures.</summary>
    public static BuiltInAttackSuite Instance { get; } = new(null);

    /// <summary>Over <paramref name="registry"/> (the built-in architectures and plug-ins'); null: the built-in ones.</summary>
    public BuiltInAttackSuite(Vbase.Sapi.Registry.ArchitectureRegistry? registry) => this.registry = registry;

    public IReadOnlyList<AttackSpec> Attacks => AttackCatalogue.All;

    public IReadOnlyList<string> Apps => AppCatalogue.Names;

    public AttackRunResult Run(AttackRunRequest request) => AttackRunner.Run(request with { Registry = request.Registry ?? registry });

    public Vbase.Sapi.Chip.DramTraffic? RunCost(string architecture, string app, ulong seed, Vbase.Sapi.Chip.ChipOptions chip) =>
        AttackRunner.RunCost(architecture, app, seed, chip, registry);

    public Vbase.Sapi.Chip.DramTraffic? RunCost(string architecture, string app, ulong seed, Vbase.Sapi.Chip.ChipOptions chip,
        IReadOnlyDictionary<string, string>? architectureParameters) =>
        AttackRunner.RunCost(architecture, app, seed, chip, registry, architectureParameters);
}
