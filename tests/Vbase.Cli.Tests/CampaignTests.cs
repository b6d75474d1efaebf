using System.Text.Json;
using Vbase.Architectures;
using Vbase.Cli.Tests.Support;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Campaigns;
using Vbase.Testbed.Oracle;

namespace Vbase.Cli.Tests;

/// <summary>
/// <c>vbase campaign</c> and <c>vbase list attacks</c>: options, output lines, files and exit codes, with a fake attack
/// suite (milliseconds per cell); and one real campaign through the attack runner.
/// </summary>
public sealed class CampaignTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-cli-campaign-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>Two attacks; under <c>none</c> both breach, elsewhere the snoop is prevented and the spoof detected.</summary>
    private sealed class FakeSuite(params string[] failing) : IAttackSuite
    {
        private readonly ArchitectureRegistry registry = BuiltInArchitectures.CreateRegistry();

        public IReadOnlyList<AttackSpec> Attacks { get; } =
        [
            new("snoop", AttackPosition.Physical, AttackGoal.Confidentiality, "read DRAM", [new("delay", "app", "instructions before it fires")]),
            new("spoof", AttackPosition.Physical, AttackGoal.Integrity, "overwrite a block in DRAM", []),
        ];

        public IReadOnlyList<string> Apps => ["paper", "vault"];

        public AttackRunResult Run(AttackRunRequest request)
        {
            if (failing.Contains($"{request.Architecture}/{request.Attack}"))
            {
                throw new InvalidOperationException("no attacker VM could be built");
            }
            ArchitectureInfo arch = registry.Get(request.Architecture);
            AttackSpec attack = Attacks.Single(a => a.Id == request.Attack);
            (Verdict verdict, Impact? impact) = arch.Name == "none"
                ? (Verdict.Breached, attack.Goal == AttackGoal.Integrity ? Impact.Integrity : Impact.Confidentiality)
                : (attack.Id == "snoop" ? Verdict.Prevented : Verdict.Detected, (Impact?)null);
            string? events = null;
            if (request.OutDirectory is string folder)
            {
                events = Path.Combine(folder, "events.jsonl");
                File.WriteAllText(events, "{}\n");
            }
            return new AttackRunResult(arch.Name, attack.Id, request.App, verdict, impact, !arch.ThreatModel.Covers(attack.Principal),
                $"{attack.Id} under {arch.Name}", events, 10, 20);
        }
    }

    private static CliResult Campaign(IAttackSuite suite, params string[] args)
    {
        CampaignCommand.Suite = suite;
        CampaignCommand.StdoutIsTerminal = false;
        return CliRunner.Run(["campaign", .. args]);
    }

    private static string OneError(CliResult r, int exitCode)
    {
        Assert.True(exitCode == r.ExitCode, $"exit code {r.ExitCode}, stderr: {r.Stderr}");
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.StderrLines);
        Assert.StartsWith("vbase: error: ", line);
        return line;
    }

    [Fact]
    public void ACampaignPrintsOneLinePerCellAndWritesTheJson()
    {
        string json = Path.Combine(directory, "campaign.json");
        CliResult r = Campaign(new FakeSuite(), "--arch", "vbase,none", "--jobs", "1", "--json", json);
        Assert.True(r.ExitCode == CampaignExitCodes.Success, r.Stderr);
        Assert.Equal("", r.Stderr);
        Assert.Equal(
        [
            "campaign: 2 architectures x 2 attacks = 4 cells, app vault, seed 1, 1 at a time",
            "[1/4] none   snoop  breached (confidentiality), outside its threat model",
            "[2/4] none   spoof  breached (integrity), outside its threat model",
            "[3/4] vbase  snoop  prevented",
            "[4/4] vbase  spoof  detected",
            "none   0 prevented, 0 detected, 2 breached, 0 denied, 0 inconclusive, 0 error; inside its threat model: 0 breached",
            "vbase  1 prevented, 1 detected, 0 breached, 0 denied, 0 inconclusive, 0 error; inside its threat model: 0 breached",
            $"json: {json}",
        ], r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(json));
        JsonElement first = document.RootElement.GetProperty("cells")[0];
        Assert.Equal(["arch", "attack", "verdict", "impact", "outside_threat_model", "evidence"], first.EnumerateObject().Take(6).Select(p => p.Name));
        Assert.Equal("none", first.GetProperty("arch").GetString());
        Assert.Equal("breached", first.GetProperty("verdict").GetString());
    }

    [Fact]
    public void TheJsonIsTheSameWithOneJobOrFour()
    {
        string one = Path.Combine(directory, "one.json"), four = Path.Combine(directory, "four.json");
        Assert.Equal(0, Campaign(new FakeSuite(), "--jobs", "1", "--json", one, "--seed", "9").ExitCode);
        Assert.Equal(0, Campaign(new FakeSuite(), "--jobs", "4", "--json", four, "--seed", "9").ExitCode);
        Assert.Equal(File.ReadAllBytes(one), File.ReadAllBytes(four));
    }

    [Fact]
    public void AllArchitecturesIsEveryRegisteredOneAndIsTheDefault()
    {
        string all = Path.Combine(directory, "all.json"), unnamed = Path.Combine(directory, "default.json");
        Assert.Equal(0, Campaign(new FakeSuite(), "--arch", "all", "--attack", "all", "--json", all).ExitCode);
        Assert.Equal(0, Campaign(new FakeSuite(), "--json", unnamed).ExitCode);
        Assert.Equal(File.ReadAllBytes(all), File.ReadAllBytes(unnamed));
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(all));
        string[] archs = [.. document.RootElement.GetProperty("cells").EnumerateArray().Select(c => c.GetProperty("arch").GetString()!).Distinct()];
        Assert.Equal(BuiltInArchitectures.CreateRegistry().All.Select(a => a.Name), archs);
    }

    [Fact]
    public void UnknownNamesAreUsageErrorsNamingTheKnownOnes()
    {
        string known = string.Join(", ", BuiltInArchitectures.CreateRegistry().All.Select(a => a.Name));
        Assert.Equal($"vbase: error: --arch: unknown architecture 'sgx' (known: {known}, or all)",
            OneError(Campaign(new FakeSuite(), "--arch", "vbase,sgx"), CampaignExitCodes.UsageError));
        Assert.Equal("vbase: error: --attack: unknown attack 'rowhammer' (known: snoop, spoof, or all)",
            OneError(Campaign(new FakeSuite(), "--attack", "rowhammer"), CampaignExitCodes.UsageError));
        Assert.Equal("vbase: error: --app: unknown app 'bank' (known: paper, vault)",
            OneError(Campaign(new FakeSuite(), "--app", "bank"), CampaignExitCodes.UsageError));
    }

    [Theory]
    [InlineData("--jobs", "0", "--jobs: '0' is not a whole number from 1 to 1024")]
    [InlineData("--seed", "-1", "--seed: '-1' is not a whole number")]
    [InlineData("--sneed", "1", "unknown option '--sneed'")]
    public void BadOptionsAreUsageErrors(string option, string value, string message)
    {
        Assert.Equal($"vbase: error: {message} (see 'vbase --help')", OneError(Campaign(new FakeSuite(), option, value), CampaignExitCodes.UsageError));
    }

    [Fact]
    public void ACellInErrorMakesTheExitCodeOneButEveryCellIsReported()
    {
        string json = Path.Combine(directory, "errors.json");
        CliResult r = Campaign(new FakeSuite("vbase/spoof"), "--arch", "none,vbase", "--json", json, "--jobs", "2");
        Assert.Equal(CampaignExitCodes.CellError, r.ExitCode);
        Assert.Equal("vbase: campaign: 1 of 4 cells could not be carried out (verdict error): vbase x spoof", Assert.Single(r.StderrLines));
        Assert.Contains("vbase  1 prevented, 0 detected, 0 breached, 0 denied, 0 inconclusive, 1 error; inside its threat model: 0 breached", r.Stdout);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(json));
        JsonElement broken = document.RootElement.GetProperty("cells")[3];
        Assert.Equal("error", broken.GetProperty("verdict").GetString());
        Assert.Equal("The harness could not carry the attack out: InvalidOperationException: no attacker VM could be built",
            broken.GetProperty("evidence").GetString());
    }

    [Fact]
    public void OutWritesTheReportsAndEachCellsRun()
    {
        string output = Path.Combine(directory, "out");
        CliResult r = Campaign(new FakeSuite(), "--arch", "none,vbase", "--out", output);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"reports: {Path.Combine(output, "report.md")}, {Path.Combine(output, "report.html")}\n", r.Stdout);
        Assert.True(File.Exists(Path.Combine(output, "runs", "vbase", "spoof", "events.jsonl")));
        string markdown = File.ReadAllText(Path.Combine(output, "report.md"));
        Assert.Contains("| **vbase** | [prevented](#cell-vbase-snoop) · [events](runs/vbase/snoop/events.jsonl) "
            + "| [detected](#cell-vbase-spoof) · [events](runs/vbase/spoof/events.jsonl) |", markdown);
        Assert.Contains("<td class=\"v-detected\"><a class=\"verdict\" href=\"#cell-vbase-spoof\">detected</a>", File.ReadAllText(Path.Combine(output, "report.html")));
    }

    [Fact]
    public void AnOutFolderThatCannotBeCreatedIsAnOutputError()
    {
        string file = Path.Combine(directory, "a-file");
        File.WriteAllText(file, "");
        string line = OneError(Campaign(new FakeSuite(), "--out", Path.Combine(file, "sub")), CampaignExitCodes.OutputError);
        Assert.StartsWith($"vbase: error: {Path.Combine(file, "sub")}: cannot create: ", line);
    }

    [Fact]
    public void ListAttacksShowsPositionGoalDescriptionAndParameters()
    {
        CampaignCommand.Suite = new FakeSuite();
        CliResult r = CliRunner.Run("list", "attacks");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(
            "snoop  physical  confidentiality  read DRAM\n"
            + "         delay=app  instructions before it fires\n"
            + "spoof  physical  integrity        overwrite a block in DRAM\n", r.Stdout);
    }

    [Fact]
    public void ListAttacksShowsTheWholeCatalogue()
    {
        CliResult r = CliRunner.Run("list", "attacks");
        Assert.Equal(0, r.ExitCode);
        string[] ids = [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l[0] != ' ').Select(l => l.Split(' ')[0])];
        Assert.Equal(["phys-snoop", "phys-spoof", "phys-splice", "phys-replay", "phys-meta-spoof", "phys-rollback", "os-read", "os-write", "os-remap",
            "dom0-read", "dom0-write", "dom0-remap", "vm-map-foreign", "net-sniff", "net-spoof", "net-replay", "net-splice", "net-drop",
            "combo-key-forge"], ids);
        Assert.Contains("dom0-read        Dom0            confidentiality  ", r.Stdout);   // the id column fits phys-meta-spoof
    }

    /// <summary>The real attack suite: Dom0 reads the vault's protected frames under none (which trusts Dom0) and vbase.</summary>
    [Fact]
    public void ARealCampaignJudgesDom0ReadsUnderNoneAndVbase()
    {
        string json = Path.Combine(directory, "real.json");
        CampaignCommand.StdoutIsTerminal = false;
        CliResult r = CliRunner.Run("campaign", "--arch", "none,vbase", "--attack", "dom0-read", "--json", json, "--out", Path.Combine(directory, "real"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(json));
        JsonElement none = document.RootElement.GetProperty("cells")[0], vbase = document.RootElement.GetProperty("cells")[1];
        Assert.Equal(("none", "dom0-read", "breached", "confidentiality", true),
            (none.GetProperty("arch").GetString(), none.GetProperty("attack").GetString(), none.GetProperty("verdict").GetString(),
                none.GetProperty("impact").GetString(), none.GetProperty("outside_threat_model").GetBoolean()));
        Assert.Equal(("vbase", "prevented", JsonValueKind.Null, false),
            (vbase.GetProperty("arch").GetString(), vbase.GetProperty("verdict").GetString(), vbase.GetProperty("impact").ValueKind,
                vbase.GetProperty("outside_threat_model").GetBoolean()));
        Assert.Equal("runs/vbase/dom0-read/events.jsonl", vbase.GetProperty("events").GetString());
        Assert.True(new FileInfo(Path.Combine(directory, "real", "runs", "vbase", "dom0-read", "events.jsonl")).Length > 0);
        Assert.Contains("vault-secret", none.GetProperty("evidence").GetString());
    }
}
