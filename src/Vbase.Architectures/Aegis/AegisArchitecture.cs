using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Registers;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Aegis;

/// <summary>
/// AEGIS (Suh et al., ICS 2003 / ISCA 2005) in its untrusted-OS mode: a "private tamper-resistant" process whose
/// memory the processor keeps secret and verified whatever the OS does. Its lines live on chip in plaintext; a line
/// leaving the chip gets its version counter bumped and is encrypted with AES-128 in counter mode, seed = (line's
/// machine address, counter). A hash tree covers every line's (ciphertext, counter): the line's hash and its counter
/// sit in DRAM, in the metadata area, under tree nodes in DRAM whose root is on chip; a line coming back on chip is
/// checked against it.
/// </summary>
/// <remarks>
/// <para>
/// Only the owning process (its vCPU, its address space, in U-mode) sees the on-chip plaintext. The guest kernel, other
/// processes, Dom0, devices and the hypervisor's copies see the lines as DRAM holds them (ciphertext); their stores
/// push the line off chip and land in DRAM as they are — they cannot go through the process's key — so the owner's next
/// fill of the line fails its hash and faults with a violation.
/// </para>
/// <para>
/// Layout of a region's metadata (one allocation in the area): per page, 8 counter lines (8-byte counters, 8 a line)
/// then <c>⌈64 / arity⌉</c> hash lines (<c>arity</c> line hashes of <c>tree-hash-bytes</c> each); these lines are the
/// leaves of a <see cref="DramIntegrityTree"/> whose node levels follow them. A line hash is
/// <c>HMAC(address ‖ counter ‖ ciphertext)</c>, so the hash lines are the tree's level over the data; counters are
/// leaves too, so that the counter a write-back bumps is a verified one.
/// </para>
/// </remarks>
[Architecture("aegis", "AEGIS untrusted-OS mode: AES-CTR with per-line counters, hash tree over ciphertext and counters, root on chip",
    Principal.Application)]
public sealed class AegisArchitecture : RegionArchitectureBase, IDisposable
{
    private readonly RegisterShield registerShield = new();

    /// <summary>The unit of encryption, counters and tree leaves.</summary>
    public const int LineBytes = ChipOptions.LineBytes;
    private const int LinesPerPage = PageSize.Bytes / LineBytes;
    private const int CounterBytes = sizeof(ulong);
    private const int CountersPerLine = LineBytes / CounterBytes;
    private const int CounterLinesPerPage = LinesPerPage / CountersPerLine;

    private readonly byte[] processorSecret = new byte[32];
    private readonly Dictionary<SecureContext, int> processes = [];   // by identity: one key number per secure process
    private int processCount;   // process key numbers are never reused
    private readonly Dictionary<int, RegionState> regions = [];   // on-chip registers: keys, roots, where the metadata is
    private readonly int hashLinesPerPage;
    private readonly ulong maxCounter;
    private MetadataArea? area;
    private MetadataAllocator? allocator;
    private DramMetadataCache? metadataCache;
    private ulong? admitted;   // metadata allocated by Admit for the region Seal is about to get
    private long releasedViolations;

    public AegisArchitecture(ArchitectureOptions options)
    {
        Parameters = AegisParameters.From(options);
        hashLinesPerPage = (LinesPerPage + Parameters.TreeArity - 1) / Parameters.TreeArity;
        maxCounter = Parameters.CounterBits == 64 ? ulong.MaxValue : (1UL << Parameters.CounterBits) - 1;
        // The processor's secret, from which every process key derives; reproducible per run seed.
        SeedKeys.Derive(options.Seed, 0x4145_4749_535F_4B45UL /* "AEGIS_KE" */, processorSecret, tag: 0x5375_6820_3230_3033UL /* "Suh 2003" */);
    }

    public override string Name => "aegis";

    /// <summary>The knobs this instance was built with.</summary>
    public AegisParameters Parameters { get; }

    /// <summary>Violations raised so far (hash and tree failures).</summary>
    public long Violations => regions.Values.Sum(r => r.Violations) + releasedViolations;

    /// <summary>The metadata area in machine memory (null if machine memory had no room for it).</summary>
    internal MetadataArea? Area => area;

    /// <summary>Who holds which bytes of the area.</summary>
    internal MetadataAllocator? Allocator => allocator;

