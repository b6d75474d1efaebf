using System.Text.Json;
using Vbase.Cli.Tests.Support;
using Vbase.Testbed.Campaigns;

namespace Vbase.Cli.Tests;

/// <summary>
/// <c>vbase campaign FILE.yaml</c>: a campaign file's sweep (architectures × attacks × apps × seeds × parameter values),
/// every mistake in it one located line with exit 65, its expansion, its determinism, and its shards and merge.
/// </summary>
public sealed class CampaignFileTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-campaign-file-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string File(string yaml, string name = "campaign.yaml")
    {
        string path = Path.Combine(directory, name);
        System.IO.File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Small: 2 architectures × 2 attacks, 2 seeds × 2 delays = 4 campaigns of 4 cells.</summary>
    private const string Sweep = """
        archs: [none, vbase]
        attacks: [phys-spoof, phys-replay]
        seeds: 1..2
        attack_params:
          phys-replay.delay: [200_000, 1_000_000]
          phys-spoof.data: 0x42
        jobs: 2
        """;

    private static CampaignFileSpec Load(string path) => CampaignFileLoader.Load(path, [], _ => BuiltInAttackSuite.Instance);

    [Fact]
    public void AFileExpandsToOneCampaignPerAppSeedAndParameterValue()
    {
        CampaignSweep sweep = Load(File(Sweep)).Sweep;
        Assert.Equal(4, sweep.Plans.Count);
        Assert.Equal(16, sweep.CellCount);
        Assert.Equal([(1UL, "200000"), (1UL, "1000000"), (2UL, "200000"), (2UL, "1000000")],
            sweep.Plans.Select(p => (p.Seed, p.Parameters.ForAttack("phys-replay")!["delay"])));
        Assert.All(sweep.Plans, p => Assert.Equal("0x42", p.Parameters.ForAttack("phys-spoof")!["data"]));
        Assert.All(sweep.Plans, p => Assert.Equal(["none", "vbase"], p.Architectures.Select(a => a.Name)));
        Assert.Equal(["seed 1, phys-replay.delay=200000", "seed 1, phys-replay.delay=1000000", "seed 2, phys-replay.delay=200000", "seed 2, phys-replay.delay=1000000"],
            Enumerable.Range(0, 4).Select(sweep.Label));
        Assert.Equal("1-seed1_phys-replay.delay-200000", sweep.Folder(0));
        // The axes are part of the id: another delay is another campaign.
        Assert.NotEqual(sweep.Id, Load(File(Sweep.Replace("1_000_000", "2_000_000", StringComparison.Ordinal), "other.yaml")).Sweep.Id);
    }

    [Fact]
    public void DefaultsAndSettingsComeFromTheFile()
    {
        string manifest = Path.Combine(Repository.Root, "src/Vbase.Testbed/Attacks/Apps/vault.yaml");
        System.IO.File.Copy(Vbase.Testbed.Attacks.AppCatalogue.Find("vault")!.ProgramPath, Path.Combine(directory, "vault.elf"));
        System.IO.File.WriteAllText(Path.Combine(directory, "mine.yaml"), System.IO.File.ReadAllText(manifest).Replace("name: vault", "name: mine", StringComparison.Ordinal));
        CampaignFileSpec spec = Load(File("apps: [paper, mine.yaml]\nllc_size: 256K\nllc_ways: 8\nout: o\njson: o.json\nshard: 2/3\njobs: 3\n"));
        Assert.Equal(2, spec.Sweep.Plans.Count);
        Assert.Equal("paper", spec.Sweep.Plans[0].App);
        Assert.EndsWith("mine.yaml", spec.Sweep.Plans[1].App, StringComparison.Ordinal);
        Assert.False(Path.IsPathRooted(spec.Sweep.Plans[1].App));
        Assert.Equal(9, spec.Sweep.Plans[0].Architectures.Count);   // archs and attacks default to all
        Assert.Equal(1UL, spec.Sweep.Plans[0].Seed);
        Assert.Equal((256 * 1024, 8), (spec.Sweep.Chip.CacheBytes, spec.Sweep.Chip.Ways));
        Assert.Equal(("o", "o.json", new CampaignShard(2, 3), (int?)3), (spec.OutDirectory, spec.Json, spec.Shard, spec.Jobs));
    }

    [Theory]
    [InlineData("arch: [none]\n", 1, 1, "arch", "unknown key (did you mean 'archs'?")]
    [InlineData("archs: [nne]\n", 1, 9, "archs[0]", "unknown architecture 'nne' (did you mean 'none'?")]
    [InlineData("archs: []\n", 1, 8, "archs", "empty")]
    [InlineData("attacks: phys-spooof\n", 1, 10, "attacks", "unknown attack 'phys-spooof' (did you mean 'phys-spoof'?")]
    [InlineData("apps: [safe]\n", 1, 8, "apps[0]", "unknown app 'safe'")]
    [InlineData("apps: [missing.yaml]\n", 1, 8, "apps[0]", "'missing.yaml' not found")]
    [InlineData("seeds: []\n", 1, 8, "seeds", "empty")]
    [InlineData("seeds: [1, x]\n", 1, 12, "seeds[1]", "'x' is not a seed")]
    [InlineData("seeds: 5..2\n", 1, 8, "seeds", "'5..2' is not a range of seeds")]
    [InlineData("seeds: [1, 1]\n", 1, 8, "seeds", "a seed is given twice")]
    [InlineData("attack_params: [1]\n", 1, 16, "attack_params", "expected parameters as")]
    [InlineData("attack_params:\n  delay: 5\n", 2, 3, "attack_params.delay", "'delay' is not ATTACK.KEY")]
    [InlineData("attack_params:\n  phys-spoof.delay: []\n", 2, 21, "attack_params.phys-spoof.delay", "empty: give at least one value")]
    [InlineData("attacks: [phys-spoof]\nattack_params:\n  phys-spoof.dta: 5\n", 3, 3, "attack_params.phys-spoof.dta", "phys-spoof has no parameter 'dta'")]
    [InlineData("attacks: [phys-spoof]\nattack_params:\n  phys-spoof.data: [1, much]\n", 3, 24, "attack_params.phys-spoof.data", "expected a whole number")]
    [InlineData("attacks: [phys-spoof]\nattack_params:\n  os-read.delay: 5\n", 3, 3, "attack_params.os-read.delay", "'os-read' is not an attack of this campaign")]
    [InlineData("archs: [bmt]\narch_params:\n  xom.x: 5\n", 3, 3, "arch_params.xom.x", "'xom' is not an architecture of this campaign")]
    [InlineData("archs: [bmt]\narch_params:\n  bmt.tree-arity: [4, 1000]\n", 3, 23, "arch_params.bmt.tree-arity", "expected 2 to 8")]
    [InlineData("llc_size: huge\n", 1, 11, "llc_size", "'huge' is not a cache size")]
    [InlineData("llc_ways: 65\n", 1, 11, "llc_ways", "65 is out of range")]
    [InlineData("jobs: 0\n", 1, 7, "jobs", "0 is out of range")]
    [InlineData("shard: 4/3\n", 1, 8, "shard", "K must be 1 to 3")]
    [InlineData("plugins: [nowhere.dll]\n", 1, 11, "plugins[0]", "'nowhere.dll' not found")]
    [InlineData("archs: {a: b}\n", 1, 8, "archs", "expected a single value, not a mapping")]
    [InlineData("seeds: [1, [2]]\n", 1, 12, "seeds[1]", "expected a single value, not a list")]
    [InlineData("- archs\n", 1, 1, "", "expected the campaign as 'key: value' lines")]
    [InlineData("archs: [none\n", 2, 1, "", "not valid YAML")]
    public void EveryMistakeIsOneLocatedLineAndExit65(string yaml, int line, int column, string field, string problem)
    {
        string path = File(yaml);
        CampaignFileException e = Assert.Throws<CampaignFileException>(() => Load(path));
        Assert.Equal((line, column, field), (e.Line, e.Column, e.Field));
        Assert.Contains(problem, e.Problem);
        CliResult r = CliRunner.Run("campaign", path);
        Assert.True(r.ExitCode == 65, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.Equal($"vbase: error: {e.Message}", Assert.Single(r.StderrLines));
        Assert.StartsWith($"{path}:{line}:{column}: ", e.Message);
    }

    [Fact]
    public void AMissingOrEmptyFileIsOneLine()
    {
        foreach (string path in new[] { Path.Combine(directory, "none.yaml"), File("", "empty.yaml") })
        {
            CliResult r = CliRunner.Run("campaign", path);
            Assert.True(r.ExitCode == 65, $"exit {r.ExitCode}: {r.Stderr}");
            Assert.StartsWith($"vbase: error: {path}: ", Assert.Single(r.StderrLines));
        }
    }

    [Fact]
    public void OptionsThatShapeThePlanDoNotGoWithAFile()
    {
        CliResult r = CliRunner.Run("campaign", File(Sweep), "--seed", "3");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--seed: not with a campaign file", Assert.Single(r.StderrLines));
    }

    [Fact]
    public void ASweepRunsThroughTheCliAndTheSameFileGivesTheSameBytes()
    {
        string path = File(Sweep);
        string out1 = Path.Combine(directory, "o1"), json1 = Path.Combine(directory, "s1.json"), json2 = Path.Combine(directory, "s2.json");
        CliResult r = CliRunner.Run("campaign", path, "--out", out1, "--json", json1);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("4 campaigns, 16 cells", r.Stdout);
        Assert.Contains("campaign 4/4: seed 2, phys-replay.delay=1000000: 4 cells", r.Stdout);
        Assert.Equal(0, CliRunner.Run("campaign", path, "--json", json2, "--jobs", "1", "--out", Path.Combine(directory, "o2")).ExitCode);
        Assert.Equal(System.IO.File.ReadAllBytes(json1), System.IO.File.ReadAllBytes(json2));
        Assert.Equal(System.IO.File.ReadAllBytes(Path.Combine(out1, "report.html")), System.IO.File.ReadAllBytes(Path.Combine(directory, "o2", "report.html")));

        using JsonDocument d = JsonDocument.Parse(System.IO.File.ReadAllBytes(json1));
        JsonElement root = d.RootElement;
        Assert.Equal(CampaignSweep.Format, root.GetProperty("format").GetString());
        Assert.Equal(["200000", "1000000"], root.GetProperty("axes").GetProperty("attack_params").GetProperty("phys-replay.delay").EnumerateArray().Select(e => e.GetString()));
        JsonElement[] campaigns = [.. root.GetProperty("campaigns").EnumerateArray()];
        Assert.Equal(4, campaigns.Length);
        foreach (JsonElement campaign in campaigns)
        {
            string folder = campaign.GetProperty("folder").GetString()!;
            Assert.True(System.IO.File.Exists(Path.Combine(out1, folder, "report.html")), folder);
            JsonElement[] cells = [.. campaign.GetProperty("result").GetProperty("cells").EnumerateArray()];
            Assert.Equal(4, cells.Length);
            Assert.All(cells, c => Assert.True(System.IO.File.Exists(Path.Combine(out1, folder, c.GetProperty("events").GetString()!))));
        }
        // The delay reached the replay's cells: its attack.fired event says so.
        string fired = System.IO.File.ReadLines(Path.Combine(out1, campaigns[1].GetProperty("folder").GetString()!, "runs/vbase/phys-replay/events.jsonl"))
            .First(l => l.Contains("\"attack.fired\"", StringComparison.Ordinal));
        Assert.Contains("\"delay\":1000000,\"delay_by\":\"parameter\"", fired);
        string index = System.IO.File.ReadAllText(Path.Combine(out1, "report.md"));
        Assert.Contains("## seed 2, phys-replay.delay=200000", index);
        Assert.Contains("3-seed2_phys-replay.delay-200000/report.html", index);
    }

    [Fact]
    public void SeedsOneToFourFireAtDifferentTimesOnDifferentBlocks()
    {
        string path = File("archs: [none]\nattacks: [dom0-write]\nseeds: 1..4\n");
        string outDirectory = Path.Combine(directory, "seeds");
        CliResult r = CliRunner.Run("campaign", path, "--out", outDirectory, "--jobs", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var chosen = Directory.GetDirectories(outDirectory).Order(StringComparer.Ordinal).Select(folder =>
        {
            string fired = System.IO.File.ReadLines(Path.Combine(folder, "runs/none/dom0-write/events.jsonl")).First(l => l.Contains("\"attack.fired\"", StringComparison.Ordinal));
            JsonElement fields = JsonDocument.Parse(fired).RootElement.GetProperty("fields");
            return (fields.GetProperty("delay").GetUInt64(), fields.GetProperty("block").GetInt64());
        }).ToList();
        Assert.Equal(4, chosen.Count);
        Assert.Equal(4, chosen.Select(c => c.Item1).Distinct().Count());
        Assert.True(chosen.Select(c => c.Item2).Distinct().Count() >= 2, string.Join(", ", chosen));
    }

    [Fact]
    public void ShardsOfAFileMergeIntoTheSameBytes()
    {
        string path = File(Sweep);
        string whole = Path.Combine(directory, "whole.json"), wholeOut = Path.Combine(directory, "whole");
        Assert.Equal(0, CliRunner.Run("campaign", path, "--json", whole, "--out", wholeOut).ExitCode);
        string shared = Path.Combine(directory, "shared");
        string[] parts = [Path.Combine(directory, "p1.json"), Path.Combine(directory, "p2.json")];
        for (int k = 1; k <= 2; k++)
        {
            CliResult shard = CliRunner.Run("campaign", path, "--shard", $"{k}/2", "--json", parts[k - 1], "--out", shared);
            Assert.True(shard.ExitCode == 0, shard.Stderr);
            Assert.Contains($"shard {k}/2", shard.Stdout);
        }
        string merged = Path.Combine(directory, "merged.json"), mergedOut = Path.Combine(directory, "merged");
        CliResult m = CliRunner.Run("campaign", "merge", parts[1], parts[0], "--json", merged, "--out", mergedOut);
        Assert.True(m.ExitCode == 0, m.Stderr);
        Assert.Contains("4 campaigns, 16 cells", m.Stdout);
        Assert.Equal(System.IO.File.ReadAllBytes(whole), System.IO.File.ReadAllBytes(merged));
        Assert.Equal(System.IO.File.ReadAllBytes(Path.Combine(wholeOut, "report.md")), System.IO.File.ReadAllBytes(Path.Combine(mergedOut, "report.md")));
        CliResult missing = CliRunner.Run("campaign", "merge", parts[0], "--json", merged);
        Assert.Equal(65, missing.ExitCode);
        Assert.Contains("shard 2 of 2 is missing", Assert.Single(missing.StderrLines));
    }

    [Fact]
    public void TheSlurmTasksGetTheFile()
    {
        string path = File(Sweep);
        CliResult r = CliRunner.Run("campaign", path, "--slurm-script", "--out", Path.Combine(directory, "c"), "--shards", "3");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("16 cells, 4 campaigns of campaign.yaml, in 3 shards", r.Stdout);
        Assert.Contains($" campaign {path} --jobs 2 --out ", r.Stdout);
        Assert.Contains("--shard \"${SLURM_ARRAY_TASK_ID}/3\"", r.Stdout);
        Assert.DoesNotContain("--arch", r.Stdout);
    }

    [Fact]
    public void OnSlurmTheTasksRunTheFilesShardsAndTheirPartsMerge()
    {
        SlurmCampaign.Current = FakeSlurm.Create(Path.Combine(directory, "bin"));
        string path = File(Sweep), outDirectory = Path.Combine(directory, "out"), json = Path.Combine(directory, "slurm.json");
        string[] slurm = ["campaign", path, "--slurm", "--shards", "2", "--out", outDirectory, "--json", json];
        // The stand-in sbatch runs no task: both shards end without a part.
        CliResult r = CliRunner.Run(slurm);
        Assert.True(r.ExitCode == CampaignExitCodes.ShardsFailed, r.Stderr);
        Assert.Contains($"campaign file {path}: 4 campaigns, 16 cells, in 2 shards on Slurm", r.Stdout);
        Assert.Contains($" campaign {path} --jobs 2 --out {outDirectory} \\", System.IO.File.ReadAllText(Path.Combine(directory, "bin", "submitted-0.sbatch")));
        // Run the tasks' command by hand, then --resume finds every part and merges.
        for (int k = 1; k <= 2; k++)
        {
            CliResult task = CliRunner.Run("campaign", path, "--jobs", "2", "--out", outDirectory, "--shard", $"{k}/2",
                "--json", Path.Combine(outDirectory, "slurm", $"part-{k}.json"));
            Assert.True(task.ExitCode == 0, task.Stderr);
        }
        r = CliRunner.Run([.. slurm, "--resume"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("nothing to submit", r.Stdout);
        string whole = Path.Combine(directory, "whole.json");
        Assert.Equal(0, CliRunner.Run("campaign", path, "--json", whole, "--out", Path.Combine(directory, "whole")).ExitCode);
        Assert.Equal(System.IO.File.ReadAllBytes(whole), System.IO.File.ReadAllBytes(json));
        Assert.Equal(System.IO.File.ReadAllBytes(Path.Combine(directory, "whole", "report.html")), System.IO.File.ReadAllBytes(Path.Combine(outDirectory, "report.html")));
    }

    [Fact]
    public void AFileOfOneCampaignIsThatCampaign()
    {
        string fromFile = Path.Combine(directory, "file.json"), fromOptions = Path.Combine(directory, "options.json");
        CliResult a = CliRunner.Run("campaign", File("archs: [none, vbase]\nattacks: [phys-snoop]\nseeds: 3\n"), "--json", fromFile);
        Assert.True(a.ExitCode == 0, a.Stderr);
        Assert.Equal(0, CliRunner.Run("campaign", "--arch", "none,vbase", "--attack", "phys-snoop", "--seed", "3", "--json", fromOptions).ExitCode);
        Assert.Equal(System.IO.File.ReadAllBytes(fromOptions), System.IO.File.ReadAllBytes(fromFile));
    }

    [Fact]
    public void TheShippedExampleLoads()
    {
        CampaignSweep sweep = Load(Path.Combine(Repository.Root, "scenarios/campaigns/replay-sweep.yaml")).Sweep;
        Assert.Equal(4, sweep.Plans.Count);
        Assert.Equal(36, sweep.CellCount);
    }
}
