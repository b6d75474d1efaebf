using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.SgxMee;

/// <summary>What the engine concluded about one 64-byte line filled from DRAM.</summary>
public enum LineCheck
{
    /// <summary>The version line verified against the tree and the MAC matches ciphertext, address and version.</summary>
    Valid,
    /// <summary>The line's version line does not verify against the tree up to the on-chip root (replayed or forged).</summary>
    TreeMismatch,
    /// <summary>The MAC over (ciphertext, address, version) does not match (spoofed, spliced or replayed data).</summary>
    MacMismatch,
}

/// <summary>
/// Gueron's Memory Encryption Engine (2016) for one enclave's EPC pages, at the chip boundary: a line is decrypted
/// and checked when it is filled from DRAM and encrypted, versioned and MACed when a dirty one is written back. Its
/// metadata lies in DRAM, in the MEE region of the architecture's <see cref="MetadataArea"/> (SGX's PRM), where a
/// physical attacker reaches it:
/// <code>
/// offset 0              version lines: 8 × 56-bit versions per 64-byte line (line i's version in line i/8, slot i%8)
/// + V·64                MAC lines: 8 × 56-bit tags per 64-byte line, same indexing
/// + 2·V·64              the tree over the version lines (arity 8, 8-byte digests per child), its root on chip
/// </code>
/// Each line is AES-128-CTR encrypted with a seed of (line address, line version) and carries a 56-bit Carter–Wegman
/// MAC over (ciphertext, address, version). Version and MAC lines come on chip through the shared
/// <see cref="DramMetadataCache"/>; a version line fetched from DRAM is verified up the tree (to a cached node or the
/// root), MAC lines are not in the tree (the MAC binds the version, which is).
/// </summary>
/// <remarks>
/// Two shape differences from the real MEE. Its tree is a tree of counters (each node holds eight 56-bit counters and
/// a MAC keyed by the parent's counter, the top level in SRAM); here it is the toolkit's keyed hash tree over the
/// version lines. Both anchor every version to an on-chip value, so a rollback of data, MAC, version and tree nodes
/// together is caught either way. And versions are limited to 40 bits (the toolkit's GMAC nonce) in their 56-bit
/// slots: a write-back past that throws rather than reuse a keystream; one line written back every cycle at 4 GHz
/// takes minutes to get there. Not thread-safe; allocation-free per line.
/// </remarks>
public sealed class MemoryEncryptionEngine : IDisposable
{
    /// <summary>The MEE's line (and cache line) size.</summary>
    public const int LineBytes = 64;
    /// <summary>SGX's MAC tag: 56 bits.</summary>
    public const int TagBytes = 7;
    /// <summary>A version's slot in its version line: 56 bits, as in SGX.</summary>
    public const int VersionBytes = 7;
    /// <summary>Versions (and MAC tags) per 64-byte metadata line.</summary>
    public const int EntriesPerMetadataLine = 8;
    /// <summary>The largest version (the toolkit's GMAC nonce carries 40 bits of it).</summary>
    public const ulong MaxVersion = CarterWegmanMac.MaxVersion;
    /// <summary>A tree node's digest of each child.</summary>
    public const int TreeDigestBytes = 8;

    private readonly SapiHost host;
    private readonly DramMetadataCache cache;
    private readonly AesCtr cipher;
    private readonly CarterWegmanMac mac;
    private bool released;

