using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The 11 attacks on the vault under <c>aegis</c> (docs/architectures/aegis.md), one run each: the verdict the design
/// should get and the evidence of why.
/// </summary>
public sealed class AegisCampaignTests
{
    [Theory]
    // DRAM holds AES-CTR ciphertext under the process key; the key never leaves the chip.
    [InlineData("phys-snoop", Verdict.Prevented, null, "none of the declared secrets is in the 16384 bytes the attacker read")]
    // The spoofed line's leaf no longer matches the tree: the owner's next read faults.
    [InlineData("phys-spoof", Verdict.Detected, null, "aegis: integrity tree mismatch on line 1")]
    // The copied line is another leaf's (ciphertext, counter): it does not match this leaf's slot.
    [InlineData("phys-splice", Verdict.Detected, null, "aegis: integrity tree mismatch on line 1")]
    // The old ciphertext against the line's newer counter: the tree catches the replay.
    [InlineData("phys-replay", Verdict.Detected, null, "aegis: integrity tree mismatch on line 1")]
    // The untrusted kernel reads ciphertext.
    [InlineData("os-read", Verdict.Prevented, null, "none of the declared secrets is in the")]
    // The kernel's store lands as it is, without the process key; the owner's next read fails the tree.
    [InlineData("os-write", Verdict.Detected, null, "aegis: integrity tree mismatch on line 1")]
    // The page now maps a frame outside the region: the tree covers the region's frames, loads elsewhere go unchecked.
    [InlineData("os-remap", Verdict.Breached, Impact.Integrity, "The application read 4141414141414141")]
    // Dom0's foreign mapping reads ciphertext.
    [InlineData("dom0-read", Verdict.Prevented, null, "none of the declared secrets is in the 16384 bytes the attacker read")]
    // Dom0's foreign store lands as it is; the owner's next read fails the tree.
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
