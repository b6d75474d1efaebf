using System.Text;
using System.Text.Json;
using Vbase.Architectures;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Campaigns;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.Campaigns;

/// <summary>
/// Campaigns with <see cref="FakeAttackSuite"/>: choosing cells, running them several at a time, and a JSON that
/// depends only on the plan and the seed (never on completion order or on how many jobs ran).
/// </summary>
public sealed class CampaignTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-campaign-").FullName;
    private readonly ArchitectureRegistry registry = BuiltInArchitectures.CreateRegistry();

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private CampaignPlan Plan(string? architectures = null, string? attacks = null, string app = "vault", ulong seed = 1) =>
        CampaignPlan.Create(architectures, attacks, app, seed, registry, new FakeAttackSuite());

    private static CampaignResult Run(CampaignPlan plan, int jobs = 1, string? outDirectory = null, FakeAttackSuite? suite = null) =>
        Campaign.Run(plan, suite ?? new FakeAttackSuite(), new CampaignOptions(jobs, outDirectory));

    private static string Name(CampaignCellKey cell) => $"{cell.Architecture.Name}/{cell.Attack.Id}";

    [Fact]
    public void AllMeansEveryRegisteredArchitectureAndEveryAttackInTheCatalogue()
    {
        CampaignPlan plan = Plan("all", "all");
        Assert.Equal(registry.All.Select(a => a.Name), plan.Architectures.Select(a => a.Name));
        Assert.Equal(FakeAttackSuite.Catalogue.Select(a => a.Id), plan.Attacks.Select(a => a.Id));
        Assert.Equal(registry.All.Count * FakeAttackSuite.Catalogue.Count, plan.Cells.Count);
        Assert.Equal(plan.Cells.Select(Name), Plan(null, null).Cells.Select(Name));
        Assert.Equal(plan.Cells.Count, Plan("vbase,all", "all,snoop").Cells.Count);
    }

    [Fact]
    public void ChosenNamesKeepRegistryAndCatalogueOrderWhateverOrderTheyAreGivenIn()
    {
        CampaignPlan plan = Plan(" vbase , none,vbase", "dom0-read,snoop,,dom0-read");
        Assert.Equal(["none", "vbase"], plan.Architectures.Select(a => a.Name));
        Assert.Equal(["snoop", "dom0-read"], plan.Attacks.Select(a => a.Id));
        Assert.Equal(["none/snoop", "none/dom0-read", "vbase/snoop", "vbase/dom0-read"], plan.Cells.Select(Name));
    }

    [Fact]
    public void UnknownNamesAreRefusedNamingTheKnownOnes()
    {
        string known = string.Join(", ", registry.All.Select(a => a.Name));
        var e = Assert.Throws<CampaignPlanException>(() => Plan("vbase,sgx"));
        Assert.Equal(CampaignChoice.Architecture, e.Choice);
        Assert.Equal($"unknown architecture 'sgx' (known: {known}, or all)", e.Message);

        e = Assert.Throws<CampaignPlanException>(() => Plan("sgx,tdx,sgx"));
        Assert.Equal($"unknown architectures 'sgx', 'tdx' (known: {known}, or all)", e.Message);

        e = Assert.Throws<CampaignPlanException>(() => Plan(attacks: "snoop,rowhammer"));
        Assert.Equal(CampaignChoice.Attack, e.Choice);
        Assert.Equal("unknown attack 'rowhammer' (known: snoop, spoof, kernel-read, dom0-read, or all)", e.Message);

        e = Assert.Throws<CampaignPlanException>(() => Plan(app: "bank"));
        Assert.Equal(CampaignChoice.App, e.Choice);
        Assert.Equal("unknown app 'bank' (known: paper, vault)", e.Message);

        e = Assert.Throws<CampaignPlanException>(() => Plan(" , "));
        Assert.StartsWith("no architecture named (known: ", e.Message);
    }

    [Fact]
    public void CellsComeByArchitectureThenAttackNotInTheOrderTheyFinish()
    {
        CampaignPlan plan = Plan();
        var finishedOrder = new List<string>();
        var counts = new List<int>();
        // The first cells sleep longest, so with four jobs the last cells finish first.
        var suite = new FakeAttackSuite { SlowestMilliseconds = 150 };
        CampaignResult result = Campaign.Run(plan, suite, new CampaignOptions(4, null, (cell, finished) =>
        {
            finishedOrder.Add($"{cell.Architecture.Name}/{cell.Attack.Id}");
            counts.Add(finished);
        }));

        string[] planned = [.. plan.Cells.Select(Name)];
        Assert.Equal(planned, result.Cells.Select(c => $"{c.Architecture.Name}/{c.Attack.Id}"));
        Assert.NotEqual(planned, finishedOrder);
        Assert.Equal(planned.Order(), finishedOrder.Order());
        Assert.Equal(Enumerable.Range(1, planned.Length), counts);
    }

    [Fact]
    public void OneJobAndFourJobsGiveByteIdenticalJson()
    {
        CampaignPlan plan = Plan();
        byte[] oneJob = CampaignJson.ToBytes(Run(plan, jobs: 1));
        byte[] fourJobs = CampaignJson.ToBytes(Campaign.Run(plan, new FakeAttackSuite { SlowestMilliseconds = 60 }, new CampaignOptions(4)));
        Assert.Equal(oneJob, fourJobs);
        Assert.Equal(oneJob, CampaignJson.ToBytes(Run(plan, jobs: 3)));
    }

    [Fact]
    public void TheSameSeedGivesTheSameBytesInAnyOutputFolder()
    {
        CampaignPlan plan = Plan();
        byte[] first = CampaignJson.ToBytes(Run(plan, 2, Path.Combine(directory, "a")));
        byte[] second = CampaignJson.ToBytes(Run(plan, 4, Path.Combine(directory, "deeper", "b")));
        Assert.Equal(first, second);
        Assert.DoesNotContain(directory, Encoding.UTF8.GetString(first));
        Assert.NotEqual(first, CampaignJson.ToBytes(Run(Plan(seed: 2), 2, Path.Combine(directory, "c"))));
    }

    [Fact]
    public void JsonCellsStartWithTheStableFieldsInOrder()
    {
        CampaignResult result = Run(Plan("none,vbase", "snoop,spoof"), 2, directory);
        byte[] bytes = CampaignJson.ToBytes(result);
        string text = Encoding.UTF8.GetString(bytes);
        Assert.EndsWith("}\n", text);
        Assert.False(text.EndsWith("\n\n", StringComparison.Ordinal));
        Assert.DoesNotContain("\r", text);
        Assert.StartsWith("{\n  \"cells\": [\n    {\n      \"arch\": \"none\",", text);

        using JsonDocument json = JsonDocument.Parse(bytes);
        JsonElement[] cells = [.. json.RootElement.GetProperty("cells").EnumerateArray()];
        Assert.Equal(4, cells.Length);
        Assert.Equal(["arch", "attack", "verdict", "impact", "outside_threat_model", "evidence", "app", "seed", "position", "goal",
            "instructions", "virtual_time", "events", "dram_traffic"], cells[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["none/snoop", "none/spoof", "vbase/snoop", "vbase/spoof"],
            cells.Select(c => $"{c.GetProperty("arch").GetString()}/{c.GetProperty("attack").GetString()}"));

        JsonElement noneSnoop = cells[0], vbaseSnoop = cells[2], vbaseSpoof = cells[3];
        Assert.Equal("breached", noneSnoop.GetProperty("verdict").GetString());
        Assert.Equal("confidentiality", noneSnoop.GetProperty("impact").GetString());
        Assert.True(noneSnoop.GetProperty("outside_threat_model").GetBoolean());
        Assert.Equal("prevented", vbaseSnoop.GetProperty("verdict").GetString());
        Assert.Equal(JsonValueKind.Null, vbaseSnoop.GetProperty("impact").ValueKind);
        Assert.False(vbaseSnoop.GetProperty("outside_threat_model").GetBoolean());
        Assert.Equal("integrity", vbaseSpoof.GetProperty("impact").GetString());
        Assert.Equal("vault", vbaseSpoof.GetProperty("app").GetString());
        Assert.Equal(1UL, vbaseSpoof.GetProperty("seed").GetUInt64());
        Assert.Equal("physical", vbaseSpoof.GetProperty("position").GetString());
        Assert.Equal("integrity", vbaseSpoof.GetProperty("goal").GetString());
        Assert.Equal("runs/vbase/spoof/events.jsonl", vbaseSpoof.GetProperty("events").GetString());
        Assert.True(File.Exists(Path.Combine(directory, "runs", "vbase", "spoof", "events.jsonl")));

        JsonElement vbaseSummary = json.RootElement.GetProperty("summary")[1];
        Assert.Equal("vbase", vbaseSummary.GetProperty("arch").GetString());
        Assert.Equal(1, vbaseSummary.GetProperty("breached").GetInt32());
        Assert.Equal(1, vbaseSummary.GetProperty("prevented").GetInt32());
        Assert.Equal(1, vbaseSummary.GetProperty("breached_inside_threat_model").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("summary")[0].GetProperty("breached_inside_threat_model").GetInt32());
    }

    [Fact]
    public void WithoutAnOutputFolderNoRunIsWrittenAndEventsIsNull()
    {
        var suite = new FakeAttackSuite();
        CampaignResult result = Run(Plan("vbase", "snoop"), suite: suite);
        Assert.Null(Assert.Single(suite.Requests).OutDirectory);
        using JsonDocument json = JsonDocument.Parse(CampaignJson.ToBytes(result));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("cells")[0].GetProperty("events").ValueKind);
    }

    [Fact]
    public void EachCellRunsWithThePlansAppAndSeedInItsOwnFolder()
    {
        var suite = new FakeAttackSuite();
        Run(Plan("vbase,none", "spoof,snoop", app: "paper", seed: 42), 3, directory, suite);
        AttackRunRequestSummary[] requests = [.. suite.Requests.Select(r => new AttackRunRequestSummary(r.Architecture, r.Attack, r.App, r.Seed, r.OutDirectory))
            .OrderBy(r => r.Architecture, StringComparer.Ordinal).ThenBy(r => r.Attack, StringComparer.Ordinal)];
        Assert.Equal(
        [
            new("none", "snoop", "paper", 42, Path.Combine(directory, "runs", "none", "snoop")),
            new("none", "spoof", "paper", 42, Path.Combine(directory, "runs", "none", "spoof")),
            new("vbase", "snoop", "paper", 42, Path.Combine(directory, "runs", "vbase", "snoop")),
            new("vbase", "spoof", "paper", 42, Path.Combine(directory, "runs", "vbase", "spoof")),
        ], requests);
    }

    private sealed record AttackRunRequestSummary(string Architecture, string Attack, string App, ulong Seed, string? OutDirectory);

    [Fact]
    public void ARunThatThrowsIsAnErrorCellAndTheOthersStillRun()
    {
        var suite = new FakeAttackSuite { Throwing = new HashSet<string> { "vbase/kernel-read" } };
        CampaignResult result = Run(Plan(), 4, directory, suite);
        CampaignCell broken = Assert.Single(result.Errors);
        Assert.Equal(("vbase", "kernel-read"), (broken.Architecture.Name, broken.Attack.Id));
        Assert.Equal(Verdict.Error, broken.Verdict);
        Assert.Null(broken.Impact);
        Assert.Null(broken.EventsLink);
        Assert.False(broken.OutsideThreatModel);
        Assert.Equal("The harness could not carry the attack out: InvalidOperationException: the fake harness broke on two lines", broken.Result.Evidence);
        Assert.Equal(Verdict.Breached, result.Cell("vbase", "spoof").Verdict);
        Assert.Equal(1, result.Summaries.Single(s => s.Architecture.Name == "vbase")[Verdict.Error]);
    }
}

