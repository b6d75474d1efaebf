using System.Diagnostics;
using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// An application from outside the tree, as docs/apps.md says: its own Makefile including guest/app.mk, built with
/// the cross compiler, described by a manifest, attacked by a campaign.
/// </summary>
public sealed class AppRecipeTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-app-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Repo => Repository.Root;

    [CrossCompilerFact]
    public void AnOutsideProgramBuiltWithAppMkRunsInACampaign()
    {
        // The vault's source as somebody's own program, with a secret of its own.
        string source = File.ReadAllText(Path.Combine(Repo, "guest", "apps", "vault.c"));
        File.WriteAllText(Path.Combine(directory, "mine.c"), source);
        File.WriteAllText(Path.Combine(directory, "Makefile"),
            $"VBASE_GUEST := {Path.Combine(Repo, "guest")}\nAPP := mine\nSRCS := mine.c\ninclude $(VBASE_GUEST)/app.mk\n");
        var make = new ProcessStartInfo("make", ["-C", directory]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using (Process p = Process.Start(make)!)
        {
            Task<string> errors = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"make failed:\n{errors.Result}");
        }
        Assert.True(File.Exists(Path.Combine(directory, "mine.elf")));

        string manifest = Path.Combine(directory, "mine.yaml");
        File.WriteAllText(manifest, "name: mine\nprogram: mine.elf\nsecrets:\n  - name: phrase\n    text: VAULT-SECRET-7f3a9c2e-launch-code\nblock: 64\ndelay: 200_000\n");
        string json = Path.Combine(directory, "c.json");
        CliResult r = CliRunner.Run("campaign", "--app", manifest, "--arch", "none,vbase", "--attack", "phys-snoop", "--jobs", "1", "--json", json);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string text = File.ReadAllText(json);
        Assert.Contains("\"verdict\": \"breached\"", text);    // none: the secret in DRAM
        Assert.Contains("\"verdict\": \"prevented\"", text);   // vbase: ciphertext
    }
}
