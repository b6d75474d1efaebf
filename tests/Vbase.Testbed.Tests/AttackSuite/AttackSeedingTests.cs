using System.Text.Json;
using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Tests.AttackSuite;

/// <summary>What a seed varies: the firing time within the app's window and the target among its candidate blocks.</summary>
public sealed class AttackSeedingTests
{
    private static readonly SecureApp Vault = AppCatalogue.Find("vault")!;

    /// <summary>The attack.fired event of a run: its delay and block fields, and what chose them.</summary>
    private static (ulong Delay, string DelayBy, long Block, string? BlockBy) Fired(string architecture, string attack, ulong seed,
        IReadOnlyDictionary<string, string>? parameters = null)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"vbase-seed-{Guid.NewGuid():N}");
        try
        {
            AttackRunner.Run(new AttackRunRequest(architecture, attack, "vault", seed, dir, parameters));
            string line = File.ReadLines(Path.Combine(dir, "events.jsonl")).First(l => l.Contains("\"kind\":\"attack.fired\"", StringComparison.Ordinal));
            JsonElement fields = JsonDocument.Parse(line).RootElement.GetProperty("fields");
            return (fields.GetProperty("delay").GetUInt64(), fields.GetProperty("delay_by").GetString()!,
                fields.GetProperty("block").GetInt64(), fields.GetProperty("block_by").GetString());
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [Fact]
    public void TwoSeedsFireAtDifferentTimesOnDifferentBlocks()
    {
        var one = Fired("vbase", "phys-spoof", 1);
        var two = Fired("vbase", "phys-spoof", 2);
        Assert.Equal(("seed", "seed"), (one.DelayBy, one.BlockBy));
        Assert.NotEqual(one.Delay, two.Delay);
        Assert.NotEqual(one.Block, two.Block);
        foreach (var fired in new[] { one, two })
        {
            Assert.InRange(fired.Delay, Vault.Delay, Vault.Delay + Vault.DelayWindow);
            Assert.Contains((int)fired.Block, Vault.Blocks);
        }
    }

    [Fact]
    public void TheSeedsChoiceIsTheSameForEveryArchitectureAndEveryRun()
    {
        Assert.Equal(Fired("none", "dom0-write", 3), Fired("sev", "dom0-write", 3));
        Assert.Equal(Fired("none", "dom0-write", 3), Fired("none", "dom0-write", 3));
    }

    [Fact]
    public void TheSameSeedGivesTheSameEventLogByteForByte()
    {
        string a = Path.Combine(Path.GetTempPath(), $"vbase-seed-{Guid.NewGuid():N}"), b = a + "-b", c = a + "-c";
        try
        {
            foreach ((string dir, ulong seed) in new[] { (a, 5UL), (b, 5UL), (c, 6UL) })
            {
                AttackRunner.Run(new AttackRunRequest("sgx-mee", "phys-replay", "vault", seed, dir));
            }
            byte[] first = File.ReadAllBytes(Path.Combine(a, "events.jsonl"));
            Assert.Equal(first, File.ReadAllBytes(Path.Combine(b, "events.jsonl")));
            Assert.NotEqual(first, File.ReadAllBytes(Path.Combine(c, "events.jsonl")));
        }
        finally
        {
            foreach (string dir in new[] { a, b, c })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, true);
                }
            }
        }
    }

    [Fact]
    public void AGivenParameterWinsOverTheSeed()
    {
        var fired = Fired("none", "phys-spoof", 2, new Dictionary<string, string> { ["delay"] = "300000", ["block"] = "0x100" });
        Assert.Equal((300_000UL, "parameter", 256L, "parameter"), fired);
    }

    [Fact]
    public void AnAttackOnNoBlockRecordsNone()
    {
        var fired = Fired("none", "phys-snoop", 1);
        Assert.Equal((-1L, (string?)null), (fired.Block, fired.BlockBy));
        Assert.Equal("seed", fired.DelayBy);
    }

    [Fact]
    public void AnAppWithOneBlockAndNoWindowIsNotVaried()
    {
        SecureApp paper = AppCatalogue.Find("paper")!;
        for (ulong seed = 1; seed <= 4; seed++)
        {
            Assert.Equal((paper.Delay, AttackChoiceSource.App), AttackSeeding.Delay(paper, "phys-spoof", seed, null));
            Assert.Equal((paper.Block, AttackChoiceSource.App), AttackSeeding.Block(paper, "phys-spoof", seed, null));
        }
    }

    [Fact]
    public void SeedsOneToFourSpreadOverTheWindowAndTheCandidates()
    {
        ulong[] delays = [.. Enumerable.Range(1, 4).Select(s => AttackSeeding.Delay(Vault, "phys-replay", (ulong)s, null).Delay)];
        int[] blocks = [.. Enumerable.Range(1, 4).Select(s => AttackSeeding.Block(Vault, "phys-replay", (ulong)s, null).Block)];
        Assert.Equal(4, delays.Distinct().Count());
        Assert.True(blocks.Distinct().Count() >= 2, string.Join(", ", blocks));
    }
}
