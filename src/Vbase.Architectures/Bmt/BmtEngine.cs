using Vbase.Hypervisor.Memory;
using Vbase.Sapi.Toolkit.Counters;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Integrity;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Bmt;

/// <summary>What a check of protected memory found.</summary>
public enum BmtCheck
{
    /// <summary>The line's MAC and its page's counter block verified.</summary>
    Verified,
    /// <summary>The line's ciphertext does not match its MAC under its address and counter (spoof, splice, replay
    /// of data, or a write that bypassed the engine).</summary>
    MacMismatch,
    /// <summary>The page's counter block does not verify against the Merkle tree (tampered or replayed counters).</summary>
    CounterBlockMismatch,
}

/// <summary>
/// The memory-side engine of Bonsai Merkle Trees (Rogers et al., MICRO 2007) for the machine's frames, kept apart
/// from the SAPI so that it can be driven (and tampered with) directly:
/// <list type="bullet">
/// <item><description>counter-mode encryption: each 64-byte line is AES-CTR encrypted with the seed (line's physical
/// address, split counter), the counter being its page's major and its own minor (<see cref="SplitCounterStore"/>);
/// a minor overflow bumps the major and re-encrypts the whole page;</description></item>
/// <item><description>a MAC per line (<see cref="TruncatedHmac"/> over ciphertext, address and counter), kept
/// off-chip: it catches spoofed and spliced data, and replayed data because the counter moved on;</description></item>
/// <item><description>a Merkle tree over the counter blocks only (one leaf per frame: its 64-byte counter block),
/// root on chip: replaying data together with its MAC and counter is caught because the old counter block no longer
/// verifies. Data lines are not in the tree — that is the "bonsai".</description></item>
/// </list>
/// Every metadata touch (counter block, MAC, tree node) goes through a <see cref="MetadataCache"/> so the traffic a
/// design like this would cause can be measured. Per-access paths allocate nothing. Not thread-safe.
/// </summary>
public sealed class BmtEngine : IDisposable
{
    /// <summary>The encryption, MAC and counter granule.</summary>
    public const int LineBytes = 64;
    public const int LinesPerPage = PageSize.Bytes / LineBytes;

    // Where the metadata would live in DRAM: disjoint made-up ranges above machine memory, so that the metadata cache
    // sees counter blocks, MACs and tree nodes as distinct 64-byte lines.
    private const ulong CounterBlockBase = 1UL << 44, MacBase = 2UL << 44, TreeNodeBase = 3UL << 44;

    private readonly AesCtr cipher;
    private readonly TruncatedHmac mac;
    private readonly byte[]?[] macsOfFrame;   // off-chip MAC storage, per frame while protected: LinesPerPage tags
    private readonly byte[] counterBlock;     // scratch for one counter block
    private readonly byte[] oldMinors = new byte[LinesPerPage];

    public BmtEngine(BmtParameters parameters, ulong frameCount, ReadOnlySpan<byte> encryptionKey, ReadOnlySpan<byte> macKey)
    {
        Parameters = parameters;
        cipher = new AesCtr(encryptionKey);
        mac = new TruncatedHmac(macKey, parameters.MacBytes);
        Counters = new SplitCounterStore((long)frameCount, LinesPerPage, parameters.MinorBits);
        counterBlock = new byte[Counters.CounterBlockBytes];
        // Every frame's counters start at 0, so every leaf starts as the all-zero counter block.
        Tree = new IntegrityTree((long)frameCount, parameters.TreeArity, parameters.TreeDigestBytes, parameters.TrustedTreeNodes,
            new byte[Counters.CounterBlockBytes]);
        Cache = new MetadataCache(parameters.MetadataCacheBytes, parameters.MetadataCacheWays, LineBytes);
        macsOfFrame = new byte[]?[frameCount];
    }

