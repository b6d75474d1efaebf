using System.Text;
using Vbase.Architectures;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Campaigns;

namespace Vbase.Testbed.Tests.Campaigns;

/// <summary>
/// Sharded campaigns with <see cref="FakeAttackSuite"/>: shard specs, the cost-balanced split of the work, parts, and
/// merges that give the unsharded campaign's bytes or refuse parts that do not belong together.
/// </summary>
public sealed class CampaignShardTests
{
    private const string Tool = "vbase test";
    private readonly ArchitectureRegistry registry = BuiltInArchitectures.CreateRegistry();

    /// <summary>Every cost run gives a figure of its own, so a merge that lost or swapped one would show.</summary>
    private static readonly FakeAttackSuite Suite = new()
    {
        Cost = architecture => new DramTraffic(100 + architecture.Length, 20, architecture.Length, 3, 5000, 7, 9, 11_000_000),
    };

    private CampaignPlan Plan(ulong seed = 1, string? architectures = null) => CampaignPlan.Create(architectures, null, "vault", seed, registry, Suite);

    private static CampaignResult RunShard(CampaignPlan plan, CampaignShard shard, int jobs = 2) =>
        Campaign.Run(plan, Suite, new CampaignOptions(jobs) { Work = CampaignSharding.WorkOf(plan, shard) });

    private CampaignMerge.NamedPart Part(CampaignPlan plan, CampaignShard shard, string tool = Tool, string? runs = null) =>
        new($"part-{shard.Index}.json", CampaignPartJson.Read(CampaignPartJson.ToBytes(RunShard(plan, shard), shard, tool, runs), registry, Suite));

    private CampaignMerge.NamedPart[] Parts(CampaignPlan plan, int count) => [.. Enumerable.Range(1, count).Select(k => Part(plan, new CampaignShard(k, count)))];

    [Theory]
    [InlineData("1/3", 1, 3)]
    [InlineData("3/3", 3, 3)]
    [InlineData("1/1", 1, 1)]
    [InlineData("12/1_000", 12, 1000)]
    public void AShardSpecIsKOfNFromOne(string text, int k, int n)
    {
        Assert.Equal(new CampaignShard(k, n), CampaignShard.Parse(text, out string? problem));
        Assert.Null(problem);
        Assert.Equal($"{k}/{n}", new CampaignShard(k, n).ToString());
    }

    [Theory]
    [InlineData("0/3", "'0/3': K must be 1 to 3 (shards count from 1)")]
    [InlineData("4/3", "'4/3': K must be 1 to 3 (shards count from 1)")]
    [InlineData("1/0", "'1/0': N must be 1 to 10000")]
    [InlineData("1/10001", "'1/10001': N must be 1 to 10000")]
    [InlineData("a/b", "'a/b' is not K/N (the K-th of N shards, e.g. 2/3)")]
    [InlineData("3", "'3' is not K/N (the K-th of N shards, e.g. 2/3)")]
    [InlineData("1/2/3", "'1/2/3' is not K/N (the K-th of N shards, e.g. 2/3)")]
    [InlineData("-1/3", "'-1/3' is not K/N (the K-th of N shards, e.g. 2/3)")]
    [InlineData(" 1/3", "' 1/3' is not K/N (the K-th of N shards, e.g. 2/3)")]
    [InlineData("", "'' is not K/N (the K-th of N shards, e.g. 2/3)")]
    public void AMalformedShardSpecSaysWhy(string text, string message)
    {
        Assert.Null(CampaignShard.Parse(text, out string? problem));
        Assert.Equal(message, problem);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(200)]
    public void EveryWorkItemIsInExactlyOneShard(int count)
    {
        CampaignPlan plan = Plan();
        IReadOnlyList<IReadOnlyList<int>> shards = CampaignSharding.Assign(plan, count);
        Assert.Equal(count, shards.Count);
        Assert.Equal(Enumerable.Range(0, plan.WorkCount), shards.SelectMany(s => s).Order());
        Assert.All(shards, s => Assert.Equal(s.Order(), s));
    }

    [Fact]
    public void TheSamePlanGivesTheSameShards()
    {
        // Plans chosen independently (names in another order) split the same way, every time.
        IReadOnlyList<IReadOnlyList<int>> first = CampaignSharding.Assign(Plan(), 4);
        CampaignPlan again = CampaignPlan.Create(string.Join(',', registry.All.Select(a => a.Name).Reverse()), "dom0-read,kernel-read,spoof,snoop", "vault", 1, registry, Suite);
        Assert.Equal(first, CampaignSharding.Assign(again, 4));
        Assert.Equal(first, CampaignSharding.Assign(Plan(), 4));
        Assert.Equal(first[2], CampaignSharding.WorkOf(Plan(), new CampaignShard(3, 4)));
    }

