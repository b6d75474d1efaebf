using System.Globalization;
using System.Text;
using Vbase.Hypervisor;
using Vbase.Sapi;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Oracle;

/// <summary>Everything the Oracle looks at after one attack run; collected where no attacker reaches.</summary>
/// <param name="Mismatches">Application reads that differed from the golden shadow (hypervisor-kept; the first ones).</param>
/// <param name="Violations">Violations the architecture raised (<c>sapi.violation</c>).</param>
/// <param name="Refusals">Accesses the architecture refused or dropped (<c>sapi.access_refused</c>, <c>sapi.write_dropped</c>) after the attack fired.</param>
/// <param name="ApplicationFinished">The application's domain shut down cleanly with exit code 0.</param>
/// <param name="ApplicationState">How the application's domain ended, in words, for the evidence.</param>
public sealed record OracleInputs(
    AttackSpec Attack,
    SecureApp App,
    AttackEvidence Evidence,
    IReadOnlyList<ShadowMismatch> Mismatches,
    IReadOnlyList<HypervisorEvent> Violations,
    IReadOnlyList<HypervisorEvent> Refusals,
    bool ApplicationFinished,
    string ApplicationState)
{
    /// <summary>How many tampered reads there were in all (the hypervisor keeps only the first ones); null: <see cref="Mismatches"/>' count.</summary>
    public long? TamperedReads { get; init; }
}

/// <summary>One verdict with its evidence (docs/design.md, "verdicts").</summary>
public sealed record Judgement(Verdict Verdict, Impact? Impact, string Evidence);

/// <summary>
/// The Oracle: from the golden shadow, the declared secrets and the event log, one verdict per attack. The order
/// of the rules is the order of the definitions: a leak or tampered data the application consumed is a breach;
/// a violation raised before any tampered read is a detection; an application that could not finish is a denial;
/// anything else is prevented. An attack the harness could not carry out is an error for both sides.
/// </summary>
public static class AttackOracle
{
    public static Judgement Judge(OracleInputs input)
    {
        AttackEvidence e = input.Evidence;
        string did = e.Actions.Count == 0 ? "" : $"The attack: {string.Join("; ", e.Actions)}. ";
        if (e.Error is string error)
        {
            return new(Verdict.Error, null, $"{did}The harness could not carry the attack out: {error}.");
        }
        if (e.FiredAt is null)
        {
            return new(Verdict.Error, null, $"{did}The attack never fired ({input.ApplicationState}).");
        }
        if (e.Inconclusive is string why)
        {
            return new(Verdict.Inconclusive, null, $"{did}The attack could not take effect: {why}.");
        }
        if (FindSecret(input) is string leak)
        {
            return new(Verdict.Breached, Impact.Confidentiality, $"{did}{leak}.");
        }
        ShadowMismatch? tampered = input.Mismatches.Count == 0 ? null : input.Mismatches[0];
        HypervisorEvent? violation = input.Violations.Count == 0 ? null : input.Violations[0];
        if (violation is not null && (tampered is null || violation.Time <= tampered.Time))
        {
            string after = tampered is null ? "the application read no tampered data"
                : string.Create(CultureInfo.InvariantCulture, $"the application's first tampered read came later, at t={tampered.Time}");
            return new(Verdict.Detected, null, string.Create(CultureInfo.InvariantCulture,
                $"{did}The architecture raised a violation at t={violation.Time} ({violation.Message}) before {after}."));
        }
        if (tampered is not null)
        {
            return new(Verdict.Breached, Impact.Integrity, string.Create(CultureInfo.InvariantCulture,
                $"{did}The application read {Hex(tampered.Actual)} at {tampered.Address} (region {tampered.RegionId}, t={tampered.Time}) where the golden shadow holds {Hex(tampered.Expected)}; {input.TamperedReads ?? input.Mismatches.Count} tampered read(s) in all, no violation raised."));
        }
        if (!input.ApplicationFinished)
        {
            return new(Verdict.Denied, null, $"{did}The application could not finish ({input.ApplicationState}); nothing secret reached the attacker and it read no tampered data.");
        }
        var prevented = new StringBuilder(did);
        prevented.Append(CultureInfo.InvariantCulture, $"The application finished and read only what it had written (no read differed from the golden shadow)");
        int observed = e.Observed.Sum(o => o.Bytes.Length);
        if (observed > 0)
        {
            prevented.Append(CultureInfo.InvariantCulture, $"; none of the declared secrets is in the {observed} bytes the attacker read");
        }
        if (input.Refusals.Count > 0)
        {
            prevented.Append(CultureInfo.InvariantCulture, $"; the architecture refused or dropped {input.Refusals.Count} access(es), first at t={input.Refusals[0].Time} ({input.Refusals[0].Kind}: {input.Refusals[0].Message})");
        }
        else if (e.Tampered)
        {
            prevented.Append("; the tampering took effect but the application never read the tampered data");
        }
        prevented.Append('.');
        return new(Verdict.Prevented, null, prevented.ToString());
    }

    private static string? FindSecret(OracleInputs input)
    {
        foreach ((string what, byte[] bytes) in input.Evidence.Observed)
        {
            foreach (DeclaredSecret secret in input.App.Secrets)
            {
                int at = bytes.AsSpan().IndexOf(secret.Bytes);
                if (at >= 0)
                {
                    return string.Create(CultureInfo.InvariantCulture,
                        $"The declared secret '{secret.Name}' ({Hex(secret.Bytes)}) is in what the attacker read: {what}, at offset {at}");
                }
            }
        }
        return null;
    }

    private static string Hex(byte[] bytes) => bytes.Length <= 16
        ? Convert.ToHexStringLower(bytes)
        : Convert.ToHexStringLower(bytes.AsSpan(0, 16)) + "…";
}
