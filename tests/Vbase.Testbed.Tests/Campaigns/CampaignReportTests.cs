using System.Text.RegularExpressions;
using Vbase.Architectures;
using Vbase.Testbed.Campaigns;

namespace Vbase.Testbed.Tests.Campaigns;

/// <summary>report.md and report.html: the matrix, its links and legend, the summary, escaping, and determinism.</summary>
public sealed partial class CampaignReportTests : IDisposable
{
    private const string Hostile = "saw <script>alert('x')</script> & \"quotes\" | pipes | *stars* _under_ [link](http://evil) `code`\nsecond line";

    private readonly string directory = Directory.CreateTempSubdirectory("vbase-report-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private CampaignResult Run(string? outDirectory = null, Func<Attacks.AttackRunRequest, string>? evidence = null, string attacks = "all")
    {
        var suite = new FakeAttackSuite { Evidence = evidence };
        CampaignPlan plan = CampaignPlan.Create("none,vbase", attacks, "vault", 7, BuiltInArchitectures.CreateRegistry(), suite);
        return Campaign.Run(plan, suite, new CampaignOptions(2, outDirectory ?? directory));
    }

    [Fact]
    public void MarkdownHasTheMatrixWithArchitecturesAsRowsAndAttacksAsColumns()
    {
        string md = MarkdownReport.Render(Run());
        string[] lines = md[..md.IndexOf("## Summary", StringComparison.Ordinal)].Split('\n');
        Assert.Equal("# Vbase attack campaign: vault, seed 7", lines[0]);
        Assert.Contains("| architecture | snoop | spoof | kernel-read | dom0-read |", lines);
        Assert.Contains("|---|---|---|---|---|", lines);
        string vbaseRow = Assert.Single(lines, l => l.StartsWith("| **vbase** |", StringComparison.Ordinal));
        Assert.Equal("| **vbase** | [prevented](#cell-vbase-snoop) · [events](runs/vbase/snoop/events.jsonl) "
            + "| [breached (integrity)](#cell-vbase-spoof) · [events](runs/vbase/spoof/events.jsonl) "
            + "| [prevented](#cell-vbase-kernel-read) · [events](runs/vbase/kernel-read/events.jsonl) "
            + "| [prevented](#cell-vbase-dom0-read) · [events](runs/vbase/dom0-read/events.jsonl) |", vbaseRow);
        // none trusts everyone: every one of its cells is outside its threat model, and marked.
        string noneRow = Assert.Single(lines, l => l.StartsWith("| **none** |", StringComparison.Ordinal));
        Assert.Contains("[breached (confidentiality)](#cell-none-snoop)\\* · [events](runs/none/snoop/events.jsonl)", noneRow);
        Assert.Equal(4, Regex.Count(noneRow, @"\\\*"));
    }

    [Fact]
    public void MarkdownHasALegendASummaryPerArchitectureAndEvidenceForEveryLinkedAnchor()
    {
        string md = MarkdownReport.Render(Run());
        Assert.Contains("- **prevented**: the attack's action was refused", md);
        Assert.Contains("- **error**: the harness could not carry the attack out", md);
        Assert.Contains("- \\* outside the architecture's declared threat model", md);
        Assert.Contains("| **none** | trusts hypervisor, application, guest kernel, other processes, other VMs, Dom0, bus/DRAM; defends against nobody "
            + "| 0 | 0 | 4 | 0 | 0 | 0 | 0 breached |", md);
        Assert.Contains("| 3 | 0 | 1 | 0 | 0 | 0 | 1 breached |", md);
        Assert.Contains("| spoof | physical | integrity | overwrite a block in DRAM |", md);

        string[] targets = [.. LinkTarget().Matches(md).Select(m => m.Groups[1].Value).Distinct()];
        Assert.Equal(9, targets.Length); // 8 cells and the matrix
        foreach (string target in targets)
        {
            Assert.Contains($"<a id=\"{target}\"></a>", md);
        }
        Assert.Contains("### <a id=\"cell-none-dom0-read\"></a>none × dom0-read: breached (confidentiality)\n\n"
            + "\\* Outside none's threat model (it trusts the attack's position, Dom0).\n\n"
            + "dom0-read against none with seed 7: breached.\n\n"
            + "[event log](runs/none/dom0-read/events.jsonl) · [back to the matrix](#matrix)\n", md);
    }

    [Fact]
    public void MarkdownEscapesEvidenceSoItCannotBreakTheDocument()
    {
        string md = MarkdownReport.Render(Run(evidence: _ => Hostile));
        Assert.Contains("saw \\<script\\>alert('x')\\</script\\> \\& \"quotes\" \\| pipes \\| \\*stars\\* \\_under\\_ \\[link\\](http://evil) \\`code\\` second line", md);
        Assert.DoesNotContain("<script>", md);
        string leading = MarkdownReport.Render(Run(evidence: _ => "- not a list", attacks: "snoop"));
        Assert.Contains("\n\\- not a list\n", leading);
        string numbered = MarkdownReport.Render(Run(evidence: _ => "1. not a list either", attacks: "snoop"));
        Assert.Contains("\n1\\. not a list either\n", numbered);
    }

    [Fact]
    public void HtmlIsSelfContainedWithAColourPerVerdictAndALegend()
    {
        string html = HtmlReport.Render(Run());
        Assert.StartsWith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">", html);
        Assert.EndsWith("</body>\n</html>\n", html);
        Assert.Contains("<style>", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("src=", html);
        Assert.DoesNotContain("http", html);
        Assert.Contains(".v-prevented { background-color: #c8e6c9", html);
        Assert.Contains(".v-detected { background-color: #bbdefb", html);
        Assert.Contains(".v-breached { background-color: #ffcdd2", html);
        Assert.Contains(".v-denied { background-color: #ffe0b2", html);
        Assert.Contains(".v-error { background-color: #e0e0e0", html);
        Assert.Contains(".outside { background-image: repeating-linear-gradient(", html);
        foreach (string verdict in new[] { "prevented", "detected", "breached", "denied", "error" })
        {
            Assert.Contains($"<li><span class=\"swatch v-{verdict}\"></span><b>{verdict}</b>: ", html);
        }
        Assert.Contains("<li><span class=\"swatch outside\"></span><b>hatched, *</b>: outside the architecture&#39;s declared threat model", html);
    }

    [Fact]
    public void HtmlMatrixCellsLinkToTheirEvidenceAndEventLog()
    {
        string html = HtmlReport.Render(Run());
        // Cells: the verdict links to its evidence; C/I names a breach's impact; con, sum, ev open the run's files.
        Assert.Contains("<tr><th scope=\"row\">vbase</th><td class=\"v-prevented\"><a class=\"verdict\" href=\"#cell-vbase-snoop\">prevented</a>"
            + "<span class=\"runs\"><a href=\"runs/vbase/snoop/console-app.log\" title=\"the application's console\">con</a>"
            + "<a href=\"runs/vbase/snoop/summary.json\" title=\"summary.json\">sum</a>"
            + "<a href=\"events/vbase/snoop.html\" title=\"events as a table\">ev</a></span></td>"
            + "<td class=\"v-breached\"><a class=\"verdict\" href=\"#cell-vbase-spoof\">breached</a> <span class=\"imp\" title=\"integrity\">I</span>"
            + "<span class=\"runs\">", html);
        Assert.Contains("<td class=\"v-breached outside\" title=\"outside the architecture's threat model\">"
            + "<a class=\"verdict\" href=\"#cell-none-snoop\">breached</a> <span class=\"imp\" title=\"confidentiality\">C</span>*", html);
        // Attacks grouped by position, heads without the position's prefix.
        Assert.Contains("<thead><tr><th rowspan=\"2\">architecture</th><th class=\"group\" colspan=\"2\">physical</th>"
            + "<th class=\"group\" colspan=\"1\">guest kernel</th><th class=\"group\" colspan=\"1\">Dom0</th></tr>", html);
        Assert.Contains("<tr><th title=\"snoop (physical, confidentiality): read DRAM\">snoop</th>", html);
        Assert.Contains("<th title=\"dom0-read (Dom0, confidentiality): ", html);
        Assert.Contains("\">read</th></tr></thead>", html);

        string[] targets = [.. HtmlLinkTarget().Matches(html).Select(m => m.Groups[1].Value).Distinct()];
        Assert.Equal(13, targets.Length); // 8 cells, the matrix, and the parameters, plots, cost and evidence sections
        foreach (string target in targets)
        {
            Assert.Single(Regex.Matches(html, $"id=\"{Regex.Escape(target)}\""));
        }
        Assert.Contains("<section class=\"evidence\" id=\"cell-vbase-spoof\">\n<h3>vbase × spoof: <span class=\"verdict v-breached\">breached (integrity)</span></h3>\n"
            + "<p>spoof against vbase with seed 7: breached.</p>\n"
            + "<p><a href=\"events/vbase/spoof.html\">event view</a> · <a href=\"runs/vbase/spoof/events.jsonl\">event log</a> · "
            + "<a href=\"runs/vbase/spoof/console-app.log\">console</a> · <a href=\"runs/vbase/spoof/summary.json\">summary.json</a> · "
            + "<a href=\"#matrix\">back to the matrix</a></p>\n</section>", html);
        Assert.Contains("<tr><th scope=\"row\">vbase</th><td>trusts hypervisor, application; defends against guest kernel, other processes, other VMs, Dom0, bus/DRAM</td>"
            + "<td class=\"num\">3</td><td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">0</td><td>1 breached</td></tr>", html);
    }

    [Fact]
    public void HtmlEscapesEvidence()
    {
        string html = HtmlReport.Render(Run(evidence: _ => Hostile));
        Assert.Contains("<p>saw &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot; | pipes | *stars* _under_ [link](http://evil) `code`\nsecond line</p>", html);
        Assert.DoesNotContain("<script", html);
    }

    [Fact]
    public void WithoutEventLogsThereAreNoEventLinks()
    {
        var suite = new FakeAttackSuite();
        CampaignPlan plan = CampaignPlan.Create("vbase", "snoop", "vault", 1, BuiltInArchitectures.CreateRegistry(), suite);
        CampaignResult result = Campaign.Run(plan, suite, new CampaignOptions(1));
        Assert.DoesNotContain("events.jsonl", MarkdownReport.Render(result));
        Assert.DoesNotContain("events.jsonl", HtmlReport.Render(result));
        Assert.Contains("<p><a href=\"#matrix\">back to the matrix</a></p>", HtmlReport.Render(result));
    }

    [Fact]
    public void ReportsAreWrittenIntoTheOutputFolderAndAreTheSameForTheSameSeed()
    {
        string first = Path.Combine(directory, "first"), second = Path.Combine(directory, "second");
        IReadOnlyList<string> written = CampaignReport.WriteAll(Run(first), first);
        Assert.Equal([Path.Combine(first, "report.md"), Path.Combine(first, "report.html")], written);
        CampaignReport.WriteAll(Run(second), second);
        foreach (string name in new[] { "report.md", "report.html" })
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(first, name));
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(second, name)));
            Assert.NotEqual(0xEF, bytes[0]); // no byte-order mark
            Assert.DoesNotContain(directory, System.Text.Encoding.UTF8.GetString(bytes));
        }
    }

    [GeneratedRegex(@"\]\(#([^)]+)\)")]
    private static partial Regex LinkTarget();

    [GeneratedRegex("href=\"#([^\"]+)\"")]
    private static partial Regex HtmlLinkTarget();
}
