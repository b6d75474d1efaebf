using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary><c>vbase demo --linux</c>: the paper's story with a Linux App VM and vbase.ko, the same twice.</summary>
public sealed class DemoLinuxTests : IDisposable
{
    private readonly string first = Path.Combine(Path.GetTempPath(), $"vbase-demo-linux-{Guid.NewGuid():N}");
    private readonly string second = Path.Combine(Path.GetTempPath(), $"vbase-demo-linux-{Guid.NewGuid():N}");

    public void Dispose()
    {
        foreach (string d in new[] { first, second }.Where(Directory.Exists))
        {
            Directory.Delete(d, recursive: true);
        }
    }

    [Fact]
    public void TheLinuxDemoTellsThePapersStoryAndIsTheSameTwice()
    {
        CliResult r = CliRunner.Run("demo", "--linux", "--out", first);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("under the vbase architecture, in a Linux App VM.", r.Stdout);
        Assert.Contains(">> boot       Linux 6.1 booted (device tree, SBI), /init loaded vbase.ko and started secure-app", r.Stdout);
        Assert.Contains("vbase.ko pinned it (pin_user_pages), took its PFN", r.Stdout);
        Assert.Contains("[app] secure-app: The secret_key before system call is: 654321", r.Stdout);
        Assert.Contains("[app] secure-app: The secret_key after system call is: 654321", r.Stdout);
        Assert.Contains("secure-app wrote 123456 to secret_key: the write was dropped (ram_ro) and reported", r.Stdout);
        Assert.Contains("Result: secret_key printed 654321 before and 654321 after; 1 write(s) dropped (tried: 123456)", r.Stdout);
        // The boot is quiet: a few lines of the guest's, not Linux's hundred.
        Assert.InRange(r.Stdout.Split('\n').Count(l => l.StartsWith("[app] ", StringComparison.Ordinal)), 5, 12);
        Assert.Empty(r.Stderr);

        CliResult again = CliRunner.Run("demo", "--linux", "--out", second);
        Assert.Equal(0, again.ExitCode);
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "events.jsonl")), File.ReadAllBytes(Path.Combine(second, "events.jsonl")));
        Assert.Equal(r.Stdout.Replace(first, "DIR", StringComparison.Ordinal), again.Stdout.Replace(second, "DIR", StringComparison.Ordinal));
    }
}
