namespace Vbase.Sapi.Toolkit.Integrity;

/// <summary>
/// An on-chip LRU cache of verified tree nodes (like the MEE cache of SGX): a node found here is trusted as is, so a
/// verification walk stops at it. Entries are recycled on eviction, so steady-state use allocates nothing.
/// </summary>
internal sealed class TrustedNodeCache
{
    private readonly int capacity;
    private readonly int nodeBytes;
    private readonly Dictionary<(int Level, long Index), LinkedListNode<Entry>> map;
    private readonly LinkedList<Entry> recency = new(); // most recently used first

    public TrustedNodeCache(int capacity, int nodeBytes)
    {
        this.capacity = capacity;
        this.nodeBytes = nodeBytes;
        map = new Dictionary<(int, long), LinkedListNode<Entry>>(capacity);
    }

    public int Count => map.Count;

    /// <summary>The cached contents of a node, marked most recently used; false if absent.</summary>
    public bool TryGet(int level, long index, out ReadOnlySpan<byte> contents)
    {
        if (capacity > 0 && map.TryGetValue((level, index), out LinkedListNode<Entry>? node))
        {
            Touch(node);
            contents = node.Value.Contents;
            return true;
        }
        contents = default;
        return false;
    }

    /// <summary>Inserts or refreshes a node's trusted contents, evicting the least recently used if full.</summary>
    public void Put(int level, long index, ReadOnlySpan<byte> contents)
    {
        if (capacity == 0)
        {
            return;
        }
        if (map.TryGetValue((level, index), out LinkedListNode<Entry>? node))
        {
            contents.CopyTo(node.Value.Contents);
            Touch(node);
            return;
        }
        if (map.Count < capacity)
        {
            node = new LinkedListNode<Entry>(new Entry(nodeBytes));
        }
        else
        {
            node = recency.Last!;
            recency.RemoveLast();
            map.Remove((node.Value.Level, node.Value.Index));
        }
        node.Value.Level = level;
        node.Value.Index = index;
        contents.CopyTo(node.Value.Contents);
        recency.AddFirst(node);
        map.Add((level, index), node);
    }

    private void Touch(LinkedListNode<Entry> node)
    {
        if (recency.First != node)
        {
            recency.Remove(node);
            recency.AddFirst(node);
        }
    }

    private sealed class Entry(int nodeBytes)
    {
        public int Level;
        public long Index;
        public readonly byte[] Contents = new byte[nodeBytes];
    }
}
