using System.Security.Cryptography;

namespace Vbase.Sapi.Toolkit.Integrity;

/// <summary>Node traffic of an <see cref="IntegrityTree"/>: one operation's, or the running totals.</summary>
/// <param name="NodeReads">Nodes read from the off-chip store.</param>
/// <param name="NodeWrites">Nodes written to the off-chip store.</param>
/// <param name="TrustedCacheHits">Path nodes found in the on-chip trusted cache (no off-chip read).</param>
public readonly record struct IntegrityTreeTraffic(long NodeReads, long NodeWrites, long TrustedCacheHits)
{
    /// <summary>Component-wise sum.</summary>
    public static IntegrityTreeTraffic operator +(IntegrityTreeTraffic a, IntegrityTreeTraffic b) =>
        new(a.NodeReads + b.NodeReads, a.NodeWrites + b.NodeWrites, a.TrustedCacheHits + b.TrustedCacheHits);
}

/// <summary>
/// A hash (Merkle) tree over <see cref="LeafCount"/> leaves with a configurable arity and digest size, the shape of
/// the integrity trees of AEGIS, Bonsai Merkle Trees and SGX-like designs. A leaf's value is whatever the caller
/// protects (a MAC, a counter block, a data line); the tree keeps only digests:
/// <code>
/// leaf digest = SHA-256(0x00 ‖ leaf value)        truncated to NodeHashBytes
/// node digest = SHA-256(0x01 ‖ node contents)     truncated to NodeHashBytes
/// node        = Arity child digests (slots past the last child are zero)
/// </code>
/// Every node lives off-chip in <see cref="Store"/>, which an attacker may read and tamper with; the root — the
/// digest of the single top node — is a private field, i.e. on chip. The position of a leaf is implied by the slot its
/// digest occupies, so moving a value to another leaf changes what that leaf verifies against.
/// <para>
/// With <c>trustedCacheNodes</c> &gt; 0 an on-chip LRU cache of verified nodes is modelled: a walk stops at the first
/// cached node (its contents are trusted), and updates write through to the store and the cache.
/// </para>
/// Every leaf starts with the same initial value. Allocation-free per operation; not thread-safe.
/// </summary>
public sealed class IntegrityTree : IDisposable
{
    /// <summary>Smallest arity.</summary>
    public const int MinArity = 2;
    /// <summary>Largest arity.</summary>
    public const int MaxArity = 64;
    /// <summary>Smallest digest size in bytes.</summary>
    public const int MinNodeHashBytes = 4;
    /// <summary>Largest digest size in bytes (all of SHA-256).</summary>
    public const int MaxNodeHashBytes = 32;

    private const byte LeafDomain = 0x00;
    private const byte NodeDomain = 0x01;

