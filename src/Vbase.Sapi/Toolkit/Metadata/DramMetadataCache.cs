using Vbase.Hypervisor.Chip;
using Vbase.Hypervisor.Sapi;

namespace Vbase.Sapi.Toolkit.Metadata;

/// <summary>
/// Checks and follows the metadata lines a <see cref="DramMetadataCache"/> moves: an integrity tree verifies a line
/// fetched from DRAM against its parent and updates the parent when a dirty line is written back.
/// </summary>
public interface IMetadataVerifier
{
    /// <summary>Whether this verifier covers the metadata line at <paramref name="lineOffset"/> (area offset).</summary>
    bool Covers(ulong lineOffset);

    /// <summary>A line just fetched from DRAM: true if it may be trusted (it then stays on chip).</summary>
    bool Verify(DramMetadataCache cache, ulong lineOffset, ReadOnlySpan<byte> line);

    /// <summary>A dirty line was just written to DRAM: bring what covers it (its parent node, the root) up to date.</summary>
    void WrittenBack(DramMetadataCache cache, ulong lineOffset, ReadOnlySpan<byte> line);
}

/// <summary>
/// The on-chip metadata cache of a design whose off-chip metadata (counters, MACs, tree nodes) lives in DRAM, in its
/// <see cref="MetadataArea"/>: set-associative, LRU, write-back and write-allocate, holding real bytes. A miss
/// reads the line from DRAM (counted as a metadata read in <see cref="SapiHost.Cost"/>) and has it verified by the
/// <see cref="IMetadataVerifier"/> that covers it; a dirty line leaving (eviction, <see cref="Flush"/>) is written
/// to DRAM (a metadata write) and reported to its verifier. What sits here is on chip, out of an attacker's reach;
/// what is in DRAM is not.
/// <para>
/// A span it returns is valid until the next call that may miss (callers copy what they need first). Lines in use
/// by a verification in progress are pinned, so a verifier may use the cache recursively (a tree walking up).
/// Allocation-free per access; not thread-safe.
/// </para>
/// </summary>
public sealed class DramMetadataCache
{
    public const int LineBytes = ChipOptions.LineBytes;

    private readonly SapiHost host;
    private readonly ulong[] tags;     // [set * ways + way]: area line index + 1, 0 = empty
    private readonly bool[] dirty;
    private readonly bool[] pinned;
    private readonly ulong[] lastUse;
    private readonly byte[] data;      // slot * LineBytes
    private readonly List<IMetadataVerifier> verifiers = [];
    private ulong clock;

