using System.Text.Json;
using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary><c>vbase demo</c>: the paper's story under the vbase architecture, told as it happens.</summary>
public sealed class DemoTests : IDisposable
{
    private readonly string outDirectory = Path.Combine(Path.GetTempPath(), $"vbase-demo-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(outDirectory))
        {
            Directory.Delete(outDirectory, recursive: true);
        }
    }

    [Fact]
    public void TheDemoPrintsTheSecretBeforeAndAfterAndTheDroppedWrite()
    {
        CliResult r = CliRunner.Run("demo", "--out", outDirectory);

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("[app] secure-app: The secret_key before system call is: 654321", r.Stdout);
        Assert.Contains("[app] secure-app: The secret_key after system call is: 654321", r.Stdout);
        Assert.Contains("secure-app wrote 123456 to secret_key: the write was dropped (ram_ro) and reported", r.Stdout);
        Assert.Contains("monitor: dropped write by guest_user to region 1", r.Stdout);
        Assert.Contains("Result: secret_key printed 654321 before and 654321 after; 1 write(s) dropped (tried: 123456)", r.Stdout);
        Assert.Contains($"Event log: {Path.Combine(outDirectory, "events.jsonl")}", r.Stdout);
        Assert.Empty(r.Stderr);
    }

    /// <summary>The sample plug-in built with the tests (same configuration as this assembly).</summary>
    private static string SampleDll => Path.Combine(Repository.Root, "tests", "Plugins", "Vbase.Plugin.Sample", "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "Vbase.Plugin.Sample.dll");

    [Fact]
    public void WithAPluginTheStoryRunsUnderItsArchitecture()
    {
        CliResult r = CliRunner.Run("demo", "--plugin", SampleDll, "--arch", "sample-xor", "--out", outDirectory);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("under the sample-xor architecture", r.Stdout);
        Assert.Contains("plug-in     sample-xor: sample plug-in", r.Stdout);
        Assert.Contains(">> steps 7-8", r.Stdout);
        // sample-xor drops no write: the paper's 123456 lands, as the story tells.
        Assert.Contains("[app] secure-app: The secret_key after system call is: 123456", r.Stdout);
        Assert.Contains("0 write(s) dropped", r.Stdout);
        Assert.Contains("\"kind\":\"sample.sealed\"", File.ReadAllText(Path.Combine(outDirectory, "events.jsonl")));
    }

    [Fact]
    public void AnArchitectureOnlyAPluginHasNeedsThePlugin()
    {
        CliResult r = CliRunner.Run("demo", "--arch", "sample-xor", "--out", outDirectory);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("vbase: error: --arch: unknown architecture 'sample-xor' (known: aegis,", Assert.Single(r.StderrLines));
        CliResult missing = CliRunner.Run("demo", "--plugin", Path.Combine(outDirectory, "nowhere.dll"), "--arch", "sample-xor");
        Assert.Equal(65, missing.ExitCode);
        Assert.Single(missing.StderrLines);
    }

    [Fact]
    public void TheStepsOfAlgorithm1AppearInOrderWithTheMonitorsMessagesBeforeTheApplicationContinues()
    {
        CliResult r = CliRunner.Run("demo", "--out", outDirectory);
        string[] marks =
        [
            "The secret_key before system call is",
            ">> steps 3-6",
            ">> steps 7-8",
            ">> step 9",
            "the frame is encrypted in DRAM",
            ">> step 10",
            "monitor: VIRQ_VBASE at t=",
            "[app] secure-app: vbase(secure_mem, 4096, enter) = 1",
            "the write was dropped",
            "The secret_key after system call is",
        ];
        int last = -1;
        foreach (string mark in marks)
        {
            int at = r.Stdout.IndexOf(mark, StringComparison.Ordinal);
            Assert.True(at > last, $"'{mark}' is not after the previous step");
            last = at;
        }
        // DRAM holds ciphertext while the owner reads the secret: the two views differ (read once the region is sealed).
        string line = r.Stdout.Split('\n').Single(l => l.Contains("the frame is encrypted in DRAM", StringComparison.Ordinal));
        Assert.EndsWith("the owner reads f1 fb 09 00 00 00 00 00 (secret_key = 654321)", line);
        Assert.DoesNotContain("DRAM holds f1 fb 09 00", line);
    }

    [Fact]
    public void TheEventLogHasTheDroppedWriteAndTheVirqReachedDom0BeforeTheApplicationWroteAgain()
    {
        Assert.Equal(0, CliRunner.Run("demo", "--out", outDirectory).ExitCode);
        List<JsonElement> events = [.. File.ReadAllLines(Path.Combine(outDirectory, "events.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)];
        JsonElement virq = events.First(e => e.GetProperty("kind").GetString() == "virq.sent"
            && e.GetProperty("domain_id").GetInt32() == 0
            && e.GetProperty("fields").GetProperty("virq").GetInt32() == 16);
        JsonElement drop = Assert.Single(events, e => e.GetProperty("kind").GetString() == "sapi.write_dropped");
        Assert.Equal("40e20100", drop.GetProperty("fields").GetProperty("data").GetString());   // 123456, little-endian
        Assert.True(virq.GetProperty("time").GetUInt64() < drop.GetProperty("time").GetUInt64());
        int virqIndex = events.IndexOf(virq);
        int query = events.FindIndex(e => e.GetProperty("kind").GetString() == "sapi.vbase_op"
            && e.GetProperty("domain_id").GetInt32() == 0
            && e.GetProperty("fields").GetProperty("cmd").GetUInt64() == 2);
        Assert.True(query > virqIndex, "the Monitor queried the region after the VIRQ");
        Assert.True(query < events.IndexOf(drop));
    }

    [Fact]
    public void TheBundledImagesAreTheCommittedOnes()
    {
        Assert.Equal(Vbase.Tests.Support.GuestPrograms.Bytes("kernel.elf"), DemoCommand.LoadBundled("kernel.elf"));
        Assert.Equal(Vbase.Tests.Support.GuestPrograms.Bytes("apps/secure-app.elf"), DemoCommand.LoadBundled("secure-app.elf"));
    }

    [Fact]
    public void TwoDemoRunsWriteTheSameEventLog()
    {
        string second = outDirectory + "-2";
        try
        {
            Assert.Equal(0, CliRunner.Run("demo", "--out", outDirectory).ExitCode);
            Assert.Equal(0, CliRunner.Run("demo", "--out", second).ExitCode);
            Assert.Equal(File.ReadAllBytes(Path.Combine(outDirectory, "events.jsonl")), File.ReadAllBytes(Path.Combine(second, "events.jsonl")));
        }
        finally
        {
            Directory.Delete(second, recursive: true);
        }
    }
}

public sealed class ListTests
{
    [Fact]
    public void ListArchsShowsEachArchitectureWithItsThreatModel()
    {
        CliResult r = CliRunner.Run("list", "archs");
        Assert.Equal(0, r.ExitCode);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int none = Array.FindIndex(lines, l => l.StartsWith("none ", StringComparison.Ordinal));
        int vbase = Array.FindIndex(lines, l => l.StartsWith("vbase ", StringComparison.Ordinal));
        Assert.True(none >= 0 && vbase > none);
        Assert.EndsWith("defends against nobody", lines[none + 1]);
        Assert.Contains("trusts hypervisor, application; defends against guest kernel, other processes, other VMs, Dom0, bus/DRAM", lines[vbase + 1]);
    }

    [Fact]
    public void ListWithoutWhatIsAUsageError()
    {
        CliResult r = CliRunner.Run("list");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.StderrLines);
    }
}
