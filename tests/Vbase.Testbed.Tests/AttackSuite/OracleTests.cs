using Vbase.Hypervisor;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.AttackSuite;

/// <summary>The Oracle's rules on crafted cases.</summary>
public sealed class OracleTests
{
    private static readonly SecureApp Vault = AppCatalogue.Find("vault")!;
    private static readonly AttackSpec Spoof = AttackCatalogue.Find("phys-spoof")!;

    private static AttackEvidence Fired(params string[] actions)
    {
        var e = new AttackEvidence { FiredAt = 1000 };
        e.Actions.AddRange(actions);
        return e;
    }

    private static ShadowMismatch Tampered(ulong time) => new(time, 1, new GuestPhysicalAddress(0x8021_6040), [1, 2, 3, 4], [0x41, 0x41, 0x41, 0x41]);

    private static HypervisorEvent Violation(ulong time) => new(time, new DomainId(1), 0,
        new ViolationData(1, Accessor.GuestUser, AccessKind.Load, new GuestPhysicalAddress(0x8021_6040), new Mfn(0x216), "mac mismatch"));

    private static Judgement Judge(AttackEvidence e, ShadowMismatch[]? tampered = null, HypervisorEvent[]? violations = null, bool finished = true) =>
        AttackOracle.Judge(new OracleInputs(Spoof, Vault, e, tampered ?? [], violations ?? [], [], finished, finished ? "shut down: poweroff, exit code 0" : "shut down: crash, exit code -1"));

    [Fact]
    public void ATamperedReadWithNoViolationIsAnIntegrityBreach()
    {
        Judgement j = Judge(Fired("overwrote"), [Tampered(2000)]);
        Assert.Equal((Verdict.Breached, Impact.Integrity), (j.Verdict, j.Impact!.Value));
        Assert.Contains("The application read 41414141", j.Evidence);
        Assert.Contains("golden shadow holds 01020304", j.Evidence);
    }

    [Fact]
    public void TheSameWithAViolationRaisedFirstIsDetected()
    {
        Judgement j = Judge(Fired("overwrote"), [Tampered(2000)], [Violation(1500)]);
        Assert.Equal(Verdict.Detected, j.Verdict);
        Assert.Null(j.Impact);
        // The evidence quotes the violation's message, derived from its fields.
        Assert.Contains("violation at t=1500 (region=1 accessor=guest_user kind=load gpa=0x80216040 mfn=0x216 mac mismatch)", j.Evidence);
    }

    [Fact]
    public void AViolationAfterTheApplicationConsumedTamperedDataIsStillABreach()
    {
        Judgement j = Judge(Fired("overwrote"), [Tampered(2000)], [Violation(2500)]);
        Assert.Equal(Verdict.Breached, j.Verdict);
    }

    [Fact]
    public void TheSecretInWhatTheAttackerReadIsAConfidentialityBreach()
    {
        AttackEvidence e = Fired("read DRAM");
        byte[] page = new byte[4096];
        Vault.Secrets[0].Bytes.CopyTo(page, 100);
        e.Observed.Add(("DRAM frame", page));
        Judgement j = Judge(e);
        Assert.Equal((Verdict.Breached, Impact.Confidentiality), (j.Verdict, j.Impact!.Value));
        Assert.Contains("'vault-secret'", j.Evidence);
        Assert.Contains("at offset 100", j.Evidence);
    }

    [Fact]
    public void TheApplicationStoppedWithNothingLeakedIsDenied()
    {
        AttackEvidence e = Fired("remapped");
        e.Observed.Add(("DRAM frame", new byte[4096]));
        Judgement j = Judge(e, finished: false);
        Assert.Equal(Verdict.Denied, j.Verdict);
        Assert.Contains("could not finish (shut down: crash", j.Evidence);
    }

    [Fact]
    public void NothingLeakedNothingTamperedIsPrevented()
    {
        Judgement j = Judge(Fired("read DRAM"));
        Assert.Equal(Verdict.Prevented, j.Verdict);
        Assert.Contains("read only what it had written", j.Evidence);
    }

    [Fact]
    public void AnAttackTheHarnessCouldNotCarryOutIsAnError()
    {
        var e = new AttackEvidence();
        Assert.Equal(Verdict.Error, Judge(e).Verdict);
        AttackEvidence failed = Fired();
        failed.Error = "no mailbox";
        Judgement j = Judge(failed, [Tampered(2000)]);
        Assert.Equal(Verdict.Error, j.Verdict);
        Assert.Contains("could not carry the attack out: no mailbox", j.Evidence);
    }
}
