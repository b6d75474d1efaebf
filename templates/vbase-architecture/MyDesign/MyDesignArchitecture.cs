using System.Buffers.Binary;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace MyDesign;

/// <summary>
/// An example design to start from: each protected 64-byte line is AES-CTR encrypted in DRAM under a per-line write
/// counter and carries an HMAC over (ciphertext, address, counter); counters and MACs live in DRAM, where physical
/// attacks reach them, behind an on-chip metadata cache. There is no tree over the counters: a rollback of a line
/// together with its counter and MAC verifies (try phys-rollback), which is the flaw a real design must close.
/// </summary>
[Architecture("example-design", "per-line AES-CTR + HMAC with a write counter, both in DRAM (no tree)", Principal.Application)]
public sealed class MyDesignArchitecture : RegionArchitectureBase, IDisposable
{
    private const int Line = 64, LinesPerPage = 64;
    private const int Meta = 16;   // per data line, in DRAM: an 8-byte write counter, then an 8-byte MAC
    private readonly AesCtr cipher;
    private readonly TruncatedHmac mac;
    private readonly Dictionary<int, ulong> metadataAt = [];   // region id → its metadata's area offset (on chip)
    private MetadataAllocator allocator = null!;
    private DramMetadataCache cache = null!;
    private ulong? admitted;   // allocated by Admit, taken by Seal

    public MyDesignArchitecture(ArchitectureOptions options)
    {
        Span<byte> key = stackalloc byte[16];
        SeedKeys.Derive(options.Seed, label: 1, key);
        cipher = new AesCtr(key);
        SeedKeys.Derive(options.Seed, label: 2, key);
        mac = new TruncatedHmac(key, tagBytes: 8);
    }

    public override string Name => "example-design";

    protected override void OnAttached()
    {
        base.OnAttached();
        MetadataArea area = Host.ReserveMetadata(1 << 20);   // room for the metadata of 4 MiB of regions
        allocator = new MetadataAllocator(area);
        cache = new DramMetadataCache(Host, area, capacityBytes: 32 * 1024, ways: 8);
    }

    // Before the region exists: its counters and MACs need room in the area (or enter fails with -ENOMEM).
    protected override long Admit(VbaseOpCall call, RegionRequest request)
    {
        long rc = RequireCallersWritableRam(call, request);
        if (rc < 0)
        {
            return rc;
        }
        if (admitted is ulong stale)
        {
            allocator.Free(stale);   // the hypervisor refused the last region after Admit
        }
        admitted = allocator.Allocate((ulong)(request.Gfns.Count * LinesPerPage * Meta));
        return admitted is null ? Errno.ENOMEM : 0;
    }

    // DRAM holds the plaintext until here: encrypt each line under counter 1, its counter and MAC straight to DRAM.
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        metadataAt[region.Id] = admitted!.Value;
        admitted = null;
        ForEachLine(region, Line, line =>
        {
            Span<byte> meta = cache.Area.Slice(MetaOffset(region.Id, line.Index), Meta);
            BinaryPrimitives.WriteUInt64LittleEndian(meta, 1);
            SealLine(line.Address, 1, line.Bytes, line.Bytes, meta[8..]);
        });
    }

    // The base class has written every dirty line back: open each line in DRAM, then give the metadata back.
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        ForEachLine(region, Line, line =>
        {
            var lc = new LineContext
            {
                Region = region,
                RegionPage = line.Page,
                Line = line.Offset / Line,
                Mfn = region.Mfns[line.Page],
                Time = call.Time,
                Cause = ReleaseContext(call, region, line.Page, line.Offset),
            };
            Span<byte> plain = stackalloc byte[Line];
            if (OnFill(lc, line.Bytes, plain))
            {
                plain.CopyTo(line.Bytes);   // a tampered line is reported and left as is
            }
        });
        ulong offset = metadataAt[region.Id];
        cache.Discard(offset, (ulong)(region.Mfns.Count * LinesPerPage * Meta));
        allocator.Free(offset);
        metadataAt.Remove(region.Id);
    }

    // The owner sees the lines on chip; everyone else the ciphertext in DRAM (their stores land there, raw).
    public override PageView DecideView(in MemoryAccessContext access) =>
        access.IsApplication ? PageView.Plaintext : PageView.Dram;

    // A line comes on chip: its MAC must match (ciphertext, address, counter), then it is decrypted.
    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        Span<byte> meta = stackalloc byte[Meta];
        ulong at = MetaOffset(line.Region.Id, (line.RegionPage * LinesPerPage) + line.Line);
        if (line.Inspection)
        {
            cache.Peek(at, meta);   // the Monitor looking: no traffic, no counts, no report
        }
        else
        {
            cache.TryGet(at, write: false, out Span<byte> cached);
            cached.Slice((int)(at % DramMetadataCache.LineBytes), Meta).CopyTo(meta);
            Host.Cost.MacOps++;
            Host.Cost.CipherOps++;
        }
        ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(meta);
        if (!mac.Verify(dram, line.MachineAddress, counter, meta[8..]))
        {
            Host.ReportViolation(line, "line MAC mismatch");
            return false;
        }
        cipher.Transform(dram, plaintext, line.MachineAddress, counter);
        return true;
    }

    // A dirty line leaves the chip: a new counter (fresh keystream, and an old copy no longer verifies), a new MAC.
    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        ulong at = MetaOffset(line.Region.Id, (line.RegionPage * LinesPerPage) + line.Line);
        cache.TryGet(at, write: true, out Span<byte> cached);
        Span<byte> meta = cached.Slice((int)(at % DramMetadataCache.LineBytes), Meta);
        ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(meta) + 1;
        BinaryPrimitives.WriteUInt64LittleEndian(meta, counter);
        SealLine(line.MachineAddress, counter, plaintext, dram, meta[8..]);
    }

    public override void FlushMetadata() => cache.Flush();

    // What a physical attacker finds next to a line: its counter and its MAC.
    public override IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line)
    {
        ulong at = cache.Area.BaseAddress + MetaOffset(region.Id, (page * LinesPerPage) + line);
        return [new("counter", at, 8), new("mac", at + 8, 8)];
    }

    public void Dispose()
    {
        cipher.Dispose();
        mac.Dispose();
    }

    private ulong MetaOffset(int region, int line) => metadataAt[region] + (ulong)(line * Meta);

    private void SealLine(ulong address, ulong counter, ReadOnlySpan<byte> plain, Span<byte> dram, Span<byte> tag)
    {
        cipher.Transform(plain, dram, address, counter);
        mac.Compute(dram, address, counter, tag);
        Host.Cost.CipherOps++;
        Host.Cost.MacOps++;
    }
}
