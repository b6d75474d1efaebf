using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The 13 attacks on the vault under <c>sev-snp</c> (docs/architectures/sev-snp.md): sev's per-VM key plus a
/// reverse-map table that refuses Dom0's writes and remaps; still no cryptographic integrity against the bus.
/// </summary>
public sealed class SevSnpCampaignTests
{
    [Theory]
    [InlineData("phys-snoop", "prevented", false, "DRAM holds XTS ciphertext under the VM's key")]
    [InlineData("phys-spoof", "breached/integrity", false, "the RMP does not reach below the memory controller: garbage is consumed")]
    [InlineData("phys-splice", "breached/integrity", false, "the address tweak garbles the moved block, and nothing notices")]
    [InlineData("phys-replay", "breached/integrity", false, "an older ciphertext at the same address decrypts to the older record, no freshness check")]
    [InlineData("phys-meta-spoof", "denied", false, "the chosen bytes over the frame's RMP entry fail the VM's own RMP check: a nested page fault, the vault is stopped, nothing consumed")]
    [InlineData("phys-rollback", "breached/integrity", false, "the RMP entry put back is the one that was there: the older ciphertext decrypts to the older record")]
    [InlineData("os-read", "breached/confidentiality", true, "the guest kernel is inside the VM and reads plaintext (trusted by SEV)")]
    [InlineData("os-write", "breached/integrity", true, "the guest kernel's write is encrypted in place like the application's own")]
    [InlineData("os-remap", "breached/integrity", true, "the guest page tables are the trusted kernel's to change")]
    [InlineData("dom0-read", "prevented", false, "Dom0 has no key: its foreign mapping reads ciphertext")]
    [InlineData("dom0-write", "prevented", false, "the RMP refuses a write to a frame Dom0 does not own")]
    [InlineData("dom0-remap", "prevented", false, "the RMP refuses changing the GFN an assigned frame lives at")]
    [InlineData("vm-map-foreign", "prevented", false, "an unprivileged VM gets no mapping or copy of another VM's frames")]
    public void Vault(string attack, string expected, bool outsideThreatModel, string reason)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("sev-snp", attack, "vault", 1, null));
        string actual = r.Verdict.Name() + (r.Impact is Impact impact ? "/" + impact.Name() : "");
        Assert.True(expected == actual, $"sev-snp x {attack}: expected {expected} ({reason}), got {actual}: {r.Evidence}");
        Assert.Equal(outsideThreatModel, r.OutsideThreatModel);
    }
}
