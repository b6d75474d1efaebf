using System.Globalization;
using Vbase.Sapi.Chip;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// Puts the parts of a sharded campaign back together: the result the unsharded campaign would have had, cell for
/// cell and figure for figure, so <see cref="CampaignJson"/> and the reports write the same bytes from it.
/// </summary>
public static class CampaignMerge
{
    /// <summary>One part as read, with the name it is called by in messages (its path).</summary>
    public sealed record NamedPart(string Name, CampaignPart Part);

    /// <summary>
    /// The whole campaign from all N of its parts, in any order. Refuses (<see cref="CampaignPartException"/>, naming
    /// the parts) parts written by another vbase than <paramref name="tool"/>, of different campaigns or shard counts,
    /// a shard given twice or missing, a part whose cells are not its shard's, and parts with and without run folders.
    /// </summary>
    public static CampaignResult Merge(IReadOnlyList<NamedPart> parts, string tool)
    {
        if (parts.Count == 0)
        {
            throw new CampaignPartException("no parts to merge");
        }
        // The merge writes with this vbase's writers, which give the shards' bytes only if they are the shards' own.
        if (parts.FirstOrDefault(p => p.Part.Tool != tool) is NamedPart stranger)
        {
            throw new CampaignPartException($"{stranger.Name} was written by {stranger.Part.Tool}, this is {tool}: merge with the vbase that ran the shards");
        }
        NamedPart first = parts[0];
        if (parts.FirstOrDefault(p => p.Part.CampaignId != first.Part.CampaignId) is NamedPart other)
        {
            throw new CampaignPartException($"{first.Name} and {other.Name} are shards of different campaigns "
                + $"({first.Part.CampaignId[..12]}… and {other.Part.CampaignId[..12]}…: another plan, seed, app or chip)");
        }
        if (parts.FirstOrDefault(p => p.Part.Shard.Count != first.Part.Shard.Count) is NamedPart recount)
        {
            throw new CampaignPartException($"{first.Name} is shard {first.Part.Shard} but {recount.Name} is shard {recount.Part.Shard}: "
                + "one campaign split two ways");
        }
        if (parts.GroupBy(p => p.Part.Shard.Index).FirstOrDefault(g => g.Count() > 1) is IGrouping<int, NamedPart> twice)
        {
            throw new CampaignPartException($"shard {twice.First().Part.Shard} is given more than once: {string.Join(", ", twice.Select(p => p.Name))}");
        }
        int count = first.Part.Shard.Count;
        int[] missing = [.. Enumerable.Range(1, count).Except(parts.Select(p => p.Part.Shard.Index))];
        if (missing.Length > 0)
        {
            string which = string.Join(", ", missing.Select(k => k.ToString(CultureInfo.InvariantCulture)));
            throw new CampaignPartException($"shard{(missing.Length > 1 ? "s" : "")} {which} of {count} {(missing.Length > 1 ? "are" : "is")} missing");
        }
        if (parts.FirstOrDefault(p => (p.Part.Runs is null) != (first.Part.Runs is null)) is NamedPart mixed)
        {
            NamedPart with = first.Part.Runs is null ? mixed : first, without = first.Part.Runs is null ? first : mixed;
            throw new CampaignPartException($"{with.Name} ran with --out and {without.Name} without: their event links differ");
        }

        CampaignPlan plan = first.Part.Plan;
        IReadOnlyList<IReadOnlyList<int>> shards = CampaignSharding.Assign(plan, count);
        int cellCount = plan.Cells.Count;
        var cells = new CampaignCell?[cellCount];
        var costs = new Dictionary<string, DramTraffic>(StringComparer.Ordinal);
        foreach (NamedPart named in parts)
        {
            CampaignPart part = named.Part;
            IReadOnlyList<int> work = shards[part.Shard.Index - 1];
            int[] held = [.. part.Cells.Select(c => CellIndex(plan, c)), .. part.Costs.Keys.Select(a => cellCount + IndexOf(plan.CostRuns, a))];
            if (!held.Order().SequenceEqual(work))
            {
                throw new CampaignPartException($"{named.Name}: its cells and cost runs are not those of shard {part.Shard} of this plan");
            }
            foreach (CampaignCell cell in part.Cells)
            {
                cells[CellIndex(plan, cell)] = cell;
            }
            foreach ((string architecture, DramTraffic? traffic) in part.Costs)
            {
                if (traffic is not null)
                {
                    costs[architecture] = traffic;
                }
            }
        }
        return new CampaignResult(plan, [.. cells.Select(c => c!)]) { Costs = costs, Chip = first.Part.Chip };
    }

    private static int CellIndex(CampaignPlan plan, CampaignCell cell) =>
        IndexOf(plan.Architectures.Select(a => a.Name).ToList(), cell.Architecture.Name) * plan.Attacks.Count
        + IndexOf(plan.Attacks.Select(a => a.Id).ToList(), cell.Attack.Id);

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// Copies each part's run folders (<c>runs/&lt;arch&gt;/&lt;attack&gt;/</c>, found through its <see cref="CampaignPart.Runs"/>
    /// relative to the part's file) into <paramref name="outDirectory"/>, unless they are already there (shards that
    /// shared one output folder).
    /// </summary>
    /// <param name="parts">Each part with the path of its file.</param>
    public static void CopyRuns(IReadOnlyList<NamedPart> parts, string outDirectory)
    {
        foreach (NamedPart named in parts)
        {
            if (named.Part.Runs is not string runs)
            {
                continue;
            }
            string source = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(named.Name))!, runs));
            foreach (CampaignCell cell in named.Part.Cells)
            {
                string folder = Campaign.CellFolder(cell.Architecture.Name, cell.Attack.Id);
                string from = Path.Combine(source, folder), to = Path.GetFullPath(Path.Combine(outDirectory, folder));
                if (!Directory.Exists(from))
                {
                    // A cell the harness could not carry out may have left nothing; its events link is null then.
                    if (cell.EventsLink is null)
                    {
                        continue;
                    }
                    throw new CampaignPartException($"{named.Name}: the run folder of {cell.Architecture.Name} x {cell.Attack.Id} is missing ({from})");
                }
                if (!string.Equals(Path.GetFullPath(from), to, StringComparison.Ordinal))
                {
                    CopyFolder(from, to);
                }
            }
        }
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }
        foreach (string folder in Directory.GetDirectories(from))
        {
            CopyFolder(folder, Path.Combine(to, Path.GetFileName(folder)));
        }
    }
}
