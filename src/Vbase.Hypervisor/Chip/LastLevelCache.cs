using Vbase.Sapi.Chip;
namespace Vbase.Hypervisor.Chip;

/// <summary>
/// The tag store of the modelled last-level cache: set-associative, 64-byte lines, FIFO replacement within a set.
/// FIFO (round-robin) is deterministic and needs no update on a hit, which is what lets a hit stay on the hart's
/// fast path with no call out of it. Only lines of protected frames are modelled (the lines of other frames are
/// the same under every architecture, and reach DRAM as plaintext at once); the data sit in their
/// <see cref="ChipPage"/>.
/// </summary>
internal sealed class LastLevelCache
{
    private readonly ulong[] tags;   // [set * ways + way]: line number + 1, 0 = empty
    private readonly byte[] next;    // per set: the way FIFO replaces next
    private readonly int ways;
    private readonly ulong sets;

    public LastLevelCache(ChipOptions options)
    {
        if (options.Problem() is string problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }
        ways = options.Ways;
        sets = (ulong)options.Sets;
        tags = new ulong[options.Sets * ways];
        next = new byte[options.Sets];
    }

    private int SetOf(ulong line) => (int)(line % sets);

    /// <summary>
    /// Puts <paramref name="line"/> in its set; if the set is full, the FIFO victim leaves first and is returned
    /// (true) in <paramref name="victim"/>, for the caller to write back.
    /// </summary>
    public bool Insert(ulong line, out ulong victim)
    {
        int set = SetOf(line), baseIndex = set * ways;
        victim = 0;
        for (int w = 0; w < ways; w++)
        {
            if (tags[baseIndex + w] == 0)
            {
                tags[baseIndex + w] = line + 1;
                return false;
            }
        }
        int way = next[set];
        next[set] = (byte)((way + 1) % ways);
        victim = tags[baseIndex + way] - 1;
        tags[baseIndex + way] = line + 1;
        return true;
    }

    public void Remove(ulong line)
    {
        int i = WayOf(line);
        if (i >= 0)
        {
            tags[i] = 0;
        }
    }

    private int WayOf(ulong line)
    {
        int baseIndex = SetOf(line) * ways;
        for (int w = 0; w < ways; w++)
        {
            if (tags[baseIndex + w] == line + 1)
            {
                return baseIndex + w;
            }
        }
        return -1;
    }
}
