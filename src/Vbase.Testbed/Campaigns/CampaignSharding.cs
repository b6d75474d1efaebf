using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// Splits a campaign's work (its cells and its cost runs, <see cref="CampaignPlan.WorkCount"/>) into N shards of
/// about the same expected wall time: greedy longest-processing-time first on a fixed estimate per item, so the same
/// plan and N always give the same shards, on every machine, whatever ran before.
/// </summary>
public static class CampaignSharding
{
    // Relative wall time of a cell, from bench/campaign.sh with one job (docs/campaigns.md, "Sharding"). Building the
    // testbed dominates, so cells differ by well under 2x: an attacker VM (co-resident-vm) is a second domain to
    // build and run, and architectures that hash or MAC every line (bmt, aegis) spend longer on the slow path. An
    // architecture or position this table does not know weighs as an average one.
    private static readonly Dictionary<string, int> ArchitectureWeight = new(StringComparer.Ordinal)
    {
        ["bmt"] = 14,
        ["aegis"] = 12,
    };

    private const int DefaultArchitectureWeight = 10;

    private static int PositionWeight(AttackPosition position) => position switch
    {
        AttackPosition.Physical => 8,
        AttackPosition.CoResidentVm => 13,
        _ => 10,
    };

    /// <summary>A cost run is the application alone, unattacked: about a physical attack's cell.</summary>
    private const int CostRunWeight = 8;

    /// <summary>The expected cost of work item <paramref name="item"/> of <paramref name="plan"/>, in arbitrary units.</summary>
    public static int EstimatedCost(CampaignPlan plan, int item)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(item);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(item, plan.WorkCount);
        int cells = plan.Architectures.Count * plan.Attacks.Count;
        if (item < cells)
        {
            string architecture = plan.Architectures[item / plan.Attacks.Count].Name;
            return Weight(architecture) * PositionWeight(plan.Attacks[item % plan.Attacks.Count].Position);
        }
        return Weight(plan.CostRuns[item - cells]) * CostRunWeight;
    }

    private static int Weight(string architecture) => ArchitectureWeight.GetValueOrDefault(architecture, DefaultArchitectureWeight);

    /// <summary>
    /// The work items of each of <paramref name="shards"/> shards (element K − 1 is shard K's), each list ascending:
    /// items by expected cost, dearest first (ties in plan order), each to the shard with the least expected cost so
    /// far (ties to the lowest K). Every item is in exactly one shard; with more shards than items some are empty.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<int>> Assign(CampaignPlan plan, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, CampaignShard.MaxCount);
        int[] costs = [.. Enumerable.Range(0, plan.WorkCount).Select(i => EstimatedCost(plan, i))];
        // OrderBy is a stable sort: equal costs keep plan order.
        IEnumerable<int> dearestFirst = Enumerable.Range(0, costs.Length).OrderByDescending(i => costs[i]);
        var bins = new List<int>[shards];
        var loads = new PriorityQueue<int, (long Load, int Shard)>(shards);
        for (int k = 0; k < shards; k++)
        {
            bins[k] = [];
            loads.Enqueue(k, (0, k));
        }
        foreach (int item in dearestFirst)
        {
            loads.TryDequeue(out int k, out (long Load, int Shard) load);
            bins[k].Add(item);
            loads.Enqueue(k, (load.Load + costs[item], k));
        }
        return [.. bins.Select(b => (IReadOnlyList<int>)[.. b.Order()])];
    }

    /// <summary>Shard <paramref name="shard"/>'s work items (<see cref="Assign"/>).</summary>
    public static IReadOnlyList<int> WorkOf(CampaignPlan plan, CampaignShard shard) => Assign(plan, shard.Count)[shard.Index - 1];
}
