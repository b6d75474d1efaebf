using System.Globalization;
using System.Text;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// report.html: the same content as report.md in one self-contained page (inline CSS and SVG, no script, nothing
/// fetched): the tool and every parameter, a matrix that fits a 1366-px screen (attacks grouped by position, a colour
/// per verdict, hatching for cells outside the architecture's threat model, each cell linking to its evidence, console,
/// summary and event view), and plots (<see cref="ReportPlots"/>).
/// </summary>
public static class HtmlReport
{
    internal const string Style = """
        body { font-family: system-ui, sans-serif; margin: 1em 1.2em; color: #212121; max-width: 110em; font-size: 14px; }
        table { border-collapse: collapse; margin: 1em 0; }
        th, td { border: 1px solid #bdbdbd; padding: .35em .6em; text-align: left; vertical-align: top; }
        thead th { background: #f5f5f5; }
        td.num { text-align: right; }
        .matrix { font-size: 12px; }
        .matrix th, .matrix td { padding: .2em .3em; }
        .matrix thead th { text-align: center; white-space: nowrap; }
        .matrix th.group { border-bottom: 2px solid #757575; }
        .matrix td { text-align: center; white-space: nowrap; }
        .matrix a { color: inherit; }
        .matrix a.verdict { font-weight: 600; text-decoration: none; }
        .matrix .imp { font-size: .85em; font-weight: 600; }
        .matrix .runs { display: block; font-size: .85em; }
        .matrix .runs a { margin: 0 .15em; }
        .meta th { background: #fafafa; white-space: nowrap; }
        .plots { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
        .plots svg { border: 1px solid #e0e0e0; }
        .v-prevented { background-color: #c8e6c9; color: #1b5e20; }
        .v-detected { background-color: #bbdefb; color: #0d47a1; }
        .v-breached { background-color: #ffcdd2; color: #b71c1c; }
        .v-denied { background-color: #ffe0b2; color: #e65100; }
        .v-inconclusive { background-color: #f3e5f5; color: #4a148c; }
        .v-error { background-color: #e0e0e0; color: #424242; }
        .outside { background-image: repeating-linear-gradient(135deg, rgba(0, 0, 0, .13) 0 3px, transparent 3px 9px); }
        .verdict { font-weight: 600; }
        .log { font-size: .85em; }
        .legend { list-style: none; padding: 0; }
        .legend li { margin: .3em 0; }
        .swatch { display: inline-block; width: 2.2em; height: 1.1em; border: 1px solid #9e9e9e; vertical-align: middle; margin-right: .5em; }
        .evidence { border-left: .3em solid #bdbdbd; padding-left: 1em; margin: 1.2em 0; }
        .evidence h3 { margin-bottom: .3em; }
        .evidence h3 span { padding: 0 .3em; }
        """;