    [Fact]
    public void ShardsAreBalancedByExpectedCost()
    {
        CampaignPlan plan = Plan();
        foreach (int count in new[] { 2, 3, 5, 8 })
        {
            long[] loads = [.. CampaignSharding.Assign(plan, count).Select(s => s.Sum(i => (long)CampaignSharding.EstimatedCost(plan, i)))];
            int dearest = Enumerable.Range(0, plan.WorkCount).Max(i => CampaignSharding.EstimatedCost(plan, i));
            // Greedy LPT: no shard ends more than one item's cost above the lightest.
            Assert.True(loads.Max() - loads.Min() <= dearest, $"{count} shards: loads {string.Join(", ", loads)}");
        }
    }

    [Fact]
    public void EqualCostsGoRoundTheShardsInPlanOrder()
    {
        // vbase alone against the two physical attacks, then its cost run and none's: all weigh the same.
        CampaignPlan plan = CampaignPlan.Create("vbase", "snoop,spoof", "vault", 1, registry, Suite);
        Assert.Equal(4, plan.WorkCount);
        Assert.Equal([[0, 3], [1], [2]], CampaignSharding.Assign(plan, 3));
        Assert.Equal([[0], [1], [2], [3], []], CampaignSharding.Assign(plan, 5));
    }

    [Fact]
    public void ThreeShardsMergeToTheUnshardedBytes()
    {
        CampaignPlan plan = Plan(seed: 7);
        byte[] whole = CampaignJson.ToBytes(Campaign.Run(plan, Suite, new CampaignOptions(3)));
        CampaignMerge.NamedPart[] parts = Parts(plan, 3);
        Assert.Equal(whole, CampaignJson.ToBytes(CampaignMerge.Merge(parts, Tool)));
        Assert.Equal(whole, CampaignJson.ToBytes(CampaignMerge.Merge([parts[2], parts[0], parts[1]], Tool)));
        CampaignResult merged = CampaignMerge.Merge(parts, Tool);
        CampaignResult local = Campaign.Run(plan, Suite, new CampaignOptions(1));
        Assert.Equal(MarkdownReport.Render(local), MarkdownReport.Render(merged));
        Assert.Equal(HtmlReport.Render(local), HtmlReport.Render(merged));
        Assert.Contains("\"cost\": {", Encoding.UTF8.GetString(whole));
    }

    [Fact]
    public void OneShardIsTheWholeCampaignAndManyShardsToo()
    {
        CampaignPlan plan = Plan();
        byte[] whole = CampaignJson.ToBytes(Campaign.Run(plan, Suite, new CampaignOptions(2)));
        Assert.Equal(whole, CampaignJson.ToBytes(CampaignMerge.Merge(Parts(plan, 1), Tool)));
        // More shards than work items: the empty ones are parts too.
        Assert.Equal(whole, CampaignJson.ToBytes(CampaignMerge.Merge(Parts(plan, plan.WorkCount + 2), Tool)));
    }

    [Fact]
    public void APartHoldsItsCampaignShardToolAndCells()
    {
        CampaignPlan plan = Plan();
        var shard = new CampaignShard(2, 3);
        byte[] bytes = CampaignPartJson.ToBytes(RunShard(plan, shard), shard, Tool, "..");
        Assert.Equal(bytes, CampaignPartJson.ToBytes(RunShard(plan, shard, jobs: 1), shard, Tool, ".."));
        string text = Encoding.UTF8.GetString(bytes);
        Assert.StartsWith($"{{\n  \"format\": \"vbase-campaign-part/1\",\n  \"campaign\": \"{CampaignPartJson.CampaignId(plan, new ChipOptions())}\",\n"
            + "  \"shard\": \"2/3\",\n  \"tool\": \"vbase test\",\n  \"plan\": {\n", text);
        CampaignPart part = CampaignPartJson.Read(bytes, registry, Suite);
        Assert.Equal((shard, Tool, ".."), (part.Shard, part.Tool, part.Runs));
        int cells = plan.Cells.Count;
        Assert.Equal(CampaignSharding.WorkOf(plan, shard).Where(i => i < cells),
            part.Cells.Select(c => plan.Cells.ToList().FindIndex(k => k.Architecture.Name == c.Architecture.Name && k.Attack.Id == c.Attack.Id)));
        Assert.NotEqual(CampaignPartJson.CampaignId(plan, new ChipOptions()), CampaignPartJson.CampaignId(Plan(seed: 2), new ChipOptions()));
        Assert.NotEqual(CampaignPartJson.CampaignId(plan, new ChipOptions()), CampaignPartJson.CampaignId(plan, new ChipOptions { Ways = 8 }));
    }

    [Fact]
    public void PartsOfDifferentCampaignsAreRefused()
    {
        CampaignMerge.NamedPart[] parts = Parts(Plan(), 3);
        parts[1] = Part(Plan(seed: 2), new CampaignShard(2, 3)) with { Name = "other.json" };
        var e = Assert.Throws<CampaignPartException>(() => CampaignMerge.Merge(parts, Tool));
        Assert.Matches(@"^part-1\.json and other\.json are shards of different campaigns \([0-9a-f]{12}… and [0-9a-f]{12}…: another plan, seed, app or chip\)$", e.Message);
    }

