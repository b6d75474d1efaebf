using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.AttackSuite;

/// <summary>Every attack against the vault under <c>none</c>: each one that can succeed does, with evidence.</summary>
public sealed class AttacksOnNoneTests
{
    [Theory]
    [InlineData("phys-snoop", Impact.Confidentiality, "is in what the attacker read: DRAM frame")]
    [InlineData("phys-spoof", Impact.Integrity, "The application read 4141414141414141")]
    [InlineData("phys-splice", Impact.Integrity, "where the golden shadow holds")]
    [InlineData("phys-replay", Impact.Integrity, "restored the older snapshot")]
    [InlineData("phys-rollback", Impact.Integrity, "with its off-chip metadata: none (the architecture keeps none)")]
    [InlineData("os-read", Impact.Confidentiality, "is in what the attacker read: kernel read of va")]
    [InlineData("os-write", Impact.Integrity, "The application read 4141414141414141")]
    [InlineData("os-remap", Impact.Integrity, "The application read 4141414141414141")]
    [InlineData("dom0-read", Impact.Confidentiality, "is in what the attacker read: Dom0 foreign read")]
    [InlineData("dom0-write", Impact.Integrity, "The application read 4141414141414141")]
    [InlineData("dom0-remap", Impact.Integrity, "The application read 4141414141414141")]
    public void EveryAttackThatCanSucceedDoes(string attack, Impact impact, string evidence)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("none", attack, "vault", 1, null));
        Assert.Equal(Verdict.Breached, r.Verdict);
        Assert.Equal(impact, r.Impact);
        Assert.Contains(evidence, r.Evidence);
        Assert.True(r.OutsideThreatModel);       // none trusts everyone: every attack is outside its model
    }

    [Fact]
    public void AMetadataSpoofHasNothingToActOnWithoutMetadata()
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("none", "phys-meta-spoof", "vault", 1, null));
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("keeps no off-chip metadata", r.Evidence);
    }

    [Fact]
    public void ACoResidentVmReachesNothingEvenWithoutProtection()
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("none", "vm-map-foreign", "vault", 1, null));
        Assert.Equal(Verdict.Prevented, r.Verdict);
        Assert.Contains("Attacker VM (dom 2) made", r.Evidence);
        Assert.Contains("obtained 0 bytes", r.Evidence);
    }
}

/// <summary>Every attack against the vault under the paper's <c>vbase</c>.</summary>
public sealed class AttacksOnVbaseTests
{
    [Theory]
    [InlineData("phys-snoop", "none of the declared secrets is in the 16384 bytes the attacker read")]
    [InlineData("os-read", "none of the declared secrets is in the")]
    [InlineData("os-write", "sapi.write_dropped")]
    [InlineData("dom0-read", "none of the declared secrets is in the 16384 bytes the attacker read")]
    [InlineData("dom0-write", "accessor=dom0")]
    [InlineData("vm-map-foreign", "obtained 0 bytes")]
    public void TheseArePrevented(string attack, string evidence)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("vbase", attack, "vault", 1, null));
        Assert.Equal(Verdict.Prevented, r.Verdict);
        Assert.Null(r.Impact);
        Assert.Contains(evidence, r.Evidence);
        Assert.False(r.OutsideThreatModel);
    }

    [Theory]
    [InlineData("phys-replay", "the block never changed in DRAM")]          // vbase drops the application's writes too
    [InlineData("phys-rollback", "the block never changed in DRAM")]
    [InlineData("phys-meta-spoof", "keeps no off-chip metadata")]
    public void TheseCannotTakeEffect(string attack, string evidence)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("vbase", attack, "vault", 1, null));
        Assert.True(r.Verdict == Verdict.Inconclusive, $"{attack}: {r.Verdict.Name()}: {r.Evidence}");
        Assert.Contains(evidence, r.Evidence);
    }

    [Theory]
    [InlineData("phys-spoof")]      // counter-mode ciphertext is malleable and nothing checks integrity in DRAM
    [InlineData("phys-splice")]
    [InlineData("os-remap")]        // nothing checks the mapping of the application's pages
    [InlineData("dom0-remap")]
    public void TheseBreachIntegrity(string attack)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("vbase", attack, "vault", 1, null));
        Assert.Equal(Verdict.Breached, r.Verdict);
        Assert.Equal(Impact.Integrity, r.Impact);
        Assert.Contains("no violation raised", r.Evidence);
    }
}