    /// <summary>The page; <paramref name="tool"/> is the writing tool's version (<c>vbase 1.0.0+commit</c>), null: not shown.</summary>
    public static string Render(CampaignResult result, string? tool = null)
    {
        var html = new StringBuilder();
        CampaignPlan plan = result.Plan;
        Line(html, "<!DOCTYPE html>");
        Line(html, "<html lang=\"en\">");
        Line(html, "<head>");
        Line(html, "<meta charset=\"utf-8\">");
        Line(html, $"<title>{Escape(CampaignReport.Title(result))}</title>");
        Line(html, "<style>");
        Line(html, Style);
        Line(html, "</style>");
        Line(html, "</head>");
        Line(html, "<body>");
        Line(html, $"<h1>{Escape(CampaignReport.Title(result))}</h1>");
        Line(html, $"<p>{Escape(CampaignReport.Scope(result))}{(tool is null ? "" : $" Written by {Escape(tool)}.")} "
            + "<a href=\"#parameters\">Parameters</a> · <a href=\"#plots\">plots</a> · <a href=\"#cost\">cost</a> · <a href=\"#evidence\">evidence</a></p>");

        Line(html, "<h2 id=\"matrix\">Matrix</h2>");
        Line(html, "<p>Architectures are rows, attacks columns, grouped by the attacker's position (hover a column for the attack). "
            + "Each verdict links to its evidence below (C: confidentiality, I: integrity breached); con, sum and ev to the cell's console, summary.json and event view.</p>");
        Line(html, "<table class=\"matrix\">");
        AttackSpec[] attacks = [.. plan.Attacks.OrderBy(a => a.Position)];
        var groups = attacks.GroupBy(a => a.Position).ToArray();
        Line(html, "<thead><tr><th rowspan=\"2\">architecture</th>"
            + string.Concat(groups.Select(g => $"<th class=\"group\" colspan=\"{g.Count().ToString(CultureInfo.InvariantCulture)}\">{Escape(AttackSpec.Name(g.Key))}</th>"))
            + "</tr>");
        Line(html, "<tr>"
            + string.Concat(attacks.Select(a => $"<th title=\"{Escape($"{a.Id} ({AttackSpec.Name(a.Position)}, {a.Goal.Slug()}): {a.Description}")}\">{Escape(ShortHead(a))}</th>"))
            + "</tr></thead>");
        Line(html, "<tbody>");
        foreach (var architecture in plan.Architectures)
        {
            Line(html, $"<tr><th scope=\"row\">{Escape(architecture.Name)}</th>"
                + string.Concat(attacks.Select(a => result.Cell(architecture.Name, a.Id)).Select(MatrixCell)) + "</tr>");
        }
        Line(html, "</tbody>");
        Line(html, "</table>");

        Line(html, "<h3>Legend</h3>");
        Line(html, "<ul class=\"legend\">");
        foreach (Verdict verdict in Enum.GetValues<Verdict>())
        {
            Line(html, $"<li><span class=\"swatch v-{verdict.Name()}\"></span><b>{verdict.Name()}</b>: {Escape(verdict.Meaning())}</li>");
        }
        Line(html, $"<li><span class=\"swatch outside\"></span><b>hatched, *</b>: {Escape(CampaignReport.OutsideMeaning)}</li>");
        Line(html, "</ul>");

        Line(html, "<h2 id=\"parameters\">Parameters</h2>");
        Parameters(html, result, tool);

        Line(html, "<h2 id=\"summary\">Summary</h2>");
        Line(html, "<table>");
        Line(html, "<thead><tr><th>architecture</th><th>threat model</th>"
            + string.Concat(Enum.GetValues<Verdict>().Select(v => $"<th class=\"v-{v.Name()}\">{v.Name()}</th>"))
            + "<th>inside its threat model</th></tr></thead>");
        Line(html, "<tbody>");
        foreach (ArchitectureSummary summary in result.Summaries)
        {
            Line(html, $"<tr><th scope=\"row\">{Escape(summary.Architecture.Name)}</th><td>{Escape(summary.Architecture.ThreatModel.ToString())}</td>"
                + string.Concat(Enum.GetValues<Verdict>().Select(v => $"<td class=\"num\">{summary[v].ToString(CultureInfo.InvariantCulture)}</td>"))
                + $"<td>{summary.BreachedInsideThreatModel.ToString(CultureInfo.InvariantCulture)} breached</td></tr>");
        }
        Line(html, "</tbody>");
        Line(html, "</table>");

        Line(html, "<h2 id=\"plots\">Plots</h2>");
        Line(html, "<div class=\"plots\">");
        Line(html, ReportPlots.VerdictBars(result));
        foreach (string? plot in new[] { ReportPlots.ExtraTraffic(result), ReportPlots.Slowdown(result) })
        {
            if (plot is not null)
            {
                Line(html, plot);
            }
        }
        Line(html, "</div>");

        Line(html, "<h2 id=\"cost\">Cost at the DRAM boundary</h2>");
        Line(html, $"<p>{Escape(CampaignReport.CostIntro(result))}</p>");
        Line(html, "<table>");
        Line(html, "<thead><tr>" + string.Concat(CampaignReport.CostHeader.Select(h => $"<th>{Escape(h)}</th>")) + "</tr></thead>");
        Line(html, "<tbody>");
        foreach (ArchitectureSummary summary in result.Summaries)
        {
            Line(html, $"<tr><th scope=\"row\">{Escape(summary.Architecture.Name)}</th>"
                + string.Concat(CampaignReport.CostColumns(summary, result.Chip.Latencies).Select(v => $"<td class=\"num\">{Escape(v)}</td>")) + "</tr>");
        }
        Line(html, "</tbody>");
        Line(html, "</table>");

        Line(html, "<h2 id=\"attacks\">Attacks</h2>");
        Line(html, "<table>");
        Line(html, "<thead><tr><th>attack</th><th>position</th><th>goal</th><th>description</th></tr></thead>");
        Line(html, "<tbody>");
        foreach (AttackSpec attack in plan.Attacks)
        {
            Line(html, $"<tr><td>{Escape(attack.Id)}</td><td>{Escape(AttackSpec.Name(attack.Position))}</td><td>{attack.Goal.Slug()}</td>"
                + $"<td>{Escape(attack.Description)}</td></tr>");
        }
        Line(html, "</tbody>");
        Line(html, "</table>");

        Line(html, "<h2 id=\"evidence\">Evidence</h2>");
        foreach (CampaignCell cell in result.Cells)
        {
            Line(html, $"<section class=\"evidence\" id=\"{cell.Anchor()}\">");
            Line(html, $"<h3>{Escape(cell.Architecture.Name)} × {Escape(cell.Attack.Id)}: "
                + $"<span class=\"verdict v-{cell.Verdict.Name()}{(cell.OutsideThreatModel ? " outside" : "")}\">{Escape(cell.Label())}</span></h3>");
            if (cell.OutsideThreatModel)
            {
                Line(html, $"<p>* Outside {Escape(cell.Architecture.Name)}'s threat model (it trusts the attack's position, {Escape(AttackSpec.Name(cell.Attack.Position))}).</p>");
            }
            Line(html, $"<p>{Escape(cell.Result.Evidence.Trim())}</p>");
            Line(html, "<p>" + (cell.EventsLink is string events ? $"<a href=\"{Escape(CampaignReport.RelativeUrl(EventView.PathFor(events)))}\">event view</a> · "
                + $"<a href=\"{Escape(CampaignReport.RelativeUrl(events))}\">event log</a> · "
                + $"<a href=\"{Escape(CampaignReport.RelativeUrl(RunFile(events, AppConsole)))}\">console</a> · "
                + $"<a href=\"{Escape(CampaignReport.RelativeUrl(RunFile(events, "summary.json")))}\">summary.json</a> · " : "")
                + "<a href=\"#matrix\">back to the matrix</a></p>");
            Line(html, "</section>");
        }
        Line(html, "</body>");
        Line(html, "</html>");
        return html.ToString();
    }

