using System.Buffers.Binary;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Bmt;

/// <summary>What a check of a line filled from DRAM found.</summary>
public enum BmtCheck
{
    /// <summary>The page's counter block and the line's MAC verified.</summary>
    Verified,
    /// <summary>The line's ciphertext does not match its MAC under its address and counter (spoof, splice, replay
    /// of data, or a write that bypassed the engine).</summary>
    MacMismatch,
    /// <summary>The page's counter block does not verify against the Merkle tree (tampered or replayed counters).</summary>
    CounterBlockMismatch,
}

/// <summary>
/// Where one region's BMT metadata lies in the metadata area, and the tree over its counter blocks:
/// <code>
/// offset 0                counter blocks: one 64-byte line per page (64-bit major, then 64 minors of minor-bits)
/// + P·64                  MACs: one tag per data line, 64 / mac-bytes per 64-byte line, in line order
/// + P·64 + P·64·mac-bytes the Bonsai Merkle tree over the counter blocks (arity, 8-byte digests), root on chip
/// </code>
/// </summary>
public sealed class BmtRegionMetadata
{
    internal BmtRegionMetadata(SapiHost host, ReadOnlySpan<byte> treeKey, ulong offset, int pages, int macBytes, int arity)
    {
        Offset = offset;
        Pages = pages;
        MacsOffset = offset + ((ulong)pages * BmtEngine.LineBytes);
        ulong macBytesTotal = (ulong)pages * BmtEngine.LinesPerPage * (ulong)macBytes;
        Tree = new DramIntegrityTree(host, treeKey, offset, pages, MacsOffset + macBytesTotal, arity, BmtEngine.TreeDigestBytes);
        Bytes = BytesFor(pages, macBytes, arity);
    }

    /// <summary>The area offset of the first counter block (the start of the region's metadata).</summary>
    public ulong Offset { get; }
    public int Pages { get; }
    /// <summary>The area offset of the first MAC.</summary>
    public ulong MacsOffset { get; }
    /// <summary>The tree over the counter blocks: nodes in DRAM, root on chip.</summary>
    public DramIntegrityTree Tree { get; }
    /// <summary>Bytes of metadata the region uses in the area.</summary>
    public ulong Bytes { get; }

    /// <summary>Bytes of metadata a region of <paramref name="pages"/> pages needs.</summary>
    public static ulong BytesFor(int pages, int macBytes, int arity) =>
        ((ulong)pages * BmtEngine.LineBytes) + ((ulong)pages * BmtEngine.LinesPerPage * (ulong)macBytes) + DramIntegrityTree.NodeBytes(pages, arity);

    /// <summary>Node levels of the tree over <paramref name="pages"/> counter blocks.</summary>
    public static int TreeHeight(int pages, int arity)
    {
        int height = 0;
        for (long n = pages; n > 1 || height == 0; height++)
        {
            n = (n + arity - 1) / arity;
        }
        return height;
    }

    internal ulong CounterBlockOffset(int page) => Offset + ((ulong)page * BmtEngine.LineBytes);

    internal ulong MacOffset(int page, int line, int macBytes) =>
        MacsOffset + ((((ulong)page * BmtEngine.LinesPerPage) + (ulong)line) * (ulong)macBytes);
}

/// <summary>
/// The memory-side engine of Bonsai Merkle Trees (Rogers, Chhabra, Solihin, Prvulovic, MICRO 2007) at the chip
/// boundary, for every protected region of the machine (one AES key and one MAC key, as BMT has):
/// <list type="bullet">
/// <item><description>counter-mode encryption: a line is AES-CTR encrypted when it is written back, with the seed
/// (line's physical address, split counter = its page's major · 2^minor-bits + its own minor), and decrypted when it
/// is filled; a write-back bumps the minor; a minor overflow bumps the major and re-encrypts the page's other lines
/// in DRAM, in the engine (<see cref="WriteBack"/>);</description></item>
/// <item><description>a MAC per line over (address, counter, ciphertext): it catches spoofed and spliced data, and
/// replayed data because the counter moved on;</description></item>
/// <item><description>a Merkle tree over the counter blocks only (one leaf per page), root on chip: replaying data
/// together with its MAC and counter block is caught because the old counter block no longer verifies. Data lines and
/// MACs are not in the tree — that is the "bonsai".</description></item>
/// </list>
/// Counter blocks, MACs and tree nodes lie in DRAM (<see cref="BmtRegionMetadata"/>), reached through the on-chip
/// <see cref="DramMetadataCache"/>: a counter block fetched from DRAM is verified up the tree to a cached node or the
/// root; a cached one is trusted. Allocation-free per line. Not thread-safe.
/// </summary>
public sealed class BmtEngine : IDisposable
{
    /// <summary>The encryption, MAC and counter granule.</summary>
    public const int LineBytes = 64;
    public const int LinesPerPage = PageSize.Bytes / LineBytes;
    /// <summary>A tree node's digest of each child (8 × 8 bytes: a node is one line).</summary>
    public const int TreeDigestBytes = 8;
    /// <summary>
    /// A registration's pages start at major = region id · 2^24: majors of a frame grow across registrations (no
    /// (address, counter) pair comes back), leaving each registration 2^24 page re-encryptions per page.
    /// </summary>
    public const int MajorsPerRegistrationBits = 24;

