using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The 13 attacks on the vault under <c>pmp</c> (docs/architectures/pmp.md): the security monitor's range checks
/// refuse every software accessor but the owner and keep the frames bound to their GFNs; DRAM holds plaintext, which
/// Keystone leaves to its trusted hardware (physical attacks are outside its model).
/// </summary>
public sealed class PmpCampaignTests
{
    [Theory]
    [InlineData("phys-snoop", "breached/confidentiality", true, "no encryption: the secret is plaintext in DRAM")]
    [InlineData("phys-spoof", "breached/integrity", true, "no integrity in DRAM: the vault consumes the chosen bytes")]
    [InlineData("phys-splice", "breached/integrity", true, "no integrity in DRAM: the copied record is consumed")]
    [InlineData("phys-replay", "breached/integrity", true, "no freshness in DRAM: the older record is consumed")]
    [InlineData("phys-meta-spoof", "inconclusive", true, "no metadata off chip (the PMP is on chip): nothing to overwrite")]
    [InlineData("phys-rollback", "breached/integrity", true, "no metadata and no freshness in DRAM: the older record is consumed")]
    [InlineData("os-read", "prevented", false, "the PMP check refuses the guest kernel's loads (-EACCES)")]
    [InlineData("os-write", "prevented", false, "the PMP check refuses the guest kernel's stores (-EACCES)")]
    [InlineData("os-remap", "detected", false, "the monitor re-walks the pinned mapping when the process resumes and reports the moved page")]
    [InlineData("dom0-read", "prevented", false, "the PMP check refuses Dom0's foreign reads")]
    [InlineData("dom0-write", "prevented", false, "the PMP check refuses Dom0's foreign write")]
    [InlineData("dom0-remap", "prevented", false, "the monitor refuses p2m changes of granted GFNs")]
    [InlineData("vm-map-foreign", "prevented", false, "the hypervisor gives an unprivileged VM no mapping or copy of another VM's frames (the PMP is never reached)")]
    public void Vault(string attack, string expected, bool outsideThreatModel, string reason)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("pmp", attack, "vault", 1, null));
        string actual = r.Verdict.Name() + (r.Impact is Impact impact ? "/" + impact.Name() : "");
        Assert.True(expected == actual, $"pmp x {attack}: expected {expected} ({reason}), got {actual}: {r.Evidence}");
        Assert.Equal(outsideThreatModel, r.OutsideThreatModel);
    }
}
