using System.Buffers.Binary;
using System.Security.Cryptography;
using Vbase.Sapi;
using Vbase.Sapi.Chip;

namespace Vbase.Sapi.Toolkit.Metadata;

/// <summary>
/// A keyed hash tree over metadata lines in DRAM (a Bonsai Merkle tree over counter blocks, or a tree over data
/// MACs), with every node in the <see cref="MetadataArea"/> and only the root on chip. A node line holds
/// <see cref="Arity"/> digests of <see cref="HashBytes"/> bytes, one per child line:
/// <code>
/// digest(level, index, line) = HMAC-SHA-256(key, level ‖ index ‖ line) truncated to HashBytes
/// </code>
/// so a line verifies only in its own position. Used as the <see cref="IMetadataVerifier"/> of a
/// <see cref="DramMetadataCache"/>: a line fetched from DRAM is checked against its parent (fetched and checked in
/// turn, up to a cached node or the root), and a dirty line written back updates its parent — the lazy update of
/// the designs with a metadata cache, where cached nodes are trusted.
/// </summary>
public sealed class DramIntegrityTree : IMetadataVerifier, IDisposable
{
    private readonly SapiHost host;
    private readonly IncrementalHash hmac;   // one keyed context, reset per digest (a one-shot HMAC sets one up each time)
    private readonly byte[] root;            // on chip
    private readonly long[] nodesAt;         // per level (0: the leaves' parents)
    private readonly ulong[] levelOffset;    // area offset of each level's first node line

