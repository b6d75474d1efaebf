using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// What a campaign file expands to (docs/campaigns.md, "Campaign files"): one sub-campaign per app × seed × parameter
/// value, each a whole <see cref="CampaignPlan"/> (architectures × attacks) with the same chip. Everything else — the
/// sweep's id, its axes, each sub-campaign's label and folder — is derived from the plans, so a merge of parts
/// rebuilds it exactly.
/// </summary>
public sealed record CampaignSweep(IReadOnlyList<CampaignPlan> Plans, ChipOptions Chip)
{
    /// <summary>The value of a sweep JSON's <c>format</c>, and of a sweep part's.</summary>
    public const string Format = "vbase-campaign-sweep/1", PartFormat = "vbase-campaign-sweep-part/1";

    /// <summary>
    /// The sweep's identity: SHA-256 (hex) of its format and each sub-campaign's id in order; one sub-campaign: its own
    /// id, so a file of one campaign is that campaign.
    /// </summary>
    public string Id => Plans.Count == 1 ? CampaignPartJson.CampaignId(Plans[0], Chip)
        : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Join('\n', Plans.Select(p => CampaignPartJson.CampaignId(p, Chip)).Prepend(Format)))));

    /// <summary>All the cells of all the sub-campaigns.</summary>
    public int CellCount => Plans.Sum(p => p.Cells.Count);

    /// <summary>
    /// What sets sub-campaign <paramref name="index"/> apart: its value on each axis that takes more than one
    /// (<c>seed 2, phys-replay.delay=1000</c>); a sweep of one campaign: its app and seed.
    /// </summary>
    public string Label(int index) => string.Join(", ", Distinguishing(index, (key, value) => key switch
    {
        "app" => $"app {value}",
        "seed" => $"seed {value}",
        _ => $"{key}={value}",
    }));

    /// <summary>Sub-campaign <paramref name="index"/>'s folder under the sweep's <c>--out</c>: its number and label, in safe characters.</summary>
    public string Folder(int index)
    {
        string label = string.Join('_', Distinguishing(index, (key, value) => key switch
        {
            "app" => Attacks.AppCatalogue.IsManifestPath(value) ? Path.GetFileNameWithoutExtension(value) : value,
            "seed" => $"seed{value}",
            _ => $"{key}-{value}",
        }));
        string safe = new([.. label.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '_')]);
        string number = (index + 1).ToString(CultureInfo.InvariantCulture).PadLeft(Plans.Count.ToString(CultureInfo.InvariantCulture).Length, '0');
        return $"{number}-{(safe.Length > 100 ? safe[..100] : safe)}";
    }

    private IEnumerable<string> Distinguishing(int index, Func<string, string, string> show)
    {
        CampaignPlan plan = Plans[index];
        var axes = Axes;
        bool one = Plans.Count == 1;
        if (one || axes.Apps.Count > 1)
        {
            yield return show("app", plan.App);
        }
        if (one || axes.Seeds.Count > 1)
        {
            yield return show("seed", plan.Seed.ToString(CultureInfo.InvariantCulture));
        }
        foreach ((bool attacks, IReadOnlyDictionary<string, IReadOnlyList<string>> values) in new[] { (true, axes.AttackParameters), (false, axes.ArchitectureParameters) })
        {
            foreach (string setting in plan.Parameters.Settings(attacks))
            {
                int equals = setting.IndexOf('=', StringComparison.Ordinal);
                if (values[setting[..equals]].Count > 1)
                {
                    yield return show(setting[..equals], setting[(equals + 1)..]);
                }
            }
        }
    }

    /// <summary>The values each axis takes across the sub-campaigns, in the order they first appear.</summary>
    public (IReadOnlyList<string> Apps, IReadOnlyList<ulong> Seeds, IReadOnlyDictionary<string, IReadOnlyList<string>> AttackParameters,
        IReadOnlyDictionary<string, IReadOnlyList<string>> ArchitectureParameters) Axes
    {
        get
        {
            static SortedDictionary<string, IReadOnlyList<string>> Values(IEnumerable<CampaignPlan> plans, bool attacks)
            {
                var values = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
                foreach (IGrouping<string, string> key in plans.SelectMany(p => p.Parameters.Settings(attacks))
                    .GroupBy(s => s[..s.IndexOf('=', StringComparison.Ordinal)], s => s[(s.IndexOf('=', StringComparison.Ordinal) + 1)..]))
                {
                    values[key.Key] = [.. key.Distinct(StringComparer.Ordinal)];
                }
                return values;
            }
            return ([.. Plans.Select(p => p.App).Distinct(StringComparer.Ordinal)], [.. Plans.Select(p => p.Seed).Distinct()],
                Values(Plans, attacks: true), Values(Plans, attacks: false));
        }
    }
}