public sealed class CampaignTrafficTests
{
    [Fact]
    public void TheReportsAndJsonCarryEachArchitecturesCostAgainstNone()
    {
        var registry = Vbase.Architectures.BuiltInArchitectures.CreateRegistry();
        var plan = new CampaignPlan([registry.Get("vbase")], [Vbase.Testbed.Attacks.AttackCatalogue.Find("phys-snoop")!, Vbase.Testbed.Attacks.AttackCatalogue.Find("dom0-read")!], "vault", 1);
        var cellTraffic = new Vbase.Sapi.Chip.DramTraffic(10, 5, 3, 2, 100, 15, 6, 1000);
        CampaignCell Cell(Vbase.Testbed.Attacks.AttackSpec a) => new(plan.Architectures[0], a,
            new Vbase.Testbed.Attacks.AttackRunResult("vbase", a.Id, "vault", Vbase.Testbed.Oracle.Verdict.Prevented, null, false, "e", null, 1, 1) { Traffic = cellTraffic }, null);
        // vbase: 100 + 20 data lines, 30 + 10 metadata lines; none: the same data lines, no metadata, no work.
        var costs = new Dictionary<string, Vbase.Sapi.Chip.DramTraffic>
        {
            ["vbase"] = new(100, 20, 30, 10, 5000, 100, 0, 1_000_000),
            ["none"] = new(100, 20, 0, 0, 5000, 0, 0, 1_000_000),
        };
        var result = new CampaignResult(plan, [Cell(plan.Attacks[0]), Cell(plan.Attacks[1])]) { Costs = costs };

        // Cycles: 1e6 + hits×0 + lines×200 + cipher×40: vbase 1,000,000 + 160×200 + 4,000 = 1,036,000; none 1,024,000.
        Assert.Equal(1_036_000UL, costs["vbase"].Cycles(result.Chip.Latencies));
        string md = MarkdownReport.Render(result);
        Assert.Contains("## Cost at the DRAM boundary", md);
        Assert.Contains("| **vbase** | 100 / 20 | 30 / 10 | 98.04% | 100 | 0 | 1,036,000 | 40 | 1.012× |", md);
        Assert.Contains("<td class=\"num\">1,036,000</td>", HtmlReport.Render(result));
        using JsonDocument json = JsonDocument.Parse(CampaignJson.ToBytes(result));
        JsonElement summary = json.RootElement.GetProperty("summary")[0];
        Assert.Equal(30, summary.GetProperty("cost").GetProperty("metadata_reads").GetInt64());
        Assert.Equal(40, summary.GetProperty("against_none").GetProperty("extra_dram_lines").GetInt64());
        Assert.Equal(1.0117, summary.GetProperty("against_none").GetProperty("slowdown").GetDouble());
        Assert.Equal(3, json.RootElement.GetProperty("cells")[0].GetProperty("dram_traffic").GetProperty("metadata_reads").GetInt64());
    }
}
