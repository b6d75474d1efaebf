using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Vbase.Testbed.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// The real <c>vbase</c> process, stopped by a signal in the middle of a long run with <c>--out</c>: SIGINT and
/// SIGTERM stop it cleanly (exit 130 / 143, one stderr line, summary.json with outcome <c>stopped</c>); SIGKILL
/// cannot be caught, and still leaves events.jsonl as whole JSON lines (each is flushed as it is written), at most
/// the last one cut.
/// </summary>
public sealed class AbortTests : IDisposable
{
    private const int SigInt = 2, SigKill = 9, SigTerm = 15;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly string directory = Directory.CreateTempSubdirectory("vbase-abort-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [InlineData(SigInt, 130, "vbase: stopped (Ctrl-C); outputs so far are in ")]
    [InlineData(SigTerm, 143, "vbase: stopped (SIGTERM); outputs so far are in ")]
    public void ACatchableSignalStopsTheRunCleanly(int signal, int exitCode, string message)
    {
        string outDirectory = Path.Combine(directory, "out");
        (int code, string stderr) = RunAndSignal(outDirectory, signal);
        Assert.True(code == exitCode, $"exit code {code}, stderr: {stderr}");
        Assert.Equal(message + outDirectory, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDirectory, "summary.json")));
        Assert.Equal("stopped", summary.RootElement.GetProperty("outcome").GetString());
        Assert.Equal("running", summary.RootElement.GetProperty("domains")[0].GetProperty("state").GetString());
        string events = File.ReadAllText(Path.Combine(outDirectory, "events.jsonl"));
        Assert.EndsWith("\n", events);
        AssertJsonLines(events, allowCutLast: false);
    }

    [Fact]
    public void SigkillLeavesTheEventsAsWholeJsonLines()
    {
        string outDirectory = Path.Combine(directory, "out");
        (int code, _) = RunAndSignal(outDirectory, SigKill);
        Assert.Equal(128 + SigKill, code);
        Assert.False(File.Exists(Path.Combine(outDirectory, "summary.json")));
        AssertJsonLines(File.ReadAllText(Path.Combine(outDirectory, "events.jsonl")), allowCutLast: true);
    }

    [Fact]
    public void AFullStandardOutputIsOneErrorLineNotACrash()
    {
        // /dev/full fails every write with ENOSPC, as a full disk would.
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$0\" \"$1\" list archs > /dev/full");
        start.ArgumentList.Add(DotnetHost());
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vbase.dll"));
        using Process process = Process.Start(start)!;
        string stderr = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(Patience));
        Assert.Equal(ExitCodes.StandardOutputError, process.ExitCode);
        Assert.Equal("vbase: error: cannot write standard output: No space left on device", stderr.TrimEnd('\n'));
    }

    private static void AssertJsonLines(string events, bool allowCutLast)
    {
        string[] lines = events.Split('\n');
        // After the last '\n' comes "" (a complete file) or, only when killed, the start of a line being written.
        int complete = lines.Length - 1;
        Assert.True(allowCutLast || lines[^1].Length == 0, $"a cut last line: {lines[^1]}");
        Assert.True(complete >= 2, $"only {complete} events: {events}");
        for (int i = 0; i < complete; i++)
        {
            using JsonDocument e = JsonDocument.Parse(lines[i]);
            Assert.True(e.RootElement.TryGetProperty("kind", out _), lines[i]);
        }
        Assert.Contains("\"kind\":\"domain.unpaused\"", events);
    }

    /// <summary>
    /// Starts <c>vbase run</c> on a domain that prints a line every 100k instructions for hours, waits until the
    /// domain is unpaused (its event is in events.jsonl) and a moment more, sends <paramref name="signal"/>, and
    /// waits for the end.
    /// </summary>
    private (int ExitCode, string Stderr) RunAndSignal(string outDirectory, int signal)
    {
        File.WriteAllBytes(Path.Combine(directory, "tick.elf"), AsmKernel.Printer("tick", int.MaxValue, spin: 100_000));
        string scenario = Path.Combine(directory, "long.yaml");
        File.WriteAllText(scenario, "name: long\ndomains:\n  - name: app\n    kernel: tick.elf\n");
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "vbase.dll"), "run", scenario, "--out", outDirectory })
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start)!;
        try
        {
            // Read both pipes all along, so that the guest's console never fills one and blocks vbase.
            process.OutputDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            string events = Path.Combine(outDirectory, "events.jsonl");
            var waited = Stopwatch.StartNew();
            while (!(File.Exists(events) && ReadShared(events).Contains("domain.unpaused", StringComparison.Ordinal)))
            {
                if (process.HasExited)
                {
                    Assert.Fail($"vbase ended before the run started: {stderr.Result}");
                }
                Assert.True(waited.Elapsed < Patience, "no domain.unpaused event in events.jsonl");
                Thread.Sleep(20);
            }
            Thread.Sleep(300);
            if (process.HasExited)
            {
                Assert.Fail($"vbase ended on its own: {stderr.Result}");
            }
            Assert.Equal(0, Kill(process.Id, signal));
            Assert.True(process.WaitForExit(Patience), $"vbase did not end within {Patience.TotalSeconds} s of signal {signal}");
            process.WaitForExit();
            return (process.ExitCode, stderr.Result);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>The dotnet host running these tests (testhost runs under it), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        string? host = Environment.ProcessPath;
        return host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
