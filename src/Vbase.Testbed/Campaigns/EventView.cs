using System.Text;
using System.Text.Json;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// A cell's event view, <c>events/&lt;arch&gt;/&lt;attack&gt;.html</c> next to the report: its events.jsonl as a table
/// (time, domain, kind, fields) that a browser shows readably, with links back to the report and to the run's files.
/// Self-contained, no script. Kept out of <c>runs/</c>, which holds what the runs wrote (and shards merge).
/// </summary>
public static class EventView
{
    /// <summary>The folder of the event views, in the campaign's output folder.</summary>
    public const string Folder = "events";

    /// <summary>The view of the run whose log is <paramref name="events"/> (<c>runs/vbase/spoof/events.jsonl</c> → <c>events/vbase/spoof.html</c>).</summary>
    public static string PathFor(string events)
    {
        string run = HtmlReport.RunFile(events, "").TrimEnd('/');
        if (run.StartsWith("runs/", StringComparison.Ordinal))
        {
            run = run["runs/".Length..];
        }
        return $"{Folder}/{(run.Length == 0 ? "run" : run)}.html";
    }

    /// <summary>
    /// The page for one cell, from its events.jsonl text; <paramref name="consoles"/> are the run's console logs. Links
    /// are relative to the view: <paramref name="reportUrl"/> to the report, <paramref name="runUrl"/> to the run's folder
    /// (ending in '/').
    /// </summary>
    public static string Render(CampaignCell cell, string eventsJsonl, IReadOnlyList<string> consoles, string reportUrl, string runUrl)
    {
        var html = new StringBuilder();
        string title = $"{cell.Architecture.Name} × {cell.Attack.Id}: {cell.Label()}";
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append($"<title>{HtmlReport.Escape(title)}</title>\n<style>\n")
            .Append("body { font-family: system-ui, sans-serif; margin: 1.5em; color: #212121; font-size: 14px; }\n")
            .Append("table { border-collapse: collapse; }\nth, td { border: 1px solid #e0e0e0; padding: .2em .5em; text-align: left; vertical-align: top; }\n")
            .Append("thead th { background: #f5f5f5; position: sticky; top: 0; }\ntd.num { text-align: right; font-variant-numeric: tabular-nums; }\n")
            .Append("td.fields { font-family: ui-monospace, monospace; font-size: .9em; }\n")
            .Append("tr.attack td { background: #fff8e1; }\ntr.violation td { background: #e3f2fd; }\ntr.oracle td { background: #f3e5f5; }\n")
            .Append("</style>\n</head>\n<body>\n")
            .Append($"<h1>{HtmlReport.Escape(title)}</h1>\n")
            .Append($"<p><a href=\"{HtmlReport.Escape(reportUrl)}#{cell.Anchor()}\">back to the report</a> · ")
            .Append(string.Concat(consoles.Select(c => $"<a href=\"{HtmlReport.Escape(runUrl + Uri.EscapeDataString(c))}\">{HtmlReport.Escape(c)}</a> · ")))
            .Append($"<a href=\"{HtmlReport.Escape(runUrl)}summary.json\">summary.json</a> · <a href=\"{HtmlReport.Escape(runUrl)}events.jsonl\">events.jsonl</a></p>\n")
            .Append(Timeline(eventsJsonl))
            .Append("<table>\n<thead><tr><th>time</th><th>domain</th><th>kind</th><th>fields</th></tr></thead>\n<tbody>\n");
        foreach (string line in eventsJsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            html.Append(Row(line)).Append('\n');
        }
        html.Append("</tbody>\n</table>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Timeline(string eventsJsonl)
    {
        var events = new List<(long, string)>();
        foreach (string line in eventsJsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("time", out JsonElement t) && t.TryGetInt64(out long time)
                    && doc.RootElement.TryGetProperty("kind", out JsonElement k) && k.GetString() is string kind)
                {
                    events.Add((time, kind));
                }
            }
            catch (JsonException)
            {
                // An unreadable line has no place on the timeline (the table shows it).
            }
        }
        return ReportPlots.Timeline(events) is string svg ? $"<p>{svg}</p>\n" : "";
    }

    private static string Row(string line)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement e = doc.RootElement;
            string time = e.TryGetProperty("time", out JsonElement t) ? t.ToString() : "";
            string domain = e.TryGetProperty("domain", out JsonElement d) ? d.ToString() : e.TryGetProperty("domain_id", out JsonElement id) ? $"#{id}" : "";
            string kind = e.TryGetProperty("kind", out JsonElement k) ? k.ToString() : "";
            var fields = new List<string>();
            foreach (JsonProperty p in e.EnumerateObject())
            {
                if (p.Name is "time" or "domain" or "kind")
                {
                    continue;
                }
                if (p.Name == "fields" && p.Value.ValueKind == JsonValueKind.Object)
                {
                    fields.AddRange(p.Value.EnumerateObject().Select(f => $"{f.Name}={f.Value}"));
                }
                else if (p.Name is "details" or "message")
                {
                    // The human-readable form of the fields: shown only when there are no fields.
                    if (!e.TryGetProperty("fields", out JsonElement structured) || structured.ValueKind != JsonValueKind.Object)
                    {
                        fields.Add(p.Value.ToString());
                    }
                }
                else
                {
                    fields.Add($"{p.Name}={p.Value}");
                }
            }
            string css = kind.StartsWith("attack.", StringComparison.Ordinal) ? " class=\"attack\""
                : kind.Contains("violation", StringComparison.Ordinal) ? " class=\"violation\""
                : kind.StartsWith("oracle.", StringComparison.Ordinal) ? " class=\"oracle\"" : "";
            return $"<tr{css}><td class=\"num\">{HtmlReport.Escape(time)}</td><td>{HtmlReport.Escape(domain)}</td><td>{HtmlReport.Escape(kind)}</td>"
                + $"<td class=\"fields\">{HtmlReport.Escape(string.Join(" ", fields.Where(f => f.Length > 0)))}</td></tr>";
        }
        catch (JsonException)
        {
            return $"<tr><td></td><td></td><td>(unreadable)</td><td class=\"fields\">{HtmlReport.Escape(line)}</td></tr>";
        }
    }
}
