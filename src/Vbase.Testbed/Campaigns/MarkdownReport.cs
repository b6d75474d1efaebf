using System.Text;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// report.md: the matrix (architectures × attacks), its legend, a summary per architecture, the attacks, and one
/// evidence paragraph per cell that the matrix links to.
/// </summary>
public static class MarkdownReport
{
    private const string OutsideMark = "\\*";

    public static string Render(CampaignResult result)
    {
        var md = new StringBuilder();
        CampaignPlan plan = result.Plan;
        Line(md, $"# {Escape(CampaignReport.Title(result))}");
        Line(md);
        Line(md, Escape(CampaignReport.Scope(result)));
        Line(md);

        Line(md, "<a id=\"matrix\"></a>");
        Line(md);
        Line(md, "## Matrix");
        Line(md);
        Line(md, "Architectures are rows, attacks columns. Each verdict links to its evidence below; \"events\" to the cell's event log.");
        Line(md);
        Line(md, "| architecture | " + string.Join(" | ", plan.Attacks.Select(a => Escape(a.Id))) + " |");
        Line(md, "|---|" + string.Concat(plan.Attacks.Select(_ => "---|")));
        foreach (var architecture in plan.Architectures)
        {
            IEnumerable<string> cells = result.CellsOf(architecture).Select(cell =>
                $"[{Escape(cell.Label())}](#{cell.Anchor()}){(cell.OutsideThreatModel ? OutsideMark : "")}"
                + (cell.EventsLink is string events ? $" · [events]({CampaignReport.RelativeUrl(events)})" : ""));
            Line(md, $"| **{Escape(architecture.Name)}** | {string.Join(" | ", cells)} |");
        }
        Line(md);
        Line(md, "Legend:");
        Line(md);
        foreach (Verdict verdict in Enum.GetValues<Verdict>())
        {
            Line(md, $"- **{verdict.Name()}**: {Escape(verdict.Meaning())}");
        }
        Line(md, $"- {OutsideMark} {Escape(CampaignReport.OutsideMeaning)}");
        Line(md);

        Line(md, "## Summary");
        Line(md);
        Line(md, "| architecture | threat model | " + string.Join(" | ", Enum.GetValues<Verdict>().Select(v => v.Name())) + " | inside its threat model |");
        Line(md, "|---|---|" + string.Concat(Enum.GetValues<Verdict>().Select(_ => "---:|")) + "---|");
        foreach (ArchitectureSummary summary in result.Summaries)
        {
            string counts = string.Join(" | ", Enum.GetValues<Verdict>().Select(v => summary[v].ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Line(md, $"| **{Escape(summary.Architecture.Name)}** | {Escape(summary.Architecture.ThreatModel.ToString())} | {counts} | "
                + $"{summary.BreachedInsideThreatModel} breached |");
        }
        Line(md);

        Line(md, "## Cost at the DRAM boundary");
        Line(md);
        Line(md, CampaignReport.CostIntro(result));
        Line(md);
        Line(md, "| " + string.Join(" | ", CampaignReport.CostHeader) + " |");
        Line(md, "|---|" + string.Concat(Enumerable.Repeat("---:|", CampaignReport.CostHeader.Length - 1)));
        foreach (ArchitectureSummary summary in result.Summaries)
        {
            Line(md, $"| **{Escape(summary.Architecture.Name)}** | " + string.Join(" | ", CampaignReport.CostColumns(summary, result.Chip.Latencies)) + " |");
        }
        Line(md);

        Line(md, "## Attacks");
        Line(md);
        Line(md, "| attack | position | goal | description |");
        Line(md, "|---|---|---|---|");
        foreach (AttackSpec attack in plan.Attacks)
        {
            Line(md, $"| {Escape(attack.Id)} | {Escape(AttackSpec.Name(attack.Position))} | {attack.Goal.Slug()} | {Escape(attack.Description)} |");
        }
        Line(md);

        Line(md, "## Evidence");
        foreach (CampaignCell cell in result.Cells)
        {
            Line(md);
            Line(md, $"### <a id=\"{cell.Anchor()}\"></a>{Escape(cell.Architecture.Name)} × {Escape(cell.Attack.Id)}: {Escape(cell.Label())}");
            Line(md);
            if (cell.OutsideThreatModel)
            {
                Line(md, $"{OutsideMark} Outside {Escape(cell.Architecture.Name)}'s threat model (it trusts the attack's position, {Escape(AttackSpec.Name(cell.Attack.Position))}).");
                Line(md);
            }
            Line(md, Paragraph(cell.Result.Evidence));
            Line(md);
            Line(md, (cell.EventsLink is string events ? $"[event log]({CampaignReport.RelativeUrl(events)}) · " : "") + "[back to the matrix](#matrix)");
        }
        return md.ToString();
    }

    private static void Line(StringBuilder md, string text = "") => md.Append(text).Append('\n');

    /// <summary>
    /// Text that Markdown shows as written: every character that could start markup is backslash-escaped, and line
    /// breaks become spaces (a table cell or a paragraph is one line).
    /// </summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length + 8);
        foreach (char c in text.ReplaceLineEndings(" "))
        {
            if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '&' or '~' or '#')
            {
                escaped.Append('\\');
            }
            escaped.Append(c);
        }
        return escaped.ToString();
    }

    /// <summary>A paragraph that cannot turn into a heading, list, quote or rule by how it starts.</summary>
    private static string Paragraph(string text)
    {
        string escaped = Escape(text.Trim());
        if (escaped.Length == 0)
        {
            return "(no evidence given)";
        }
        if (escaped[0] is '-' or '+' or '=')
        {
            return "\\" + escaped;
        }
        int digits = 0;
        while (digits < escaped.Length && char.IsAsciiDigit(escaped[digits]))
        {
            digits++;
        }
        return digits > 0 && digits < escaped.Length && escaped[digits] is '.' or ')'
            ? escaped[..digits] + "\\" + escaped[digits..]
            : escaped;
    }
}
