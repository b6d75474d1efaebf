using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The 13 attacks on the vault under <c>sgx-mee</c> (docs/architectures/sgx-mee.md), one run each: the verdict the
/// design should get and the evidence of why.
/// </summary>
public sealed class SgxMeeCampaignTests
{
    [Theory]
    // DRAM holds AES-CTR ciphertext per line; the key never leaves the engine.
    [InlineData("phys-snoop", Verdict.Prevented, "none of the declared secrets is in the 16384 bytes the attacker read")]
    // The spoofed line fails its MAC on the enclave's next read, which faults.
    [InlineData("phys-spoof", Verdict.Detected, "mee: mac mismatch")]
    // The MAC binds the line's physical address: a copy of another line fails it.
    [InlineData("phys-splice", Verdict.Detected, "mee: mac mismatch")]
    // The old ciphertext does not match the current version's MAC (the version lives off the attacked frame).
    [InlineData("phys-replay", Verdict.Detected, "mee: mac mismatch")]
    // 0x41 over the line's version and MAC slots and the tree nodes above its version line (all in DRAM): the next
    // fill's version line fails the tree.
    [InlineData("phys-meta-spoof", Verdict.Detected, "does not verify against the tree")]
    // Data, version, MAC and every tree node put back as they were: only the on-chip root knows, and the tree fails.
    [InlineData("phys-rollback", Verdict.Detected, "does not verify against the tree")]
    // The kernel is outside the enclave: it reads the abort page (0xFF).
    [InlineData("os-read", Verdict.Prevented, "none of the declared secrets is in the")]
    // The kernel's write to an EPC frame is dropped.
    [InlineData("os-write", Verdict.Prevented, "sapi.write_dropped")]
    // The remapped page is a non-EPC frame: seen at the next resume by the EPCM walk, before the enclave reads it.
    [InlineData("os-remap", Verdict.Detected, "a frame outside the EPC")]
    // Dom0's foreign mapping reads the abort page.
    [InlineData("dom0-read", Verdict.Prevented, "none of the declared secrets is in the 16384 bytes the attacker read")]
    // Dom0's foreign write is dropped.
    [InlineData("dom0-write", Verdict.Prevented, "accessor=dom0")]
    // The p2m change of an enclave GFN is refused (the hypervisor-level EPCM).
    [InlineData("dom0-remap", Verdict.Prevented, "refused")]
    // The hypervisor refuses an unprivileged VM's foreign map; grant copies read the abort page.
    [InlineData("vm-map-foreign", Verdict.Prevented, "obtained 0 bytes")]
    public void EachAttackOnTheVault(string attack, Verdict expected, string evidence)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("sgx-mee", attack, "vault", 1, null));
        Assert.True(expected == r.Verdict, $"{attack}: {r.Verdict.Name()} — {r.Evidence}");
        Assert.Contains(evidence, r.Evidence);
        Assert.False(r.OutsideThreatModel);        // sgx-mee trusts only the application
        if (expected != Verdict.Breached)
        {
            Assert.Null(r.Impact);
        }
    }
}
