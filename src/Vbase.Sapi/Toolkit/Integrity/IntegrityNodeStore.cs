namespace Vbase.Sapi.Toolkit.Integrity;

/// <summary>
/// The off-chip nodes of an <see cref="IntegrityTree"/>: what sits in DRAM, where a physical attacker can read and
/// write it. Level 0 holds the nodes just above the leaves (each node is <see cref="IntegrityTree.Arity"/> leaf
/// digests); the top level has one node, whose digest is the root — and the root itself is never stored here.
/// <para>
/// Reads and writes made through this class are the attacker's (or a test's): they are not counted as tree traffic
/// and bypass every check. <see cref="Snapshot"/> / <see cref="SnapshotPath"/> and <see cref="Restore"/> model a
/// replay: record nodes now, put them back later.
/// </para>
/// </summary>
public sealed class IntegrityNodeStore
{
    private readonly byte[][] levels;
    private readonly long[] nodesPerLevel;

    internal IntegrityNodeStore(long[] nodesPerLevel, int arity, int nodeBytes)
    {
        this.nodesPerLevel = nodesPerLevel;
        Arity = arity;
        NodeBytes = nodeBytes;
        levels = new byte[nodesPerLevel.Length][];
        for (int level = 0; level < nodesPerLevel.Length; level++)
        {
            long bytes = nodesPerLevel[level] * nodeBytes;
            if (bytes > Array.MaxLength)
            {
                throw new ArgumentOutOfRangeException(nameof(nodesPerLevel), "a tree level does not fit in one array");
            }
            levels[level] = new byte[bytes];
        }
    }

    /// <summary>Children per node.</summary>
    public int Arity { get; }
    /// <summary>Bytes per node: <see cref="Arity"/> child digests.</summary>
    public int NodeBytes { get; }
    /// <summary>Off-chip levels (0 = just above the leaves, <see cref="LevelCount"/> − 1 = the single top node).</summary>
    public int LevelCount => levels.Length;

    /// <summary>Nodes on <paramref name="level"/>.</summary>
    public long NodesAt(int level) => nodesPerLevel[CheckLevel(level)];

    /// <summary>The node that holds <paramref name="leaf"/>'s ancestor digest on <paramref name="level"/> (the
    /// leaf's own digest for level 0).</summary>
    public long NodeIndexOf(long leaf, int level)
    {
        CheckLevel(level);
        long index = leaf;
        for (int l = 0; l <= level; l++)
        {
            index /= Arity;
        }
        return index;
    }

    /// <summary>The stored bytes of a node, as DRAM holds them now.</summary>
    public ReadOnlySpan<byte> Read(int level, long index) => Node(level, index);

    /// <summary>Overwrites a stored node (tampering). <paramref name="contents"/> is <see cref="NodeBytes"/> long.</summary>
    public void Overwrite(int level, long index, ReadOnlySpan<byte> contents)
    {
        if (contents.Length != NodeBytes)
        {
            throw new ArgumentException($"a node is {NodeBytes} bytes", nameof(contents));
        }
        contents.CopyTo(Node(level, index));
    }

    /// <summary>Flips one bit of a stored node (the smallest tampering).</summary>
    public void FlipBit(int level, long index, int bit)
    {
        Span<byte> node = Node(level, index);
        if ((uint)bit >= (uint)(node.Length * 8))
        {
            throw new ArgumentOutOfRangeException(nameof(bit), bit, $"a node has {node.Length * 8} bits");
        }
        node[bit >> 3] ^= (byte)(1 << (bit & 7));
    }

    /// <summary>A copy of every stored node.</summary>
    public IntegrityNodeSnapshot Snapshot()
    {
        var nodes = new List<IntegrityNodeSnapshot.Entry>();
        for (int level = 0; level < LevelCount; level++)
        {
            for (long index = 0; index < nodesPerLevel[level]; index++)
            {
                nodes.Add(new IntegrityNodeSnapshot.Entry(level, index, Node(level, index).ToArray()));
            }
        }
        return new IntegrityNodeSnapshot(nodes);
    }

    /// <summary>A copy of the nodes on <paramref name="leaf"/>'s path to the root, one per level.</summary>
    public IntegrityNodeSnapshot SnapshotPath(long leaf)
    {
        var nodes = new List<IntegrityNodeSnapshot.Entry>(LevelCount);
        long index = leaf;
        for (int level = 0; level < LevelCount; level++)
        {
            index /= Arity;
            nodes.Add(new IntegrityNodeSnapshot.Entry(level, index, Node(level, index).ToArray()));
        }
        return new IntegrityNodeSnapshot(nodes);
    }

    /// <summary>Writes the snapshot's nodes back (a replay of old metadata).</summary>
    public void Restore(IntegrityNodeSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        foreach (IntegrityNodeSnapshot.Entry entry in snapshot.Nodes)
        {
            Overwrite(entry.Level, entry.Index, entry.Contents);
        }
    }

    /// <summary>The node's live storage (the tree's own counted accesses go through here).</summary>
    internal Span<byte> Node(int level, long index)
    {
        CheckLevel(level);
        if ((ulong)index >= (ulong)nodesPerLevel[level])
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"level {level} has {nodesPerLevel[level]} nodes");
        }
        return levels[level].AsSpan((int)(index * NodeBytes), NodeBytes);
    }

    private int CheckLevel(int level)
    {
        if ((uint)level >= (uint)levels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, $"the tree has {levels.Length} off-chip levels");
        }
        return level;
    }
}

/// <summary>Copies of stored tree nodes, taken by <see cref="IntegrityNodeStore.Snapshot"/> or
/// <see cref="IntegrityNodeStore.SnapshotPath"/> and put back by <see cref="IntegrityNodeStore.Restore"/>.</summary>
public sealed class IntegrityNodeSnapshot
{
    internal IntegrityNodeSnapshot(IReadOnlyList<Entry> nodes) => Nodes = nodes;

    /// <summary>One recorded node.</summary>
    /// <param name="Level">Its level (0 = just above the leaves).</param>
    /// <param name="Index">Its index on that level.</param>
    /// <param name="Contents">Its bytes when recorded.</param>
    public sealed record Entry(int Level, long Index, byte[] Contents);

    /// <summary>The recorded nodes, lowest level first.</summary>
    public IReadOnlyList<Entry> Nodes { get; }
}