    /// <summary>The on-chip metadata cache (counters, hashes and tree nodes).</summary>
    internal DramMetadataCache? MetadataCache => metadataCache;

    /// <summary>An active region's tree (for tests).</summary>
    internal DramIntegrityTree? TreeOf(int regionId) => regions.TryGetValue(regionId, out RegionState? s) ? s.Tree : null;

    /// <summary>The area offset of an active region line's counter (for tests).</summary>
    internal ulong? CounterOffsetOf(int regionId, int index) => regions.TryGetValue(regionId, out RegionState? s) ? CounterOffset(s, index) : null;

    /// <summary>An active region's re-keyings so far (for tests).</summary>
    internal int? EpochOf(int regionId) => regions.TryGetValue(regionId, out RegionState? s) ? s.Epoch : null;

    private int LeavesPerPage => CounterLinesPerPage + hashLinesPerPage;

    /// <summary>
    /// An area for the metadata of a quarter of machine memory (at most an eighth of it: the room the testbed leaves
    /// above the domains), and the on-chip metadata cache in front of it.
    /// </summary>
    protected override void OnAttached()
    {
        base.OnAttached();
        // A one-page region's share is the largest per page (its tree levels round up the most), plus a line of slack.
        ulong perPage = RegionBytes(1) + LineBytes;
        ulong bytes = Math.Min(Host.Dram.FrameCount / 4 * perPage, Host.Dram.FrameCount / 8 * PageSize.Bytes);
        try
        {
            area = Host.ReserveMetadata(bytes);
        }
        catch (InvalidOperationException)
        {
            return;   // no room above the domains: every enter is refused with ENOMEM
        }
        allocator = new MetadataAllocator(area);
        metadataCache = new DramMetadataCache(Host, area, Parameters.MetadataCacheBytes, Parameters.MetadataCacheWays);
    }

    /// <summary>
    /// The caller's own writable RAM, and room for its counters, hashes and tree in the metadata area (else ENOMEM). A
    /// tree taller than the metadata cache's ways less two is refused too (ENOMEM): a fill pins its path, one line a
    /// level, and a set whose every way is pinned could not take the next node.
    /// </summary>
    protected override long Admit(VbaseOpCall call, RegionRequest request)
    {
        long rc = RequireCallersWritableRam(call, request);
        if (rc < 0)
        {
            return rc;
        }
        if (admitted is ulong stale)
        {
            allocator!.Free(stale);   // the hypervisor refused the last admitted region: Seal never took its metadata
            admitted = null;
        }
        int height = TreeHeight((long)request.Gfns.Count * LeavesPerPage);
        if (height + 2 > Parameters.MetadataCacheWays)
        {
            Host.Record("aegis.refused", call.Caller, call.VcpuId,
                EventField.Of("pages", request.Gfns.Count), EventField.Of("tree_levels", height), EventField.Of("ways_needed", height + 2),
                EventField.Of("ways", Parameters.MetadataCacheWays));
            return Errno.ENOMEM;
        }
        admitted = allocator?.Allocate(RegionBytes(request.Gfns.Count));
        return admitted is null ? Errno.ENOMEM : 0;
    }