/// <summary>A finished sweep: each sub-campaign's result, in the sweep's order.</summary>
public sealed record CampaignSweepResult(CampaignSweep Sweep, IReadOnlyList<CampaignResult> Results)
{
    public IReadOnlyList<CampaignCell> Errors => [.. Results.SelectMany(r => r.Errors)];
}

/// <summary>A sweep's JSON, its parts and their merge, and its index reports.</summary>
public static class CampaignSweepOutput
{
    /// <summary>
    /// The sweep as JSON: <c>format</c>, <c>campaign</c> (the sweep's id), <c>axes</c>, and <c>campaigns</c>, each with its
    /// <c>label</c>, <c>folder</c> (its reports and runs under <c>--out</c>; its cells' <c>events</c> are relative to
    /// it), its own <c>campaign</c> id and the campaign JSON object as one campaign writes it (<c>result</c>).
    /// </summary>
    public static byte[] ToBytes(CampaignSweepResult result)
    {
        CampaignSweep sweep = result.Sweep;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, CampaignJson.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("format", CampaignSweep.Format);
            json.WriteString("campaign", sweep.Id);
            WriteAxes(json, sweep);
            json.WriteStartArray("campaigns");
            for (int i = 0; i < result.Results.Count; i++)
            {
                CampaignPlan plan = sweep.Plans[i];
                json.WriteStartObject();
                json.WriteString("label", sweep.Label(i));
                json.WriteString("folder", sweep.Folder(i));
                json.WriteString("campaign", CampaignPartJson.CampaignId(plan, sweep.Chip));
                json.WritePropertyName("result");
                CampaignJson.WriteObject(json, result.Results[i]);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static void WriteAxes(Utf8JsonWriter json, CampaignSweep sweep)
    {
        var axes = sweep.Axes;
        json.WriteStartObject("axes");
        json.WriteStartArray("archs");
        foreach (ArchitectureInfo architecture in sweep.Plans[0].Architectures)
        {
            json.WriteStringValue(architecture.Name);
        }
        json.WriteEndArray();
        json.WriteStartArray("attacks");
        foreach (Attacks.AttackSpec attack in sweep.Plans[0].Attacks)
        {
            json.WriteStringValue(attack.Id);
        }
        json.WriteEndArray();
        json.WriteStartArray("apps");
        foreach (string app in axes.Apps)
        {
            json.WriteStringValue(app);
        }
        json.WriteEndArray();
        json.WriteStartArray("seeds");
        foreach (ulong seed in axes.Seeds)
        {
            json.WriteNumberValue(seed);
        }
        json.WriteEndArray();
        foreach ((string name, IReadOnlyDictionary<string, IReadOnlyList<string>> values) in
            new[] { ("attack_params", axes.AttackParameters), ("arch_params", axes.ArchitectureParameters) })
        {
            json.WriteStartObject(name);
            foreach ((string key, IReadOnlyList<string> list) in values)
            {
                json.WriteStartArray(key);
                foreach (string value in list)
                {
                    json.WriteStringValue(value);
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>
    /// Shard <paramref name="shard"/> of a sweep: shard K of every sub-campaign, each part as one campaign's shard writes
    /// it (<see cref="CampaignPartJson"/>), with its runs in the sub-campaign's folder (<paramref name="runs"/>: the
    /// sweep's <c>--out</c> relative to the part's folder, or null).
    /// </summary>
    public static byte[] PartToBytes(CampaignSweepResult result, CampaignShard shard, string tool, string? runs)
    {
        CampaignSweep sweep = result.Sweep;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, CampaignJson.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("format", CampaignSweep.PartFormat);
            json.WriteString("campaign", sweep.Id);
            json.WriteString("shard", shard.ToString());
            json.WriteString("tool", tool);
            json.WriteStartArray("parts");
            for (int i = 0; i < result.Results.Count; i++)
            {
                CampaignPartJson.WriteObject(json, result.Results[i], shard, tool, runs is null ? null : $"{runs}/{sweep.Folder(i)}");
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>Whether <paramref name="bytes"/> look like a sweep part (its <c>format</c>), not a campaign's part.</summary>
    public static bool IsSweepPart(byte[] bytes)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("format", out JsonElement format) && format.ValueKind == JsonValueKind.String
                && format.GetString() == CampaignSweep.PartFormat;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A sweep part as read: its id, shard, tool, and one campaign part per sub-campaign.</summary>
    public sealed record SweepPart(string Name, string Id, CampaignShard Shard, string Tool, IReadOnlyList<CampaignPart> Parts);

    /// <summary>Reads the sweep part in <paramref name="path"/>; messages start with the path.</summary>
    /// <exception cref="CampaignPartException">Not a sweep part, or one of its parts cannot be read.</exception>
    public static SweepPart ReadPart(string path, ArchitectureRegistry registry, IAttackSuite suite)
    {
        byte[] bytes;
        try
        {
            bytes = Vbase.Platform.Loading.InputFiles.Read(path, CampaignPartJson.MaxBytes);
        }
        catch (Vbase.Platform.Loading.InputFileException e)
        {
            throw new CampaignPartException($"{path}: {e.Message}");
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            JsonElement root = document.RootElement;
            if (!IsSweepPart(bytes))
            {
                throw new CampaignPartException($"not a sweep part (format {CampaignSweep.PartFormat}: what vbase campaign FILE.yaml --shard K/N writes)");
            }
            string id = Text(root, "campaign"), tool = Text(root, "tool");
            CampaignShard shard = CampaignShard.Parse(Text(root, "shard"), out string? problem) ?? throw new CampaignPartException($"\"shard\": {problem}");
            if (!root.TryGetProperty("parts", out JsonElement parts) || parts.ValueKind != JsonValueKind.Array || parts.GetArrayLength() == 0)
            {
                throw new CampaignPartException("\"parts\" (array) is missing, of the wrong type or empty");
            }
            var read = new List<CampaignPart>();
            int n = 0;
            foreach (JsonElement part in parts.EnumerateArray())
            {
                n++;
                try
                {
                    read.Add(CampaignPartJson.Read(part, registry, suite));
                }
                catch (CampaignPartException e)
                {
                    throw new CampaignPartException($"\"parts\"[{n - 1}]: {e.Message}");
                }
            }
            if (read.Any(p => p.Shard != shard))
            {
                throw new CampaignPartException($"its parts are not all shard {shard}");
            }
            return new SweepPart(path, id, shard, tool, read);
        }
        catch (JsonException e)
        {
            throw new CampaignPartException($"{path}: not JSON ({e.Message.ReplaceLineEndings(" ")})");
        }
        catch (CampaignPartException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new CampaignPartException($"{path}: {e.Message}");
        }
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString()!
            : throw new CampaignPartException($"\"{name}\" (string) is missing or of the wrong type");

    /// <summary>
    /// The whole sweep from its N sweep parts: each sub-campaign merged as <see cref="CampaignMerge.Merge"/> does, then
    /// checked against the sweep id the parts carry.
    /// </summary>
    /// <returns>The result, and each sub-campaign's parts (named by their file) for <see cref="CampaignMerge.CopyRuns"/>.</returns>
    public static (CampaignSweepResult Result, IReadOnlyList<IReadOnlyList<CampaignMerge.NamedPart>> Parts) Merge(IReadOnlyList<SweepPart> parts, string tool)
    {
        if (parts.Count == 0)
        {
            throw new CampaignPartException("no parts to merge");
        }
        SweepPart first = parts[0];
        if (parts.FirstOrDefault(p => p.Id != first.Id) is SweepPart other)
        {
            throw new CampaignPartException($"{first.Name} and {other.Name} are shards of different campaign files ({first.Id[..12]}… and {other.Id[..12]}…)");
        }
        if (parts.FirstOrDefault(p => p.Parts.Count != first.Parts.Count) is SweepPart uneven)
        {
            throw new CampaignPartException($"{first.Name} and {uneven.Name} hold different numbers of campaigns");
        }
        var results = new List<CampaignResult>();
        var named = new List<IReadOnlyList<CampaignMerge.NamedPart>>();
        for (int i = 0; i < first.Parts.Count; i++)
        {
            CampaignMerge.NamedPart[] ofThis = [.. parts.Select(p => new CampaignMerge.NamedPart(p.Name, p.Parts[i]))];
            results.Add(CampaignMerge.Merge(ofThis, tool));
            named.Add(ofThis);
        }
        var sweep = new CampaignSweep([.. results.Select(r => r.Plan)], results[0].Chip);
        if (sweep.Id != first.Id)
        {
            throw new CampaignPartException($"{first.Name}: its \"campaign\" id is not that of its campaigns (the file was edited)");
        }
        return (new CampaignSweepResult(sweep, results), named);
    }

    /// <summary>
    /// Each sub-campaign's reports in its folder under <paramref name="outDirectory"/>, and the sweep's index
    /// (report.md, report.html: every sub-campaign's matrix, with links to its own report). Returns the index's paths.
    /// </summary>
    public static IReadOnlyList<string> WriteReports(CampaignSweepResult result, string outDirectory, string? tool)
    {
        for (int i = 0; i < result.Results.Count; i++)
        {
            CampaignReport.WriteAll(result.Results[i], Path.Combine(outDirectory, result.Sweep.Folder(i)), tool);
        }
        string markdown = Path.Combine(outDirectory, CampaignReport.MarkdownFile), html = Path.Combine(outDirectory, CampaignReport.HtmlFile);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        File.WriteAllText(markdown, Markdown(result), utf8);
        File.WriteAllText(html, Html(result, tool), utf8);
        return [markdown, html];
    }

    private static string Title(CampaignSweep sweep) =>
        string.Create(CultureInfo.InvariantCulture, $"Vbase campaign file: {sweep.Plans.Count} campaigns, {sweep.CellCount} cells");

    private static string Markdown(CampaignSweepResult result)
    {
        CampaignSweep sweep = result.Sweep;
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        Line($"# {MarkdownReport.Escape(Title(sweep))}");
        Line();
        Line($"Campaign {sweep.Id[..12]}: every architecture against every attack, once per " + MarkdownReport.Escape(AxesText(sweep)) + ".");
        Line();
        for (int i = 0; i < result.Results.Count; i++)
        {
            CampaignResult r = result.Results[i];
            string folder = sweep.Folder(i);
            Line($"## {MarkdownReport.Escape(sweep.Label(i))}");
            Line();
            Line($"[report]({CampaignReport.RelativeUrl(folder + "/" + CampaignReport.MarkdownFile)}) · [html]({CampaignReport.RelativeUrl(folder + "/" + CampaignReport.HtmlFile)})");
            Line();
            Line("| architecture | " + string.Join(" | ", r.Plan.Attacks.Select(a => MarkdownReport.Escape(a.Id))) + " |");
            Line("|---|" + string.Concat(r.Plan.Attacks.Select(_ => "---|")));
            foreach (ArchitectureInfo architecture in r.Plan.Architectures)
            {
                Line($"| **{MarkdownReport.Escape(architecture.Name)}** | "
                    + string.Join(" | ", r.CellsOf(architecture).Select(c => MarkdownReport.Escape(c.Label()) + (c.OutsideThreatModel ? "\\*" : ""))) + " |");
            }
            Line();
        }
        Line($"\\* {MarkdownReport.Escape(CampaignReport.OutsideMeaning)}.");
        return md.ToString();
    }

    private static string AxesText(CampaignSweep sweep)
    {
        var axes = sweep.Axes;
        var parts = new List<string>
        {
            $"app ({string.Join(", ", axes.Apps)})",
            $"seed ({string.Join(", ", axes.Seeds.Select(s => s.ToString(CultureInfo.InvariantCulture)))})",
        };
        parts.AddRange(axes.AttackParameters.Concat(axes.ArchitectureParameters).Select(kv => $"{kv.Key} ({string.Join(", ", kv.Value)})"));
        return string.Join(" × ", parts);
    }

    private static string Html(CampaignSweepResult result, string? tool)
    {
        CampaignSweep sweep = result.Sweep;
        var html = new StringBuilder();
        void Line(string text) => html.Append(text).Append('\n');
        string title = HtmlReport.Escape(Title(sweep));
        Line("<!DOCTYPE html>");
        Line("<html lang=\"en\">");
        Line("<head>");
        Line("<meta charset=\"utf-8\">");
        Line($"<title>{title}</title>");
        Line($"<style>\n{HtmlReport.Style}\n</style>");
        Line("</head>");
        Line("<body>");
        Line($"<h1>{title}</h1>");
        Line($"<p>Campaign {sweep.Id[..12]}{(tool is null ? "" : $", written by {HtmlReport.Escape(tool)}")}: every architecture against every attack, once per "
            + $"{HtmlReport.Escape(AxesText(sweep))}. Each matrix links to its campaign's own report (plots, evidence, event views).</p>");
        for (int i = 0; i < result.Results.Count; i++)
        {
            CampaignResult r = result.Results[i];
            string report = CampaignReport.RelativeUrl(sweep.Folder(i) + "/" + CampaignReport.HtmlFile);
            Line($"<h2 id=\"campaign-{i + 1}\">{HtmlReport.Escape(sweep.Label(i))}</h2>");
            Line($"<p><a href=\"{HtmlReport.Escape(report)}\">its report</a></p>");
            Line("<table class=\"matrix\">");
            Line("<thead><tr><th>architecture</th>" + string.Concat(r.Plan.Attacks.Select(a => $"<th title=\"{HtmlReport.Escape(a.Description)}\">{HtmlReport.Escape(a.Id)}</th>")) + "</tr></thead>");
            Line("<tbody>");
            foreach (ArchitectureInfo architecture in r.Plan.Architectures)
            {
                Line($"<tr><th>{HtmlReport.Escape(architecture.Name)}</th>" + string.Concat(r.CellsOf(architecture).Select(c =>
                    $"<td class=\"v-{c.Verdict.Name()}{(c.OutsideThreatModel ? " outside" : "")}\"><a class=\"verdict\" href=\"{HtmlReport.Escape(report)}#{c.Anchor()}\">"
                    + $"{c.Verdict.Name()}</a>{(c.Impact is Impact impact ? $" <span class=\"imp\">{(impact == Impact.Confidentiality ? "C" : "I")}</span>" : "")}"
                    + $"{(c.OutsideThreatModel ? "*" : "")}</td>")) + "</tr>");
            }
            Line("</tbody>");
            Line("</table>");
        }
        Line($"<p>* {HtmlReport.Escape(CampaignReport.OutsideMeaning)}.</p>");
        Line("</body>");
        Line("</html>");
        return html.ToString();
    }
}
