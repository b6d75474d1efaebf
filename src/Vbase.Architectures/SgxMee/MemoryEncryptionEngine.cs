using System.Buffers.Binary;
using Vbase.Sapi.Toolkit.Counters;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Integrity;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.SgxMee;

/// <summary>What the engine concluded about one 64-byte line it fetched from DRAM.</summary>
public enum LineCheck
{
    /// <summary>The version counter matches the on-chip root and the MAC matches ciphertext, address and version.</summary>
    Valid,
    /// <summary>The line's version counter does not verify against the on-chip root (replayed or forged counter).</summary>
    TreeMismatch,
    /// <summary>The MAC over (ciphertext, address, version) does not match (spoofed, spliced or replayed data).</summary>
    MacMismatch,
}

/// <summary>
/// Gueron's Memory Encryption Engine (2016) for one protected range: AES counter-mode encryption of each 64-byte line
/// with a seed of (line address, line version), a 56-bit Carter–Wegman MAC per line over (ciphertext, address,
/// version), one version counter per line, and an arity-8 integrity tree over the version counters whose root is on
/// chip. Counters, MAC tags and tree nodes are off-chip (<see cref="Counters"/>, <see cref="MacTags"/>,
/// <see cref="Tree"/>.Store): an attacker may read and change them, and the tree's root — a private field of the
/// toolkit's <see cref="IntegrityTree"/> — is what catches it.
/// </summary>
/// <remarks>
/// Differs from the real MEE in one shape detail: the real tree is a tree of counters (each 64-byte version node
/// holds eight 56-bit counters and a MAC keyed with the parent's counter, the top level lives in SRAM); here the
/// toolkit's hash tree (truncated SHA-256 digests, arity 8) sits over the version counters. Both bind every counter to
/// an on-chip value, so a replayed (data, MAC, counter) triple is caught either way. Counters are 40 bits because the
/// toolkit's GMAC nonce holds a 40-bit version (the real MEE: 56); at one write per cycle that is minutes of
/// hammering one line at 4 GHz, and the counter store then throws rather than wrap (no keystream reuse).
/// <para>
/// Every fetch of a line also goes through the on-chip <see cref="MetadataCache"/>, which counts metadata traffic the
/// way the MEE's cache sees it: the MAC line and the version line; on a version-line miss the tree walk climbs one
/// level per miss and stops at the first cached (hence already verified) node. A write dirties the MAC line, the
/// version line and every tree node up to the root, all of which change. Not thread-safe; allocation-free per line.
/// </para>
/// </remarks>
public sealed class MemoryEncryptionEngine : IDisposable
{
    /// <summary>The MEE's line (and cache line) size.</summary>
    public const int LineBytes = 64;
    /// <summary>SGX's MAC tag: 56 bits.</summary>
    public const int TagBytes = 7;
    /// <summary>Version counter width: what the toolkit's GMAC nonce can carry (see remarks).</summary>
    public const int CounterBits = 40;
    /// <summary>Version counters (and MAC tags) packed per 64-byte metadata line, as in the MEE's version nodes.</summary>
    public const int EntriesPerMetadataLine = 8;

    // Where this engine's metadata lies in the metadata cache's address space: one 2^40-byte window per engine, in
    // it the version lines, then the MAC lines, then each tree level's nodes, contiguous as a PRM layout would be.
    private readonly ulong versionsBase;
    private readonly ulong macsBase;
    private readonly ulong[] treeLevelBase;

    private readonly AesCtr cipher;
    private readonly CarterWegmanMac mac;
    private readonly MetadataCache cache;
    private readonly byte[] tags;

