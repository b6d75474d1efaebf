using System.Buffers.Binary;

namespace Vbase.Sapi.Toolkit.Counters;

/// <summary>A line's split counter: its page's major counter and its own minor counter.</summary>
public readonly record struct SplitCounter(ulong Major, int Minor);

/// <summary>The outcome of <see cref="SplitCounterStore.Increment"/>.</summary>
/// <param name="Counter">The written line's counter after the increment.</param>
/// <param name="PageReencryptionRequired">The minor counter overflowed: the page's major counter was incremented and
/// every minor counter of the page reset to 0, so every other line of the page must be re-encrypted (and re-MACed)
/// under its new counter.</param>
public readonly record struct SplitCounterIncrement(SplitCounter Counter, bool PageReencryptionRequired);

/// <summary>
/// Split counters as in Bonsai Merkle Trees (Rogers et al., MICRO 2007) and Yan et al. (ISCA 2006): each page has a
/// 64-bit major counter and each line of the page a small minor counter (default 7 bits; 64 lines of 64 bytes per
/// 4 KiB page). A line's encryption counter is the pair (major, minor), see <see cref="SeedCounter"/>. When a minor
/// counter would overflow, the major counter is incremented and all minors of the page reset to 0, which forces the
/// page to be re-encrypted. All counters start at 0.
/// <para>
/// A page's counters pack into one counter block (<see cref="CounterBlockBytes"/>: 64 bytes for the defaults), the
/// unit an integrity tree protects: <see cref="WriteCounterBlock"/> encodes it, <see cref="LoadCounterBlock"/> loads
/// one back (restoring or tampering with off-chip counter memory).
/// </para>
/// </summary>
public sealed class SplitCounterStore
{
    private readonly ulong[] majors;
    private readonly byte[] minors;