    public BmtParameters Parameters { get; }
    /// <summary>The split counters of every frame (off-chip counter blocks).</summary>
    public SplitCounterStore Counters { get; }
    /// <summary>The Merkle tree over the frames' counter blocks; its <see cref="IntegrityTree.Store"/> is off-chip, its
    /// root on chip.</summary>
    public IntegrityTree Tree { get; }
    /// <summary>The on-chip metadata cache model (traffic only).</summary>
    public MetadataCache Cache { get; }
    /// <summary>Accesses by the owner that went through the engine.</summary>
    public long ProtectedAccesses { get; private set; }
    /// <summary>Pages re-encrypted because a minor counter overflowed.</summary>
    public long PageReencryptions { get; private set; }

    /// <summary>The off-chip MAC of one line (tests tamper with it), or empty if the frame is not protected.</summary>
    public Span<byte> MacOf(ulong mfn, int line) =>
        macsOfFrame[mfn] is byte[] tags ? tags.AsSpan(line * mac.TagBytes, mac.TagBytes) : [];

    /// <summary>
    /// Starts protecting a frame whose <paramref name="frame"/> holds plaintext: a fresh major counter (so no
    /// (address, counter) pair of an earlier protection is reused), every line encrypted and MACed, the counter block
    /// entered in the tree. False if the tree refused the update (its off-chip path was tampered with).
    /// </summary>
    public bool Protect(ulong mfn, Span<byte> frame)
    {
        macsOfFrame[mfn] ??= new byte[LinesPerPage * mac.TagBytes];
        ulong major = Counters.GetMajor(mfn);
        if (major == ulong.MaxValue)
        {
            throw new CounterOverflowException($"the major counter of frame {mfn} is at its maximum");
        }
        Array.Clear(counterBlock);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(counterBlock, major + 1);
        Counters.LoadCounterBlock(mfn, counterBlock);
        for (int line = 0; line < LinesPerPage; line++)
        {
            SealLine(mfn, frame, line);
        }
        return UpdateCounterBlock(mfn);
    }

    /// <summary>
    /// Ends the protection of a frame: every line that verifies is decrypted in place. Lines that do not verify are
    /// left as they are (their plaintext is unknown); their number is returned.
    /// </summary>
    public int Unprotect(ulong mfn, Span<byte> frame)
    {
        int failed = 0;
        Span<byte> plain = stackalloc byte[LineBytes];
        bool countersOk = VerifyCounterBlock(mfn);
        for (int line = 0; line < LinesPerPage; line++)
        {
            if (countersOk && OpenLine(mfn, frame, line, plain))
            {
                plain.CopyTo(frame.Slice(line * LineBytes, LineBytes));
            }
            else
            {
                failed++;
            }
        }
        macsOfFrame[mfn] = null;
        return failed;
    }

    /// <summary>
    /// The owner reads <paramref name="data"/>.Length bytes at <paramref name="offset"/>: the page's counter block is
    /// verified against the tree unless it is on chip (a metadata-cache hit: trusted, as in BMT), and each line the
    /// read touches is verified against its MAC and decrypted. On a failure
    /// <paramref name="data"/> is left as it was and the failing line is in <paramref name="failedLine"/>.
    /// </summary>
    public BmtCheck Read(ulong mfn, ReadOnlySpan<byte> frame, int offset, Span<byte> data, out int failedLine)
    {
        ProtectedAccesses++;
        Span<byte> plain = stackalloc byte[LineBytes];
        int first = offset / LineBytes, last = (offset + data.Length - 1) / LineBytes;
        if (!TouchCounterBlock(mfn) && !VerifyCounterBlock(mfn))
        {
            failedLine = first;
            return BmtCheck.CounterBlockMismatch;
        }
        for (int line = first; line <= last; line++)
        {
            Cache.Access(MacAddress(mfn, line), isWrite: false);
            if (!OpenLine(mfn, frame, line, plain))
            {
                failedLine = line;
                return BmtCheck.MacMismatch;
            }
            CopyOverlap(plain, line, offset, data);
        }
        failedLine = -1;
        return BmtCheck.Verified;
    }

