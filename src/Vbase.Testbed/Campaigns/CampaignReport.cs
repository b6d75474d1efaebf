using System.Text;
using Vbase.Sapi.Chip;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// Writes a campaign's reports into its output folder: <c>report.md</c> and <c>report.html</c>. Like the JSON they hold
/// no time, host or absolute path, so the same seed gives the same bytes.
/// </summary>
public static class CampaignReport
{
    public const string MarkdownFile = "report.md", HtmlFile = "report.html";

    /// <summary>The cost table's header cells (both reports).</summary>
    public static readonly string[] CostHeader =
        ["architecture", "data lines read / written", "metadata lines read / written", "hit rate", "cipher ops", "MAC ops", "est. cycles", "extra DRAM lines vs none", "est. slowdown vs none"];

    /// <summary>One row of the cost table (after the architecture's name): "-" where it was not measured.</summary>
    public static string[] CostColumns(ArchitectureSummary s, CostLatencies latencies)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        if (s.Cost is not DramTraffic t)
        {
            return ["-", "-", "-", "-", "-", "-", "-", "-"];
        }
        string extra = "-", slowdown = "-";
        if (s.Baseline is DramTraffic b)
        {
            extra = (t.Lines - b.Lines).ToString("N0", c);
            slowdown = Running.Summary.Slowdown(t, b, latencies).ToString("0.000", c) + "×";
        }
        return [$"{t.DataReads.ToString("N0", c)} / {t.DataWrites.ToString("N0", c)}", $"{t.MetadataReads.ToString("N0", c)} / {t.MetadataWrites.ToString("N0", c)}",
            (100 * t.HitRate).ToString("0.00", c) + "%", t.CipherOps.ToString("N0", c), t.MacOps.ToString("N0", c), t.Cycles(latencies).ToString("N0", c), extra, slowdown];
    }

    internal static string CostIntro(CampaignResult result) =>
        $"The application alone under each architecture, unattacked, at the chip boundary ({result.Chip.CacheBytes / 1024} KiB {result.Chip.Ways}-way last-level cache): "
        + "protected lines filled from and written back to DRAM, metadata lines (counters, MACs, tree nodes) read and written, on-chip hits, "
        + "cipher and MAC work, and the cost model's cycle estimate (one cycle per instruction; hit "
        + $"{result.Chip.Latencies.HitCycles}, DRAM line {result.Chip.Latencies.DramCycles}, cipher {result.Chip.Latencies.CipherCycles}, MAC {result.Chip.Latencies.MacCycles} cycles), "
        + "with the extra DRAM traffic and the slowdown against none on the same application.";

    /// <summary>
    /// Writes both reports and returns their paths; for each cell whose events.jsonl is under
    /// <paramref name="outDirectory"/>, its event view (<see cref="EventView.PathFor"/>). <paramref name="tool"/>: the writing tool's version.
    /// </summary>
    public static IReadOnlyList<string> WriteAll(CampaignResult result, string outDirectory, string? tool = null)
    {
        Directory.CreateDirectory(outDirectory);
        string markdown = Path.Combine(outDirectory, MarkdownFile), html = Path.Combine(outDirectory, HtmlFile);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        File.WriteAllText(markdown, MarkdownReport.Render(result), utf8);
        File.WriteAllText(html, HtmlReport.Render(result, tool), utf8);
        foreach (CampaignCell cell in result.Cells)
        {
            if (cell.EventsLink is string events && Path.Combine(outDirectory, events) is string log && File.Exists(log))
            {
                string run = Path.GetDirectoryName(log)!, view = EventView.PathFor(events);
                string[] consoles = [.. Directory.EnumerateFiles(run, "console-*.log").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
                string up = string.Concat(Enumerable.Repeat("../", view.Count(ch => ch == '/')));
                string file = Path.Combine(outDirectory, view.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.WriteAllText(file, EventView.Render(cell, File.ReadAllText(log), consoles, up + HtmlFile, up + RelativeUrl(HtmlReport.RunFile(events, ""))), utf8);
            }
        }
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
