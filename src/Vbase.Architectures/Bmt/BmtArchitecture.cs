using System.Buffers.Binary;
using System.Globalization;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Calls;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;

namespace Vbase.Architectures.Bmt;

/// <summary>
/// Bonsai Merkle Trees (Rogers, Chhabra, Solihin, Prvulovic, MICRO 2007) as a plug-in at the chip boundary: the
/// registered frames' lines live on chip in plaintext and in DRAM as AES-CTR ciphertext under split counters; each
/// line has an HMAC over (address, counter, ciphertext), and a Merkle tree whose leaves are the pages' counter blocks
/// (not the data) has its root on chip. Counter blocks, MACs and tree nodes lie in DRAM, in the metadata area. The
/// mechanism is in <see cref="BmtEngine"/>; this class decides who sees what.
/// <list type="bullet">
/// <item><description>The owning application (<see cref="MemoryAccessContext.IsApplication"/>) sees the on-chip
/// plaintext; a line it needs is filled through the engine (counter block verified, MAC checked, decrypted) and a
/// dirty one written back through it (minor bumped, encrypted, MACed). A line that fails its check is a violation:
/// reported, and the access that needed it faults.</description></item>
/// <item><description>Everyone else (guest kernel, other processes, hypervisor copies, Dom0, devices) is outside the
/// processor's secure context and sees DRAM: ciphertext; its writes land there raw, bypassing the key, and fail the
/// line's MAC at the owner's next fill.</description></item>
/// </list>
/// </summary>
/// <remarks>
/// BMT covers all of physical memory with one tree; here each registration gets its own piece of the metadata area
/// and its own tree (root on chip), with one key pair for the machine. A registration's pages start under a fresh
/// major (<see cref="BmtEngine.MajorsPerRegistrationBits"/>), so no (address, counter) pair is reused across
/// registrations. BMT protects memory contents, not translations: a remap of the application's page (guest page table
/// or p2m) to another frame is outside what it can see.
/// </remarks>
[Architecture("bmt", "Bonsai Merkle Trees at the chip boundary: AES-CTR with split counters, a MAC per line, a Merkle tree over the counter blocks (all in DRAM, root on chip)",
    Principal.Application)]
public sealed class BmtArchitecture : RegionArchitectureBase, IDisposable
{
    private readonly ulong seed;
    private readonly Dictionary<int, RegionState> regions = [];
    private BmtEngine? engine;

    public BmtArchitecture(ArchitectureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        seed = options.Seed;
        Parameters = BmtParameters.From(options);
    }

    public override string Name => "bmt";

    public BmtParameters Parameters { get; }

    /// <summary>The engine (keys, metadata cache, area); available once attached.</summary>
    public BmtEngine Engine => engine ?? throw new InvalidOperationException("bmt is not attached to a hypervisor");

    /// <summary>The metadata of a live region (what a physical attacker could tamper with), or null.</summary>
    public BmtRegionMetadata? MetadataOf(int regionId) =>
        regions.TryGetValue(regionId, out RegionState? r) ? r.Metadata : null;

    protected override void OnAttached()
    {
        base.OnAttached();
        // Keys from the run's seed (reproducible runs): the cipher's, the MACs', the tree's.
        Span<byte> encryptionKey = stackalloc byte[16];
        Span<byte> macKey = stackalloc byte[32];
        Span<byte> treeKey = stackalloc byte[32];
        SeedKeys.Derive(seed, 0x424D_545F_4145_534BUL /* "BMT_AESK" */, encryptionKey);
        for (int i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(macKey[(i * 8)..], (seed + (ulong)i) * 0xD6E8_FEB8_6659_FD93UL ^ 0x424D_545F_4D41_434BUL); // "BMT_MACK"
        }
        SeedKeys.Derive(seed, 0x424D_545F_5452_4545UL /* "BMT_TREE" */, treeKey);
        MetadataArea area = Host.ReserveMetadata(Host.MetadataBudget);
        engine = new BmtEngine(Host, Parameters, area, encryptionKey, macKey, treeKey);
    }