    /// <param name="pageCount">Pages covered.</param>
    /// <param name="linesPerPage">Lines per page (64 for 4 KiB pages of 64-byte lines).</param>
    /// <param name="minorBits">Minor counter width, 1..8 (7 in BMT).</param>
    public SplitCounterStore(long pageCount, int linesPerPage = 64, int minorBits = 7)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(linesPerPage);
        if (minorBits is < 1 or > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(minorBits), minorBits, "a minor counter is 1 to 8 bits");
        }
        majors = new ulong[pageCount];
        minors = new byte[checked(pageCount * linesPerPage)];
        LinesPerPage = linesPerPage;
        MinorBits = minorBits;
        MaxMinor = (1 << minorBits) - 1;
        CounterBlockBytes = 8 + ((linesPerPage * minorBits) + 7) / 8;
    }

    /// <summary>Pages covered.</summary>
    public long PageCount => majors.LongLength;
    /// <summary>Lines covered (<see cref="PageCount"/> × <see cref="LinesPerPage"/>).</summary>
    public long LineCount => minors.LongLength;
    /// <summary>Lines per page.</summary>
    public int LinesPerPage { get; }
    /// <summary>Minor counter width in bits.</summary>
    public int MinorBits { get; }
    /// <summary>The largest minor counter value.</summary>
    public int MaxMinor { get; }
    /// <summary>Bytes of one page's counter block: the 8-byte major then the bit-packed minors.</summary>
    public int CounterBlockBytes { get; }
    /// <summary>Minor overflows so far, each of which required a page re-encryption.</summary>
    public long PageReencryptions { get; private set; }

    /// <summary>The page that holds <paramref name="line"/>.</summary>
    public ulong PageOf(ulong line) => line / (ulong)LinesPerPage;

    /// <summary>The counter of <paramref name="line"/> (a global line number).</summary>
    public SplitCounter Get(ulong line)
    {
        long i = LineIndex(line);
        return new SplitCounter(majors[i / LinesPerPage], minors[i]);
    }

    /// <summary>The major counter of <paramref name="page"/>.</summary>
    public ulong GetMajor(ulong page) => majors[PageIndex(page)];

    /// <summary>
    /// The line's counter as one 64-bit value for a CTR seed or MAC nonce: major · 2^<see cref="MinorBits"/> + minor.
    /// Distinct (major, minor) pairs give distinct values while major &lt; 2^(64 − MinorBits).
    /// </summary>
    public ulong SeedCounter(ulong line)
    {
        SplitCounter counter = Get(line);
        return (counter.Major << MinorBits) | (uint)counter.Minor;
    }

    /// <summary>Advances the counter of <paramref name="line"/> (a write-back of the line).</summary>
    /// <exception cref="CounterOverflowException">The page's major counter is at its maximum.</exception>
    public SplitCounterIncrement Increment(ulong line)
    {
        long i = LineIndex(line);
        long page = i / LinesPerPage;
        if (minors[i] < MaxMinor)
        {
            minors[i]++;
            return new SplitCounterIncrement(new SplitCounter(majors[page], minors[i]), PageReencryptionRequired: false);
        }
        if (majors[page] == ulong.MaxValue)
        {
            throw new CounterOverflowException($"the major counter of page {page} is at its maximum");
        }
        majors[page]++;
        // Every line of the page, the written one included, continues from (major + 1, 0): a pair never used before.
        minors.AsSpan((int)(page * LinesPerPage), LinesPerPage).Clear();
        PageReencryptions++;
        return new SplitCounterIncrement(new SplitCounter(majors[page], 0), PageReencryptionRequired: true);
    }

    /// <summary>Encodes the counters of <paramref name="page"/>: major (8 bytes LE), then the minors packed
    /// little-endian, minor j at bit j·<see cref="MinorBits"/>; unused trailing bits are 0.</summary>
    public void WriteCounterBlock(ulong page, Span<byte> destination)
    {
        long p = PageIndex(page);
        if (destination.Length < CounterBlockBytes)
        {
            throw new ArgumentException($"a counter block is {CounterBlockBytes} bytes", nameof(destination));
        }
        Span<byte> block = destination[..CounterBlockBytes];
        block.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(block, majors[p]);
        Span<byte> packed = block[8..];
        long first = p * LinesPerPage;
        for (int j = 0; j < LinesPerPage; j++)
        {
            int minor = minors[first + j];
            int bit = j * MinorBits;
            for (int b = 0; b < MinorBits; b++, bit++)
            {
                if (((minor >> b) & 1) != 0)
                {
                    packed[bit >> 3] |= (byte)(1 << (bit & 7));
                }
            }
        }
    }

    /// <summary>Replaces the counters of <paramref name="page"/> with a block in <see cref="WriteCounterBlock"/>'s
    /// format, as a write to off-chip counter memory would (restore, replay, tampering).</summary>
    public void LoadCounterBlock(ulong page, ReadOnlySpan<byte> source)
    {
        long p = PageIndex(page);
        if (source.Length < CounterBlockBytes)
        {
            throw new ArgumentException($"a counter block is {CounterBlockBytes} bytes", nameof(source));
        }
        majors[p] = BinaryPrimitives.ReadUInt64LittleEndian(source);
        ReadOnlySpan<byte> packed = source[8..CounterBlockBytes];
        long first = p * LinesPerPage;
        for (int j = 0; j < LinesPerPage; j++)
        {
            int minor = 0;
            int bit = j * MinorBits;
            for (int b = 0; b < MinorBits; b++, bit++)
            {
                minor |= ((packed[bit >> 3] >> (bit & 7)) & 1) << b;
            }
            minors[first + j] = (byte)minor;
        }
    }

    private long LineIndex(ulong line)
    {
        if (line >= (ulong)minors.LongLength)
        {
            throw new ArgumentOutOfRangeException(nameof(line), line, $"the store covers {minors.LongLength} lines");
        }
        return (long)line;
    }

    private long PageIndex(ulong page)
    {
        if (page >= (ulong)majors.LongLength)
        {
            throw new ArgumentOutOfRangeException(nameof(page), page, $"the store covers {majors.LongLength} pages");
        }
        return (long)page;
    }
}
