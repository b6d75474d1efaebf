using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The 13 attacks on the vault under <c>aegis</c> (docs/architectures/aegis.md), one run each: the verdict the design
/// should get and the evidence of why.
/// </summary>
public sealed class AegisCampaignTests
{
    [Theory]
    // DRAM holds AES-CTR ciphertext under the region's key; the key never leaves the chip.
    [InlineData("phys-snoop", Verdict.Prevented, null, "none of the declared secrets is in the 16384 bytes the attacker read")]
    // The spoofed line no longer matches its hash: the owner's next fill faults.
    [InlineData("phys-spoof", Verdict.Detected, null, "aegis: integrity tree mismatch on line 1 (counter 2)")]
    // The copied line is another address's ciphertext: it does not match this line's hash.
    [InlineData("phys-splice", Verdict.Detected, null, "aegis: integrity tree mismatch on line 1 (counter 2)")]
    // The old ciphertext against the line's newer counter and hash (seed 1 aims the replay at record 193, docs/apps.md).
    [InlineData("phys-replay", Verdict.Detected, null, "aegis: integrity tree mismatch on line 193 (counter 3)")]
    // Chosen bytes over the counter, the hash and the tree nodes: the first fill under those nodes fails the tree.
    [InlineData("phys-meta-spoof", Verdict.Detected, null, "fails the tree")]
    // The line with its counter, hash and tree nodes put back: the rolled-back top node fails the on-chip root.
    [InlineData("phys-rollback", Verdict.Detected, null, "fails the tree")]
    // The untrusted kernel sees DRAM, ciphertext.
    [InlineData("os-read", Verdict.Prevented, null, "none of the declared secrets is in the")]
    // The kernel's store lands as it is, without the key; the owner's next fill fails the hash.
    [InlineData("os-write", Verdict.Detected, null, "aegis: integrity tree mismatch on line 1")]
    // The page now maps a frame outside the region: the tree covers the region's frames, loads elsewhere go unchecked.
    [InlineData("os-remap", Verdict.Breached, Impact.Integrity, "The application read 4141414141414141")]
    // Dom0's foreign mapping sees DRAM, ciphertext.
    [InlineData("dom0-read", Verdict.Prevented, null, "none of the declared secrets is in the 16384 bytes the attacker read")]
    // Dom0's foreign store lands as it is; the owner's next fill fails the hash.
    [InlineData("dom0-write", Verdict.Detected, null, "aegis: integrity tree mismatch on line 1")]
    // The p2m now points the GFN at another frame: AEGIS neither refuses the change nor sees loads from that frame.
    [InlineData("dom0-remap", Verdict.Breached, Impact.Integrity, "The application read 4141414141414141")]
    // The hypervisor refuses an unprivileged VM's foreign map; grant copies get ciphertext.
    [InlineData("vm-map-foreign", Verdict.Prevented, null, "obtained 0 bytes")]
    public void EachAttackOnTheVault(string attack, Verdict expected, Impact? impact, string evidence)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("aegis", attack, "vault", 1, null));
        Assert.True(expected == r.Verdict, $"{attack}: {r.Verdict.Name()} — {r.Evidence}");
        Assert.Equal(impact, r.Impact);
        Assert.Contains(evidence, r.Evidence);
        Assert.False(r.OutsideThreatModel);        // aegis trusts only the application
        Assert.True(r.Traffic.DataReads > 0);    // the application's lines crossed the chip boundary
    }
}