    /// <summary>
    /// The caller's own RAM, and room in the metadata area for the region's counter blocks, MACs and tree (ENOMEM
    /// otherwise, or if the metadata cache has too few ways to hold one tree walk).
    /// </summary>
    protected override long Admit(VbaseOpCall call, RegionRequest request)
    {
        long rc = RequireCallersWritableRam(call, request);
        if (rc < 0)
        {
            return rc;
        }
        int pages = request.Gfns.Count;
        if (BmtRegionMetadata.TreeHeight(pages, Parameters.TreeArity) + 2 > Parameters.MetadataCacheWays)
        {
            return Errno.ENOMEM;
        }
        if (Engine.Allocate(pages) is not BmtRegionMetadata room)
        {
            return Errno.ENOMEM;
        }
        Engine.Allocator.Free(room.Offset);   // taken for good at Seal, once the hypervisor has protected the frames
        return 0;
    }

    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        BmtRegionMetadata m = Engine.Allocate(region.Mfns.Count)
            ?? throw new InvalidOperationException("the metadata area filled up between admission and seal");
        ulong major = (ulong)region.Id << BmtEngine.MajorsPerRegistrationBits;
        ForEachFrame(region, (page, mfn, frame) => Engine.Seal(m, page, mfn.Value, frame, major));
        Engine.BuildTree(m);
        regions[region.Id] = new RegionState(m);
        Host.Record("bmt.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("frames", region.Mfns.Count), EventField.Of("cipher", "aes-128-ctr"),
            EventField.Of("major_bits", 64), EventField.Of("minor_bits", Parameters.MinorBits), EventField.Of("major", major),
            EventField.Of("mac_bits", Parameters.MacBytes * 8), EventField.Of("tree", "counters"), EventField.Of("arity", Parameters.TreeArity),
            EventField.Of("height", m.Tree.Height), EventField.Hex("metadata", Engine.Area.BaseAddress + m.Offset), EventField.Of("metadata_bytes", m.Bytes));
    }

    /// <summary>
    /// Every dirty line was written back (the host flushed the region): lines that verify are decrypted back to
    /// plaintext in DRAM, the others left and reported; the region's metadata leaves the cache and its bytes are freed.
    /// </summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        if (!regions.TryGetValue(region.Id, out RegionState? r) || r.Metadata is not BmtRegionMetadata m)
        {
            return;
        }
        ForEachFrame(region, (page, mfn, frame) =>
        {
            int failed = Engine.Unseal(m, page, mfn.Value, frame);
            if (failed > 0)
            {
                r.Violations++;
                Host.ReportViolation(ReleaseContext(call, region, page),
                    $"check=mac lines_failed={failed.ToString(CultureInfo.InvariantCulture)} at exit; left undecrypted");
            }
        });
        Engine.Release(m);
        r.Metadata = null;
    }

    /// <summary>The owner sees the on-chip plaintext; everyone else sees DRAM (ciphertext), and writes it raw.</summary>
    public override PageView DecideView(in MemoryAccessContext access)
    {
        if (access.IsApplication)
        {
            return regions.TryGetValue(access.Region.Id, out RegionState? r) && r.Metadata is not null ? PageView.Plaintext : PageView.Dram;
        }
        if (access.Kind == AccessKind.Store && regions.TryGetValue(access.Region.Id, out RegionState? c))
        {
            c.ForeignStoreViews++;
        }
        return PageView.Dram;
    }

    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        if (!regions.TryGetValue(line.Region.Id, out RegionState? r) || r.Metadata is not BmtRegionMetadata m)
        {
            dram.CopyTo(plaintext);
            return true;
        }
        BmtCheck check = Engine.Fill(m, line.RegionPage, line.Line, line.Mfn.Value, dram, plaintext, line.Inspection);
        if (check == BmtCheck.Verified)
        {
            return true;
        }
        if (!line.Inspection)
        {
            r.Violations++;
            Host.ReportViolation(line, string.Create(CultureInfo.InvariantCulture,
                $"check={(check == BmtCheck.MacMismatch ? "mac" : "counter_tree")} line={line.Line} offset={line.Line * BmtEngine.LineBytes}"));
        }
        return false;
    }

    /// <summary>
    /// A dirty line leaves the chip through the engine. If its counter block fails the tree the line is dropped (DRAM
    /// keeps the old line, which fails again at its next fill) and the failure reported.
    /// </summary>
    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        if (!regions.TryGetValue(line.Region.Id, out RegionState? r) || r.Metadata is not BmtRegionMetadata m)
        {
            plaintext.CopyTo(dram);
            return;
        }
        if (!Engine.WriteBack(m, line.RegionPage, line.Line, line.Mfn.Value, plaintext, dram, Host.Dram.Frame(line.Mfn), out bool reencrypted))
        {
            r.Violations++;
            Host.ReportViolation(line, string.Create(CultureInfo.InvariantCulture,
                $"check=counter_tree line={line.Line} offset={line.Line * BmtEngine.LineBytes} at write-back; the line is dropped"));
            return;
        }
        if (reencrypted)
        {
            (ulong major, _) = Engine.PeekCounter(m, line.RegionPage, line.Line);
            Host.Record("bmt.page_reencrypted", line.Region.Domain, null,
                EventField.Of("region", line.Region.Id), EventField.Hex("mfn", line.Mfn.Value), EventField.Of("line", line.Line), EventField.Of("major", major));
        }
    }

    /// <summary>Every dirty counter block, MAC and tree line to DRAM (the root follows), and the cache emptied.</summary>
    public override void FlushMetadata() => engine?.Cache.Flush();

    /// <summary>The page's counter block, the line's MAC and the tree nodes above the counter block.</summary>
    public override IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line) =>
        regions.TryGetValue(region.Id, out RegionState? r) && r.Metadata is BmtRegionMetadata m ? Engine.Describe(m, page, line) : [];

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region)
    {
        RegionState? r = regions.GetValueOrDefault(region.Id);
        string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
        BmtRegionMetadata? m = r?.Metadata;
        return
        [
            new("dram", region.IsActive ? "ciphertext (aes-128-ctr, seed = line address, split counter)" : "plaintext"),
            new("counters", $"split: 64-bit major per page, {Parameters.MinorBits}-bit minor per 64-byte line, a 64-byte counter block per page in dram"),
            new("mac", $"{Parameters.MacBytes * 8}-bit truncated HMAC-SHA-256 over (address, counter, ciphertext), in dram"),
            new("tree", $"counter blocks only, arity {Parameters.TreeArity}, {(m is null ? "-" : Number(m.Tree.Height))} levels in dram, root on chip"),
            new("metadata", m is null ? "freed" : string.Create(CultureInfo.InvariantCulture, $"dram 0x{Engine.Area.BaseAddress + m.Offset:x}+{m.Bytes}")),
            new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
            new("violations", Number(r?.Violations ?? 0)),
            new("foreign_store_views", Number(r?.ForeignStoreViews ?? 0)),
            new("page_reencryptions", Number(Engine.PageReencryptions)),
        ];
    }

    public void Dispose() => engine?.Dispose();

    public override void OnRegionForgotten(ProtectedRegion region) => regions.Remove(region.Id);

    private sealed class RegionState(BmtRegionMetadata metadata)
    {
        /// <summary>Null once the region is released (its metadata freed).</summary>
        public BmtRegionMetadata? Metadata = metadata;
        public long Violations;
        /// <summary>Decisions giving someone other than the owner the DRAM view for a store (TLB fills and slow-path stores).</summary>
        public long ForeignStoreViews;
    }
}