    /// <param name="host">Counts the work (cipher and MAC operations; the tree counts its own hashes).</param>
    /// <param name="cache">The on-chip metadata cache of the machine, over the metadata area.</param>
    /// <param name="areaOffset">Where this enclave's metadata starts in the area (<see cref="MetadataBytes"/> long, zeroed).</param>
    /// <param name="lineCount">Lines in the enclave.</param>
    public MemoryEncryptionEngine(SapiHost host, DramMetadataCache cache, ulong areaOffset, long lineCount,
        ReadOnlySpan<byte> encryptionKey, ReadOnlySpan<byte> macKey, ReadOnlySpan<byte> treeKey, int treeArity = 8)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lineCount);
        this.host = host;
        this.cache = cache;
        LineCount = lineCount;
        AreaOffset = areaOffset;
        MetadataLines = MetadataLinesFor(lineCount);
        MacsOffset = areaOffset + ((ulong)MetadataLines * LineBytes);
        cipher = new AesCtr(encryptionKey);
        mac = new CarterWegmanMac(macKey, TagBytes);
        Tree = new DramIntegrityTree(host, treeKey, areaOffset, MetadataLines, MacsOffset + ((ulong)MetadataLines * LineBytes), treeArity, TreeDigestBytes);
    }

    /// <summary>Lines covered.</summary>
    public long LineCount { get; }
    /// <summary>The area offset of the first version line (the start of this enclave's metadata).</summary>
    public ulong AreaOffset { get; }
    /// <summary>The area offset of the first MAC line.</summary>
    public ulong MacsOffset { get; }
    /// <summary>Version lines (and MAC lines) of the enclave.</summary>
    public long MetadataLines { get; }
    /// <summary>The tree over the version lines: nodes in DRAM, root on chip.</summary>
    public DramIntegrityTree Tree { get; }
    /// <summary>Bytes of metadata this engine uses in the area.</summary>
    public ulong Bytes => MetadataBytes(LineCount, Tree.Arity);

    /// <summary>Bytes of metadata an enclave of <paramref name="lineCount"/> lines needs: versions, MACs, tree.</summary>
    public static ulong MetadataBytes(long lineCount, int treeArity)
    {
        long lines = MetadataLinesFor(lineCount);
        return (2 * (ulong)lines * LineBytes) + DramIntegrityTree.NodeBytes(lines, treeArity);
    }

    /// <summary>Node levels of the tree of an enclave of <paramref name="lineCount"/> lines (a fetch pins one line per level).</summary>
    public static int TreeHeight(long lineCount, int treeArity)
    {
        int height = 0;
        for (long n = MetadataLinesFor(lineCount); n > 1 || height == 0; height++)
        {
            n = (n + treeArity - 1) / treeArity;
        }
        return height;
    }

    /// <summary>
    /// Takes a line that holds plaintext into the engine at version 0 (EADD): encrypts it in place and writes its MAC
    /// straight to DRAM. Call <see cref="BuildTree"/> once every line is sealed.
    /// </summary>
    public void Seal(long index, ulong address, Span<byte> line)
    {
        CheckLine(index, line.Length);
        cipher.Transform(line, line, address, 0);
        mac.Compute(line, address, 0, cache.Area.Slice(TagOffset(index), TagBytes));
        host.Cost.CipherOps++;
        host.Cost.MacOps++;
    }

    /// <summary>Computes the tree over the (all-zero) version lines in DRAM and lets the metadata cache verify by it.</summary>
    public void BuildTree()
    {
        Tree.Build(cache.Area);
        cache.AddVerifier(Tree);
    }

    /// <summary>
    /// A line filled from DRAM: its version (through the metadata cache, verified up the tree on a miss), its MAC
    /// checked over (ciphertext, address, version), then decrypted into <paramref name="plaintext"/>. An inspection
    /// reads the metadata as it stands (on chip or in DRAM) and checks the MAC, counting and changing nothing.
    /// </summary>
    public LineCheck Fill(long index, ulong address, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext, bool inspection = false)
    {
        CheckLine(index, ciphertext.Length);
        Span<byte> tag = stackalloc byte[TagBytes];
        ulong version;
        if (inspection)
        {
            Span<byte> slot = stackalloc byte[VersionBytes];
            cache.Peek(VersionOffset(index), slot);
            version = ReadVersion(slot);
            cache.Peek(TagOffset(index), tag);
            if (version > MaxVersion || !mac.Verify(ciphertext, address, version, tag))
            {
                return LineCheck.MacMismatch;
            }
            cipher.Transform(ciphertext, plaintext, address, version);
            return LineCheck.Valid;
        }
        if (!cache.TryGet(VersionOffset(index), write: false, out Span<byte> versionLine))
        {
            return LineCheck.TreeMismatch;
        }
        version = ReadVersion(versionLine.Slice(Slot(index), VersionBytes));
        cache.TryGet(TagOffset(index), write: false, out Span<byte> macLine);   // MAC lines have no verifier: always there
        macLine.Slice(Slot(index), TagBytes).CopyTo(tag);
        host.Cost.MacOps++;
        if (version > MaxVersion || !mac.Verify(ciphertext, address, version, tag))
        {
            return LineCheck.MacMismatch;
        }
        cipher.Transform(ciphertext, plaintext, address, version);
        host.Cost.CipherOps++;
        return LineCheck.Valid;
    }

    /// <summary>
    /// A dirty line leaves the chip: its version is bumped (in its version line, on chip), the plaintext encrypted
    /// under the new version into <paramref name="dram"/> and its MAC rewritten. False, writing nothing, if the
    /// version line fetched from DRAM fails the tree (tampered): there is no trustworthy version to go on from.
    /// </summary>
    /// <exception cref="InvalidOperationException">The version would pass <see cref="MaxVersion"/>.</exception>
    public bool WriteBack(long index, ulong address, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        CheckLine(index, plaintext.Length);
        if (!cache.TryGet(VersionOffset(index), write: true, out Span<byte> versionLine))
        {
            return false;
        }
        Span<byte> slot = versionLine.Slice(Slot(index), VersionBytes);
        ulong version = ReadVersion(slot) + 1;
        if (version > MaxVersion)
        {
            throw new InvalidOperationException($"the version of line {index} would pass 2^40 - 1 (the GMAC nonce's width)");
        }
        WriteVersion(slot, version);
        cipher.Transform(plaintext, dram, address, version);
        Span<byte> tag = stackalloc byte[TagBytes];
        mac.Compute(dram, address, version, tag);
        cache.TryGet(TagOffset(index), write: true, out Span<byte> macLine);
        tag.CopyTo(macLine[Slot(index)..]);
        host.Cost.CipherOps++;
        host.Cost.MacOps++;
        return true;
    }

    /// <summary>Decrypts a line for good (EREMOVE, after every dirty line was written back); false, leaving it, if its version line fails the tree.</summary>
    public bool Unseal(long index, ulong address, Span<byte> line)
    {
        CheckLine(index, line.Length);
        if (!cache.TryGet(VersionOffset(index), write: false, out Span<byte> versionLine))
        {
            return false;
        }
        cipher.Transform(line, line, address, ReadVersion(versionLine.Slice(Slot(index), VersionBytes)));
        host.Cost.CipherOps++;
        return true;
    }

    /// <summary>The version of a line as it stands (on chip or in DRAM), counting nothing.</summary>
    public ulong PeekVersion(long index)
    {
        Span<byte> slot = stackalloc byte[VersionBytes];
        cache.Peek(VersionOffset(index), slot);
        return ReadVersion(slot);
    }

    /// <summary>
    /// The DRAM bytes that cover a line: its version slot, its MAC slot, and the tree nodes above its version line
    /// (the root is on chip).
    /// </summary>
    public IReadOnlyList<MetadataRange> Describe(long index)
    {
        MetadataArea area = cache.Area;
        var ranges = new List<MetadataRange>
        {
            new("version", area.BaseAddress + VersionOffset(index), VersionBytes),
            new("mac", area.BaseAddress + TagOffset(index), TagBytes),
        };
        ranges.AddRange(Tree.PathOf(area, index / EntriesPerMetadataLine));
        return ranges;
    }

    /// <summary>The enclave is gone: its metadata lines leave the cache unwritten and the tree stops verifying.</summary>
    public void Release()
    {
        if (!released)
        {
            released = true;
            cache.RemoveVerifier(Tree);
            cache.Discard(AreaOffset, Bytes);
        }
    }

    public void Dispose()
    {
        cipher.Dispose();
        mac.Dispose();
    }

    private static long MetadataLinesFor(long lineCount) => (lineCount + EntriesPerMetadataLine - 1) / EntriesPerMetadataLine;

    private ulong VersionOffset(long index) => AreaOffset + ((ulong)(index / EntriesPerMetadataLine) * LineBytes) + (ulong)Slot(index);

    private ulong TagOffset(long index) => MacsOffset + ((ulong)(index / EntriesPerMetadataLine) * LineBytes) + (ulong)Slot(index);

    private static int Slot(long index) => (int)(index % EntriesPerMetadataLine) * VersionBytes;

    private static ulong ReadVersion(ReadOnlySpan<byte> slot)
    {
        ulong v = 0;
        for (int i = VersionBytes - 1; i >= 0; i--)
        {
            v = (v << 8) | slot[i];
        }
        return v;
    }

    private static void WriteVersion(Span<byte> slot, ulong version)
    {
        for (int i = 0; i < VersionBytes; i++)
        {
            slot[i] = (byte)(version >> (8 * i));
        }
    }

    private void CheckLine(long index, int length)
    {
        if ((ulong)index >= (ulong)LineCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the enclave has {LineCount} lines");
        }
        if (length != LineBytes)
        {
            throw new ArgumentException($"a line is {LineBytes} bytes", nameof(length));
        }
    }
}