    /// <param name="lineCount">Lines in the protected range.</param>
    /// <param name="encryptionKey">AES-128 key of the counter-mode encryption.</param>
    /// <param name="macKey">AES-128 key of the GMAC (Carter–Wegman) tags.</param>
    /// <param name="cache">The on-chip metadata cache (shared by every range of one machine).</param>
    /// <param name="metadataWindow">This range's window number in the metadata cache's address space.</param>
    /// <param name="treeArity">Children per tree node (the MEE: 8).</param>
    /// <param name="trustedTreeNodes">On-chip verified tree nodes the functional tree may keep (its walk stops at one).</param>
    public MemoryEncryptionEngine(long lineCount, ReadOnlySpan<byte> encryptionKey, ReadOnlySpan<byte> macKey, MetadataCache cache,
        ulong metadataWindow, int treeArity = 8, int trustedTreeNodes = 512)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lineCount);
        LineCount = lineCount;
        cipher = new AesCtr(encryptionKey);
        mac = new CarterWegmanMac(macKey, TagBytes);
        this.cache = cache;
        Counters = new VersionCounterStore(lineCount, CounterBits, CounterOverflowPolicy.Throw);
        tags = new byte[lineCount * TagBytes];
        Span<byte> zeroCounter = stackalloc byte[VersionCounterStore.ValueBytes];
        zeroCounter.Clear();
        Tree = new IntegrityTree(lineCount, treeArity, nodeHashBytes: 8, trustedCacheNodes: trustedTreeNodes, initialLeafValue: zeroCounter);
        ulong metadataLines = (ulong)((lineCount + EntriesPerMetadataLine - 1) / EntriesPerMetadataLine);
        versionsBase = metadataWindow << 40;
        macsBase = versionsBase + (metadataLines * LineBytes);
        treeLevelBase = new ulong[Tree.Height];
        ulong next = macsBase + (metadataLines * LineBytes);
        for (int level = 0; level < Tree.Height; level++)
        {
            treeLevelBase[level] = next;
            next += (ulong)Tree.Store.NodesAt(level) * LineBytes;
        }
    }

    /// <summary>Lines covered.</summary>
    public long LineCount { get; }

    /// <summary>The version counter of each line (off-chip).</summary>
    public VersionCounterStore Counters { get; }

    /// <summary>The integrity tree over the version counters: nodes off-chip in its store, root on chip.</summary>
    public IntegrityTree Tree { get; }

    /// <summary>The MAC tag of each line, <see cref="TagBytes"/> bytes per line (off-chip, writable by an attacker).</summary>
    public Span<byte> MacTags => tags;

    /// <summary>Lines whose check failed so far.</summary>
    public long Failures { get; private set; }

    /// <summary>
    /// Takes a line that holds plaintext into the engine at version 0 (the counters and the tree start there):
    /// encrypts <paramref name="line"/> in place and writes its MAC. No metadata traffic is counted (setup).
    /// </summary>
    public void Seal(long index, ulong address, Span<byte> line)
    {
        CheckLine(index, line.Length);
        ulong version = Counters.Get((ulong)index);
        cipher.Transform(line, line, address, version);
        mac.Compute(line, address, version, Tag(index));
    }

    /// <summary>
    /// Checks a line fetched from DRAM and, if it is valid, writes its plaintext into <paramref name="plaintext"/>.
    /// Counts metadata traffic unless <paramref name="inspect"/> (the Monitor's side-effect-free view, which decrypts
    /// without checking).
    /// </summary>
    public LineCheck Open(long index, ulong address, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext, bool inspect = false)
    {
        CheckLine(index, ciphertext.Length);
        ulong version = Counters.Get((ulong)index);
        if (inspect)
        {
            cipher.Transform(ciphertext, plaintext, address, version);
            return LineCheck.Valid;
        }
        LineCheck check = Verify(index, address, ciphertext, version);
        if (check == LineCheck.Valid)
        {
            cipher.Transform(ciphertext, plaintext, address, version);
        }
        return check;
    }

    /// <summary>
    /// Writes a whole line: bumps its version, encrypts <paramref name="plaintext"/> into <paramref name="ciphertext"/>
    /// under the new version, MACs it and updates the tree up to the on-chip root. The caller has opened (verified) the
    /// line first, as a read-modify-write does. False, changing nothing, if the tree path fails its check on the way.
    /// </summary>
    public bool Store(long index, ulong address, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        CheckLine(index, plaintext.Length);
        ulong old = Counters.Get((ulong)index);
        ulong version = Counters.Increment((ulong)index).Value;
        Span<byte> leaf = stackalloc byte[VersionCounterStore.ValueBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(leaf, version);
        if (!Tree.Update(index, leaf))
        {
            Counters.Set((ulong)index, old);
            Failures++;
            return false;
        }
        cipher.Transform(plaintext, ciphertext, address, version);
        mac.Compute(ciphertext, address, version, Tag(index));
        cache.Access(macsBase + MetadataLine(index), isWrite: true);
        cache.Access(versionsBase + MetadataLine(index), isWrite: true);
        long node = index;
        for (int level = 0; level < Tree.Height; level++)
        {
            node /= Tree.Arity;
            cache.Access(treeLevelBase[level] + ((ulong)node * LineBytes), isWrite: true);
        }
        return true;
    }

    /// <summary>Decrypts a line for good (the range is being released); no check, no traffic.</summary>
    public void Unseal(long index, ulong address, Span<byte> line)
    {
        CheckLine(index, line.Length);
        cipher.Transform(line, line, address, Counters.Get((ulong)index));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        cipher.Dispose();
        mac.Dispose();
        Tree.Dispose();
    }

    private LineCheck Verify(long index, ulong address, ReadOnlySpan<byte> ciphertext, ulong version)
    {
        cache.Access(macsBase + MetadataLine(index), isWrite: false);
        if (!cache.Access(versionsBase + MetadataLine(index), isWrite: false))
        {
            // A version line that was not on chip is verified up the tree until a node that is.
            long node = index;
            for (int level = 0; level < Tree.Height; level++)
            {
                node /= Tree.Arity;
                if (cache.Access(treeLevelBase[level] + ((ulong)node * LineBytes), isWrite: false))
                {
                    break;
                }
            }
        }
        // The functional checks run on every fetch whatever the cache model says: an attacker may have changed the
        // off-chip counter since it was cached, and the emulator has no data cache that would hide the fetch.
        Span<byte> leaf = stackalloc byte[VersionCounterStore.ValueBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(leaf, version);
        if (!Tree.Verify(index, leaf))
        {
            Failures++;
            return LineCheck.TreeMismatch;
        }
        if (!mac.Verify(ciphertext, address, version, Tag(index)))
        {
            Failures++;
            return LineCheck.MacMismatch;
        }
        return LineCheck.Valid;
    }

    private Span<byte> Tag(long index) => tags.AsSpan((int)(index * TagBytes), TagBytes);

    /// <summary>Byte offset of the metadata line holding line <paramref name="index"/>'s counter (or MAC tag).</summary>
    private static ulong MetadataLine(long index) => (ulong)(index / EntriesPerMetadataLine) * LineBytes;

    private void CheckLine(long index, int length)
    {
        if ((ulong)index >= (ulong)LineCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the range has {LineCount} lines");
        }
        if (length != LineBytes)
        {
            throw new ArgumentException($"a line is {LineBytes} bytes", nameof(length));
        }
    }
}
