using Vbase.Sapi;
using Vbase.Sapi.Chip;

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

    /// <summary>
    /// Slots past the sets for a line whose set has every way pinned by walks in progress (a deep tree in a small
    /// cache): the miss buffers a real design has. Lines there are found like any other, and leave at a flush or when
    /// their slot is needed again.
    /// </summary>
    private const int SpillSlots = 16;
    private int spilled;

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
        int slots = (Sets * ways) + SpillSlots;
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
        int free;
        while (true)
        {
            free = -1;
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
                if (tags[slot] == 0)
                {
                    free = free < 0 ? slot : free;
                }
                else if (!pinned[slot] && (victim < 0 || lastUse[slot] < lastUse[victim]))
                {
                    victim = slot;
                }
            }
            if (spilled > 0 && SpillSlotOf(index) is int spill)
            {
                Hits++;
                lastUse[spill] = clock;
                dirty[spill] |= write;
                line = data.AsSpan(spill * LineBytes, LineBytes);
                return true;
            }
            if (free >= 0)
            {
                break;
            }
            if (victim < 0)
            {
                // Every way pinned: a spill slot, empty (used at once) or freed (and the search done anew).
                if (EmptySpillSlot() is int empty)
                {
                    free = empty;
                    spilled++;
                    break;
                }
                Evict(SpillVictim());
                continue;
            }
            // The victim leaves completely — in DRAM and known to what covers it — before anything is fetched: the line
            // about to be fetched may be the victim's parent, or need it to verify (a victim that is an ancestor).
            // Its parent's update may take the freed way again, so the set is looked at anew.
            Evict(victim);
        }
        Misses++;
        Span<byte> slotBytes = data.AsSpan(free * LineBytes, LineBytes);
        Area.Slice(index * LineBytes, LineBytes).CopyTo(slotBytes);
        host.Cost.MetadataReads++;
        tags[free] = index + 1;
        dirty[free] = false;
        lastUse[free] = clock;
        pinned[free] = true;   // while its verifier, which may use the cache, checks it
        bool ok;
        try
        {
            ok = VerifierOf(index * LineBytes)?.Verify(this, index * LineBytes, slotBytes) ?? true;
        }
        finally
        {
            pinned[free] = false;
        }
        if (!ok)
        {
            spilled -= free >= Sets * Ways ? 1 : 0;
            tags[free] = 0;
            line = default;
            return false;
        }
        // |=: while it was being verified, a child's write-back may have updated it (and dirtied it) already.
        dirty[free] |= write;
        lastUse[free] = ++clock;
        line = data.AsSpan(free * LineBytes, LineBytes);
        return true;
    }

    /// <summary>Takes a line out of the cache: written to DRAM and reported to its verifier first if dirty.</summary>
    private void Evict(int slot)
    {
        if (dirty[slot])
        {
            WriteBack(slot);
        }
        if (tags[slot] != 0 && slot >= Sets * Ways)
        {
            spilled--;
        }
        tags[slot] = 0;
        dirty[slot] = false;
    }

    /// <summary>
    /// A dirty line goes to DRAM. What covers it (its parent's digest) learns the new bytes first, while the line stays
    /// on chip, pinned: until DRAM holds them too nobody may fetch the line from DRAM (it would fail against the new
    /// digest, or against the old one had DRAM been written first).
    /// </summary>
    private void WriteBack(int slot)
    {
        ulong index = tags[slot] - 1;
        Span<byte> bytes = stackalloc byte[LineBytes];
        pinned[slot] = true;
        try
        {
            // A child's write-back during the parent's update may change this line again (it is on chip): then its
            // parent learns the newer bytes too, until they hold still.
            do
            {
                dirty[slot] = false;
                data.AsSpan(slot * LineBytes, LineBytes).CopyTo(bytes);
                VerifierOf(index * LineBytes)?.WrittenBack(this, index * LineBytes, bytes);
            }
            while (dirty[slot]);
        }
        finally
        {
            pinned[slot] = false;
        }
        bytes.CopyTo(Area.Slice(index * LineBytes, LineBytes));
        host.Cost.MetadataWrites++;
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
        // Parents are dirtied by their children's write-backs: repeat until nothing is dirty.
        for (bool any = true; any;)
        {
            any = false;
            for (int slot = 0; slot < tags.Length; slot++)
            {
                if (tags[slot] != 0 && dirty[slot])
                {
                    any = true;
                    WriteBack(slot);
                }
            }
        }
        Array.Clear(tags);
        spilled = 0;
    }

    /// <summary>Drops the lines of [offset, offset + length) without writing them back (metadata of a released region).</summary>
    public void Discard(ulong offset, ulong length)
    {
        ulong first = offset / LineBytes, last = (offset + length - 1) / LineBytes;
        for (int slot = 0; slot < tags.Length; slot++)
        {
            if (tags[slot] != 0 && tags[slot] - 1 >= first && tags[slot] - 1 <= last)
            {
                spilled -= slot >= Sets * Ways ? 1 : 0;
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
        return spilled > 0 && SpillSlotOf(index) is int spill ? data.AsSpan(spill * LineBytes, LineBytes) : default;
    }

    private int? SpillSlotOf(ulong index)
    {
        for (int slot = Sets * Ways; slot < tags.Length; slot++)
        {
            if (tags[slot] == index + 1)
            {
                return slot;
            }
        }
        return null;
    }

    private int? EmptySpillSlot()
    {
        for (int slot = Sets * Ways; slot < tags.Length; slot++)
        {
            if (tags[slot] == 0)
            {
                return slot;
            }
        }
        return null;
    }

    /// <summary>The least recently used unpinned spill slot.</summary>
    private int SpillVictim()
    {
        int victim = -1;
        for (int slot = Sets * Ways; slot < tags.Length; slot++)
        {
            if (!pinned[slot] && (victim < 0 || lastUse[slot] < lastUse[victim]))
            {
                victim = slot;
            }
        }
        return victim >= 0 ? victim
            : throw new InvalidOperationException($"{SpillSlots} metadata lines pinned beyond a full set: a tree too deep for this cache");
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
