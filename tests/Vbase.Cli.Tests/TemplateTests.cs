using System.Diagnostics;
using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>Tests that run the .NET SDK on projects of the tree: one at a time, so two builds never share an obj folder.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DotnetBuilds
{
    public const string Name = "dotnet builds";
}

/// <summary>
/// The SDK as a plug-in author gets it: the packages packed to a local feed, <c>dotnet new vbase-architecture</c>
/// outside the tree, its own test against the packages, and the tool loading the built plug-in (docs/plugins.md).
/// </summary>
[Collection(DotnetBuilds.Name)]
public sealed class TemplateTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-template-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Repo => Repository.Root;

    private static (int Code, string Output) Dotnet(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using Process p = Process.Start(start)!;
        Task<string> error = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + error.Result);
    }

    private static void Ok((int Code, string Output) r, string what) => Assert.True(r.Code == 0, $"{what} failed:\n{r.Output}");

    [Fact]
    public void TheTemplatesPlugInBuildsOutsideTheTreeAgainstThePackagesAndRunsInTheTool()
    {
        // The packages, from the build this test runs in (same configuration), to a feed of the test's own.
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string feed = Path.Combine(directory, "feed");
        Ok(Dotnet(Repo, "pack", "Vbase.sln", "--no-build", "-c", configuration, "-o", feed), "dotnet pack");
        Assert.True(File.Exists(Path.Combine(feed, "Vbase.Sapi.1.0.0.nupkg")));
        Assert.True(File.Exists(Path.Combine(feed, "Vbase.Testbed.1.0.0.nupkg")));

        // The template, installed into a hive of the test's own, instantiated outside the tree.
        string hive = Path.Combine(directory, "hive");
        Ok(Dotnet(directory, "new", "install", Path.Combine(Repo, "templates", "vbase-architecture"), "--debug:custom-hive", hive), "dotnet new install");
        string project = Path.Combine(directory, "acme");
        Ok(Dotnet(directory, "new", "vbase-architecture", "-n", "Acme", "--archName", "acme", "-o", project, "--debug:custom-hive", hive), "dotnet new vbase-architecture");
        // The feed, and a packages folder of its own (a stale Vbase 1.0.0 in ~/.nuget/packages must not be used).
        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{Path.Combine(directory, "packages")}" /></config>
              <packageSources><add key="vbase" value="{feed}" /></packageSources>
            </configuration>
            """);

        // Its own test attacks the example design through the packaged testbed.
        Ok(Dotnet(project, "test"), "dotnet test (the template's)");

        // The tool builds the plug-in folder and plugs it in.
        CliResult list = CliRunner.Run("list", "archs", "--plugin", Path.Combine(project, "Acme"));
        Assert.True(list.ExitCode == 0, list.Stderr);
        string line = Assert.Single(list.Stdout.Split('\n'), l => l.StartsWith("acme ", StringComparison.Ordinal));
        Assert.EndsWith("  per-line AES-CTR + HMAC with a write counter, both in DRAM (no tree)", line);

        // A campaign: the plug-in against an application described by a manifest that is outside the tree too.
        string app = Directory.CreateDirectory(Path.Combine(directory, "app")).FullName;
        File.Copy(Path.Combine(Repo, "guest", "bin", "apps", "vault.elf"), Path.Combine(app, "my-vault.elf"));
        string manifest = Path.Combine(app, "my-vault.yaml");
        File.WriteAllText(manifest, """
            name: my-vault
            program: my-vault.elf
            secrets:
              - name: phrase
                text: VAULT-SECRET-7f3a9c2e-launch-code
            block: 64
            splice_source: 128
            delay: 200_000
            """);
        string json = Path.Combine(directory, "campaign.json");
        CliResult campaign = CliRunner.Run("campaign", "--plugin", Path.Combine(project, "Acme"), "--arch", "acme,none",
            "--attack", "phys-spoof,os-read", "--app", manifest, "--jobs", "1", "--json", json);
        Assert.True(campaign.ExitCode == 0, campaign.Stderr);
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        var verdicts = document.RootElement.GetProperty("cells").EnumerateArray()
            .ToDictionary(c => $"{c.GetProperty("arch").GetString()} {c.GetProperty("attack").GetString()}", c => c.GetProperty("verdict").GetString());
        Assert.Equal("detected", verdicts["acme phys-spoof"]);
        Assert.Equal("prevented", verdicts["acme os-read"]);
        Assert.Equal("breached", verdicts["none os-read"]);
    }
}
