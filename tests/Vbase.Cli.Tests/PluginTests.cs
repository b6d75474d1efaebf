using System.Text.Json;
using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// Architectures from outside the tree: <c>--plugin PATH</c> on <c>list archs</c> and <c>run</c>, <c>plugins:</c> in a
/// scenario, an assembly or a project folder; every unusable plug-in is one line and exit 65.
/// </summary>
[Collection(DotnetBuilds.Name)]
public sealed class PluginTests : IDisposable
{
    private static string Repo => Repository.Root;
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-plugin-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string SampleFolder => Path.Combine(Repo, "tests", "Plugins", "Vbase.Plugin.Sample");

    /// <summary>The sample built with the tests (same configuration as this assembly).</summary>
    private static string SampleDll
    {
        get
        {
            string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // bin/<configuration>/net10.0
            return Path.Combine(SampleFolder, "bin", configuration, "net10.0", "Vbase.Plugin.Sample.dll");
        }
    }

    private string VaultScenario(string arch, string? plugins = null)
    {
        string guest = Path.Combine(Repo, "guest", "bin");
        string path = Path.Combine(directory, "vault.yaml");
        File.WriteAllText(path, $"""
            name: vault-plugin
            {(plugins is null ? "" : $"plugins:\n  - {plugins}")}
            arch: {arch}
            seed: 5
            limits:
              max_instructions: 200_000_000
            domains:
              - name: app
                memory: 16M
                kernel: {Path.Combine(guest, "kernel.elf")}
                programs:
                  - {Path.Combine(guest, "apps", "vault.elf")}
            """);
        return path;
    }

    private static string OneError(CliResult r)
    {
        Assert.True(r.ExitCode == ExitCodes.DataError, $"exit code {r.ExitCode}, stderr: {r.Stderr}");
        string line = Assert.Single(r.StderrLines);
        Assert.StartsWith("vbase: error: ", line);
        return line;
    }

    [Fact]
    public void ListArchsShowsAPlugInsArchitecturesBesideTheBuiltInOnes()
    {
        CliResult r = CliRunner.Run("list", "archs", "--plugin", SampleDll);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string line = Assert.Single(r.Stdout.Split('\n'), l => l.StartsWith("sample-xor ", StringComparison.Ordinal));
        Assert.EndsWith("  sample plug-in: protected lines XORed with a key byte in DRAM, no integrity", line);
        Assert.Contains("vbase ", r.Stdout);
    }

    [Fact]
    public void RunPlugsInTheArchitectureOfAPlugInGivenOnTheCommandLine()
    {
        string outDirectory = Path.Combine(directory, "out");
        CliResult r = CliRunner.Run("run", VaultScenario("sample-xor"), "--plugin", SampleDll, "--out", outDirectory);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string[] kinds = [.. File.ReadLines(Path.Combine(outDirectory, "events.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString()!)];
        Assert.Contains("sample.sealed", kinds);
        Assert.Contains("sapi.region_protected", kinds);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDirectory, "summary.json")));
        Assert.True(summary.RootElement.GetProperty("succeeded").GetBoolean());
    }

    [Fact]
    public void AScenarioNamesItsPlugInsRelativeToItself()
    {
        string relative = Path.GetRelativePath(directory, SampleDll);
        CliResult r = CliRunner.Run("run", VaultScenario("sample-xor", relative));
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    [Fact]
    public void AProjectFolderIsBuiltAndLoaded()
    {
        CliResult r = CliRunner.Run("list", "archs", "--plugin", SampleFolder);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("sample-xor", r.Stdout);
    }

    [Fact]
    public void WithoutThePlugInItsArchitectureIsUnknownAtItsLine()
    {
        string line = Assert.Single(CliRunner.Run("run", VaultScenario("sample-xor")).StderrLines);
        Assert.Contains("vault.yaml:3:7: arch: unknown architecture 'sample-xor'", line);   // line 2 is the empty plugins slot
    }

    [Fact]
    public void UnusablePlugInsAreOneLineEach()
    {
        string text = Path.Combine(directory, "notes.txt");
        File.WriteAllText(text, "not a plug-in");
        string fakeDll = Path.Combine(directory, "fake.dll");
        File.WriteAllText(fakeDll, "MZ but not really");
        string empty = Directory.CreateDirectory(Path.Combine(directory, "empty")).FullName;
        string noArchitectures = Path.Combine(Path.GetDirectoryName(SampleDll)!, "Vbase.Isa.dll");

        Assert.EndsWith("no such file or folder", OneError(CliRunner.Run("list", "archs", "--plugin", Path.Combine(directory, "missing"))));
        Assert.EndsWith("neither an assembly (.dll) nor a project (.csproj or its folder)", OneError(CliRunner.Run("list", "archs", "--plugin", text)));
        Assert.EndsWith("not a .NET assembly", OneError(CliRunner.Run("list", "archs", "--plugin", fakeDll)));
        Assert.EndsWith("the folder holds no .csproj", OneError(CliRunner.Run("list", "archs", "--plugin", empty)));
        Assert.EndsWith("Vbase.Isa.dll has no class with an [Architecture] attribute", OneError(CliRunner.Run("list", "archs", "--plugin", noArchitectures)));
        Assert.EndsWith("no such file or folder", OneError(CliRunner.Run("run", VaultScenario("vbase"), "--plugin", Path.Combine(directory, "missing"))));
    }

    [Fact]
    public void AScenariosBadPlugInsAreReportedAtTheirLine()
    {
        string path = Path.Combine(directory, "bad.yaml");
        File.WriteAllText(path, "name: bad\nplugins: sample.dll\ndomains:\n  - name: a\n    kernel: k.elf\n");
        Assert.Contains("bad.yaml:2:10: plugins: expected a list of plug-in paths", OneError(CliRunner.Run("run", path)));

        File.WriteAllText(path, "name: bad\nplugins:\n  - nowhere.dll\ndomains:\n  - name: a\n    kernel: k.elf\n");
        string line = OneError(CliRunner.Run("run", path));
        Assert.Contains("bad.yaml:3:3: plugins:", line);
        Assert.EndsWith("no such file", line);
    }

    [Fact]
    public void ACampaignTakesPlugInsAndManifestsAndRefusesBadOnesInOneLine()
    {
        string json = Path.Combine(directory, "c.json");
        CliResult r = CliRunner.Run("campaign", "--plugin", SampleDll, "--arch", "sample-xor", "--attack", "os-read", "--jobs", "1", "--json", json);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("\"arch\": \"sample-xor\"", File.ReadAllText(json));

        Assert.EndsWith("no such file or folder", OneError(CliRunner.Run("campaign", "--plugin", Path.Combine(directory, "missing"), "--attack", "os-read")));
        string manifest = Path.Combine(directory, "bad.yaml");
        File.WriteAllText(manifest, "name: bad\nprogram: nowhere.elf\nsecrets:\n  - {name: s, text: x}\n");
        Assert.Contains("bad.yaml:2:10: program: 'nowhere.elf' not found", OneError(CliRunner.Run("campaign", "--app", manifest, "--attack", "os-read")));
        Assert.EndsWith("none.yaml: no such file", OneError(CliRunner.Run("campaign", "--app", Path.Combine(directory, "none.yaml"))));
    }
}
