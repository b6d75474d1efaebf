using System.Text;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// Writes a campaign's reports into its output folder: <c>report.md</c> and <c>report.html</c>. Like the JSON they hold
/// no time, host or absolute path, so the same seed gives the same bytes.
/// </summary>
public static class CampaignReport
{
    public const string MarkdownFile = "report.md", HtmlFile = "report.html";

    /// <summary>One row of the metadata-traffic table: accesses, reads, writes, blocks per access, hit rate.</summary>
    public static (string Accesses, string Reads, string Writes, string PerAccess, string HitRate) TrafficColumns(Hypervisor.Sapi.MetadataTraffic t)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        long lookups = t.CacheHits + t.CacheMisses;
        return (t.ProtectedAccesses.ToString("N0", c), t.MetadataReads.ToString("N0", c), t.MetadataWrites.ToString("N0", c),
            t.PerAccess.ToString("0.000", c), lookups == 0 ? "-" : (100.0 * t.CacheHits / lookups).ToString("0.0", c) + "%");
    }

    /// <summary>Writes both reports and returns their paths.</summary>
    public static IReadOnlyList<string> WriteAll(CampaignResult result, string outDirectory)
    {
        Directory.CreateDirectory(outDirectory);
        string markdown = Path.Combine(outDirectory, MarkdownFile), html = Path.Combine(outDirectory, HtmlFile);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        File.WriteAllText(markdown, MarkdownReport.Render(result), utf8);
        File.WriteAllText(html, HtmlReport.Render(result), utf8);
        return [markdown, html];
    }

    /// <summary>A path relative to the report, as a URL: each segment percent-encoded, '/' between them.</summary>
    internal static string RelativeUrl(string relativePath) =>
        string.Join('/', relativePath.Split('/').Select(Uri.EscapeDataString));

    internal const string OutsideMeaning =
        "outside the architecture's declared threat model: it trusts the attack's position. Run and judged anyway, "
        + "but not counted in \"inside its threat model\"";

    internal static string Title(CampaignResult result) => $"Vbase attack campaign: {result.Plan.App}, seed {result.Plan.Seed}";

    internal static string Scope(CampaignResult result)
    {
        CampaignPlan plan = result.Plan;
        return $"Application {plan.App}, seed {plan.Seed}: {Count(plan.Architectures.Count, "architecture")} × {Count(plan.Attacks.Count, "attack")}, "
            + $"{Count(result.Cells.Count, "cell")}, each run in a fresh testbed.";
    }

    private static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";
}
