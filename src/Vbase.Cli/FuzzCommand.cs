using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Vbase.Testbed.Adversarial;

namespace Vbase.Cli;

/// <summary>What <c>vbase fuzz</c>'s exit status means (docs/adversarial.md).</summary>
public static class FuzzExitCodes
{
    /// <summary>No host exception, no isolation break, no engine divergence.</summary>
    public const int Success = 0;
    /// <summary>At least one case failed; each failure is printed with the command that reproduces it.</summary>
    public const int Failures = 1;
    public const int UsageError = ExitCodes.UsageError;
}

/// <summary>
/// <c>vbase fuzz hypercalls|code</c>: the adversarial suite (docs/adversarial.md). Runs seeds from --seed on, each
/// under every chosen architecture, for --cases seeds or --seconds of wall time, and prints the counts.
/// </summary>
internal static class FuzzCommand
{
    public static Command Create(CliConsole console)
    {
        var fuzzer = new Argument<string>("fuzzer")
        {
            Description = "hypercalls (a guest issuing random hypercalls) or code (random code under both engines).",
        };
        fuzzer.AcceptOnlyFromAmong(HypercallFuzzer.Name, CodeFuzzer.Name);
        Func<System.CommandLine.Parsing.ArgumentResult, ulong> parseSeconds = VbaseCli.WholeNumber("--seconds", 1UL, 1UL << 32, "a whole number of seconds from 1 up");
        var seconds = new Option<ulong?>("--seconds")
        {
            Description = "Run seeds until N seconds of wall time have passed (the seed under way finishes).",
            HelpName = "N",
            CustomParser = result => parseSeconds(result),
        };
        Func<System.CommandLine.Parsing.ArgumentResult, ulong> parseCases = VbaseCli.WholeNumber("--cases", 1UL, ulong.MaxValue, "a whole number from 1 up");
        var cases = new Option<ulong?>("--cases")
        {
            Description = "Run N seeds (each under every chosen architecture). Without --seconds or --cases: 1.",
            HelpName = "N",
            CustomParser = result => parseCases(result),
        };
        Func<System.CommandLine.Parsing.ArgumentResult, ulong> parseSeed = VbaseCli.WholeNumber("--seed", 0UL, ulong.MaxValue / 2, "a whole number");
        var seed = new Option<ulong>("--seed")
        {
            Description = "The first seed; seed i of the run is S + i. A failure prints the seed that reproduces it.",
            HelpName = "S",
            DefaultValueFactory = _ => 1,
            CustomParser = result => parseSeed(result),
        };
        var architectures = new Option<string>("--arch")
        {
            Description = "Comma-separated architectures (vbase list archs), or all.",
            HelpName = "LIST",
            DefaultValueFactory = _ => "all",
        };
        Func<System.CommandLine.Parsing.ArgumentResult, ulong> parseSize = VbaseCli.WholeNumber("--size", 1UL, 1UL << 40, "a whole number from 1 up");
        var size = new Option<ulong?>("--size")
        {
            Description = "Per case: hypercalls (default 10000), or instructions per engine for code (default 200000).",
            HelpName = "N",
            CustomParser = result => parseSize(result),
        };
        var command = new Command("fuzz", "Fuzz the hypervisor and the architectures: random hypercalls, or random code under both engines, next to a canary domain.")
        {
            fuzzer, seconds, cases, seed, architectures, size,
        };
        command.SetAction(parsed => Run(console, parsed.GetValue(fuzzer)!, parsed.GetValue(seconds), parsed.GetValue(cases),
            parsed.GetValue(seed), parsed.GetValue(architectures)!, parsed.GetValue(size)));
        return command;
    }

    private static int Run(CliConsole console, string fuzzer, ulong? seconds, ulong? cases, ulong seed, string archList, ulong? size)
    {
        IReadOnlyList<string> all = FuzzRunner.AllArchitectures();
        List<string> archs;
        if (archList.Trim() == "all")
        {
            archs = [.. all];
        }
        else
        {
            archs = [.. archList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct()];
            string? unknown = archs.Count == 0 ? archList : archs.FirstOrDefault(a => !all.Contains(a));
            if (unknown is not null)
            {
                return VbaseCli.Fail(console, FuzzExitCodes.UsageError,
                    $"--arch: unknown architecture '{unknown}' (known: {string.Join(", ", all)}, or all)");
            }
        }
        if (fuzzer == HypercallFuzzer.Name && size > int.MaxValue)
        {
            return VbaseCli.Fail(console, FuzzExitCodes.UsageError, $"--size: at most {int.MaxValue} hypercalls per case");
        }
        var settings = new FuzzSettings
        {
            Fuzzer = fuzzer,
            Seed = seed,
            Architectures = archs,
            Cases = cases ?? (seconds is null ? 1 : null),
            Duration = seconds is ulong s ? TimeSpan.FromSeconds(s) : null,
            Hypercalls = fuzzer == HypercallFuzzer.Name && size is ulong calls ? (int)calls : new FuzzSettings { Fuzzer = fuzzer }.Hypercalls,
            Instructions = fuzzer == CodeFuzzer.Name && size is ulong n ? n : new FuzzSettings { Fuzzer = fuzzer }.Instructions,
        };
        TextWriter o = console.Out;
        o.WriteLine($"vbase fuzz {fuzzer}: seeds from {seed}, architectures {string.Join(",", archs)}, "
            + (fuzzer == HypercallFuzzer.Name ? $"{settings.Hypercalls} hypercalls" : $"{settings.Instructions} instructions per engine") + " per case");
        var clock = Stopwatch.StartNew();
        TimeSpan lastReport = TimeSpan.Zero;
        FuzzTotals totals = FuzzRunner.Run(settings, (last, t) =>
        {
            if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(30))
            {
                lastReport = clock.Elapsed;
                console.Error.WriteLine($"vbase fuzz: {clock.Elapsed.TotalSeconds:F0} s, seed {last}: {Counts(t)}");
            }
        });
        double elapsed = clock.Elapsed.TotalSeconds;
        foreach (FuzzFailure f in totals.Failures)
        {
            o.WriteLine($"FAIL {f}");
        }
        if (totals.Failures.Count < (int)Math.Min(int.MaxValue, totals.HostExceptions + totals.IsolationBreaks + totals.Divergences))
        {
            o.WriteLine($"(only the first {totals.Failures.Count} failures are listed)");
        }
        o.WriteLine($"cases {totals.Cases} (seeds {seed}..{seed + totals.Cases / (ulong)archs.Count - 1}; "
            + string.Join(", ", totals.CasesByArchitecture.Select(kv => $"{kv.Key} {kv.Value}")) + ")");
        o.WriteLine(Counts(totals));
        o.WriteLine("events " + string.Join(", ", totals.Events.Select(kv => $"{kv.Key} {kv.Value}")));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"elapsed {elapsed:F1} s"));
        o.WriteLine(totals.Failed ? "result: FAILED" : "result: ok");
        return totals.Failed ? FuzzExitCodes.Failures : FuzzExitCodes.Success;
    }

    private static string Counts(FuzzTotals t) => string.Create(CultureInfo.InvariantCulture,
        $"hypercalls {t.Hypercalls}, instructions {t.Instructions}, host exceptions {t.HostExceptions}, isolation breaks {t.IsolationBreaks}, divergences {t.Divergences}");
}
