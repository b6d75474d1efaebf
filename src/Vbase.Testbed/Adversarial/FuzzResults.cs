namespace Vbase.Testbed.Adversarial;

/// <summary>What a fuzzer failure is (docs/adversarial.md).</summary>
public enum FuzzFailureKind
{
    /// <summary>An exception escaped <see cref="Hypervisor.Hypervisor.Run"/> (or building the case's machine).</summary>
    HostException,
    /// <summary>The canary domain's memory, registers, state or p2m changed, or the fuzzer mapped a frame it may not.</summary>
    IsolationBreak,
    /// <summary>The translator and the interpreter ended a random-code case in different states.</summary>
    Divergence,
}

/// <summary>One failed case: rerun it with <c>vbase fuzz &lt;fuzzer&gt; --seed Seed --arch Architecture --cases 1</c>.</summary>
public sealed record FuzzFailure(string Fuzzer, string Architecture, ulong Seed, FuzzFailureKind Kind, string Detail)
{
    public string Reproduce => $"vbase fuzz {Fuzzer} --seed {Seed} --arch {Architecture} --cases 1";

    public override string ToString() => $"{Kind} [{Architecture}, seed {Seed}]: {Detail} (reproduce: {Reproduce})";
}

/// <summary>The outcome of one fuzz case (one seed under one architecture).</summary>
public sealed class FuzzCaseResult
{
    public ulong Hypercalls { get; set; }
    /// <summary>Instructions executed by the fuzzing domain (for random code: summed over both engines).</summary>
    public ulong Instructions { get; set; }
    public List<FuzzFailure> Failures { get; } = [];
    /// <summary>Events of the case's machine(s) by kind (what the fuzz reached).</summary>
    public SortedDictionary<string, ulong> Events { get; } = new(StringComparer.Ordinal);

    internal void AddEvents(SortedDictionary<string, ulong> events)
    {
        foreach (var (kind, count) in events)
        {
            Events[kind] = Events.GetValueOrDefault(kind) + count;
        }
    }

    public void Fail(string fuzzer, string architecture, ulong seed, FuzzFailureKind kind, string detail) =>
        Failures.Add(new FuzzFailure(fuzzer, architecture, seed, kind, detail));
}

/// <summary>Counts over a fuzzing run, and every failure with the seed that reproduces it.</summary>
public sealed class FuzzTotals
{
    /// <summary>Failures kept in <see cref="Failures"/> (the counts go on beyond it).</summary>
    public const int MaxKeptFailures = 100;

    public ulong Cases { get; private set; }
    public ulong Hypercalls { get; private set; }
    public ulong Instructions { get; private set; }
    public ulong HostExceptions { get; private set; }
    public ulong IsolationBreaks { get; private set; }
    public ulong Divergences { get; private set; }
    public List<FuzzFailure> Failures { get; } = [];
    /// <summary>Events of every case by kind (what the fuzz reached: denials, grants, regions, faults…).</summary>
    public SortedDictionary<string, ulong> Events { get; } = new(StringComparer.Ordinal);
    /// <summary>Cases per architecture.</summary>
    public SortedDictionary<string, ulong> CasesByArchitecture { get; } = new(StringComparer.Ordinal);

    public bool Failed => HostExceptions + IsolationBreaks + Divergences != 0;

    public void Add(string architecture, FuzzCaseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Cases++;
        CasesByArchitecture[architecture] = CasesByArchitecture.GetValueOrDefault(architecture) + 1;
        Hypercalls += result.Hypercalls;
        Instructions += result.Instructions;
        foreach (var (kind, count) in result.Events)
        {
            Events[kind] = Events.GetValueOrDefault(kind) + count;
        }
        foreach (FuzzFailure f in result.Failures)
        {
            switch (f.Kind)
            {
                case FuzzFailureKind.HostException: HostExceptions++; break;
                case FuzzFailureKind.IsolationBreak: IsolationBreaks++; break;
                default: Divergences++; break;
            }
            if (Failures.Count < MaxKeptFailures)
            {
                Failures.Add(f);
            }
        }
    }
}
