namespace Vbase.Testbed.Oracle;

/// <summary>The Oracle's judgement of one attack run (docs/design.md, "verdicts").</summary>
public enum Verdict
{
    /// <summary>The attack's action was refused or had no effect on what the application reads, and it learned nothing secret.</summary>
    Prevented,
    /// <summary>The architecture raised a violation before the application consumed tampered data.</summary>
    Detected,
    /// <summary>A secret reached the attacker, or the application consumed tampered data with no violation raised.</summary>
    Breached,
    /// <summary>The application could not finish (availability), with no breach.</summary>
    Denied,
    /// <summary>
    /// The attack could not take effect (nothing changed to replay, the region gone before it acted): a success for
    /// neither side, and not a prevention — the architecture was never put to the test.
    /// </summary>
    Inconclusive,
    /// <summary>The harness could not carry the attack out; a success for neither side.</summary>
    Error,
}

/// <summary>What a breach broke.</summary>
public enum Impact
{
    Confidentiality,
    Integrity,
}

public static class VerdictNames
{
    /// <summary>The stable lower-case names used in JSON and reports.</summary>
    public static string Name(this Verdict v) => v switch
    {
        Verdict.Prevented => "prevented",
        Verdict.Detected => "detected",
        Verdict.Breached => "breached",
        Verdict.Denied => "denied",
        Verdict.Inconclusive => "inconclusive",
        _ => "error",
    };

    public static string Name(this Impact i) => i == Impact.Confidentiality ? "confidentiality" : "integrity";
}