    /// <param name="leafOffset">Area offset of the first leaf line (64-byte aligned).</param>
    /// <param name="leafCount">Leaf lines covered.</param>
    /// <param name="nodeOffset">Area offset where the node levels start (64-byte aligned, <see cref="NodeBytes"/> long).</param>
    public DramIntegrityTree(SapiHost host, ReadOnlySpan<byte> key, ulong leafOffset, long leafCount, ulong nodeOffset, int arity = 8, int hashBytes = 8)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leafCount);
        if (arity < 2 || hashBytes < 4 || hashBytes > 32 || arity * hashBytes > DramMetadataCache.LineBytes)
        {
            throw new ArgumentException($"arity {arity} × digest {hashBytes} bytes must fit a {DramMetadataCache.LineBytes}-byte node (arity ≥ 2, digest 4..32)");
        }
        if (leafOffset % DramMetadataCache.LineBytes != 0 || nodeOffset % DramMetadataCache.LineBytes != 0)
        {
            throw new ArgumentException("leaves and nodes start on a line");
        }
        this.host = host;
        hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        LeafOffset = leafOffset;
        LeafCount = leafCount;
        Arity = arity;
        HashBytes = hashBytes;
        var counts = new List<long>();
        for (long n = leafCount; n > 1 || counts.Count == 0;)
        {
            n = (n + arity - 1) / arity;
            counts.Add(n);
        }
        nodesAt = [.. counts];
        levelOffset = new ulong[nodesAt.Length];
        ulong at = nodeOffset;
        for (int l = 0; l < nodesAt.Length; l++)
        {
            levelOffset[l] = at;
            at += (ulong)nodesAt[l] * DramMetadataCache.LineBytes;
        }
        NodeOffset = nodeOffset;
        NodeEnd = at;
        root = new byte[hashBytes];
    }

    public ulong LeafOffset { get; }
    public long LeafCount { get; }
    public ulong NodeOffset { get; }
    private ulong NodeEnd { get; }
    public int Arity { get; }
    public int HashBytes { get; }
    /// <summary>Node levels in DRAM (the root, on chip, is the digest of the single top node).</summary>
    public int Height => nodesAt.Length;

    /// <summary>Bytes of node lines a tree over <paramref name="leafCount"/> leaves needs.</summary>
    public static ulong NodeBytes(long leafCount, int arity)
    {
        ulong total = 0;
        for (long n = leafCount; n > 1 || total == 0;)
        {
            n = (n + arity - 1) / arity;
            total += (ulong)n * DramMetadataCache.LineBytes;
        }
        return total;
    }

    public bool Covers(ulong lineOffset) =>
        (lineOffset >= LeafOffset && lineOffset < LeafOffset + ((ulong)LeafCount * DramMetadataCache.LineBytes))
        || (lineOffset >= NodeOffset && lineOffset < NodeEnd);

    /// <summary>Computes every node from the leaves in DRAM and the root (at seal time; written straight to DRAM).</summary>
    public void Build(MetadataArea area)
    {
        ArgumentNullException.ThrowIfNull(area);
        Span<byte> digest = stackalloc byte[HashBytes];
        for (int level = 0; level < Height; level++)
        {
            long children = level == 0 ? LeafCount : nodesAt[level - 1];
            for (long child = 0; child < children; child++)
            {
                ulong childOffset = LineOffset(level - 1, child);
                Digest(level - 1, child, area.Slice(childOffset, DramMetadataCache.LineBytes), digest);
                digest.CopyTo(area.Slice(LineOffset(level, child / Arity) + (ulong)(child % Arity * HashBytes), HashBytes));
            }
        }
        Digest(Height - 1, 0, area.Slice(LineOffset(Height - 1, 0), DramMetadataCache.LineBytes), root);
    }

    public bool Verify(DramMetadataCache cache, ulong lineOffset, ReadOnlySpan<byte> line)
    {
        ArgumentNullException.ThrowIfNull(cache);
        (int level, long index) = Locate(lineOffset);
        Span<byte> digest = stackalloc byte[HashBytes];
        Digest(level, index, line, digest);
        host.Cost.MacOps++;
        if (level == Height - 1)
        {
            return digest.SequenceEqual(root);
        }
        if (!cache.TryGet(LineOffset(level + 1, index / Arity), write: false, out Span<byte> parent))
        {
            return false;
        }
        return parent.Slice((int)(index % Arity) * HashBytes, HashBytes).SequenceEqual(digest);
    }

    public void WrittenBack(DramMetadataCache cache, ulong lineOffset, ReadOnlySpan<byte> line)
    {
        ArgumentNullException.ThrowIfNull(cache);
        (int level, long index) = Locate(lineOffset);
        Span<byte> digest = stackalloc byte[HashBytes];
        Digest(level, index, line, digest);
        host.Cost.MacOps++;
        if (level == Height - 1)
        {
            digest.CopyTo(root);
            return;
        }
        // A parent that fails its own check (tampered in DRAM) is left as it is: the child then fails at its next fetch.
        if (cache.TryGet(LineOffset(level + 1, index / Arity), write: true, out Span<byte> parent))
        {
            digest.CopyTo(parent[((int)(index % Arity) * HashBytes)..]);
        }
    }

    /// <summary>The node lines between leaf <paramref name="leaf"/> and the root, bottom up (for an attacker's map).</summary>
    public IEnumerable<MetadataRange> PathOf(MetadataArea area, long leaf)
    {
        ArgumentNullException.ThrowIfNull(area);
        long index = leaf;
        for (int level = 0; level < Height; level++)
        {
            index /= Arity;
            yield return new MetadataRange($"tree level {level + 1}", area.BaseAddress + LineOffset(level, index), DramMetadataCache.LineBytes);
        }
    }

    /// <summary>Area offset of a line: level −1 is the leaves.</summary>
    private ulong LineOffset(int level, long index) =>
        (level < 0 ? LeafOffset : levelOffset[level]) + ((ulong)index * DramMetadataCache.LineBytes);

    private (int Level, long Index) Locate(ulong lineOffset)
    {
        if (lineOffset < NodeOffset || lineOffset >= NodeEnd)
        {
            return (-1, (long)((lineOffset - LeafOffset) / DramMetadataCache.LineBytes));
        }
        int level = Height - 1;
        while (lineOffset < levelOffset[level])
        {
            level--;
        }
        return (level, (long)((lineOffset - levelOffset[level]) / DramMetadataCache.LineBytes));
    }

    private void Digest(int level, long index, ReadOnlySpan<byte> line, Span<byte> digest)
    {
        Span<byte> message = stackalloc byte[12 + DramMetadataCache.LineBytes];
        BinaryPrimitives.WriteInt32LittleEndian(message, level);
        BinaryPrimitives.WriteInt64LittleEndian(message[4..], index);
        line.CopyTo(message[12..]);
        Span<byte> full = stackalloc byte[32];
        hmac.AppendData(message);
        hmac.GetHashAndReset(full);
        full[..HashBytes].CopyTo(digest);
    }

    public void Dispose() => hmac.Dispose();
}
