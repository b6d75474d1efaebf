using System.Diagnostics;
using Vbase.Architectures;

namespace Vbase.Testbed.Adversarial;

/// <summary>Which fuzzer, under which architectures, for how long.</summary>
public sealed record FuzzSettings
{
    /// <summary><see cref="HypercallFuzzer.Name"/> or <see cref="CodeFuzzer.Name"/>.</summary>
    public required string Fuzzer { get; init; }
    /// <summary>The first case's seed; case i uses Seed + i (every architecture runs each seed).</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Architecture names (every one from the registry when empty).</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];
    /// <summary>Seeds to run (each under every architecture); null: until <see cref="Duration"/> ends.</summary>
    public ulong? Cases { get; init; }
    /// <summary>Wall-clock limit; null: until <see cref="Cases"/> are done.</summary>
    public TimeSpan? Duration { get; init; }
    /// <summary>Hypercalls per hypercall-fuzzer case.</summary>
    public int Hypercalls { get; init; } = 10_000;
    /// <summary>Instructions per engine per random-code case.</summary>
    public ulong Instructions { get; init; } = 200_000;
    /// <summary>Random items per random-code case.</summary>
    public int Items { get; init; } = 300;
}

/// <summary>Runs a fuzzer over seeds and architectures and adds up the counts.</summary>
public static class FuzzRunner
{
    public static IReadOnlyList<string> AllArchitectures() => [.. BuiltInArchitectures.CreateRegistry().All.Select(a => a.Name)];

    /// <summary>Runs <paramref name="settings"/>; <paramref name="progress"/> hears about every finished seed.</summary>
    public static FuzzTotals Run(FuzzSettings settings, Action<ulong, FuzzTotals>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Fuzzer is not (HypercallFuzzer.Name or CodeFuzzer.Name))
        {
            throw new ArgumentException($"unknown fuzzer '{settings.Fuzzer}' (hypercalls or code)", nameof(settings));
        }
        IReadOnlyList<string> archs = settings.Architectures.Count == 0 ? AllArchitectures() : settings.Architectures;
        var totals = new FuzzTotals();
        var clock = Stopwatch.StartNew();
        for (ulong i = 0; settings.Cases is not ulong n || i < n; i++)
        {
            if (cancel.IsCancellationRequested || (settings.Duration is TimeSpan d && clock.Elapsed >= d))
            {
                break;
            }
            ulong seed = settings.Seed + i;
            foreach (string arch in archs)
            {
                FuzzCaseResult r = settings.Fuzzer == HypercallFuzzer.Name
                    ? HypercallFuzzer.RunCase(arch, seed, settings.Hypercalls)
                    : CodeFuzzer.RunCase(arch, seed, settings.Instructions, settings.Items);
                totals.Add(arch, r);
            }
            progress?.Invoke(seed, totals);
        }
        return totals;
    }
}
