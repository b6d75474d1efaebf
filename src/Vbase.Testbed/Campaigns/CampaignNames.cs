using System.Text;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>The stable names and labels that the JSON and the reports share.</summary>
public static class CampaignNames
{
    /// <summary>An attack position as a JSON value: <c>physical</c>, <c>guest-kernel</c>, <c>dom0</c>, <c>co-resident-vm</c>, <c>network</c>.</summary>
    public static string Slug(this AttackPosition position) => position switch
    {
        AttackPosition.Physical => "physical",
        AttackPosition.GuestKernel => "guest-kernel",
        AttackPosition.Dom0 => "dom0",
        AttackPosition.Network => "network",
        _ => "co-resident-vm",
    };

    public static string Slug(this AttackGoal goal) => goal switch
    {
        AttackGoal.Confidentiality => "confidentiality",
        AttackGoal.Availability => "availability",
        _ => "integrity",
    };

    /// <summary>What a verdict means, as docs/design.md defines it (the reports' legend).</summary>
    public static string Meaning(this Verdict verdict) => verdict switch
    {
        Verdict.Prevented => "the attack's action was refused or had no effect on what the application reads, and it learned nothing secret",
        Verdict.Detected => "the architecture raised a violation before the application consumed tampered data",
        Verdict.Breached => "a secret reached the attacker (confidentiality) or the application consumed tampered data with no violation raised (integrity)",
        Verdict.Denied => "the application could not finish (availability), with no breach",
        Verdict.Inconclusive => "the attack could not take effect (nothing to replay, the region gone first): the architecture was not put to the test",
        _ => "the harness could not carry the attack out; a success for neither side",
    };

    /// <summary>A cell's verdict with its impact: <c>breached (integrity)</c>, <c>prevented</c>.</summary>
    public static string Label(this CampaignCell cell) => cell.Impact is Impact impact ? $"{cell.Verdict.Name()} ({impact.Name()})" : cell.Verdict.Name();

    /// <summary>The id of a cell's evidence in a report: <c>cell-vbase-phys-spoof</c>; letters, digits and '-' only.</summary>
    public static string Anchor(this CampaignCell cell) => $"cell-{AnchorPart(cell.Architecture.Name)}-{AnchorPart(cell.Attack.Id)}";

    private static string AnchorPart(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            text.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-');
        }
        return text.ToString();
    }
}
