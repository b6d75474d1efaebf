using System.Globalization;
using ScottPlot;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// report.html's plots, drawn with ScottPlot as SVG and inlined: verdicts per architecture (stacked bars), and the
/// cost model's extra DRAM lines and estimated slowdown against none per architecture. Fixed sizes and a fixed font,
/// nothing from the clock: the same campaign gives the same bytes.
/// </summary>
public static partial class ReportPlots
{
    /// <summary>The font every plot uses (DejaVu ships with Debian's fontconfig; Skia falls back where it is missing).</summary>
    public const string Font = "DejaVu Sans";

    /// <summary>Fill colours per verdict, the saturated cousins of the matrix's cell colours.</summary>
    public static string Colour(Verdict verdict) => verdict switch
    {
        Verdict.Prevented => "#66bb6a",
        Verdict.Detected => "#42a5f5",
        Verdict.Breached => "#ef5350",
        Verdict.Denied => "#ffa726",
        Verdict.Inconclusive => "#ab47bc",
        _ => "#9e9e9e",
    };

    /// <summary>Cells per verdict, one stacked bar per architecture.</summary>
    public static string VerdictBars(CampaignResult result)
    {
        var plot = NewPlot();
        IReadOnlyList<ArchitectureSummary> summaries = result.Summaries;
        for (int i = 0; i < summaries.Count; i++)
        {
            double bottom = 0;
            foreach (Verdict verdict in Enum.GetValues<Verdict>())
            {
                int n = summaries[i][verdict];
                if (n == 0)
                {
                    continue;
                }
                plot.Add.Bar(new Bar { Position = i, ValueBase = bottom, Value = bottom + n, FillColor = Color.FromHex(Colour(verdict)), Size = 0.7 });
                bottom += n;
            }
        }
        foreach (Verdict verdict in Enum.GetValues<Verdict>())
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = verdict.Name(), FillColor = Color.FromHex(Colour(verdict)) });
        }
        plot.ShowLegend(Alignment.UpperRight);
        plot.Legend.Orientation = Orientation.Horizontal;
        Finish(plot, summaries.Select(s => s.Architecture.Name).ToArray(), "cells", "Verdicts per architecture");
        plot.Axes.SetLimitsY(0, Math.Max(1, result.Plan.Attacks.Count) * 1.25);
        return Svg(plot, "verdicts", Math.Max(480, 72 * summaries.Count + 110), 320);
    }

    /// <summary>The architectures with a cost and a baseline, and their extra DRAM lines and slowdown against none.</summary>
    public static IReadOnlyList<(string Architecture, long ExtraLines, double Slowdown)> Costs(CampaignResult result) =>
    [
        .. result.Summaries.Where(s => s.Cost is not null && s.Baseline is not null).Select(s =>
            (s.Architecture.Name, s.Cost!.Lines - s.Baseline!.Lines, Running.Summary.Slowdown(s.Cost, s.Baseline, result.Chip.Latencies))),
    ];

    /// <summary>Extra DRAM lines against none per architecture; null when no cost was measured.</summary>
    public static string? ExtraTraffic(CampaignResult result)
    {
        var costs = Costs(result);
        return costs.Count == 0 ? null
            : CostPlot(costs.Select(c => (c.Architecture, (double)c.ExtraLines, c.ExtraLines.ToString("N0", CultureInfo.InvariantCulture))).ToArray(),
                "traffic", "extra DRAM lines vs none", "Extra DRAM traffic vs none", "#5c6bc0");
    }

    /// <summary>Estimated slowdown against none per architecture; null when no cost was measured.</summary>
    public static string? Slowdown(CampaignResult result)
    {
        var costs = Costs(result);
        return costs.Count == 0 ? null
            : CostPlot(costs.Select(c => (c.Architecture, 100 * (c.Slowdown - 1), c.Slowdown.ToString("0.000", CultureInfo.InvariantCulture) + "×")).ToArray(),
                "slowdown", "% slower than none", "Estimated slowdown vs none", "#26a69a");
    }

    private static string CostPlot((string Name, double Value, string Label)[] values, string id, string axis, string title, string colour)
    {
        var plot = NewPlot();
        for (int i = 0; i < values.Length; i++)
        {
            plot.Add.Bar(new Bar
            {
                Position = i,
                Value = values[i].Value,
                FillColor = Color.FromHex(colour),
                Size = 0.6,
                Label = values[i].Label,
            });
        }
        plot.Axes.Margins(bottom: values.Any(v => v.Value < 0) ? .15 : 0, top: .15);
        Finish(plot, values.Select(v => v.Name).ToArray(), axis, title);
        return Svg(plot, id, Math.Max(420, 72 * values.Length + 110), 300);
    }

    /// <summary>
    /// A cell's timeline from its events: when the attack fired, the first violation and the end (the last event), as
    /// marks on one time axis; null when the log has no times.
    /// </summary>
    public static string? Timeline(IReadOnlyList<(long Time, string Kind)> events)
    {
        if (events.Count == 0)
        {
            return null;
        }
        var marks = new List<(string Label, long Time, string Colour)>();
        if (events.FirstOrDefault(e => e.Kind == "attack.fired") is { Kind: not null } fired)
        {
            marks.Add(("fired", fired.Time, "#fb8c00"));
        }
        if (events.FirstOrDefault(e => e.Kind.Contains("violation", StringComparison.Ordinal)) is { Kind: not null } violation)
        {
            marks.Add(("violation", violation.Time, "#1e88e5"));
        }
        marks.Add(("end", events.Max(e => e.Time), "#424242"));
        var plot = NewPlot();
        long last = Math.Max(1, marks.Max(m => m.Time));
        var line = plot.Add.Line(0, 0, last, 0);
        line.LineColor = Color.FromHex("#9e9e9e");
        line.LineWidth = 2;
        for (int i = 0; i < marks.Count; i++)
        {
            var marker = plot.Add.Marker(marks[i].Time, 0);
            marker.Color = Color.FromHex(marks[i].Colour);
            marker.Size = 12;
            var text = plot.Add.Text($"{marks[i].Label} @ {marks[i].Time.ToString("N0", CultureInfo.InvariantCulture)}", marks[i].Time, 0);
            text.LabelFontColor = Color.FromHex(marks[i].Colour);
            text.LabelFontSize = 12;
            text.LabelFontName = Font;
            // Near an edge a label grows inwards, so that it is not cut off.
            text.LabelAlignment = marks[i].Time > 0.7 * last ? Alignment.LowerRight : marks[i].Time < 0.3 * last ? Alignment.LowerLeft : Alignment.LowerCenter;
            text.OffsetY = -(10 + 16 * (i % 2));
        }
        plot.Axes.SetLimits(-0.04 * last, 1.04 * last, -1, 1.6);
        plot.Axes.Left.IsVisible = false;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual();
        plot.Grid.YAxisStyle.IsVisible = false;
        plot.XLabel("time (instructions)");
        plot.Title("Timeline: fired → violation → end");
        plot.Font.Set(Font);
        return Svg(plot, "timeline", 800, 200);
    }

    private static Plot NewPlot()
    {
        var plot = new Plot();
        plot.Font.Set(Font);
        return plot;
    }

    private static void Finish(Plot plot, string[] names, string yLabel, string title)
    {
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, names.Length).Select(i => (double)i)], names);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Grid.XAxisStyle.IsVisible = false;
        plot.YLabel(yLabel);
        plot.Title(title);
        plot.Font.Set(Font);
    }

    /// <summary>
    /// The plot as an SVG element for an HTML page: no XML declaration, no namespaces (HTML gives them), and Skia's clip
    /// ids (numbered by a process-wide counter, so different from run to run) renamed <c>ID-clipN</c> in order of appearance.
    /// </summary>
    private static string Svg(Plot plot, string id, int width, int height)
    {
        string svg = plot.GetSvgXml(width, height);
        var clips = new Dictionary<string, string>(StringComparer.Ordinal);
        svg = SkiaClipId().Replace(svg, m =>
        {
            if (!clips.TryGetValue(m.Value, out string? name))
            {
                name = $"{id}-clip{clips.Count.ToString(CultureInfo.InvariantCulture)}";
                clips[m.Value] = name;
            }
            return name;
        });
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        svg = svg[start..]
            .Replace(" xmlns=\"http://www.w3.org/2000/svg\"", "", StringComparison.Ordinal)
            .Replace(" xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "", StringComparison.Ordinal)
            .Replace("\r\n", "\n", StringComparison.Ordinal)
            .TrimEnd();
        return svg.Replace("<svg ", $"<svg id=\"plot-{id}\" class=\"plot\" role=\"img\" aria-label=\"{HtmlReport.Escape(plot.Axes.Title.Label.Text)}\" ", StringComparison.Ordinal);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bcl_[0-9A-Za-z]+\b")]
    private static partial System.Text.RegularExpressions.Regex SkiaClipId();
}