    public DramMetadataCache(SapiHost host, MetadataArea area, int capacityBytes, int ways)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(area);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ways);
        if (capacityBytes < LineBytes * ways || capacityBytes % (LineBytes * ways) != 0)
        {
            throw new ArgumentException($"capacity {capacityBytes} is not a positive multiple of {LineBytes} bytes × {ways} ways", nameof(capacityBytes));
        }
        this.host = host;
        Area = area;
        Ways = ways;
        Sets = capacityBytes / (LineBytes * ways);
        int slots = Sets * ways;
        tags = new ulong[slots];
        dirty = new bool[slots];
        pinned = new bool[slots];
        lastUse = new ulong[slots];
        data = new byte[slots * LineBytes];
    }

    public MetadataArea Area { get; }
    public int Ways { get; }
    public int Sets { get; }
    public int CapacityBytes => Sets * Ways * LineBytes;

    public long Hits { get; private set; }
    public long Misses { get; private set; }

    /// <summary>Adds a verifier (an integrity tree over part of the area).</summary>
    public void AddVerifier(IMetadataVerifier verifier) => verifiers.Add(verifier);

    public void RemoveVerifier(IMetadataVerifier verifier) => verifiers.Remove(verifier);

    /// <summary>
    /// The 64-byte metadata line holding area offset <paramref name="offset"/>, on chip: fetched from DRAM and
    /// verified on a miss; <paramref name="write"/> marks it dirty. False: the line fetched failed its verification
    /// (it is not kept).
    /// </summary>
    public bool TryGet(ulong offset, bool write, out Span<byte> line)
    {
        ulong index = offset / LineBytes;
        int first = (int)(index % (ulong)Sets) * Ways;
        clock++;
        int victim = -1;
        for (int slot = first; slot < first + Ways; slot++)
        {
            if (tags[slot] == index + 1)
            {
                Hits++;
                lastUse[slot] = clock;
                dirty[slot] |= write;
                line = data.AsSpan(slot * LineBytes, LineBytes);
                return true;
            }
            if (pinned[slot])
            {
                continue;
            }
            if (victim < 0 || (tags[victim] != 0 && (tags[slot] == 0 || lastUse[slot] < lastUse[victim])))
            {
                victim = slot;
            }
        }
        if (victim < 0)
        {
            throw new InvalidOperationException("every way of a metadata set is pinned by verifications in progress: too few ways for the tree's height");
        }
        Misses++;
        Span<byte> evicted = stackalloc byte[LineBytes];
        ulong evictedIndex = tags[victim] == 0 ? ulong.MaxValue : tags[victim] - 1;
        bool evictedDirty = tags[victim] != 0 && dirty[victim];
        if (evictedDirty)
        {
            data.AsSpan(victim * LineBytes, LineBytes).CopyTo(evicted);
            evicted.CopyTo(Area.Slice(evictedIndex * LineBytes, LineBytes));
            host.Cost.MetadataWrites++;
        }
        // The new line: fetched from DRAM, pinned while its verifier (which may use the cache) checks it.
        Span<byte> slotBytes = data.AsSpan(victim * LineBytes, LineBytes);
        Area.Slice(index * LineBytes, LineBytes).CopyTo(slotBytes);
        host.Cost.MetadataReads++;
        tags[victim] = index + 1;
        dirty[victim] = false;
        lastUse[victim] = clock;
        pinned[victim] = true;
        bool ok;
        try
        {
            ok = VerifierOf(index * LineBytes)?.Verify(this, index * LineBytes, slotBytes) ?? true;
            // The evicted line's parent learns its new value (the fetched line stays pinned meanwhile).
            if (evictedDirty)
            {
                VerifierOf(evictedIndex * LineBytes)?.WrittenBack(this, evictedIndex * LineBytes, evicted);
            }
        }
        finally
        {
            pinned[victim] = false;
        }
        if (!ok)
        {
            tags[victim] = 0;
            line = default;
            return false;
        }
        dirty[victim] = write;
        lastUse[victim] = ++clock;
        line = data.AsSpan(victim * LineBytes, LineBytes);
        return true;
    }

    /// <summary>Reads metadata bytes for an inspection: from chip if cached, else from DRAM; counts and changes nothing.</summary>
    public void Peek(ulong offset, Span<byte> dest)
    {
        ulong index = offset / LineBytes;
        int inLine = (int)(offset % LineBytes);
        if (LineIfCached(index) is Span<byte> line && line.Length != 0)
        {
            line.Slice(inLine, dest.Length).CopyTo(dest);
            return;
        }
        Area.Slice(offset, dest.Length).CopyTo(dest);
    }

    /// <summary>Writes back every dirty line (each reported to its verifier, which may dirty parents) and empties the cache.</summary>
    public void Flush()
    {
        Span<byte> bytes = stackalloc byte[LineBytes];
        // Parents are dirtied by their children's write-backs: repeat until nothing is dirty.
        for (bool any = true; any;)
        {
            any = false;
            for (int slot = 0; slot < tags.Length; slot++)
            {
                if (tags[slot] != 0 && dirty[slot])
                {
                    any = true;
                    ulong index = tags[slot] - 1;
                    data.AsSpan(slot * LineBytes, LineBytes).CopyTo(bytes);
                    bytes.CopyTo(Area.Slice(index * LineBytes, LineBytes));
                    host.Cost.MetadataWrites++;
                    dirty[slot] = false;
                    VerifierOf(index * LineBytes)?.WrittenBack(this, index * LineBytes, bytes);
                }
            }
        }
        Array.Clear(tags);
    }

    /// <summary>Drops the lines of [offset, offset + length) without writing them back (metadata of a released region).</summary>
    public void Discard(ulong offset, ulong length)
    {
        ulong first = offset / LineBytes, last = (offset + length - 1) / LineBytes;
        for (int slot = 0; slot < tags.Length; slot++)
        {
            if (tags[slot] != 0 && tags[slot] - 1 >= first && tags[slot] - 1 <= last)
            {
                tags[slot] = 0;
                dirty[slot] = false;
            }
        }
    }

    private Span<byte> LineIfCached(ulong index)
    {
        int first = (int)(index % (ulong)Sets) * Ways;
        for (int slot = first; slot < first + Ways; slot++)
        {
            if (tags[slot] == index + 1)
            {
                return data.AsSpan(slot * LineBytes, LineBytes);
            }
        }
        return default;
    }

    private IMetadataVerifier? VerifierOf(ulong lineOffset)
    {
        foreach (IMetadataVerifier v in verifiers)
        {
            if (v.Covers(lineOffset))
            {
                return v;
            }
        }
        return null;
    }
}