    private readonly SapiHost host;
    private readonly AesCtr cipher;
    private readonly TruncatedHmac mac;
    private readonly byte[] treeKey;
    private readonly byte[] oldMinors = new byte[LinesPerPage];

    public BmtEngine(SapiHost host, BmtParameters parameters, MetadataArea area, ReadOnlySpan<byte> encryptionKey, ReadOnlySpan<byte> macKey, ReadOnlySpan<byte> treeKey)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(area);
        this.host = host;
        Parameters = parameters;
        cipher = new AesCtr(encryptionKey);
        mac = new TruncatedHmac(macKey, parameters.MacBytes);
        this.treeKey = treeKey.ToArray();
        Cache = new DramMetadataCache(host, area, parameters.MetadataCacheBytes, parameters.MetadataCacheWays);
        Allocator = new MetadataAllocator(area);
    }

    public BmtParameters Parameters { get; }
    /// <summary>The on-chip metadata cache over the area.</summary>
    public DramMetadataCache Cache { get; }
    /// <summary>The regions' pieces of the area.</summary>
    public MetadataAllocator Allocator { get; }
    public MetadataArea Area => Cache.Area;
    /// <summary>Pages re-encrypted because a minor counter overflowed.</summary>
    public long PageReencryptions { get; private set; }
    /// <summary>Lines those re-encryptions read, checked, re-encrypted and wrote back to DRAM.</summary>
    public long ReencryptedLines { get; private set; }

    private ulong MaxMinor => (1UL << Parameters.MinorBits) - 1;

    /// <summary>Room in the area for a region of <paramref name="pages"/> pages, or null (taken: call <see cref="Seal"/> next).</summary>
    public BmtRegionMetadata? Allocate(int pages)
    {
        ulong? at = Allocator.Allocate(BmtRegionMetadata.BytesFor(pages, Parameters.MacBytes, Parameters.TreeArity));
        return at is ulong offset ? new BmtRegionMetadata(host, treeKey, offset, pages, Parameters.MacBytes, Parameters.TreeArity) : null;
    }

    /// <summary>
    /// Takes a page that holds plaintext into the engine: its counter block gets <paramref name="major"/> and zero
    /// minors, every line is encrypted in place and MACed, straight in DRAM. Call <see cref="BuildTree"/> after the
    /// region's last page.
    /// </summary>
    public void Seal(BmtRegionMetadata m, int page, ulong mfn, Span<byte> frame, ulong major)
    {
        ArgumentNullException.ThrowIfNull(m);
        Span<byte> block = Area.Slice(m.CounterBlockOffset(page), LineBytes);
        block.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(block, major);
        ulong counter = major << Parameters.MinorBits;
        for (int line = 0; line < LinesPerPage; line++)
        {
            ulong address = LineAddress(mfn, line);
            Span<byte> stored = frame.Slice(line * LineBytes, LineBytes);
            cipher.Transform(stored, stored, address, counter);
            mac.Compute(stored, address, counter, Area.Slice(m.MacOffset(page, line, mac.TagBytes), mac.TagBytes));
            host.Cost.CipherOps++;
            host.Cost.MacOps++;
        }
    }

    /// <summary>Builds the tree over the region's counter blocks in DRAM and lets the cache verify by it.</summary>
    public void BuildTree(BmtRegionMetadata m)
    {
        ArgumentNullException.ThrowIfNull(m);
        m.Tree.Build(Area);
        Cache.AddVerifier(m.Tree);
    }

    /// <summary>
    /// A line filled from DRAM: its page's counter block on chip (verified up the tree if fetched), its MAC checked
    /// over (address, counter, ciphertext), then decrypted. An inspection reads the metadata as it stands (on chip or
    /// in DRAM) and checks the MAC, counting and changing nothing.
    /// </summary>
    public BmtCheck Fill(BmtRegionMetadata m, int page, int line, ulong mfn, ReadOnlySpan<byte> dram, Span<byte> plaintext, bool inspection = false)
    {
        ArgumentNullException.ThrowIfNull(m);
        ulong address = LineAddress(mfn, line), counter;
        Span<byte> tag = stackalloc byte[TruncatedHmac.MaxTagBytes];
        tag = tag[..mac.TagBytes];
        if (inspection)
        {
            Span<byte> block = stackalloc byte[LineBytes];
            Cache.Peek(m.CounterBlockOffset(page), block);
            counter = Counter(block, line);
            Cache.Peek(m.MacOffset(page, line, mac.TagBytes), tag);
            if (!mac.Verify(dram, address, counter, tag))
            {
                return BmtCheck.MacMismatch;
            }
            cipher.Transform(dram, plaintext, address, counter);
            return BmtCheck.Verified;
        }
        if (!Cache.TryGet(m.CounterBlockOffset(page), write: false, out Span<byte> counters))
        {
            return BmtCheck.CounterBlockMismatch;
        }
        counter = Counter(counters, line);
        ReadTag(m, page, line, tag);
        host.Cost.MacOps++;
        if (!mac.Verify(dram, address, counter, tag))
        {
            return BmtCheck.MacMismatch;
        }
        cipher.Transform(dram, plaintext, address, counter);
        host.Cost.CipherOps++;
        return BmtCheck.Verified;
    }

    /// <summary>
    /// A dirty line leaves the chip: its minor is bumped in the counter block (on chip), the plaintext encrypted under
    /// the new counter into <paramref name="dram"/> and MACed. A minor at its maximum instead bumps the major, zeroes
    /// every minor and re-encrypts the page's other lines where they lie, in DRAM (<paramref name="frame"/>): each is
    /// read, checked under its old counter, decrypted, encrypted under the new one, MACed and written back — the
    /// engine's own traffic, counted as data reads and writes. A line that fails its check is left as it is (re-sealing
    /// it would launder tampered data): it fails at its next fill. Lines on chip need nothing: a dirty one is written
    /// under the new counter when it leaves, a clean one matches its re-encrypted DRAM copy.
    /// False, writing nothing, if the counter block fetched from DRAM fails the tree.
    /// </summary>
    /// <param name="reencrypted">True if the write-back re-encrypted the page.</param>
    public bool WriteBack(BmtRegionMetadata m, int page, int line, ulong mfn, ReadOnlySpan<byte> plaintext, Span<byte> dram, Span<byte> frame, out bool reencrypted)
    {
        ArgumentNullException.ThrowIfNull(m);
        reencrypted = false;
        if (!Cache.TryGet(m.CounterBlockOffset(page), write: true, out Span<byte> counters))
        {
            return false;
        }
        ulong major = BinaryPrimitives.ReadUInt64LittleEndian(counters);
        ulong minor = Minor(counters, line);
        ulong counter;
        if (minor < MaxMinor)
        {
            SetMinor(counters, line, minor + 1);
            counter = (major << Parameters.MinorBits) | (minor + 1);
        }
        else
        {
            if (major + 1 >= 1UL << (64 - Parameters.MinorBits))
            {
                throw new InvalidOperationException($"the major counter of mfn 0x{mfn:x} would overflow");
            }
            for (int l = 0; l < LinesPerPage; l++)
            {
                oldMinors[l] = (byte)Minor(counters, l);
            }
            counters[8..].Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(counters, major + 1);
            counter = (major + 1) << Parameters.MinorBits;
            ReencryptPage(m, page, mfn, frame, skip: line, major);
            reencrypted = true;
        }
        cipher.Transform(plaintext, dram, LineAddress(mfn, line), counter);
        WriteTag(m, page, line, dram, LineAddress(mfn, line), counter);
        host.Cost.CipherOps++;
        return true;
    }

    /// <summary>
    /// Decrypts a page's lines in place for good (the region is released, every dirty line written back); returns
    /// how many lines failed their check and were left as they are.
    /// </summary>
    public int Unseal(BmtRegionMetadata m, int page, ulong mfn, Span<byte> frame)
    {
        ArgumentNullException.ThrowIfNull(m);
        Span<byte> plain = stackalloc byte[LineBytes];
        int failed = 0;
        for (int line = 0; line < LinesPerPage; line++)
        {
            if (Fill(m, page, line, mfn, frame.Slice(line * LineBytes, LineBytes), plain) == BmtCheck.Verified)
            {
                plain.CopyTo(frame.Slice(line * LineBytes, LineBytes));
            }
            else
            {
                failed++;
            }
        }
        return failed;
    }

    /// <summary>The region is gone: its metadata lines leave the cache unwritten, the tree stops verifying, its bytes are freed.</summary>
    public void Release(BmtRegionMetadata m)
    {
        ArgumentNullException.ThrowIfNull(m);
        Cache.RemoveVerifier(m.Tree);
        Cache.Discard(m.Offset, m.Bytes);
        Allocator.Free(m.Offset);
    }

    /// <summary>The page's counter block, the line's MAC and the tree nodes above the counter block (the root is on chip).</summary>
    public IReadOnlyList<MetadataRange> Describe(BmtRegionMetadata m, int page, int line)
    {
        ArgumentNullException.ThrowIfNull(m);
        var ranges = new List<MetadataRange>
        {
            new("counter block", Area.BaseAddress + m.CounterBlockOffset(page), LineBytes),
            new("mac", Area.BaseAddress + m.MacOffset(page, line, mac.TagBytes), mac.TagBytes),
        };
        ranges.AddRange(m.Tree.PathOf(Area, page));
        return ranges;
    }

    /// <summary>A line's split counter as it stands (on chip or in DRAM), counting nothing: (major, minor).</summary>
    public (ulong Major, ulong Minor) PeekCounter(BmtRegionMetadata m, int page, int line)
    {
        ArgumentNullException.ThrowIfNull(m);
        Span<byte> block = stackalloc byte[LineBytes];
        Cache.Peek(m.CounterBlockOffset(page), block);
        return (BinaryPrimitives.ReadUInt64LittleEndian(block), Minor(block, line));
    }

    public void Dispose()
    {
        cipher.Dispose();
        mac.Dispose();
    }

    private void ReencryptPage(BmtRegionMetadata m, int page, ulong mfn, Span<byte> frame, int skip, ulong oldMajor)
    {
        PageReencryptions++;
        ulong newCounter = (oldMajor + 1) << Parameters.MinorBits;
        Span<byte> plain = stackalloc byte[LineBytes];
        Span<byte> tag = stackalloc byte[TruncatedHmac.MaxTagBytes];
        tag = tag[..mac.TagBytes];
        for (int line = 0; line < LinesPerPage; line++)
        {
            if (line == skip)
            {
                continue;
            }
            ulong address = LineAddress(mfn, line), oldCounter = (oldMajor << Parameters.MinorBits) | oldMinors[line];
            Span<byte> stored = frame.Slice(line * LineBytes, LineBytes);
            host.Cost.DataReads++;
            ReadTag(m, page, line, tag);
            host.Cost.MacOps++;
            if (!mac.Verify(stored, address, oldCounter, tag))
            {
                continue;
            }
            cipher.Transform(stored, plain, address, oldCounter);
            cipher.Transform(plain, stored, address, newCounter);
            WriteTag(m, page, line, stored, address, newCounter);
            host.Cost.CipherOps += 2;
            host.Cost.DataWrites++;
            ReencryptedLines++;
        }
    }

    private void ReadTag(BmtRegionMetadata m, int page, int line, Span<byte> tag)
    {
        ulong at = m.MacOffset(page, line, mac.TagBytes);
        Cache.TryGet(at, write: false, out Span<byte> macLine);   // MAC lines have no verifier: always there
        macLine.Slice((int)(at % LineBytes), mac.TagBytes).CopyTo(tag);
    }

    private void WriteTag(BmtRegionMetadata m, int page, int line, ReadOnlySpan<byte> ciphertext, ulong address, ulong counter)
    {
        Span<byte> tag = stackalloc byte[TruncatedHmac.MaxTagBytes];
        tag = tag[..mac.TagBytes];
        mac.Compute(ciphertext, address, counter, tag);
        host.Cost.MacOps++;
        ulong at = m.MacOffset(page, line, mac.TagBytes);
        Cache.TryGet(at, write: true, out Span<byte> macLine);
        tag.CopyTo(macLine[(int)(at % LineBytes)..]);
    }

    private ulong Counter(ReadOnlySpan<byte> block, int line) =>
        (BinaryPrimitives.ReadUInt64LittleEndian(block) << Parameters.MinorBits) | Minor(block, line);

    /// <summary>The minor of <paramref name="line"/>: minor-bits wide, packed after the 64-bit major.</summary>
    private ulong Minor(ReadOnlySpan<byte> block, int line)
    {
        int bit = 64 + (line * Parameters.MinorBits), at = bit / 8;
        uint window = block[at] | (at + 1 < LineBytes ? (uint)block[at + 1] << 8 : 0);
        return (window >> (bit % 8)) & (uint)MaxMinor;
    }

    private void SetMinor(Span<byte> block, int line, ulong minor)
    {
        int bit = 64 + (line * Parameters.MinorBits), at = bit / 8;
        uint mask = (uint)MaxMinor << (bit % 8);
        uint window = block[at] | (at + 1 < LineBytes ? (uint)block[at + 1] << 8 : 0);
        window = (window & ~mask) | (((uint)minor << (bit % 8)) & mask);
        block[at] = (byte)window;
        if (at + 1 < LineBytes)
        {
            block[at + 1] = (byte)(window >> 8);
        }
    }

    /// <summary>The line's physical address: the address half of its CTR seed and MAC binding.</summary>
    private static ulong LineAddress(ulong mfn, int line) => (mfn << PageSize.Shift) + (ulong)(line * LineBytes);
}
