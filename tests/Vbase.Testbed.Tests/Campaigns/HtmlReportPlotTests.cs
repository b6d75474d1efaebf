using System.Text.RegularExpressions;
using Vbase.Architectures;
using Vbase.Sapi.Chip;
using Vbase.Testbed.Campaigns;

namespace Vbase.Testbed.Tests.Campaigns;

/// <summary>report.html's plots (ScottPlot SVG), the tool and parameters block, and the per-cell event views.</summary>
public sealed partial class HtmlReportPlotTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-plots-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private CampaignResult Run(string? outDirectory = null, CampaignParameters? parameters = null)
    {
        var suite = new FakeAttackSuite();
        CampaignPlan plan = CampaignPlan.Create("none,vbase", "all", "vault", 7, BuiltInArchitectures.CreateRegistry(), suite) with
        {
            Parameters = parameters ?? CampaignParameters.None,
        };
        CampaignResult result = Campaign.Run(plan, suite, new CampaignOptions(2, outDirectory ?? directory));
        return result with
        {
            Costs = new Dictionary<string, DramTraffic>
            {
                ["vbase"] = new(100, 20, 30, 10, 5000, 100, 0, 1_000_000),
                ["none"] = new(100, 20, 0, 0, 5000, 0, 0, 1_000_000),
            },
        };
    }

    [Fact]
    public void TheReportInlinesThreePlotsAsSvg()
    {
        string html = HtmlReport.Render(Run());
        Assert.Contains("<h2 id=\"plots\">Plots</h2>", html);
        foreach (string id in new[] { "verdicts", "traffic", "slowdown" })
        {
            Assert.Single(Regex.Matches(html, $"<svg id=\"plot-{id}\" class=\"plot\" role=\"img\""));
        }
        Assert.Contains("aria-label=\"Verdicts per architecture\"", html);
        Assert.Contains(">vbase</text>", TextOf(html));
        // Self-contained still: no namespace URLs, no XML declaration, no script.
        Assert.DoesNotContain("http", html);
        Assert.DoesNotContain("<?xml", html);
        Assert.DoesNotContain("<script", html);
    }

    [Fact]
    public void WithoutCostsOnlyTheVerdictPlotIsDrawn()
    {
        string html = HtmlReport.Render(Run() with { Costs = new Dictionary<string, DramTraffic>() });
        Assert.Single(Regex.Matches(html, "<svg "));
        Assert.Contains("<svg id=\"plot-verdicts\"", html);
    }

    [Fact]
    public void PlotsAreTheSameBytesEveryTimeAndTheirClipIdsAreUniqueOnThePage()
    {
        CampaignResult result = Run();
        string first = HtmlReport.Render(result), second = HtmlReport.Render(result);
        Assert.Equal(first, second);
        Assert.DoesNotContain("cl_", first);
        string[] ids = [.. Regex.Matches(first, "id=\"([^\"]+)\"").Select(m => m.Groups[1].Value)];
        Assert.Equal(ids.Length, ids.Distinct().Count());
        foreach (Match use in Regex.Matches(first, @"url\(#([^)]+)\)"))
        {
            Assert.Contains(use.Groups[1].Value, ids);
        }
    }

    [Fact]
    public void TheToolAndEveryParameterAreShown()
    {
        string html = HtmlReport.Render(Run(), "vbase 1.0.0+abc1234");
        Assert.Contains("<tr><th>tool</th><td>vbase 1.0.0+abc1234</td></tr>", html);
        Assert.Contains("<tr><th>architectures</th><td>none, vbase</td></tr>", html);
        Assert.Contains("<tr><th>attacks</th><td>snoop, spoof, kernel-read, dom0-read</td></tr>", html);
        Assert.Contains("<tr><th>app</th><td>vault</td></tr>", html);
        Assert.Contains("<tr><th>seed</th><td>7</td></tr>", html);
        Assert.Contains("<tr><th>chip</th><td>1024 KiB 16-way last-level cache; latencies: ", html);
        Assert.Contains("<tr><th>attack parameters</th><td>none (defaults)</td></tr>", html);
        Assert.DoesNotContain("<th>tool</th>", HtmlReport.Render(Run()));

        var parameters = new CampaignParameters
        {
            Attacks = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["spoof"] = new Dictionary<string, string> { ["delay"] = "500" } },
            Architectures = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["vbase"] = new Dictionary<string, string> { ["mac_bits"] = "32" } },
        };
        string withParameters = HtmlReport.Render(Run(parameters: parameters));
        Assert.Contains("<tr><th>attack parameters</th><td>spoof.delay=500</td></tr>", withParameters);
        Assert.Contains("<tr><th>architecture parameters</th><td>vbase.mac_bits=32</td></tr>", withParameters);
    }

    [Fact]
    public void ViewsLiveOutsideRuns()
    {
        Assert.Equal("events/vbase/spoof.html", EventView.PathFor("runs/vbase/spoof/events.jsonl"));
        Assert.Equal("events/x.html", EventView.PathFor("x/events.jsonl"));
        Assert.Equal("events/run.html", EventView.PathFor("events.jsonl"));
    }

    [Fact]
    public void EachRunGetsAnEventViewBesideTheReport()
    {
        string out1 = Path.Combine(directory, "one");
        CampaignResult result = Run(out1);
        File.WriteAllText(Path.Combine(out1, "runs", "vbase", "spoof", "console-app.log"), "hello\n");
        File.AppendAllText(Path.Combine(out1, "runs", "vbase", "spoof", "events.jsonl"),
            "{\"time\":42,\"kind\":\"sapi.violation\",\"domain_id\":1,\"domain\":\"app\",\"details\":\"mac <mismatch> & more\"}\nnot json\n"
            + "{\"time\":50,\"kind\":\"x.y\",\"fields\":{\"a\":1,\"b\":\"<q>\"},\"message\":\"a=1 b=<q>\"}\n");
        CampaignReport.WriteAll(result, out1, "vbase 1.0.0+abc1234");
        string view = File.ReadAllText(Path.Combine(out1, "events", "vbase", "spoof.html"));
        Assert.StartsWith("<!DOCTYPE html>\n<html lang=\"en\">", view);
        Assert.Contains("<a href=\"../../report.html#cell-vbase-spoof\">back to the report</a> · "
            + "<a href=\"../../runs/vbase/spoof/console-app.log\">console-app.log</a> · "
            + "<a href=\"../../runs/vbase/spoof/summary.json\">summary.json</a> · <a href=\"../../runs/vbase/spoof/events.jsonl\">events.jsonl</a>", view);
        Assert.Contains("<thead><tr><th>time</th><th>domain</th><th>kind</th><th>fields</th></tr></thead>", view);
        Assert.Contains("<tr class=\"violation\"><td class=\"num\">42</td><td>app</td><td>sapi.violation</td><td class=\"fields\">domain_id=1 mac &lt;mismatch&gt; &amp; more</td></tr>", view);
        Assert.Contains("<tr><td class=\"num\"></td><td></td><td>fake</td><td class=\"fields\">attack=spoof</td></tr>", view);
        Assert.Contains("<td>(unreadable)</td><td class=\"fields\">not json</td>", view);
        Assert.Contains("<td>x.y</td><td class=\"fields\">a=1 b=&lt;q&gt;</td>", view);
        // The timeline: the first violation and the end (the fake attack never fires).
        Assert.Contains("<svg id=\"plot-timeline\" class=\"plot\"", view);
        Assert.Contains("violation @ 42", view);
        Assert.Contains("end @ 50", view);
        Assert.DoesNotContain("fired @", view);
        Assert.DoesNotContain("<script", view);
        foreach (string cell in new[] { "none/snoop", "vbase/snoop", "vbase/kernel-read", "none/dom0-read" })
        {
            Assert.True(File.Exists(Path.Combine(out1, "events", cell + ".html")), cell);
        }
    }

    /// <summary>The SVG text elements' content, one per element, as "&gt;TEXT&lt;/text&gt;" (Skia writes one glyph run per element).</summary>
    private static string TextOf(string html) => string.Concat(TextElement().Matches(html).Select(m => $">{m.Groups[1].Value.Trim()}</text>\n"));

    [GeneratedRegex("<text[^>]*>([^<]*)</text>")]
    private static partial Regex TextElement();
}