public sealed class AttackRunTests
{
    [Fact]
    public void TheSameSeedGivesTheSameEventLogByteForByte()
    {
        string a = Path.Combine(Path.GetTempPath(), $"vbase-attack-{Guid.NewGuid():N}"), b = a + "-b";
        try
        {
            AttackRunResult first = AttackRunner.Run(new AttackRunRequest("vbase", "phys-spoof", "paper", 3, a));
            AttackRunResult second = AttackRunner.Run(new AttackRunRequest("vbase", "phys-spoof", "paper", 3, b));
            Assert.Equal(first with { EventsPath = null }, second with { EventsPath = null });
            byte[] log = File.ReadAllBytes(Path.Combine(a, "events.jsonl"));
            Assert.Equal(log, File.ReadAllBytes(Path.Combine(b, "events.jsonl")));
            string text = System.Text.Encoding.UTF8.GetString(log);
            Assert.Contains("\"kind\":\"attack.fired\"", text);
            Assert.Contains("\"kind\":\"attack.action\"", text);
            Assert.Contains("\"kind\":\"oracle.verdict\"", text);
        }
        finally
        {
            foreach (string d in new[] { a, b })
            {
                if (Directory.Exists(d))
                {
                    Directory.Delete(d, true);
                }
            }
        }
    }

    [Fact]
    public void TheAttackFiresWhileTheApplicationIsInSecureExecution()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"vbase-attack-{Guid.NewGuid():N}");
        try
        {
            AttackRunner.Run(new AttackRunRequest("vbase", "phys-snoop", "vault", 1, dir));
            string[] kinds = [.. File.ReadAllLines(Path.Combine(dir, "events.jsonl"))
                .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString()!)];
            int protectedAt = Array.IndexOf(kinds, "sapi.region_protected");
            int fired = Array.IndexOf(kinds, "attack.fired");
            int released = Array.IndexOf(kinds, "sapi.region_released");
            Assert.True(protectedAt >= 0 && fired > protectedAt && released > fired);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void RepeatedFiringAndParametersAreHonoured()
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("vbase", "dom0-write", "vault", 1, null,
            new Dictionary<string, string> { ["repeat"] = "3", ["interval"] = "50000", ["data"] = "0x5a" }));
        Assert.Equal(Verdict.Prevented, r.Verdict);
        Assert.Equal(3, r.Evidence.Split("bytes of 0x5a").Length - 1);
    }

    [Fact]
    public void UnknownNamesAreClearErrors()
    {
        Assert.Contains("unknown architecture 'sgx'", Assert.Throws<ArgumentException>(() =>
            AttackRunner.Run(new AttackRunRequest("sgx", "phys-snoop", "vault", 1, null))).Message);
        Assert.Contains("unknown attack 'phys-sniff'", Assert.Throws<ArgumentException>(() =>
            AttackRunner.Run(new AttackRunRequest("none", "phys-sniff", "vault", 1, null))).Message);
        Assert.Contains("unknown application 'bank'", Assert.Throws<ArgumentException>(() =>
            AttackRunner.Run(new AttackRunRequest("none", "phys-snoop", "bank", 1, null))).Message);
        Assert.Contains("has no parameter 'colour'", Assert.Throws<ArgumentException>(() =>
            AttackRunner.Run(new AttackRunRequest("none", "phys-snoop", "vault", 1, null, new Dictionary<string, string> { ["colour"] = "red" }))).Message);
    }

    [Fact]
    public void AnAttackThatCannotFireBeforeTheApplicationEndsIsAnError()
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("vbase", "phys-snoop", "paper", 1, null,
            new Dictionary<string, string> { ["delay"] = "10000000" }));
        Assert.Equal(Verdict.Error, r.Verdict);
        Assert.Contains("finished before the attack fired", r.Evidence);
    }
}
