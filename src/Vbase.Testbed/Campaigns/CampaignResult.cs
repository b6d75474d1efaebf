using Vbase.Hypervisor.Sapi;
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

/// <summary>How one architecture fared: cells per verdict, and its metadata traffic summed over its cells.</summary>
public sealed record ArchitectureSummary(ArchitectureInfo Architecture, IReadOnlyDictionary<Verdict, int> Counts, int BreachedInsideThreatModel)
{
    public int this[Verdict verdict] => Counts.GetValueOrDefault(verdict);

    /// <summary>Metadata traffic over all of this architecture's runs (counters, MACs, tree nodes through its metadata cache).</summary>
    public MetadataTraffic Traffic { get; init; } = MetadataTraffic.None;
}

/// <summary>A finished campaign: its plan and every cell, by architecture then attack (never by completion order).</summary>
public sealed record CampaignResult(CampaignPlan Plan, IReadOnlyList<CampaignCell> Cells)
{
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
                Traffic = new MetadataTraffic(
                    cells.Sum(c => c.Result.Traffic.ProtectedAccesses), cells.Sum(c => c.Result.Traffic.MetadataReads),
                    cells.Sum(c => c.Result.Traffic.MetadataWrites), cells.Sum(c => c.Result.Traffic.CacheHits),
                    cells.Sum(c => c.Result.Traffic.CacheMisses)),
            };
        }),
    ];
}
