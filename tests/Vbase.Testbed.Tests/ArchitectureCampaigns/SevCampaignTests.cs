using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The 13 attacks on the vault under <c>sev</c> (docs/architectures/sev.md): a per-VM key hides the data from
/// Dom0 and the bus, but nothing checks integrity and the guest kernel is trusted with plaintext.
/// </summary>
public sealed class SevCampaignTests
{
    [Theory]
    [InlineData("phys-snoop", "prevented", false, "DRAM holds XTS ciphertext under the VM's key")]
    [InlineData("phys-spoof", "breached/integrity", false, "no integrity: the chosen bytes decrypt to garbage the vault consumes")]
    [InlineData("phys-splice", "breached/integrity", false, "the address tweak garbles the moved block, and nothing notices")]
    [InlineData("phys-replay", "breached/integrity", false, "an older ciphertext at the same address decrypts to the older record, no freshness check")]
    [InlineData("phys-meta-spoof", "inconclusive", false, "SEV keeps no metadata off chip: there is nothing to overwrite")]
    [InlineData("phys-rollback", "breached/integrity", false, "no metadata to roll back with it: the older ciphertext alone decrypts to the older record")]
    [InlineData("os-read", "breached/confidentiality", true, "the guest kernel is inside the VM and reads plaintext (trusted by SEV)")]
    [InlineData("os-write", "breached/integrity", true, "the guest kernel's write is encrypted in place like the application's own")]
    [InlineData("os-remap", "breached/integrity", true, "the guest page tables are the trusted kernel's to change")]
    [InlineData("dom0-read", "prevented", false, "Dom0 has no key: its foreign mapping reads ciphertext")]
    [InlineData("dom0-write", "breached/integrity", false, "Dom0's bytes land raw in DRAM and decrypt to garbage, undetected")]
    [InlineData("dom0-remap", "breached/integrity", false, "SEV has no reverse map: Dom0 points the GFN at a frame of its choice")]
    [InlineData("vm-map-foreign", "prevented", false, "an unprivileged VM gets no mapping or copy of another VM's frames")]
    public void Vault(string attack, string expected, bool outsideThreatModel, string reason)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("sev", attack, "vault", 1, null));
        string actual = r.Verdict.Name() + (r.Impact is Impact impact ? "/" + impact.Name() : "");
        Assert.True(expected == actual, $"sev x {attack}: expected {expected} ({reason}), got {actual}: {r.Evidence}");
        Assert.Equal(outsideThreatModel, r.OutsideThreatModel);
    }
}
