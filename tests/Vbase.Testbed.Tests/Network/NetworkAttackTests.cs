using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.Network;

/// <summary>
/// The network attacks (docs/network-attacks.md) against both variants of the networked bank, under <c>none</c> and
/// under a protecting architecture (<c>sgx-mee</c>): memory protection does not protect the wire; the protocol does.
/// </summary>
public sealed class NetworkAttackTests
{
    private static AttackRunResult Run(string arch, string attack, string app, IReadOnlyDictionary<string, string>? parameters = null) =>
        AttackRunner.Run(new AttackRunRequest(arch, attack, app, 1, null, parameters));

    [Theory]
    [InlineData("none", "net-plain", "net-sniff", Verdict.Breached, Impact.Confidentiality, "'login-token' crossed the wire readable: it is in frame")]
    [InlineData("sgx-mee", "net-plain", "net-sniff", Verdict.Breached, Impact.Confidentiality, "(server to client")]
    [InlineData("none", "net-plain", "net-spoof", Verdict.Breached, Impact.Integrity, "injected by Dom0) which the client never sent")]
    [InlineData("sgx-mee", "net-plain", "net-spoof", Verdict.Breached, Impact.Integrity, "which the client never sent")]
    [InlineData("none", "net-plain", "net-replay", Verdict.Breached, Impact.Integrity, "but the server acted on 2 times (replayed)")]
    [InlineData("sgx-mee", "net-plain", "net-replay", Verdict.Breached, Impact.Integrity, "(replayed)")]
    [InlineData("none", "net-plain", "net-splice", Verdict.Breached, Impact.Integrity, "the header of the client's request seq 4 with the body of its request seq 3")]
    [InlineData("sgx-mee", "net-plain", "net-splice", Verdict.Breached, Impact.Integrity, "which the client never sent")]
    [InlineData("none", "net-plain", "net-drop", Verdict.Denied, null, "The service stopped (the server shut down: poweroff, exit code 2; the client shut down: poweroff, exit code 1)")]
    [InlineData("sgx-mee", "net-plain", "net-drop", Verdict.Denied, null, "dropped 5 frame(s)")]
    [InlineData("none", "net-plain", "combo-key-forge", Verdict.Breached, Impact.Integrity, "in the clear (the protocol has no key)")]
    [InlineData("sgx-mee", "net-plain", "combo-key-forge", Verdict.Breached, Impact.Integrity, "which the client never sent")]
    [InlineData("none", "net-sealed", "net-sniff", Verdict.Prevented, null, "none of the declared secrets is in the")]
    [InlineData("sgx-mee", "net-sealed", "net-sniff", Verdict.Prevented, null, "none of the declared secrets is in the")]
    [InlineData("none", "net-sealed", "net-spoof", Verdict.Detected, null, "(bad tag) and said so in its reply, frame")]
    [InlineData("sgx-mee", "net-sealed", "net-spoof", Verdict.Detected, null, "(bad tag)")]
    [InlineData("none", "net-sealed", "net-replay", Verdict.Detected, null, "(stale seq) and said so")]
    [InlineData("sgx-mee", "net-sealed", "net-replay", Verdict.Detected, null, "(stale seq)")]
    [InlineData("none", "net-sealed", "net-splice", Verdict.Detected, null, "(bad tag)")]
    [InlineData("sgx-mee", "net-sealed", "net-splice", Verdict.Detected, null, "(bad tag)")]
    [InlineData("none", "net-sealed", "net-drop", Verdict.Denied, null, "The service stopped")]
    [InlineData("sgx-mee", "net-sealed", "net-drop", Verdict.Denied, null, "The service stopped")]
    [InlineData("none", "net-sealed", "combo-key-forge", Verdict.Breached, Impact.Integrity, "which the client never sent")]
    [InlineData("sgx-mee", "net-sealed", "combo-key-forge", Verdict.Detected, null, "(bad tag)")]
    public void EachAttackGetsItsVerdict(string arch, string app, string attack, Verdict verdict, Impact? impact, string evidence)
    {
        AttackRunResult r = Run(arch, attack, app);
        Assert.True(verdict == r.Verdict, r.Evidence);
        Assert.Equal(impact, r.Impact);
        Assert.Contains(evidence, r.Evidence);
    }

    /// <summary>
    /// Where memory protection keeps the protocol's key: the combination breaks the sealed bank exactly where the key is
    /// readable — in DRAM (none, pmp: plaintext there) or through the guest kernel (sev, sev-snp trust it) — and is
    /// detected everywhere else (DRAM ciphertext, the kernel gets ciphertext or the abort page).
    /// </summary>
    [Theory]
    [InlineData("none", "physical DRAM")]
    [InlineData("pmp", "physical DRAM")]
    [InlineData("sev", "the guest kernel")]
    [InlineData("sev-snp", "the guest kernel")]
    [InlineData("vbase", null)]
    [InlineData("xom", null)]
    [InlineData("aegis", null)]
    [InlineData("sgx-mee", null)]
    [InlineData("bmt", null)]
    public void TheCombinationTakesTheKeyWhereItIsReadable(string arch, string? where)
    {
        AttackRunResult r = Run(arch, "combo-key-forge", "net-sealed");
        Assert.True(r.Verdict == (where is null ? Verdict.Detected : Verdict.Breached), r.Evidence);
        Assert.Contains(where is null ? "none of the 2 key(s) read from memory opens" : $"the key read from {where} opens", r.Evidence);
    }

    [Fact]
    public void AShortDropIsRiddenOutByTheClientsRetries()
    {
        AttackRunResult r = Run("none", "net-drop", "net-sealed", new Dictionary<string, string> { ["duration"] = "3000000", ["replies"] = "1" });
        Assert.True(r.Verdict == Verdict.Prevented, r.Evidence);
        Assert.Contains("resent", r.Evidence);
    }

    [Theory]
    [InlineData("net-sniff", "vault")]
    [InlineData("combo-key-forge", "paper")]
    public void ANetworkAttackOnAnAppWithoutANetworkIsNotApplicable(string attack, string app)
    {
        AttackRunResult r = Run("none", attack, app);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains($"not applicable: {app} has no network", r.Evidence);
    }

    [Fact]
    public void ACampaignsAllTakesTheNetworkAttacksOnlyOnANetworkedApp()
    {
        var registry = Vbase.Architectures.BuiltInArchitectures.CreateRegistry();
        var suite = Vbase.Testbed.Campaigns.BuiltInAttackSuite.Instance;
        var vault = Vbase.Testbed.Campaigns.CampaignPlan.Create("none", null, "vault", 1, registry, suite);
        var bank = Vbase.Testbed.Campaigns.CampaignPlan.Create("none", "all", "net-sealed", 1, registry, suite);
        var named = Vbase.Testbed.Campaigns.CampaignPlan.Create("none", "net-sniff", "vault", 1, registry, suite);
        Assert.DoesNotContain(vault.Attacks, a => a.Position == AttackPosition.Network);
        Assert.Equal(AttackCatalogue.All.Count, bank.Attacks.Count);
        Assert.Equal("net-sniff", Assert.Single(named.Attacks).Id);
    }

    [Fact]
    public void AMemoryAttackOnTheNetworkedBankReadsTheServersRegion()
    {
        AttackRunResult r = Run("none", "phys-snoop", "net-sealed");
        Assert.Equal((Verdict.Breached, Impact.Confidentiality), (r.Verdict, r.Impact));
        Assert.Contains("'login-token'", r.Evidence);
    }
}
