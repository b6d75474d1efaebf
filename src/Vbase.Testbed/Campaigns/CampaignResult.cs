using Vbase.Sapi.Chip;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>One finished cell of the matrix.</summary>
/// <param name="EventsLink">The cell's events.jsonl relative to the campaign's output folder, with '/' separators
/// (<c>runs/vbase/phys-spoof/events.jsonl</c>); null when no event log was written.</param>
public sealed record CampaignCell(ArchitectureInfo Architecture, AttackSpec Attack, AttackRunResult Result, string? EventsLink)
{
    public Verdict Verdict => Result.Verdict;

    /// <summary>The impact of a breach; null for every other verdict, whatever the runner said.</summary>
    public Impact? Impact => Result.Verdict == Verdict.Breached ? Result.Impact : null;

    public bool OutsideThreatModel => Result.OutsideThreatModel;
}

/// <summary>How one architecture fared: cells per verdict, and what its unattacked run cost at the chip boundary.</summary>
public sealed record ArchitectureSummary(ArchitectureInfo Architecture, IReadOnlyDictionary<Verdict, int> Counts, int BreachedInsideThreatModel)
{
    public int this[Verdict verdict] => Counts.GetValueOrDefault(verdict);

    /// <summary>The application alone under this architecture: what crossed the chip boundary (null: not measured).</summary>
    public DramTraffic? Cost { get; init; }

    /// <summary>The same under <c>none</c>, the cost model's reference (null: not measured).</summary>
    public DramTraffic? Baseline { get; init; }
}

/// <summary>A finished campaign: its plan and every cell, by architecture then attack (never by completion order).</summary>
public sealed record CampaignResult(CampaignPlan Plan, IReadOnlyList<CampaignCell> Cells)
{
    /// <summary>Each architecture's unattacked run (and none's) at the chip boundary, by name.</summary>
    public IReadOnlyDictionary<string, DramTraffic> Costs { get; init; } = new Dictionary<string, DramTraffic>();

    /// <summary>The chip every run had (its latencies price the costs).</summary>
    public ChipOptions Chip { get; init; } = new();

    public IEnumerable<CampaignCell> CellsOf(ArchitectureInfo architecture) => Cells.Where(c => c.Architecture.Name == architecture.Name);

    public CampaignCell Cell(string architecture, string attack) =>
        Cells.Single(c => c.Architecture.Name == architecture && c.Attack.Id == attack);

    /// <summary>Cells the harness could not carry out; any of them makes <c>vbase campaign</c> exit 1.</summary>
    public IReadOnlyList<CampaignCell> Errors => [.. Cells.Where(c => c.Verdict == Verdict.Error)];

    public IReadOnlyList<ArchitectureSummary> Summaries =>
    [
        .. Plan.Architectures.Select(arch =>
        {
            CampaignCell[] cells = [.. CellsOf(arch)];
            Dictionary<Verdict, int> counts = Enum.GetValues<Verdict>().ToDictionary(v => v, v => cells.Count(c => c.Verdict == v));
            return new ArchitectureSummary(arch, counts, cells.Count(c => c.Verdict == Verdict.Breached && !c.OutsideThreatModel))
            {
                Cost = Costs.GetValueOrDefault(arch.Name),
                Baseline = Costs.GetValueOrDefault("none"),
            };
        }),
    ];
}
