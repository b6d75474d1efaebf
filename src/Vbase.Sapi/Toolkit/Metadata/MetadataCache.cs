namespace Vbase.Sapi.Toolkit.Metadata;

/// <summary>A <see cref="MetadataCache"/>'s counters at one moment.</summary>
/// <param name="Hits">Accesses that found their line.</param>
/// <param name="Misses">Accesses that did not.</param>
/// <param name="DramReads">Lines fetched from DRAM (one per miss: writes allocate).</param>
/// <param name="Writebacks">Dirty lines written back to DRAM (on eviction or flush).</param>
public readonly record struct MetadataCacheStatistics(long Hits, long Misses, long DramReads, long Writebacks)
{
    /// <summary>All accesses.</summary>
    public long Accesses => Hits + Misses;
    /// <summary>Metadata lines moved between chip and DRAM.</summary>
    public long DramTraffic => DramReads + Writebacks;
}

/// <summary>
/// A timing-free model of an on-chip metadata cache (counters, MACs, tree nodes): set-associative, LRU replacement,
/// write-back and write-allocate. It holds no data, only which metadata lines are present and dirty, and counts what
/// goes to DRAM, so architectures can be compared by their metadata traffic.
/// <para>
/// An address maps to line <c>address / LineBytes</c>, which lives in set <c>line mod SetCount</c>. A miss fetches the
/// line (one DRAM read), evicting the set's least recently used line, written back first if dirty.
/// </para>
/// Allocation-free per access; not thread-safe.
/// </summary>
public sealed class MetadataCache
{
    private readonly ulong[] lines;   // [set * ways + way] line number held
    private readonly bool[] valid;
    private readonly bool[] dirty;
    private readonly ulong[] lastUse; // recency stamp: the way with the smallest is the LRU one
    private ulong clock;
    private long hits;
    private long misses;
    private long writebacks;

    /// <param name="capacityBytes">Total capacity; a multiple of associativity × line size.</param>
    /// <param name="associativity">Ways per set (1 = direct-mapped; capacity / line size = fully associative).</param>
    /// <param name="lineBytes">Line size in bytes, a power of two.</param>
    public MetadataCache(int capacityBytes, int associativity, int lineBytes = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(associativity);
        if (lineBytes <= 0 || (lineBytes & (lineBytes - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(lineBytes), lineBytes, "the line size is a power of two");
        }
        long setBytes = (long)associativity * lineBytes;
        if (capacityBytes % setBytes != 0)
        {
            throw new ArgumentException(
                $"capacity {capacityBytes} is not a multiple of associativity × line size ({setBytes})", nameof(capacityBytes));
        }
        CapacityBytes = capacityBytes;
        Associativity = associativity;
        LineBytes = lineBytes;
        SetCount = (int)(capacityBytes / setBytes);
        int slots = SetCount * associativity;
        lines = new ulong[slots];
        valid = new bool[slots];
        dirty = new bool[slots];
        lastUse = new ulong[slots];
    }

    /// <summary>Capacity in bytes.</summary>
    public int CapacityBytes { get; }
    /// <summary>Ways per set.</summary>
    public int Associativity { get; }
    /// <summary>Line size in bytes.</summary>
    public int LineBytes { get; }
    /// <summary>Number of sets.</summary>
    public int SetCount { get; }

    /// <summary>The counters so far.</summary>
    public MetadataCacheStatistics Statistics => new(hits, misses, misses, writebacks);

    /// <summary>
    /// Accesses the metadata at <paramref name="address"/>; a write marks its line dirty. Returns true on a hit. On a
    /// miss the line is fetched (a DRAM read) into the LRU way of its set, whose line is written back if dirty.
    /// </summary>
    public bool Access(ulong address, bool isWrite)
    {
        ulong line = address / (ulong)LineBytes;
        int first = (int)(line % (ulong)SetCount) * Associativity;
        clock++;

        int victim = first;
        for (int slot = first; slot < first + Associativity; slot++)
        {
            if (valid[slot] && lines[slot] == line)
            {
                hits++;
                lastUse[slot] = clock;
                dirty[slot] |= isWrite;
                return true;
            }
            // Prefer an empty way; among full ones the least recently used.
            if (!valid[slot])
            {
                if (valid[victim])
                {
                    victim = slot;
                }
            }
            else if (valid[victim] && lastUse[slot] < lastUse[victim])
            {
                victim = slot;
            }
        }

        misses++;
        if (valid[victim] && dirty[victim])
        {
            writebacks++;
        }
        lines[victim] = line;
        valid[victim] = true;
        dirty[victim] = isWrite;
        lastUse[victim] = clock;
        return false;
    }

    /// <summary>True if the line holding <paramref name="address"/> is cached (no effect on recency or counters).</summary>
    public bool Contains(ulong address)
    {
        ulong line = address / (ulong)LineBytes;
        int first = (int)(line % (ulong)SetCount) * Associativity;
        for (int slot = first; slot < first + Associativity; slot++)
        {
            if (valid[slot] && lines[slot] == line)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True if the line holding <paramref name="address"/> is cached and dirty.</summary>
    public bool IsDirty(ulong address)
    {
        ulong line = address / (ulong)LineBytes;
        int first = (int)(line % (ulong)SetCount) * Associativity;
        for (int slot = first; slot < first + Associativity; slot++)
        {
            if (valid[slot] && lines[slot] == line)
            {
                return dirty[slot];
            }
        }
        return false;
    }

    /// <summary>Writes back every dirty line (counted as writebacks) and empties the cache. Returns the lines written
    /// back.</summary>
    public int Flush()
    {
        int written = 0;
        for (int slot = 0; slot < valid.Length; slot++)
        {
            if (valid[slot] && dirty[slot])
            {
                written++;
            }
            valid[slot] = false;
            dirty[slot] = false;
        }
        writebacks += written;
        return written;
    }

    /// <summary>Zeroes the counters; the cache contents stay.</summary>
    public void ResetStatistics()
    {
        hits = 0;
        misses = 0;
        writebacks = 0;
    }
}
