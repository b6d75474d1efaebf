using System.Buffers.Binary;

namespace Vbase.Sapi.Toolkit.Counters;

/// <summary>What a counter does when it is incremented past its largest value.</summary>
public enum CounterOverflowPolicy
{
    /// <summary>Throw <see cref="CounterOverflowException"/> and leave the counter unchanged: the key must be replaced
    /// before the line can be written again.</summary>
    Throw,
    /// <summary>Return to 0 and report the overflow. Seeds repeat unless the caller re-keys — which is exactly the
    /// weakness this policy exists to demonstrate.</summary>
    Wrap,
    /// <summary>Stay at the largest value and report the overflow; the caller should refuse the write.</summary>
    Saturate,
}

/// <summary>A counter went past its largest value under <see cref="CounterOverflowPolicy.Throw"/> (or a split
/// counter's major counter did).</summary>
public sealed class CounterOverflowException(string message) : InvalidOperationException(message);

/// <summary>The outcome of <see cref="VersionCounterStore.Increment"/>.</summary>
/// <param name="Value">The line's counter after the increment.</param>
/// <param name="Overflowed">The counter was at its largest value; <see cref="VersionCounterStore.OverflowPolicy"/>
/// decided <paramref name="Value"/>.</param>
public readonly record struct CounterIncrement(ulong Value, bool Overflowed);

/// <summary>
/// One monotonic version counter per memory line (AEGIS / SGX-style per-line counters), indexed by line number,
/// all starting at 0. Counters are <see cref="CounterBits"/> wide (e.g. 56 as in SGX's MEE); what happens past the
/// top is the <see cref="OverflowPolicy"/>. The store models off-chip counter memory: <see cref="Set"/> lets a test or
/// attacker write a value directly (replay, tampering); an integrity tree over <see cref="WriteValue"/> catches that.
/// </summary>
public sealed class VersionCounterStore
{
    /// <summary>Bytes of <see cref="WriteValue"/>'s encoding.</summary>
    public const int ValueBytes = 8;

    private readonly ulong[] counters;

    /// <param name="lineCount">Lines covered (line numbers 0..lineCount−1).</param>
    /// <param name="counterBits">Counter width, 1..64.</param>
    /// <param name="overflowPolicy">What an increment past the top does.</param>
    public VersionCounterStore(long lineCount, int counterBits = 56, CounterOverflowPolicy overflowPolicy = CounterOverflowPolicy.Throw)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lineCount);
        if (counterBits is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(counterBits), counterBits, "a counter is 1 to 64 bits");
        }
        counters = new ulong[lineCount];
        CounterBits = counterBits;
        MaxValue = counterBits == 64 ? ulong.MaxValue : (1UL << counterBits) - 1;
        OverflowPolicy = overflowPolicy;
    }

    /// <summary>Lines covered.</summary>
    public long LineCount => counters.LongLength;
    /// <summary>Counter width in bits.</summary>
    public int CounterBits { get; }
    /// <summary>The largest value a counter holds (2^<see cref="CounterBits"/> − 1).</summary>
    public ulong MaxValue { get; }
    /// <summary>What an increment past <see cref="MaxValue"/> does.</summary>
    public CounterOverflowPolicy OverflowPolicy { get; }
    /// <summary>Increments that overflowed (under <see cref="CounterOverflowPolicy.Wrap"/> or
    /// <see cref="CounterOverflowPolicy.Saturate"/>, or that threw).</summary>
    public long Overflows { get; private set; }

    /// <summary>The current counter of <paramref name="line"/>.</summary>
    public ulong Get(ulong line) => counters[Index(line)];

    /// <summary>Advances the counter of <paramref name="line"/> (a write to the line).</summary>
    /// <exception cref="CounterOverflowException">At <see cref="MaxValue"/> under
    /// <see cref="CounterOverflowPolicy.Throw"/>.</exception>
    public CounterIncrement Increment(ulong line)
    {
        long i = Index(line);
        ulong value = counters[i];
        if (value < MaxValue)
        {
            counters[i] = value + 1;
            return new CounterIncrement(value + 1, Overflowed: false);
        }
        Overflows++;
        switch (OverflowPolicy)
        {
            case CounterOverflowPolicy.Wrap:
                counters[i] = 0;
                return new CounterIncrement(0, Overflowed: true);
            case CounterOverflowPolicy.Saturate:
                return new CounterIncrement(value, Overflowed: true);
            default:
                throw new CounterOverflowException($"the version counter of line {line} is at its maximum {MaxValue}");
        }
    }

    /// <summary>Writes <paramref name="value"/> directly, as a write to off-chip counter memory would (restoring an old
    /// value, an attacker's tampering). No monotonicity check: that is the point.</summary>
    public void Set(ulong line, ulong value)
    {
        if (value > MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, $"a {CounterBits}-bit counter");
        }
        counters[Index(line)] = value;
    }

    /// <summary>Encodes the counter of <paramref name="line"/> as 8 bytes little-endian (the form MACs and integrity
    /// tree leaves take).</summary>
    public void WriteValue(ulong line, Span<byte> destination)
    {
        if (destination.Length < ValueBytes)
        {
            throw new ArgumentException("a counter value is 8 bytes", nameof(destination));
        }
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Get(line));
    }

    private long Index(ulong line)
    {
        if (line >= (ulong)counters.LongLength)
        {
            throw new ArgumentOutOfRangeException(nameof(line), line, $"the store covers {counters.LongLength} lines");
        }
        return (long)line;
    }
}
