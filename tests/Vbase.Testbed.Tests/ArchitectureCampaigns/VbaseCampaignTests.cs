using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.ArchitectureCampaigns;

/// <summary>
/// The two metadata attacks on the vault under the paper's <c>vbase</c> (docs/sapi.md); the other eleven are
/// <c>AttackSuite/AttackSuiteTests.cs</c>'s. vbase keeps nothing off chip but the ciphertext, and drops every write.
/// </summary>
public sealed class VbaseCampaignTests
{
    [Theory]
    [InlineData("phys-meta-spoof", "inconclusive", "no metadata off chip: nothing to overwrite")]
    [InlineData("phys-rollback", "inconclusive", "the block never changes in DRAM, as for phys-replay")]
    public void Vault(string attack, string expected, string reason)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("vbase", attack, "vault", 1, null));
        string actual = r.Verdict.Name() + (r.Impact is Impact impact ? "/" + impact.Name() : "");
        Assert.True(expected == actual, $"vbase x {attack}: expected {expected} ({reason}), got {actual}: {r.Evidence}");
        Assert.False(r.OutsideThreatModel);   // vbase trusts only the application (and the hypervisor)
    }
}
