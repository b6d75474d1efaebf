using System.Globalization;
using System.Text;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// report.html: the same content as report.md in one self-contained page (inline CSS, no script, nothing fetched):
/// a colour per verdict, hatching for cells outside the architecture's threat model, and a legend for both.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 2em; color: #212121; max-width: 110em; }
        table { border-collapse: collapse; margin: 1em 0; }
        th, td { border: 1px solid #bdbdbd; padding: .35em .6em; text-align: left; vertical-align: top; }
        thead th { background: #f5f5f5; }
        td.num { text-align: right; }
        .matrix td { min-width: 7em; }
        .matrix a { color: inherit; }
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

    public static string Render(CampaignResult result)
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
        Line(html, $"<p>{Escape(CampaignReport.Scope(result))}</p>");

        Line(html, "<h2 id=\"matrix\">Matrix</h2>");
        Line(html, "<p>Architectures are rows, attacks columns. Each verdict links to its evidence below; “events” to the cell's event log.</p>");
        Line(html, "<table class=\"matrix\">");
        Line(html, "<thead><tr><th>architecture</th>"
            + string.Concat(plan.Attacks.Select(a => $"<th title=\"{Escape($"{AttackSpec.Name(a.Position)}, {a.Goal.Slug()}: {a.Description}")}\">{Escape(a.Id)}</th>"))
            + "</tr></thead>");
        Line(html, "<tbody>");
        foreach (var architecture in plan.Architectures)
        {
            Line(html, $"<tr><th scope=\"row\">{Escape(architecture.Name)}</th>" + string.Concat(result.CellsOf(architecture).Select(MatrixCell)) + "</tr>");
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
            Line(html, "<p>" + (cell.EventsLink is string events ? $"<a href=\"{Escape(CampaignReport.RelativeUrl(events))}\">event log</a> · " : "")
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
        string log = cell.EventsLink is string events ? $"<br><a class=\"log\" href=\"{Escape(CampaignReport.RelativeUrl(events))}\">events</a>" : "";
        return $"<td class=\"{classes}\"{title}><a class=\"verdict\" href=\"#{cell.Anchor()}\">{Escape(cell.Label())}</a>"
            + $"{(cell.OutsideThreatModel ? "*" : "")}{log}</td>";
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
