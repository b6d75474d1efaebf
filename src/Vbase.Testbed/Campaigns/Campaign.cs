using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>How to run a campaign.</summary>
/// <param name="Jobs">How many cells run at once (each on its own thread, in its own testbed).</param>
/// <param name="OutDirectory">When set, each cell's run output goes to <c>runs/&lt;arch&gt;/&lt;attack&gt;/</c> inside it.</param>
/// <param name="CellFinished">Told of each cell as it finishes (in completion order), with how many have finished
/// so far; calls never overlap.</param>
public sealed record CampaignOptions(int Jobs = 1, string? OutDirectory = null, Action<CampaignCell, int>? CellFinished = null)
{
    /// <summary>The on-chip boundary every run has (cache geometry, cost latencies).</summary>
    public Vbase.Sapi.Chip.ChipOptions Chip { get; init; } = new();

    /// <summary>
    /// Which of the plan's work items to run (<see cref="CampaignPlan.WorkCount"/>: cells, then cost runs), in
    /// ascending order; null: all of them. A shard's items come from <see cref="CampaignSharding.Assign"/>.
    /// </summary>
    public IReadOnlyList<int>? Work { get; init; }
}

/// <summary>Runs every cell of a plan, each in a fresh testbed, several at a time.</summary>
public static class Campaign
{
    /// <summary>The folder, inside the campaign's output folder, that holds one folder per cell's run.</summary>
    public const string RunsFolder = "runs";

    /// <summary>
    /// Runs <paramref name="plan"/> (or the part of it <see cref="CampaignOptions.Work"/> names: the result then holds
    /// those cells and cost runs only). A cell whose run throws becomes an <see cref="Verdict.Error"/> cell saying why,
    /// so one broken cell never hides the others' verdicts.
    /// </summary>
    public static CampaignResult Run(CampaignPlan plan, IAttackSuite suite, CampaignOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Jobs, 1);
        IReadOnlyList<CampaignCellKey> keys = plan.Cells;
        var cells = new CampaignCell?[keys.Count];
        // The cost model's runs: each architecture (and the baseline none) once, unattacked, after the cells.
        IReadOnlyList<string> costed = plan.CostRuns;
        var costs = new Vbase.Sapi.Chip.DramTraffic?[costed.Count];
        IReadOnlyList<int> work = options.Work ?? [.. Enumerable.Range(0, plan.WorkCount)];
        if (work.Any(i => i < 0 || i >= plan.WorkCount))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "a work item is not one of the plan's");
        }
        var reportGate = new Lock();
        int next = -1, finished = 0;

        void Work()
        {
            for (int n = Interlocked.Increment(ref next); n < work.Count; n = Interlocked.Increment(ref next))
            {
                int i = work[n];
                if (i >= keys.Count)
                {
                    costs[i - keys.Count] = RunCost(suite, costed[i - keys.Count], plan, options.Chip);
                    continue;
                }
                CampaignCell cell = RunCell(keys[i], plan, suite, options);
                cells[i] = cell;
                lock (reportGate)
                {
                    finished++;
                    options.CellFinished?.Invoke(cell, finished);
                }
            }
        }

        // Dedicated threads rather than the thread pool: each cell is seconds of CPU-bound emulation, which the
        // pool would meet by slowly injecting threads beyond --jobs' intent.
        Thread[] workers = [.. Enumerable.Range(0, Math.Min(options.Jobs, Math.Max(work.Count(i => i < keys.Count), 1))).Select(n => new Thread(Work)
        {
            IsBackground = true,
            Name = $"campaign worker {n}",
        })];
        foreach (Thread worker in workers)
        {
            worker.Start();
        }
        foreach (Thread worker in workers)
        {
            worker.Join();
        }
        var byArchitecture = new Dictionary<string, Vbase.Sapi.Chip.DramTraffic>();
        for (int i = 0; i < costed.Count; i++)
        {
            if (costs[i] is Vbase.Sapi.Chip.DramTraffic t)
            {
                byArchitecture[costed[i]] = t;
            }
        }
        return new CampaignResult(plan, [.. cells.OfType<CampaignCell>()]) { Costs = byArchitecture, Chip = options.Chip };
    }

    /// <summary>A cost run that throws is no figure, not a failed campaign (the cells carry the verdicts).</summary>
    private static Vbase.Sapi.Chip.DramTraffic? RunCost(IAttackSuite suite, string architecture, CampaignPlan plan, Vbase.Sapi.Chip.ChipOptions chip)
    {
        try
        {
            return suite.RunCost(architecture, plan.App, plan.Seed, chip, plan.Parameters.ForArchitecture(architecture));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>The folder of one cell's run, relative to the campaign's output folder.</summary>
    public static string CellFolder(string architecture, string attack) => Path.Combine(RunsFolder, architecture, attack);

    private static CampaignCell RunCell(CampaignCellKey key, CampaignPlan plan, IAttackSuite suite, CampaignOptions options)
    {
        string? outDirectory = options.OutDirectory;
        string architecture = key.Architecture.Name, attack = key.Attack.Id;
        string? cellDirectory = outDirectory is null ? null : Path.Combine(outDirectory, CellFolder(architecture, attack));
        AttackRunResult result;
        try
        {
            if (cellDirectory is not null)
            {
                Directory.CreateDirectory(cellDirectory);
            }
            result = suite.Run(new AttackRunRequest(architecture, attack, plan.App, plan.Seed, cellDirectory, plan.Parameters.ForAttack(attack))
            {
                Chip = options.Chip,
                ArchitectureParameters = plan.Parameters.ForArchitecture(architecture),
            });
        }
        catch (Exception e)
        {
            // Whatever went wrong is the harness's failure, not a verdict on the architecture (docs/design.md, "error").
            bool outside = !key.Architecture.ThreatModel.Covers(key.Attack.Principal);
            string why = e.Message.ReplaceLineEndings(" ").Trim();
            result = new AttackRunResult(architecture, attack, plan.App, Verdict.Error, null, outside,
                $"The harness could not carry the attack out: {e.GetType().Name}: {why}", null, 0, 0);
        }
        string? eventsLink = outDirectory is not null && result.EventsPath is string events
            ? Path.GetRelativePath(outDirectory, events).Replace(Path.DirectorySeparatorChar, '/')
            : null;
        return new CampaignCell(key.Architecture, key.Attack, result, eventsLink);
    }
}
