using Vbase.Cli.Tests.Support;
using Vbase.Sapi.Chip;
using Vbase.Testbed.Campaigns;
using Vbase.Testbed.Tests.Campaigns;

namespace Vbase.Cli.Tests;

/// <summary>
/// <c>vbase campaign --shard</c>, <c>vbase campaign merge</c> and <c>--slurm</c> with the fake attack suite
/// (milliseconds per cell) and, for --slurm, stand-ins for sbatch and squeue; the real Slurm is in <see cref="SlurmCampaignTests"/>.
/// </summary>
public sealed class CampaignShardTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-cli-shards-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    internal static readonly FakeAttackSuite Suite = new()
    {
        Cost = architecture => new DramTraffic(100 + architecture.Length, 20, architecture.Length, 3, 5000, 7, 9, 11_000_000),
    };

    private static readonly string[] Plan = ["--arch", "none,vbase,sgx-mee", "--seed", "3"];

    private static CliResult Campaign(params string[] args)
    {
        CampaignCommand.Suite = Suite;
        CampaignCommand.StdoutIsTerminal = false;
        return CliRunner.Run(["campaign", .. args]);
    }

    private string In(params string[] parts) => Path.Combine([directory, .. parts]);

    private static string OneError(CliResult r, int exitCode)
    {
        Assert.True(exitCode == r.ExitCode, $"exit code {r.ExitCode}, stdout: {r.Stdout}, stderr: {r.Stderr}");
        string line = Assert.Single(r.StderrLines);
        Assert.StartsWith("vbase: error: ", line);
        return line;
    }

    /// <summary>Runs shard K of N into its own folder and returns the part's path.</summary>
    private string Shard(int k, int n, params string[] extra)
    {
        string part = In("shards", $"{k}", "part.json");
        Directory.CreateDirectory(Path.GetDirectoryName(part)!);
        CliResult r = Campaign([.. Plan, "--shard", $"{k}/{n}", "--out", In("shards", $"{k}"), "--json", part, .. extra]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return part;
    }

    [Fact]
    public void ThreeShardsMergeToTheUnshardedJsonReportsAndRunsByteForByte()
    {
        Assert.Equal(0, Campaign([.. Plan, "--out", In("whole"), "--json", In("whole.json")]).ExitCode);
        string[] parts = [Shard(3, 3), Shard(1, 3), Shard(2, 3)];

        CliResult merged = Campaign(["merge", .. parts, "--json", In("merged.json"), "--out", In("merged")]);
        Assert.True(merged.ExitCode == 0, merged.Stderr);
        Assert.Equal(File.ReadAllBytes(In("whole.json")), File.ReadAllBytes(In("merged.json")));
        foreach (string report in new[] { "report.md", "report.html" })
        {
            Assert.Equal(File.ReadAllBytes(In("whole", report)), File.ReadAllBytes(In("merged", report)));
        }
        string[] runs = [.. Directory.GetFiles(In("whole", "runs"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(In("whole"), f)).Order()];
        Assert.Equal(12, runs.Length);
        Assert.Equal(runs, Directory.GetFiles(In("merged", "runs"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(In("merged"), f)).Order());
        Assert.All(runs, f => Assert.Equal(File.ReadAllBytes(In("whole", f)), File.ReadAllBytes(In("merged", f))));

        string[] lines = merged.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^merged: 3 parts of campaign [0-9a-f]{12}, 12 cells$", lines[0]);
        Assert.StartsWith("none ", lines[1]);
        Assert.Contains(" 0 prevented, 0 detected, 4 breached,", lines[1]);
        Assert.Equal($"json: {In("merged.json")}", lines[^1]);
    }

    [Fact]
    public void AShardSaysWhatItRunsAndWritesItsPartButNoReports()
    {
        CliResult r = Campaign([.. Plan, "--shard", "2/3", "--jobs", "1", "--out", In("s"), "--json", In("s", "part.json")]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("campaign: 3 architectures x 4 attacks = 12 cells, app vault, seed 3, 1 at a time", lines[0]);
        Assert.Matches(@"^shard 2/3: \d+ of the 12 cells, \d+ of the 3 cost runs$", lines[1]);
        Assert.Matches($@"^part: {System.Text.RegularExpressions.Regex.Escape(In("s", "part.json"))} \(shard 2/3 of campaign [0-9a-f]{{12}}\)$", lines[^1]);
        Assert.False(File.Exists(In("s", "report.md")));
        Assert.Contains("\"shard\": \"2/3\"", File.ReadAllText(In("s", "part.json")));
        Assert.Empty(Directory.GetFiles(In("s"), "*.tmp"));
    }

    [Theory]
    [InlineData("0/3", "'0/3': K must be 1 to 3 (shards count from 1)")]
    [InlineData("4/3", "'4/3': K must be 1 to 3 (shards count from 1)")]
    [InlineData("a/b", "'a/b' is not K/N (the K-th of N shards, e.g. 2/3)")]
    [InlineData("3", "'3' is not K/N (the K-th of N shards, e.g. 2/3)")]
    public void AMalformedShardSpecIsAUsageError(string spec, string message)
    {
        Assert.Equal($"vbase: error: --shard: {message} (see 'vbase --help')",
            OneError(Campaign("--shard", spec, "--json", In("p.json")), CampaignExitCodes.UsageError));
        Assert.False(File.Exists(In("p.json")));
    }

    [Theory]
    [InlineData(new[] { "--shard", "1/3" }, "--shard needs --json FILE: the part that 'vbase campaign merge' reads")]
    [InlineData(new[] { "--shard", "1/3", "--slurm", "--out", "o" }, "--shard: not with --slurm, which gives each task its shard")]
    [InlineData(new[] { "--partition", "gpu" }, "--partition needs --slurm or --slurm-script")]
    [InlineData(new[] { "--shards", "4" }, "--shards needs --slurm or --slurm-script")]
    [InlineData(new[] { "--resume" }, "--resume needs --slurm or --slurm-script")]
    [InlineData(new[] { "--slurm" }, "--slurm needs --out DIR, on a filesystem every node sees: the tasks write their parts, logs and runs there")]
    [InlineData(new[] { "--slurm", "--time", "1h", "--out", "o" }, "--time: '1h' is not a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS) (see 'vbase --help')")]
    [InlineData(new[] { "--slurm", "--partition", "a b", "--out", "o" }, "--partition: 'a b' is not a Slurm partition name (letters, digits, '_', '.', '-'; a comma between several) (see 'vbase --help')")]
    [InlineData(new[] { "--slurm", "--shards", "0", "--out", "o" }, "--shards: '0' is not a whole number from 1 to 10000 (see 'vbase --help')")]
    public void OptionsThatDoNotGoTogetherAreUsageErrors(string[] args, string message)
    {
        Assert.Equal($"vbase: error: {message}", OneError(Campaign(args), CampaignExitCodes.UsageError));
    }

    [Fact]
    public void PartsOfDifferentCampaignsAreADataError()
    {
        string one = Shard(1, 2);
        CliResult r = Campaign("--arch", "none,vbase,sgx-mee", "--seed", "4", "--shard", "2/2", "--json", In("other.json"));
        Assert.Equal(0, r.ExitCode);
        Assert.Matches($@"^vbase: error: campaign merge: {System.Text.RegularExpressions.Regex.Escape(one)} and {System.Text.RegularExpressions.Regex.Escape(In("other.json"))} "
            + @"are shards of different campaigns \([0-9a-f]{12}… and [0-9a-f]{12}…: another plan, seed, app or chip\)$",
            OneError(Campaign("merge", one, In("other.json"), "--json", In("m.json")), CampaignExitCodes.DataError));
        Assert.False(File.Exists(In("m.json")));
    }

    [Fact]
    public void MissingOverlappingAndForeignPartsAreDataErrors()
    {
        string one = Shard(1, 3), three = Shard(3, 3);
        Assert.Equal("vbase: error: campaign merge: shard 2 of 3 is missing",
            OneError(Campaign("merge", one, three, "--json", In("m.json")), CampaignExitCodes.DataError));
        Assert.Equal($"vbase: error: campaign merge: shard 1/3 is given more than once: {one}, {one}",
            OneError(Campaign("merge", one, one, three, "--json", In("m.json")), CampaignExitCodes.DataError));

        string two = Shard(2, 3);
        File.WriteAllText(two, File.ReadAllText(two).Replace($"\"tool\": \"{CampaignCommand.Tool}\"", "\"tool\": \"vbase 0.1.0\"", StringComparison.Ordinal));
        Assert.Equal($"vbase: error: campaign merge: {two} was written by vbase 0.1.0, this is {CampaignCommand.Tool}: merge with the vbase that ran the shards",
            OneError(Campaign("merge", one, two, three, "--json", In("m.json")), CampaignExitCodes.DataError));

        File.WriteAllText(In("notes.json"), "{\"cells\": []}");
        Assert.Equal($"vbase: error: campaign merge: {In("notes.json")}: not a campaign part (no \"format\"; a part is what vbase campaign --shard K/N --json writes)",
            OneError(Campaign("merge", one, In("notes.json"), "--json", In("m.json")), CampaignExitCodes.DataError));
        Assert.StartsWith($"vbase: error: campaign merge: {In("nope.json")}: ",
            OneError(Campaign("merge", In("nope.json"), "--json", In("m.json")), CampaignExitCodes.DataError));
        Assert.False(File.Exists(In("m.json")));
    }

    [Fact]
    public void AMergeWithNothingToWriteOrNoPartsIsAUsageError()
    {
        Assert.Equal("vbase: error: campaign merge: nothing to write; give --json FILE, --out DIR or both",
            OneError(Campaign("merge", Shard(1, 1)), CampaignExitCodes.UsageError));
        OneError(Campaign("merge", "--json", In("m.json")), CampaignExitCodes.UsageError);
    }

    private SlurmCampaign.Host FakeSlurm() => Support.FakeSlurm.Create(In("bin"));

    [Fact]
    public void WithoutSbatchOnPathSlurmIsUnavailable()
    {
        Directory.CreateDirectory(In("empty"));
        SlurmCampaign.Current = new SlurmCampaign.Host(In("empty"), new Dictionary<string, string>(), TimeSpan.FromMilliseconds(10));
        Assert.Equal("vbase: error: --slurm: sbatch is not on PATH (run vbase where Slurm's commands are, such as a login node; --slurm-script prints the script)",
            OneError(Campaign([.. Plan, "--slurm", "--out", In("out")]), CampaignExitCodes.Unavailable));
        Assert.False(Directory.Exists(In("out")));
        // The script needs no Slurm here.
        Assert.Equal(0, Campaign([.. Plan, "--slurm-script", "--out", In("out")]).ExitCode);
    }

    [Fact]
    public void TheScriptIsAnArrayOfOneShardPerTask()
    {
        CliResult r = Campaign([.. Plan, "--slurm-script", "--shards", "4", "--partition", "short", "--time", "0-01:30", "--jobs", "2", "--out", In("out")]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string[] lines = r.Stdout.Split('\n');
        Assert.Equal("#!/bin/bash", lines[0]);
        Assert.Matches(@"^#SBATCH --job-name=vbase-[0-9a-f]{12}$", lines[3]);
        Assert.Equal(["#SBATCH --array=1-4", $"#SBATCH --output={In("out", "slurm", "shard-%a.log")}", "#SBATCH --partition=short",
            "#SBATCH --time=0-01:30", "#SBATCH --cpus-per-task=2", "set -eu"], lines[4..10]);
        Assert.Matches(@"^exec \S+ campaign --arch none,sgx-mee,vbase --attack snoop,spoof,kernel-read,dom0-read --app vault --seed 3 "
            + $@"--llc-size 1048576 --llc-ways 16 --jobs 2 --out {System.Text.RegularExpressions.Regex.Escape(In("out"))} \\$", lines[10]);
        Assert.Equal($"    --shard \"${{SLURM_ARRAY_TASK_ID}}/4\" --json {In("out", "slurm", "part-")}\"${{SLURM_ARRAY_TASK_ID}}\".json", lines[11]);
        Assert.False(Directory.Exists(In("out")));
    }

    [Fact]
    public void FailedTasksAreReportedAndResumeSubmitsOnlyThem()
    {
        SlurmCampaign.Current = FakeSlurm();
        string[] slurm = [.. Plan, "--slurm", "--shards", "3", "--out", In("out"), "--json", In("slurm.json")];

        // No task writes a part: all three failed.
        CliResult r = Campaign(slurm);
        Assert.Equal($"vbase: error: campaign: shards 1, 2, 3 of 3 ended without a part (logs: {In("out", "slurm", "shard-1.log")}, …); "
            + "the same command with --resume submits just those", OneError(r, CampaignExitCodes.ShardsFailed));
        Assert.Contains($"slurm: submitted job 4242, shards 1-3 of 3 (script {In("out", "slurm", "campaign.sbatch")})\n", r.Stdout);
        Assert.Contains($"slurm: shard 2/3 failed: its task ended without a part (log {In("out", "slurm", "shard-2.log")})\n", r.Stdout);
        Assert.Contains("#SBATCH --array=1-3\n", File.ReadAllText(In("bin", "submitted-0.sbatch")));

        // Shards 1 and 3 ran after all (as their tasks would have): --resume submits shard 2 alone.
        foreach (int k in new[] { 1, 3 })
        {
            Assert.Equal(0, Campaign([.. Plan, "--shard", $"{k}/3", "--out", In("out"), "--json", In("out", "slurm", $"part-{k}.json")]).ExitCode);
        }
        r = Campaign([.. slurm, "--resume"]);
        Assert.Equal($"vbase: error: campaign: shard 2 of 3 ended without a part (logs: {In("out", "slurm", "shard-2.log")}); "
            + "the same command with --resume submits just that one", OneError(r, CampaignExitCodes.ShardsFailed));
        Assert.Contains("#SBATCH --array=2\n", File.ReadAllText(In("bin", "submitted-1.sbatch")));

        // With every part there, --resume submits nothing and merges.
        Assert.Equal(0, Campaign([.. Plan, "--shard", "2/3", "--out", In("out"), "--json", In("out", "slurm", "part-2.json")]).ExitCode);
        r = Campaign([.. slurm, "--resume"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($"slurm: every shard's part is in {In("out", "slurm")}; nothing to submit\n", r.Stdout);
        Assert.False(File.Exists(In("bin", "submitted-2.sbatch")));
        Assert.Equal(0, Campaign([.. Plan, "--out", In("whole"), "--json", In("whole.json")]).ExitCode);
        Assert.Equal(File.ReadAllBytes(In("whole.json")), File.ReadAllBytes(In("slurm.json")));
        Assert.Equal(File.ReadAllBytes(In("whole", "report.html")), File.ReadAllBytes(In("out", "report.html")));

        // Without --resume the parts of the last run are not taken for this one's.
        r = Campaign(slurm);
        Assert.Equal(CampaignExitCodes.ShardsFailed, r.ExitCode);
        Assert.False(File.Exists(In("out", "slurm", "part-1.json")));
    }

    [Fact]
    public void ASbatchThatRefusesIsReportedInOneLine()
    {
        SlurmCampaign.Host host = FakeSlurm();
        File.WriteAllText(Path.Combine(host.SearchPath!, "sbatch"), "#!/bin/bash\necho 'sbatch: error: invalid partition specified: nope' >&2\nexit 1\n");
        SlurmCampaign.Current = host;
        Assert.Equal($"vbase: error: --slurm: sbatch did not submit {In("out", "slurm", "campaign.sbatch")}: sbatch: error: invalid partition specified: nope",
            OneError(Campaign([.. Plan, "--slurm", "--partition", "nope", "--out", In("out")]), CampaignExitCodes.Unavailable));
    }

    [Fact]
    public void ArraySpecsJoinRuns()
    {
        Assert.Equal("1-3", SlurmCampaign.ArraySpec([1, 2, 3]));
        Assert.Equal("2", SlurmCampaign.ArraySpec([2]));
        Assert.Equal("1,3-5,9", SlurmCampaign.ArraySpec([1, 3, 4, 5, 9]));
    }
}

/// <summary>
/// A campaign through a real Slurm: a one-node cluster on localhost started for the test, three shards as an array
/// job, their parts merged into JSON that must be the local run's, byte for byte.
/// </summary>
public sealed class SlurmCampaignTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-cli-slurm-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [SlurmFact]
    public void ThreeShardsOnSlurmMergeToTheLocalRunsBytes()
    {
        // The real attack suite, small: 2 architectures x 3 attacks and 2 cost runs, each task a vbase process.
        string[] plan = ["--arch", "none,vbase", "--attack", "phys-snoop,os-read,dom0-read"];
        CampaignCommand.StdoutIsTerminal = false;
        string local = Path.Combine(directory, "local.json"), merged = Path.Combine(directory, "slurm.json");
        CliResult r = CliRunner.Run(["campaign", .. plan, "--json", local, "--out", Path.Combine(directory, "local")]);
        Assert.True(r.ExitCode == 0, r.Stderr);

        using SlurmCluster cluster = SlurmCluster.Start();
        SlurmCampaign.Current = new SlurmCampaign.Host(null, cluster.Environment, TimeSpan.FromMilliseconds(300));
        r = CliRunner.Run(["campaign", .. plan, "--slurm", "--shards", "3", "--time", "5", "--out", Path.Combine(directory, "slurm"), "--json", merged]);
        string logs = string.Join("\n", Directory.GetFiles(Path.Combine(directory, "slurm", "slurm"), "*.log").Select(File.ReadAllText));
        Assert.True(r.ExitCode == 0, $"{r.Stdout}\n{r.Stderr}\n{logs}\n{cluster.Log}");
        Assert.Matches(@"slurm: submitted job \d+, shards 1-3 of 3", r.Stdout);
        Assert.Equal(File.ReadAllBytes(local), File.ReadAllBytes(merged));
        Assert.Equal(File.ReadAllBytes(Path.Combine(directory, "local", "report.md")), File.ReadAllBytes(Path.Combine(directory, "slurm", "report.md")));
        Assert.Equal(3, Directory.GetFiles(Path.Combine(directory, "slurm", "slurm"), "part-*.json").Length);
    }
}