    [Fact]
    public void MissingAndOverlappingShardsAreRefused()
    {
        CampaignMerge.NamedPart[] parts = Parts(Plan(), 4);
        Assert.Equal("shard 3 of 4 is missing", Assert.Throws<CampaignPartException>(() => CampaignMerge.Merge([parts[0], parts[1], parts[3]], Tool)).Message);
        Assert.Equal("shards 2, 4 of 4 are missing", Assert.Throws<CampaignPartException>(() => CampaignMerge.Merge([parts[0], parts[2]], Tool)).Message);
        Assert.Equal("shard 2/4 is given more than once: part-2.json, again.json",
            Assert.Throws<CampaignPartException>(() => CampaignMerge.Merge([.. parts, parts[1] with { Name = "again.json" }], Tool)).Message);
        CampaignMerge.NamedPart thirds = Part(Plan(), new CampaignShard(1, 3));
        Assert.Equal("part-1.json is shard 1/4 but part-1.json is shard 1/3: one campaign split two ways",
            Assert.Throws<CampaignPartException>(() => CampaignMerge.Merge([.. parts, thirds], Tool)).Message);
    }

    [Fact]
    public void PartsOfAnotherVbaseAreRefused()
    {
        CampaignMerge.NamedPart[] parts = [.. Parts(Plan(), 2).Take(1), Part(Plan(), new CampaignShard(2, 2), tool: "vbase 0.9")];
        Assert.Equal("part-2.json was written by vbase 0.9, this is vbase test: merge with the vbase that ran the shards",
            Assert.Throws<CampaignPartException>(() => CampaignMerge.Merge(parts, Tool)).Message);
    }

    [Fact]
    public void PartsWithAndWithoutRunFoldersAreRefused()
    {
        CampaignPlan plan = Plan();
        CampaignMerge.NamedPart[] parts = [Part(plan, new CampaignShard(1, 2), runs: "."), Part(plan, new CampaignShard(2, 2))];
        Assert.Equal("part-1.json ran with --out and part-2.json without: their event links differ",
            Assert.Throws<CampaignPartException>(() => CampaignMerge.Merge(parts, Tool)).Message);
    }

    [Fact]
    public void APartWhoseCellsAreNotItsShardsIsRefused()
    {
        CampaignPlan plan = Plan();
        CampaignMerge.NamedPart[] parts = Parts(plan, 2);
        CampaignPart first = parts[0].Part;
        parts[0] = parts[0] with { Part = first with { Cells = [.. first.Cells.Skip(1)] } };
        Assert.Equal("part-1.json: its cells and cost runs are not those of shard 1/2 of this plan",
            Assert.Throws<CampaignPartException>(() => CampaignMerge.Merge(parts, Tool)).Message);
    }

    [Theory]
    [InlineData("[1, 2]", "not a campaign part (no \"format\"; a part is what vbase campaign --shard K/N --json writes)")]
    [InlineData("{\"cells\": []}", "not a campaign part (no \"format\"; a part is what vbase campaign --shard K/N --json writes)")]
    [InlineData("{\"format\": \"vbase-campaign-part/9\"}", "a part of format 'vbase-campaign-part/9', not vbase-campaign-part/1")]
    [InlineData("{\"format\": \"vbase-campaign-part/1\", \"shard\": \"0/3\"}", "\"shard\": '0/3': K must be 1 to 3 (shards count from 1)")]
    [InlineData("{\"format\": \"vbase-campaign-part/1\", \"shard\": \"1/3\"}", "\"plan\" (object) is missing or of the wrong type")]
    public void WhatIsNotAPartIsRefused(string json, string message)
    {
        Assert.Equal(message, Assert.Throws<CampaignPartException>(() => CampaignPartJson.Read(Encoding.UTF8.GetBytes(json), registry, Suite)).Message);
        Assert.StartsWith("not JSON (", Assert.Throws<CampaignPartException>(() => CampaignPartJson.Read("{"u8.ToArray(), registry, Suite)).Message);
    }

    [Fact]
    public void AnEditedPartIsRefused()
    {
        CampaignPlan plan = Plan();
        var shard = new CampaignShard(1, 2);
        string text = Encoding.UTF8.GetString(CampaignPartJson.ToBytes(RunShard(plan, shard), shard, Tool, null));
        // Another seed under the same campaign id: the id no longer matches the plan.
        byte[] reseeded = Encoding.UTF8.GetBytes(text.Replace("\"seed\": 1,\n    \"chip\"", "\"seed\": 2,\n    \"chip\"", StringComparison.Ordinal));
        Assert.Equal("its \"campaign\" id is not that of its plan (the file was edited)",
            Assert.Throws<CampaignPartException>(() => CampaignPartJson.Read(reseeded, registry, Suite)).Message);
        byte[] unknown = Encoding.UTF8.GetBytes(text.Replace("\"verdict\": \"breached\"", "\"verdict\": \"pwned\"", StringComparison.Ordinal));
        Assert.StartsWith("\"cells\" (", Assert.Throws<CampaignPartException>(() => CampaignPartJson.Read(unknown, registry, Suite)).Message);
    }
}