    /// <summary>
    /// The owner writes <paramref name="data"/> at <paramref name="offset"/>: each line it touches is verified and
    /// decrypted (read-modify-write), merged, its minor counter bumped (a minor overflow bumps the major and
    /// re-encrypts every other line of the page), re-encrypted into <paramref name="frame"/> and re-MACed, and the
    /// page's counter block updated in the tree. Nothing changes if a line fails to verify.
    /// </summary>
    public BmtCheck Write(ulong mfn, Span<byte> frame, int offset, ReadOnlySpan<byte> data, out int failedLine)
    {
        ProtectedAccesses++;
        int first = offset / LineBytes, last = (offset + data.Length - 1) / LineBytes;
        // A hart's access is at most 8 bytes, so two lines at most; Dom0 and the hypervisor never get here.
        Span<byte> plain = stackalloc byte[2 * LineBytes];
        if (last - first > 1)
        {
            throw new ArgumentException("an owner's write spans at most two lines", nameof(data));
        }
        if (!TouchCounterBlock(mfn) && !VerifyCounterBlock(mfn))
        {
            failedLine = first;
            return BmtCheck.CounterBlockMismatch;
        }
        for (int line = first; line <= last; line++)
        {
            Cache.Access(MacAddress(mfn, line), isWrite: false);
            if (!OpenLine(mfn, frame, line, plain.Slice((line - first) * LineBytes, LineBytes)))
            {
                failedLine = line;
                return BmtCheck.MacMismatch;
            }
        }
        for (int line = first; line <= last; line++)
        {
            Span<byte> merged = plain.Slice((line - first) * LineBytes, LineBytes);
            int from = Math.Max(offset, line * LineBytes), to = Math.Min(offset + data.Length, (line + 1) * LineBytes);
            data[(from - offset)..(to - offset)].CopyTo(merged[(from - line * LineBytes)..]);
            merged.CopyTo(frame.Slice(line * LineBytes, LineBytes));   // plaintext for SealLine to encrypt in place
            BumpCounter(mfn, frame, line);
            SealLine(mfn, frame, line);
        }
        Cache.Access(CounterBlockAddress(mfn), isWrite: true);
        UpdateCounterBlock(mfn);
        failedLine = -1;
        return BmtCheck.Verified;
    }

    /// <summary>What the owner would read, for the Monitor and the Oracle: decrypted, neither verified nor counted.</summary>
    public void Inspect(ulong mfn, ReadOnlySpan<byte> frame, int offset, Span<byte> data)
    {
        Span<byte> plain = stackalloc byte[LineBytes];
        int first = offset / LineBytes, last = (offset + data.Length - 1) / LineBytes;
        for (int line = first; line <= last; line++)
        {
            ulong address = LineAddress(mfn, line);
            cipher.Transform(frame.Slice(line * LineBytes, LineBytes), plain, address, Counters.SeedCounter(GlobalLine(mfn, line)));
            CopyOverlap(plain, line, offset, data);
        }
    }

    public void Dispose()
    {
        cipher.Dispose();
        mac.Dispose();
        Tree.Dispose();
    }

    /// <summary>Advances the line's minor counter; on overflow re-encrypts the page's other lines under the new major.</summary>
    private void BumpCounter(ulong mfn, Span<byte> frame, int writtenLine)
    {
        ulong global = GlobalLine(mfn, writtenLine);
        bool overflowComing = Counters.Get(global).Minor == Counters.MaxMinor;
        ulong oldMajor = 0;
        if (overflowComing)
        {
            oldMajor = Counters.GetMajor(mfn);
            for (int line = 0; line < LinesPerPage; line++)
            {
                oldMinors[line] = (byte)Counters.Get(GlobalLine(mfn, line)).Minor;
            }
        }
        SplitCounterIncrement increment = Counters.Increment(global);
        if (!increment.PageReencryptionRequired)
        {
            return;
        }
        PageReencryptions++;
        Span<byte> plain = stackalloc byte[LineBytes];
        for (int line = 0; line < LinesPerPage; line++)
        {
            if (line == writtenLine)
            {
                continue;
            }
            ulong oldCounter = (oldMajor << Counters.MinorBits) | oldMinors[line];
            ulong address = LineAddress(mfn, line);
            Span<byte> stored = frame.Slice(line * LineBytes, LineBytes);
            Cache.Access(MacAddress(mfn, line), isWrite: false);
            // A line that does not verify under its old counter is not re-sealed: that would launder tampered data.
            // Left as is, it fails its MAC under the new counter too, so the owner's next read of it still faults.
            if (!mac.Verify(stored, address, oldCounter, MacOf(mfn, line)))
            {
                continue;
            }
            cipher.Transform(stored, plain, address, oldCounter);
            plain.CopyTo(stored);
            SealLine(mfn, frame, line);
        }
    }

