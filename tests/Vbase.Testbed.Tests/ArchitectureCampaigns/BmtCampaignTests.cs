using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The 13 attacks on the vault under <c>bmt</c> (docs/architectures/bmt.md): counter-mode ciphertext hides the data,
/// the per-line MAC and the tree over the counter blocks catch every change to DRAM on the owner's next read, and
/// nothing in the design watches the mapping of the application's pages.
/// </summary>
public sealed class BmtCampaignTests
{
    [Theory]
    [InlineData("phys-snoop", "prevented", "DRAM holds AES-CTR ciphertext; the key never leaves the engine")]
    [InlineData("phys-spoof", "detected", "the chosen bytes fail the line's MAC on the owner's next read, which faults")]
    [InlineData("phys-splice", "detected", "the MAC binds the line's address: another line's valid ciphertext fails it")]
    [InlineData("phys-replay", "detected", "the MAC binds the counter, which moved on with the owner's write (and the counter block is in the tree)")]
    [InlineData("phys-meta-spoof", "detected", "0x41 over the counter block, the MAC and the tree node: the counter block fails the tree at the next fill")]
    [InlineData("phys-rollback", "detected", "data, counter block, MAC and tree node put back: the tree's top node no longer matches the on-chip root")]
    [InlineData("os-read", "prevented", "the guest kernel is outside the secure context and reads ciphertext")]
    [InlineData("os-write", "detected", "the kernel's bytes land raw in DRAM and fail the line's MAC")]
    [InlineData("os-remap", "breached/integrity", "BMT protects physical memory, not translations: the new frame is not protected at all")]
    [InlineData("dom0-read", "prevented", "Dom0's foreign mapping reads ciphertext")]
    [InlineData("dom0-write", "detected", "Dom0's bytes land raw in DRAM and fail the line's MAC")]
    [InlineData("dom0-remap", "breached/integrity", "nothing checks the p2m: the GFN now maps an unprotected frame of Dom0's choice")]
    [InlineData("vm-map-foreign", "prevented", "an unprivileged VM gets no mapping or copy of another VM's frames")]
    public void Vault(string attack, string expected, string reason)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("bmt", attack, "vault", 1, null));
        string actual = r.Verdict.Name() + (r.Impact is Impact impact ? "/" + impact.Name() : "");
        Assert.True(expected == actual, $"bmt x {attack}: expected {expected} ({reason}), got {actual}: {r.Evidence}");
        if (attack is "phys-meta-spoof" or "phys-rollback")
        {
            Assert.Contains("check=counter_tree", r.Evidence);   // caught by the tree over the counter blocks, not a MAC
        }
        Assert.False(r.OutsideThreatModel);   // bmt trusts only the application: every position is inside its model
    }
}