    /// <summary>
    /// The region becomes private tamper-resistant memory: each line encrypted under counter 1 (its first write-back),
    /// its counter and hash written to the area, then the tree built over them and its root kept on chip.
    /// </summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        SecureContext context = Host.ContextOf(call)!;
        if (!processes.TryGetValue(context, out int process))
        {
            process = ++processCount;
            processes.Add(context, process);
        }
        ulong offset = admitted!.Value;
        admitted = null;
        long leaves = (long)region.Gfns.Count * LeavesPerPage;
        var state = new RegionState(region, process, offset, processorSecret, Parameters.TreeHashBytes,
            new DramIntegrityTree(Host, RegionKey(processorSecret, "aegis tree key"u8, region.Id), offset, leaves,
                offset + ((ulong)leaves * LineBytes), Parameters.TreeArity, Parameters.TreeHashBytes));
        byte[] hash = new byte[Parameters.TreeHashBytes];
        ForEachLine(region, LineBytes, line =>
        {
            state.Cipher.Transform(line.Bytes, line.Bytes, line.Address, 1);
            state.LineHash.Compute(line.Bytes, line.Address, 1, hash);
            BinaryPrimitives.WriteUInt64LittleEndian(area!.Slice(CounterOffset(state, line.Index), CounterBytes), 1);
            hash.CopyTo(area.Slice(HashOffset(state, line.Index), hash.Length));
            Host.Cost.CipherOps++;
            Host.Cost.MacOps++;
        });
        state.Tree.Build(area!);
        metadataCache!.AddVerifier(state.Tree);
        regions[region.Id] = state;
        Host.Record("aegis.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("process_key", process), EventField.Of("frames", region.Mfns.Count),
            EventField.Of("lines", region.Mfns.Count * LinesPerPage), EventField.Of("cipher", "aes-128-ctr(address,counter)"),
            EventField.Of("tree_arity", Parameters.TreeArity), EventField.Of("tree_leaves", leaves), EventField.Of("tree_levels", state.Tree.Height),
            EventField.Hex("metadata", area!.BaseAddress + offset));
    }

    /// <summary>
    /// After the host wrote every dirty line back: each line verified and decrypted back into DRAM, then the region's
    /// metadata leaves the cache and the area.
    /// </summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        if (!regions.Remove(region.Id, out RegionState? state))
        {
            return;
        }
        ForEachLine(region, LineBytes, line =>
        {
            Span<byte> stored = stackalloc byte[Parameters.TreeHashBytes];
            Span<byte> expected = stackalloc byte[Parameters.TreeHashBytes];
            string? failure = ReadMetadata(state, line.Index, inspection: false, out ulong counter, stored);
            if (failure is null)
            {
                state.LineHash.Compute(line.Bytes, line.Address, counter, expected);
                Host.Cost.MacOps++;
                failure = CryptographicOperations.FixedTimeEquals(expected, stored) ? null : HashMismatch(state, line.Index, counter);
            }
            if (failure is not null)
            {
                // Tampered data is not handed back as if it were the process's: the line is wiped.
                state.Violations++;
                Host.ReportViolation(ReleaseContext(call, region, line.Page, line.Offset), failure);
                line.Bytes.Clear();
                return;
            }
            state.Cipher.Transform(line.Bytes, line.Bytes, line.Address, counter);
            Host.Cost.CipherOps++;
        });
        metadataCache!.Discard(state.Offset, RegionBytes(region.Gfns.Count));
        metadataCache.RemoveVerifier(state.Tree);
        allocator!.Free(state.Offset);
        releasedViolations += state.Violations;
        state.Dispose();
    }

    /// <summary>The process sees its on-chip plaintext; everyone else sees DRAM.</summary>
    public override PageView DecideView(in MemoryAccessContext access) => access.IsApplication ? PageView.Plaintext : PageView.Dram;

    /// <summary>
    /// A line comes on chip: its counter and hash fetched through the metadata cache (each verified by the tree up to a
    /// cached node or the root), its hash recomputed over the DRAM bytes and the counter, then decrypted.
    /// </summary>
    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        if (!regions.TryGetValue(line.Region.Id, out RegionState? state))
        {
            dram.CopyTo(plaintext);   // not sealed: DRAM holds the plaintext
            return true;
        }
        int index = Index(line);
        Span<byte> stored = stackalloc byte[Parameters.TreeHashBytes];
        Span<byte> expected = stackalloc byte[Parameters.TreeHashBytes];
        string? failure = ReadMetadata(state, index, line.Inspection, out ulong counter, stored);
        if (failure is null)
        {
            state.LineHash.Compute(dram, line.MachineAddress, counter, expected);
            failure = CryptographicOperations.FixedTimeEquals(expected, stored) ? null : HashMismatch(state, index, counter);
            if (!line.Inspection)
            {
                Host.Cost.MacOps++;
            }
        }
        if (failure is not null)
        {
            if (!line.Inspection)
            {
                state.Violations++;
                Host.ReportViolation(line, failure);
            }
            return false;
        }
        state.Cipher.Transform(dram, plaintext, line.MachineAddress, counter);
        if (!line.Inspection)
        {
            Host.Cost.CipherOps++;
        }
        return true;
    }

    /// <summary>
    /// A dirty line leaves the chip: its (verified) counter bumped, the line encrypted under the new one, its new hash
    /// written; the tree's nodes follow when the metadata lines are written back. A counter or hash line that fails the
    /// tree is reported and the line is not written (DRAM keeps the old one, which fails its next fill as well). A
    /// counter at its maximum re-keys the region first.
    /// </summary>
    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        if (!regions.TryGetValue(line.Region.Id, out RegionState? state))
        {
            plaintext.CopyTo(dram);
            return;
        }
        int index = Index(line);
        Span<byte> hash = stackalloc byte[Parameters.TreeHashBytes];
        string? failure = ReadMetadata(state, index, inspection: false, out ulong counter, hash);
        if (failure is null && counter >= maxCounter)
        {
            Rekey(state);
            failure = ReadMetadata(state, index, inspection: false, out counter, hash);
        }
        if (failure is not null)
        {
            state.Violations++;
            Host.ReportViolation(line, failure + " (at write-back: the line is lost)");
            return;
        }
        counter++;
        state.Cipher.Transform(plaintext, dram, line.MachineAddress, counter);
        state.LineHash.Compute(dram, line.MachineAddress, counter, hash);
        Host.Cost.CipherOps++;
        Host.Cost.MacOps++;
        // Both lines were just verified; fetching them again for writing hits, or re-verifies what nothing has changed.
        Span<byte> counterBytes = stackalloc byte[CounterBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(counterBytes, counter);
        WriteMetadata(CounterOffset(state, index), counterBytes);
        WriteMetadata(HashOffset(state, index), hash);
    }

    public override void FlushMetadata() => metadataCache?.Flush();

    /// <summary>The line's counter and hash, and the tree nodes above their lines (each node line once), bottom up.</summary>
    public override IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line)
    {
        ArgumentNullException.ThrowIfNull(region);
        if (!regions.TryGetValue(region.Id, out RegionState? state))
        {
            return [];
        }
        int index = (page * LinesPerPage) + line;
        var ranges = new List<MetadataRange>
        {
            new("counter", area!.BaseAddress + CounterOffset(state, index), CounterBytes),
            new("line hash", area.BaseAddress + HashOffset(state, index), Parameters.TreeHashBytes),
        };
        foreach (long leaf in new[] { CounterLeaf(index), HashLeaf(index) })
        {
            foreach (MetadataRange node in state.Tree.PathOf(area, leaf))
            {
                if (!ranges.Exists(r => r.MachineAddress == node.MachineAddress))
                {
                    ranges.Add(node);
                }
            }
        }
        return ranges;
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        if (!regions.TryGetValue(region.Id, out RegionState? state))
        {
            return [new("dram", "plaintext (released)")];
        }
        return
        [
            new("process_key", state.Process.ToString(CultureInfo.InvariantCulture)),
            new("dram", "ciphertext (aes-128-ctr, seed = line's machine address and its version counter)"),
            new("counters", string.Create(CultureInfo.InvariantCulture,
                $"{Parameters.CounterBits}-bit per 64-byte line (8-byte slots, 8 a line), in DRAM, bumped at every write-back; re-keyed {state.Epoch} time(s)")),
            new("tree", string.Create(CultureInfo.InvariantCulture,
                $"line hashes hmac-sha256/{Parameters.TreeHashBytes * 8} over (address, counter, ciphertext), {Parameters.TreeArity} a line; arity {Parameters.TreeArity} over {state.Tree.LeafCount} counter and hash lines, {state.Tree.Height} node levels in DRAM at 0x{area!.BaseAddress + state.Offset:x}, root on chip")),
            new("metadata_cache", string.Create(CultureInfo.InvariantCulture,
                $"{Parameters.MetadataCacheBytes} bytes, {Parameters.MetadataCacheWays}-way, on chip (cached nodes are trusted)")),
            new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
            new("others", "see DRAM (ciphertext); their stores land as they are and fail the owner's next fill"),
            new("violations", state.Violations.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>
    /// A private tamper-resistant process's registers on an interrupt or trap: AEGIS's processor (with its security
    /// kernel) saves them where the OS cannot read or change them (the toolkit's shield). A process whose last region
    /// is released is no secure process any more: its key number goes.
    /// </summary>
    public override void OnSecureTransition(SecureTransition transition)
    {
        base.OnSecureTransition(transition);
        registerShield.OnTransition(transition);
        if (transition.Kind == SecureTransitionKind.Exit)
        {
            processes.Remove(transition.Context);
        }
    }

    public void Dispose()
    {
        foreach (RegionState s in regions.Values)
        {
            s.Dispose();
        }
        regions.Clear();
    }

    private static int Index(in LineContext line) => (line.RegionPage * LinesPerPage) + line.Line;

    private long CounterLeaf(int index) => ((long)(index / LinesPerPage) * LeavesPerPage) + (index % LinesPerPage / CountersPerLine);

    private long HashLeaf(int index) =>
        ((long)(index / LinesPerPage) * LeavesPerPage) + CounterLinesPerPage + (index % LinesPerPage / Parameters.TreeArity);

    private ulong CounterOffset(RegionState state, int index) =>
        state.Offset + ((ulong)CounterLeaf(index) * LineBytes) + (ulong)(index % CountersPerLine * CounterBytes);

    private ulong HashOffset(RegionState state, int index) =>
        state.Offset + ((ulong)HashLeaf(index) * LineBytes) + (ulong)(index % LinesPerPage % Parameters.TreeArity * Parameters.TreeHashBytes);

    /// <summary>Bytes of metadata a region of <paramref name="pages"/> pages takes: its leaf lines, then its node lines.</summary>
    private ulong RegionBytes(int pages)
    {
        long leaves = (long)pages * LeavesPerPage;
        return ((ulong)leaves * LineBytes) + DramIntegrityTree.NodeBytes(leaves, Parameters.TreeArity);
    }

    private int TreeHeight(long leaves)
    {
        int height = 0;
        for (long n = leaves; n > 1 || height == 0; height++)
        {
            n = (n + Parameters.TreeArity - 1) / Parameters.TreeArity;
        }
        return height;
    }

    /// <summary>
    /// The line's counter and stored hash: through the metadata cache (a line fetched from DRAM is verified by the tree),
    /// or, inspecting, peeked as the cache or DRAM holds them. Null, or why the tree refused a metadata line.
    /// </summary>
    private string? ReadMetadata(RegionState state, int index, bool inspection, out ulong counter, Span<byte> hash)
    {
        ulong counterOffset = CounterOffset(state, index), hashOffset = HashOffset(state, index);
        if (inspection)
        {
            Span<byte> bytes = stackalloc byte[CounterBytes];
            metadataCache!.Peek(counterOffset, bytes);
            counter = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            metadataCache.Peek(hashOffset, hash);
            return null;
        }
        counter = 0;
        if (!metadataCache!.TryGet(counterOffset, write: false, out Span<byte> line))
        {
            return TreeMismatch(state, index, "counter", counterOffset);
        }
        counter = BinaryPrimitives.ReadUInt64LittleEndian(line[(int)(counterOffset % LineBytes)..]);
        if (!metadataCache.TryGet(hashOffset, write: false, out line))
        {
            return TreeMismatch(state, index, "hash", hashOffset);
        }
        line.Slice((int)(hashOffset % LineBytes), hash.Length).CopyTo(hash);
        return null;
    }

    private void WriteMetadata(ulong offset, ReadOnlySpan<byte> bytes)
    {
        metadataCache!.TryGet(offset, write: true, out Span<byte> line);
        bytes.CopyTo(line[(int)(offset % LineBytes)..]);
    }

    /// <summary>
    /// A counter would overflow: the region gets a new key (AEGIS re-keys rather than reuse a seed) and every line in
    /// DRAM that verifies is re-encrypted under it with counter 1. A line that fails is left as it is (it fails its next
    /// fill). Lines on chip need nothing: a clean one's DRAM copy is converted with the rest, a dirty one is written
    /// back under the new key.
    /// </summary>
    private void Rekey(RegionState state)
    {
        using AesCtr old = state.Rekey(processorSecret);
        Span<byte> stored = stackalloc byte[Parameters.TreeHashBytes];
        Span<byte> expected = stackalloc byte[Parameters.TreeHashBytes];
        Span<byte> one = stackalloc byte[CounterBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(one, 1);
        int converted = 0;
        for (int page = 0; page < state.Region.Mfns.Count; page++)
        {
            Mfn mfn = state.Region.Mfns[page];
            Span<byte> frame = Host.Dram.Frame(mfn);
            for (int l = 0; l < LinesPerPage; l++)
            {
                int index = (page * LinesPerPage) + l;
                Span<byte> bytes = frame.Slice(l * LineBytes, LineBytes);
                ulong address = (mfn.Value << PageSize.Shift) + (ulong)(l * LineBytes);
                if (ReadMetadata(state, index, inspection: false, out ulong counter, stored) is not null)
                {
                    continue;
                }
                state.LineHash.Compute(bytes, address, counter, expected);
                Host.Cost.MacOps++;
                if (!CryptographicOperations.FixedTimeEquals(expected, stored))
                {
                    continue;
                }
                old.Transform(bytes, bytes, address, counter);
                state.Cipher.Transform(bytes, bytes, address, 1);
                state.LineHash.Compute(bytes, address, 1, expected);
                Host.Cost.CipherOps += 2;
                Host.Cost.MacOps++;
                WriteMetadata(CounterOffset(state, index), one);
                WriteMetadata(HashOffset(state, index), expected);
                converted++;
            }
            Host.NotifyDramWritten(mfn);
        }
        Host.Record("aegis.rekeyed", state.Region.Domain, state.Region.Vcpu,
            EventField.Of("region", state.Region.Id), EventField.Of("epoch", state.Epoch), EventField.Of("lines", converted),
            EventField.Of("counter_bits", Parameters.CounterBits));
    }

    private string HashMismatch(RegionState state, int index, ulong counter) => string.Create(CultureInfo.InvariantCulture,
        $"aegis: integrity tree mismatch on line {index} (counter {counter}) of process key {state.Process}: DRAM does not hold the line's current ciphertext");

    private string TreeMismatch(RegionState state, int index, string what, ulong offset) => string.Create(CultureInfo.InvariantCulture,
        $"aegis: integrity tree mismatch on line {index} of process key {state.Process}: its {what} line (machine address 0x{area!.BaseAddress + offset - (offset % LineBytes):x}) fails the tree");

    /// <summary>HMAC-SHA-256 of the processor secret over a label and the region: one key per region and purpose.</summary>
    private static byte[] RegionKey(ReadOnlySpan<byte> processorSecret, ReadOnlySpan<byte> label, int region, ulong epoch = 0)
    {
        byte[] key = new byte[TruncatedHmac.MaxTagBytes];
        using var kdf = new TruncatedHmac(processorSecret, TruncatedHmac.MaxTagBytes);
        kdf.Compute(label, (ulong)region, epoch, key);
        return key;
    }

    /// <summary>A region's on-chip state: its keys (cipher per epoch, line hash), its tree (root on chip), its allocation.</summary>
    private sealed class RegionState : IDisposable
    {
        public RegionState(ProtectedRegion region, int process, ulong offset, ReadOnlySpan<byte> processorSecret, int hashBytes, DramIntegrityTree tree)
        {
            Region = region;
            Process = process;
            Offset = offset;
            Tree = tree;
            Cipher = new AesCtr(RegionKey(processorSecret, "aegis memory key"u8, region.Id).AsSpan(0, 16));
            LineHash = new TruncatedHmac(RegionKey(processorSecret, "aegis line hash key"u8, region.Id), hashBytes);
        }

        public ProtectedRegion Region { get; }
        public int Process { get; }
        /// <summary>Area offset of the region's metadata: counter and hash lines (the tree's leaves), then its nodes.</summary>
        public ulong Offset { get; }
        public DramIntegrityTree Tree { get; }
        public AesCtr Cipher { get; private set; }
        public TruncatedHmac LineHash { get; }
        /// <summary>Re-keyings so far.</summary>
        public int Epoch { get; private set; }
        public long Violations { get; set; }

        /// <summary>The next epoch's cipher becomes current; the old one is returned (to convert the lines).</summary>
        public AesCtr Rekey(ReadOnlySpan<byte> processorSecret)
        {
            AesCtr old = Cipher;
            Epoch++;
            Cipher = new AesCtr(RegionKey(processorSecret, "aegis memory key"u8, Region.Id, (ulong)Epoch).AsSpan(0, 16));
            return old;
        }

        public void Dispose()
        {
            Cipher.Dispose();
            LineHash.Dispose();
        }
    }
}
