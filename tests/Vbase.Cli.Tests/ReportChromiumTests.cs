using System.Diagnostics;
using System.Text.RegularExpressions;
using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// A fact that needs Debian's chromium (installed by .ci/run). Skipped where it is not on PATH, except under CI
/// (CI=true), where a missing browser must fail the run rather than quietly skip the rendering check.
/// </summary>
public sealed class ChromiumFactAttribute() : ToolFactAttribute(Executable)
{
    public const string Executable = "chromium";
}

/// <summary>
/// report.html of a real campaign (every architecture × every attack) rendered by headless Chromium at 1366×768: the
/// plots and the matrix are there, no script error, and the whole matrix is on the first screen.
/// </summary>
public sealed partial class ReportChromiumTests : IDisposable
{
    private const int Width = 1366, Height = 768;

    private readonly string directory = Directory.CreateTempSubdirectory("vbase-report-chromium-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [ChromiumFact]
    public void TheReportRendersWithItsPlotsAndTheWholeMatrixFitsA1366By768Screen()
    {
        string output = Path.Combine(directory, "out");
        CliResult campaign = CliRunner.Run("campaign", "--out", output, "--jobs", "2");
        Assert.True(campaign.ExitCode == 0, campaign.Stderr);
        string report = Path.Combine(output, "report.html");

        // The check for script errors sees one where there is one.
        string broken = Path.Combine(directory, "broken.html");
        File.WriteAllText(broken, "<!DOCTYPE html><html><body><script>notDefined();</script></body></html>");
        Assert.Contains("Uncaught ReferenceError", Chromium("--dump-dom", new Uri(broken).AbsoluteUri).Stderr);

        // The page as Chromium parsed it: the matrix, three plots, no script error.
        (string dom, string log) = Chromium("--dump-dom", new Uri(report).AbsoluteUri);
        Assert.DoesNotContain("Uncaught", log);
        Assert.Contains("<table class=\"matrix\">", dom);
        foreach (string plot in new[] { "verdicts", "traffic", "slowdown" })
        {
            Assert.Contains($"<svg id=\"plot-{plot}\" class=\"plot\"", dom);
        }
        Assert.Equal(117, MatrixCell().Count(dom));

        // Where the matrix lands at 1366×768: a probe page (the report itself has no script) frames the report at that
        // size and writes the matrix's box and the page's width into the DOM.
        string probe = Path.Combine(output, "probe.html");
        File.WriteAllText(probe, $$"""
            <!DOCTYPE html><html><body style="margin:0">
            <iframe id="f" src="report.html" width="{{Width}}" height="{{Height}}" style="border:0"></iframe>
            <pre id="out">pending</pre>
            <script>
            document.getElementById('f').addEventListener('load', () => {
              const d = document.getElementById('f').contentDocument;
              const m = d.querySelector('table.matrix').getBoundingClientRect();
              document.getElementById('out').textContent = 'box ' + [m.left, m.top, m.right, m.bottom].map(Math.ceil).join(' ')
                + ' page ' + d.documentElement.scrollWidth + ' plots ' + d.querySelectorAll('svg.plot').length;
            });
            </script></body></html>
            """);
        (string probed, string probeLog) = Chromium("--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom", new Uri(probe).AbsoluteUri);
        Assert.DoesNotContain("Uncaught", probeLog);
        Match box = ProbeResult().Match(probed);
        Assert.True(box.Success, probed);
        int[] n = [.. Enumerable.Range(1, 6).Select(i => int.Parse(box.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture))];
        Assert.True(n[0] >= 0 && n[2] <= Width, $"matrix from x={n[0]} to x={n[2]}: wider than {Width} px");
        Assert.True(n[1] >= 0 && n[3] <= Height, $"matrix from y={n[1]} to y={n[3]}: not all on a {Height}-px screen");
        Assert.True(n[4] <= Width, $"the page is {n[4]} px wide");
        Assert.Equal(3, n[5]);

        // A cell's event view: a table of its events, no script error.
        string view = Path.Combine(output, "events", "vbase", "phys-spoof.html");
        Assert.Contains("href=\"events/vbase/phys-spoof.html\"", dom);
        (string viewDom, string viewLog) = Chromium("--dump-dom", new Uri(view).AbsoluteUri);
        Assert.DoesNotContain("Uncaught", viewLog);
        Assert.Contains("<td>attack.fired</td>", viewDom);
        Assert.Contains("<svg id=\"plot-timeline\" class=\"plot\"", viewDom);

        // And a screenshot, as a reader would see the first screen.
        string shot = Path.Combine(output, "report-1366x768.png");
        (_, string shotLog) = Chromium("--hide-scrollbars", $"--window-size={Width},{Height}", $"--screenshot={shot}", new Uri(report).AbsoluteUri);
        Assert.DoesNotContain("Uncaught", shotLog);
        byte[] png = File.ReadAllBytes(shot);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    private (string Stdout, string Stderr) Chromium(params string[] args)
    {
        var start = new ProcessStartInfo(QemuFactAttribute.FindOnPath(ChromiumFactAttribute.Executable) ?? ChromiumFactAttribute.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--log-level=0",
            $"--user-data-dir={Path.Combine(directory, "profile")}" }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish in 2 minutes");
        }
        return (stdout.Result, stderr.Result);
    }

    [GeneratedRegex("<td class=\"v-[a-z]+( outside)?\"")]
    private static partial Regex MatrixCell();

    [GeneratedRegex(@"box (-?\d+) (-?\d+) (-?\d+) (-?\d+) page (\d+) plots (\d+)")]
    private static partial Regex ProbeResult();
}
