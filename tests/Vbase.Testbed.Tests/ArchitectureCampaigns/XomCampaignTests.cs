using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The 13 attacks on the vault under <c>xom</c> (docs/architectures/xom.md), one run each: the verdict the design
/// should get and the evidence of why.
/// </summary>
public sealed class XomCampaignTests
{
    [Theory]
    // DRAM holds the compartment's AES-CTR ciphertext; the key never leaves the chip.
    [InlineData("phys-snoop", Verdict.Prevented, null, "none of the declared secrets is in the 16384 bytes the attacker read")]
    // The spoofed line fails its MAC at the owner's next fill, which faults.
    [InlineData("phys-spoof", Verdict.Detected, null, "xom: MAC mismatch on line 1")]
    // The MAC binds the line address: a valid line copied from offset 128 fails it at offset 64.
    [InlineData("phys-splice", Verdict.Detected, null, "xom: MAC mismatch on line 1")]
    // The old line alone does not match the tag the later write-back left in DRAM.
    [InlineData("phys-replay", Verdict.Detected, null, "xom: MAC mismatch on line 1")]
    // Chosen bytes over the line's tag in the metadata area: the next fill fails the MAC.
    [InlineData("phys-meta-spoof", Verdict.Detected, null, "xom: MAC mismatch on line 1")]
    // No version in the seed or the MAC: the old line with its old tag verifies and the vault reads the old record.
    [InlineData("phys-rollback", Verdict.Breached, Impact.Integrity, "no violation raised")]
    // The kernel is the null compartment: it sees DRAM, ciphertext.
    [InlineData("os-read", Verdict.Prevented, null, "none of the declared secrets is in the")]
    // The kernel's store lands unencrypted; the owner's next fill fails the MAC.
    [InlineData("os-write", Verdict.Detected, null, "xom: MAC mismatch on line 1")]
    // The page now maps a frame outside the region: nothing checks the mapping, the owner reads the attacker's data.
    [InlineData("os-remap", Verdict.Breached, Impact.Integrity, "The application read 4141414141414141")]
    // Dom0's foreign mapping sees DRAM, ciphertext.
    [InlineData("dom0-read", Verdict.Prevented, null, "none of the declared secrets is in the 16384 bytes the attacker read")]
    // Dom0's foreign store lands unencrypted; the owner's next fill fails the MAC.
    [InlineData("dom0-write", Verdict.Detected, null, "xom: MAC mismatch on line 1")]
    // The p2m now points the GFN at another frame: XOM neither refuses the change nor sees loads from that frame.
    [InlineData("dom0-remap", Verdict.Breached, Impact.Integrity, "The application read 4141414141414141")]
    // The hypervisor refuses an unprivileged VM's foreign map; grant copies get ciphertext.
    [InlineData("vm-map-foreign", Verdict.Prevented, null, "obtained 0 bytes")]
    public void EachAttackOnTheVault(string attack, Verdict expected, Impact? impact, string evidence)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("xom", attack, "vault", 1, null));
        Assert.True(expected == r.Verdict, $"{attack}: {r.Verdict.Name()} — {r.Evidence}");
        Assert.Equal(impact, r.Impact);
        Assert.Contains(evidence, r.Evidence);
        Assert.False(r.OutsideThreatModel);        // xom trusts only the application
        Assert.True(r.Traffic.DataReads > 0);    // the application's lines crossed the chip boundary
    }

    [Theory]
    // The tag on chip is the one the later write-back left: the old line fails it.
    [InlineData("phys-replay", Verdict.Detected, "xom: MAC mismatch on line 1")]
    // Nothing of the line's is off chip but the line itself: the rollback is a replay, and fails the same way.
    [InlineData("phys-rollback", Verdict.Detected, "with its off-chip metadata: none")]
    [InlineData("phys-meta-spoof", Verdict.Inconclusive, "keeps no off-chip metadata")]
    public void WithTheTagsOnChipThePhysicalAttacksOnMetadataFail(string attack, Verdict expected, string evidence)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("xom", attack, "vault", 1, null)
        {
            ArchitectureParameters = new Dictionary<string, string> { ["mac-store"] = "chip" },
        });
        Assert.True(expected == r.Verdict, $"{attack}: {r.Verdict.Name()} — {r.Evidence}");
        Assert.Contains(evidence, r.Evidence);
    }
}