    private static string MatrixCell(CampaignCell cell)
    {
        string classes = $"v-{cell.Verdict.Name()}{(cell.OutsideThreatModel ? " outside" : "")}";
        string title = cell.OutsideThreatModel ? " title=\"outside the architecture's threat model\"" : "";
        string impact = cell.Impact is Impact i ? $" <span class=\"imp\" title=\"{i.Name()}\">{(i == Impact.Confidentiality ? "C" : "I")}</span>" : "";
        string runs = cell.EventsLink is string events
            ? $"<span class=\"runs\"><a href=\"{Escape(CampaignReport.RelativeUrl(RunFile(events, AppConsole)))}\" title=\"the application's console\">con</a>"
                + $"<a href=\"{Escape(CampaignReport.RelativeUrl(RunFile(events, "summary.json")))}\" title=\"summary.json\">sum</a>"
                + $"<a href=\"{Escape(CampaignReport.RelativeUrl(EventView.PathFor(events)))}\" title=\"events as a table\">ev</a></span>"
            : "";
        return $"<td class=\"{classes}\"{title}><a class=\"verdict\" href=\"#{cell.Anchor()}\">{cell.Verdict.Name()}</a>"
            + $"{impact}{(cell.OutsideThreatModel ? "*" : "")}{runs}</td>";
    }

    private static readonly string AppConsole = Running.Testbed.ConsoleLogFile("app");

    /// <summary>Another file of the run whose events.jsonl is <paramref name="events"/> ('/'-separated).</summary>
    internal static string RunFile(string events, string name)
    {
        int slash = events.LastIndexOf('/');
        return slash < 0 ? name : events[..(slash + 1)] + name;
    }

    /// <summary>A column head without the position's prefix (the group says it): <c>phys-spoof</c> → <c>spoof</c>.</summary>
    internal static string ShortHead(AttackSpec attack)
    {
        foreach (string prefix in new[] { "phys-", "os-", "dom0-", "vm-" })
        {
            if (attack.Id.StartsWith(prefix, StringComparison.Ordinal) && attack.Id.Length > prefix.Length)
            {
                return attack.Id[prefix.Length..];
            }
        }
        return attack.Id;
    }

    private static void Parameters(StringBuilder html, CampaignResult result, string? tool)
    {
        CampaignPlan plan = result.Plan;
        Line(html, "<table class=\"meta\">");
        if (tool is not null)
        {
            Line(html, $"<tr><th>tool</th><td>{Escape(tool)}</td></tr>");
        }
        Line(html, $"<tr><th>architectures</th><td>{Escape(string.Join(", ", plan.Architectures.Select(a => a.Name)))}</td></tr>");
        Line(html, $"<tr><th>attacks</th><td>{Escape(string.Join(", ", plan.Attacks.Select(a => a.Id)))}</td></tr>");
        Line(html, $"<tr><th>app</th><td>{Escape(plan.App)}</td></tr>");
        Line(html, $"<tr><th>seed</th><td>{plan.Seed.ToString(CultureInfo.InvariantCulture)}</td></tr>");
        Line(html, $"<tr><th>chip</th><td>{Escape(Chip(result))}</td></tr>");
        string[] attackParams = [.. plan.Parameters.Settings(attacks: true)], archParams = [.. plan.Parameters.Settings(attacks: false)];
        Line(html, $"<tr><th>attack parameters</th><td>{(attackParams.Length == 0 ? "none (defaults)" : Escape(string.Join(", ", attackParams)))}</td></tr>");
        Line(html, $"<tr><th>architecture parameters</th><td>{(archParams.Length == 0 ? "none (defaults)" : Escape(string.Join(", ", archParams)))}</td></tr>");
        Line(html, "</table>");
    }

    private static string Chip(CampaignResult result)
    {
        var c = result.Chip;
        return $"{(c.CacheBytes / 1024).ToString(CultureInfo.InvariantCulture)} KiB {c.Ways.ToString(CultureInfo.InvariantCulture)}-way last-level cache; "
            + $"latencies: hit {c.Latencies.HitCycles}, DRAM line {c.Latencies.DramCycles}, cipher {c.Latencies.CipherCycles}, MAC {c.Latencies.MacCycles} cycles";
    }

    private static void Line(StringBuilder html, string text) => html.Append(text).Append('\n');

    /// <summary>Text for HTML element content and quoted attribute values.</summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            escaped.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }
}