    /// <summary>Encrypts the plaintext line in <paramref name="frame"/> in place under its current counter and stores its MAC.</summary>
    private void SealLine(ulong mfn, Span<byte> frame, int line)
    {
        ulong address = LineAddress(mfn, line), counter = Counters.SeedCounter(GlobalLine(mfn, line));
        Span<byte> stored = frame.Slice(line * LineBytes, LineBytes);
        cipher.Transform(stored, stored, address, counter);
        mac.Compute(stored, address, counter, MacOf(mfn, line));
        Cache.Access(MacAddress(mfn, line), isWrite: true);
    }

    /// <summary>Verifies the stored line against its MAC and decrypts it into <paramref name="plain"/>.</summary>
    private bool OpenLine(ulong mfn, ReadOnlySpan<byte> frame, int line, Span<byte> plain)
    {
        ulong address = LineAddress(mfn, line), counter = Counters.SeedCounter(GlobalLine(mfn, line));
        ReadOnlySpan<byte> stored = frame.Slice(line * LineBytes, LineBytes);
        if (macsOfFrame[mfn] is null || !mac.Verify(stored, address, counter, MacOf(mfn, line)))
        {
            return false;
        }
        cipher.Transform(stored, plain, address, counter);
        return true;
    }

    private bool VerifyCounterBlock(ulong mfn)
    {
        Counters.WriteCounterBlock(mfn, counterBlock);
        return Tree.Verify((long)mfn, counterBlock);
    }

    private bool UpdateCounterBlock(ulong mfn)
    {
        Counters.WriteCounterBlock(mfn, counterBlock);
        bool updated = Tree.Update((long)mfn, counterBlock);
        // The path up to the root is rewritten in the cache: each node's line is dirtied.
        long index = (long)mfn;
        for (int level = 0; level < Tree.Height; level++)
        {
            index /= Tree.Arity;
            Cache.Access(TreeNodeAddress(level, index), isWrite: true);
        }
        return updated;
    }

    /// <summary>
    /// Brings the page's counter block on chip. True on a metadata-cache hit: the on-chip copy is trusted as is. On a
    /// miss it is fetched and must be verified up the tree, whose nodes are fetched until one is found on chip (trusted)
    /// or the root is reached; the caller then verifies it (false).
    /// </summary>
    private bool TouchCounterBlock(ulong mfn)
    {
        if (Cache.Access(CounterBlockAddress(mfn), isWrite: false))
        {
            return true;
        }
        long index = (long)mfn;
        for (int level = 0; level < Tree.Height; level++)
        {
            index /= Tree.Arity;
            if (Cache.Access(TreeNodeAddress(level, index), isWrite: false))
            {
                break;
            }
        }
        return false;
    }

    private static void CopyOverlap(ReadOnlySpan<byte> plainLine, int line, int offset, Span<byte> data)
    {
        int from = Math.Max(offset, line * LineBytes), to = Math.Min(offset + data.Length, (line + 1) * LineBytes);
        plainLine[(from - line * LineBytes)..(to - line * LineBytes)].CopyTo(data[(from - offset)..]);
    }

    private static ulong GlobalLine(ulong mfn, int line) => mfn * LinesPerPage + (ulong)line;

    /// <summary>The line's physical address: the address half of its CTR seed and MAC binding.</summary>
    private static ulong LineAddress(ulong mfn, int line) => (mfn << PageSize.Shift) + (ulong)(line * LineBytes);

    private static ulong CounterBlockAddress(ulong mfn) => CounterBlockBase + mfn * LineBytes;

    private ulong MacAddress(ulong mfn, int line) => MacBase + GlobalLine(mfn, line) * (ulong)mac.TagBytes;

    private ulong TreeNodeAddress(int level, long index) =>
        TreeNodeBase + ((ulong)level << 36) + (ulong)index * (ulong)Tree.Store.NodeBytes;
}