    private readonly IncrementalHash sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] root; // on chip: never in the store
    private readonly TrustedNodeCache cache;
    // Per-operation scratch, one node per level, so operations allocate nothing.
    private readonly byte[] path;
    private readonly bool[] pathTrusted;
    private readonly long[] pathIndex;

    /// <param name="leafCount">Leaves covered (leaf numbers 0..leafCount−1).</param>
    /// <param name="arity">Children per node, <see cref="MinArity"/>..<see cref="MaxArity"/>.</param>
    /// <param name="nodeHashBytes">Digest size, <see cref="MinNodeHashBytes"/>..<see cref="MaxNodeHashBytes"/>.</param>
    /// <param name="trustedCacheNodes">Capacity of the on-chip trusted node cache; 0 models none.</param>
    /// <param name="initialLeafValue">The value every leaf has at the start (e.g. an all-zero counter block).</param>
    public IntegrityTree(long leafCount, int arity = 8, int nodeHashBytes = 8, int trustedCacheNodes = 0,
        ReadOnlySpan<byte> initialLeafValue = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leafCount);
        if (arity is < MinArity or > MaxArity)
        {
            throw new ArgumentOutOfRangeException(nameof(arity), arity, $"arity is {MinArity} to {MaxArity}");
        }
        if (nodeHashBytes is < MinNodeHashBytes or > MaxNodeHashBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(nodeHashBytes), nodeHashBytes,
                $"a digest is {MinNodeHashBytes} to {MaxNodeHashBytes} bytes");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(trustedCacheNodes);
        LeafCount = leafCount;
        Arity = arity;
        NodeHashBytes = nodeHashBytes;

        var nodesPerLevel = new List<long>();
        long below = leafCount;
        do
        {
            below = (below + arity - 1) / arity;
            nodesPerLevel.Add(below);
        }
        while (below > 1);
        Store = new IntegrityNodeStore([.. nodesPerLevel], arity, arity * nodeHashBytes);
        cache = new TrustedNodeCache(trustedCacheNodes, Store.NodeBytes);
        path = new byte[Store.LevelCount * Store.NodeBytes];
        pathTrusted = new bool[Store.LevelCount];
        pathIndex = new long[Store.LevelCount];
        root = new byte[nodeHashBytes];
        Build(initialLeafValue);
    }

    /// <summary>Leaves covered.</summary>
    public long LeafCount { get; }
    /// <summary>Children per node.</summary>
    public int Arity { get; }
    /// <summary>Digest size in bytes.</summary>
    public int NodeHashBytes { get; }
    /// <summary>Off-chip levels between the leaves and the on-chip root.</summary>
    public int Height => Store.LevelCount;
    /// <summary>The off-chip nodes (DRAM): readable and writable by attacks and tests.</summary>
    public IntegrityNodeStore Store { get; }
    /// <summary>Traffic of the last <see cref="Verify"/> or <see cref="Update"/>.</summary>
    public IntegrityTreeTraffic LastTraffic { get; private set; }
    /// <summary>Traffic of every operation so far.</summary>
    public IntegrityTreeTraffic TotalTraffic { get; private set; }

    /// <summary>
    /// True if <paramref name="value"/> is the current value of <paramref name="leaf"/>: its digest matches its slot,
    /// each node read matches its parent's slot, up to the first trusted cached node or the on-chip root. On success
    /// the nodes read are cached as trusted.
    /// </summary>
    public bool Verify(long leaf, ReadOnlySpan<byte> value)
    {
        CheckLeaf(leaf);
        Span<byte> digest = stackalloc byte[NodeHashBytes];
        LeafDigest(value, digest);
        long reads = 0;
        long hits = 0;
        long child = leaf;
        int levelsRead = 0;
        bool verified = false;
        bool decided = false;
        for (int level = 0; level < Height; level++)
        {
            long index = child / Arity;
            int slot = (int)(child % Arity);
            if (cache.TryGet(level, index, out ReadOnlySpan<byte> trusted))
            {
                hits++;
                verified = Slot(trusted, slot).SequenceEqual(digest);
                decided = true;
                break;
            }
            Span<byte> node = PathNode(level);
            Store.Node(level, index).CopyTo(node);
            reads++;
            pathIndex[level] = index;
            levelsRead++;
            if (!Slot(node, slot).SequenceEqual(digest))
            {
                decided = true; // verified stays false
                break;
            }
            NodeDigest(node, digest);
            child = index;
        }
        if (!decided)
        {
            verified = digest.SequenceEqual(root);
        }
        if (verified)
        {
            for (int level = 0; level < levelsRead; level++)
            {
                cache.Put(level, pathIndex[level], PathNode(level));
            }
        }
        Record(new IntegrityTreeTraffic(reads, 0, hits));
        return verified;
    }

    /// <summary>
    /// Sets <paramref name="leaf"/>'s value and recomputes its path up to the root. The path's nodes are first read
    /// and checked (from the trusted cache where present), because the siblings they hold are carried into the new
    /// digests: a tampered sibling would otherwise be laundered into a valid root. Returns false, changing nothing,
    /// if that check fails. Writes every path node to the store (and refreshes them in the trusted cache).
    /// </summary>
    public bool Update(long leaf, ReadOnlySpan<byte> value)
    {
        CheckLeaf(leaf);
        long reads = 0;
        long hits = 0;
        long child = leaf;
        for (int level = 0; level < Height; level++)
        {
            long index = child / Arity;
            pathIndex[level] = index;
            if (cache.TryGet(level, index, out ReadOnlySpan<byte> trusted))
            {
                trusted.CopyTo(PathNode(level));
                pathTrusted[level] = true;
                hits++;
            }
            else
            {
                Store.Node(level, index).CopyTo(PathNode(level));
                pathTrusted[level] = false;
                reads++;
            }
            child = index;
        }

        // Each untrusted node must match its parent's slot (or the root); trusted parents anchor the chain.
        Span<byte> digest = stackalloc byte[NodeHashBytes];
        for (int level = 0; level < Height; level++)
        {
            if (pathTrusted[level])
            {
                continue;
            }
            NodeDigest(PathNode(level), digest);
            ReadOnlySpan<byte> expected = level + 1 < Height
                ? Slot(PathNode(level + 1), (int)(pathIndex[level] % Arity))
                : root;
            if (!digest.SequenceEqual(expected))
            {
                Record(new IntegrityTreeTraffic(reads, 0, hits));
                return false;
            }
        }

        LeafDigest(value, digest);
        child = leaf;
        for (int level = 0; level < Height; level++)
        {
            Span<byte> node = PathNode(level);
            digest.CopyTo(Slot(node, (int)(child % Arity)));
            NodeDigest(node, digest);
            node.CopyTo(Store.Node(level, pathIndex[level]));
            cache.Put(level, pathIndex[level], node);
            child = pathIndex[level];
        }
        digest.CopyTo(root);
        Record(new IntegrityTreeTraffic(reads, Height, hits));
        return true;
    }

    /// <inheritdoc/>
    public void Dispose() => sha.Dispose();

    /// <summary>Fills the store for leaves that all hold <paramref name="initialLeafValue"/>. Every full node of a
    /// level is identical, so each level costs at most two digests, whatever the leaf count.</summary>
    private void Build(ReadOnlySpan<byte> initialLeafValue)
    {
        Span<byte> childDigest = stackalloc byte[NodeHashBytes];
        Span<byte> lastChildDigest = stackalloc byte[NodeHashBytes];
        Span<byte> fullNode = stackalloc byte[Store.NodeBytes];
        Span<byte> lastNode = stackalloc byte[Store.NodeBytes];
        LeafDigest(initialLeafValue, childDigest);
        childDigest.CopyTo(lastChildDigest);
        long children = LeafCount;
        for (int level = 0; level < Height; level++)
        {
            long nodes = Store.NodesAt(level);
            // Children of the last node: up to Arity, the last of which may itself be a level's partial node.
            int lastChildren = (int)(children - ((nodes - 1) * Arity));
            fullNode.Clear();
            lastNode.Clear();
            for (int slot = 0; slot < Arity; slot++)
            {
                childDigest.CopyTo(Slot(fullNode, slot));
            }
            for (int slot = 0; slot < lastChildren; slot++)
            {
                (slot == lastChildren - 1 ? lastChildDigest : childDigest).CopyTo(Slot(lastNode, slot));
            }
            for (long index = 0; index < nodes - 1; index++)
            {
                fullNode.CopyTo(Store.Node(level, index));
            }
            lastNode.CopyTo(Store.Node(level, nodes - 1));
            NodeDigest(fullNode, childDigest);
            NodeDigest(lastNode, lastChildDigest);
            children = nodes;
        }
        lastChildDigest.CopyTo(root);
    }

    private void LeafDigest(ReadOnlySpan<byte> value, Span<byte> digest)
    {
        ReadOnlySpan<byte> domain = [LeafDomain];
        sha.AppendData(domain);
        sha.AppendData(value);
        Finish(digest);
    }

    private void NodeDigest(ReadOnlySpan<byte> node, Span<byte> digest)
    {
        ReadOnlySpan<byte> domain = [NodeDomain];
        sha.AppendData(domain);
        sha.AppendData(node);
        Finish(digest);
    }

    private void Finish(Span<byte> digest)
    {
        Span<byte> full = stackalloc byte[MaxNodeHashBytes];
        sha.GetHashAndReset(full);
        full[..NodeHashBytes].CopyTo(digest);
    }

    private Span<byte> Slot(Span<byte> node, int slot) => node.Slice(slot * NodeHashBytes, NodeHashBytes);

    private ReadOnlySpan<byte> Slot(ReadOnlySpan<byte> node, int slot) => node.Slice(slot * NodeHashBytes, NodeHashBytes);

    private Span<byte> PathNode(int level) => path.AsSpan(level * Store.NodeBytes, Store.NodeBytes);

    private void Record(IntegrityTreeTraffic traffic)
    {
        LastTraffic = traffic;
        TotalTraffic += traffic;
    }

    private void CheckLeaf(long leaf)
    {
        if ((ulong)leaf >= (ulong)LeafCount)
        {
            throw new ArgumentOutOfRangeException(nameof(leaf), leaf, $"the tree has {LeafCount} leaves");
        }
    }
}
