using System.Buffers.Binary;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Testbed.Tests.Boundary;

/// <summary>
/// The flawed design the DRAM boundary exists to catch: AES-CTR under a per-line counter and an HMAC per line over
/// (ciphertext, address, counter) — but the counters sit in DRAM with no tree over them. Every spoof and splice
/// fails the MAC; a rollback of the line together with its counter and MAC verifies.
/// </summary>
[Architecture("untreed-counters", "test: per-line counters and MACs in DRAM, no tree over the counters", Principal.Application)]
public sealed class UntreedCountersArchitecture : RegionArchitectureBase, IDisposable
{
    private const int Line = 64, Field = 8;
    private readonly AesCtr cipher;
    private readonly TruncatedHmac mac;
    private readonly Dictionary<int, ulong> metadataOf = [];   // region id → area offset of its counters, then its MACs
    private MetadataAllocator? allocator;
    private DramMetadataCache? cache;

    public UntreedCountersArchitecture(ArchitectureOptions options)
    {
        Span<byte> key = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(key, options.Seed ^ 0x7e57);
        BinaryPrimitives.WriteUInt64LittleEndian(key[8..], ~options.Seed);
        cipher = new AesCtr(key);
        mac = new TruncatedHmac(key, tagBytes: Field);
    }

    public override string Name => "untreed-counters";

    protected override void OnAttached()
    {
        base.OnAttached();
        MetadataArea area = Host.ReserveMetadata(Host.MetadataBudget);
        allocator = new MetadataAllocator(area);
        cache = new DramMetadataCache(Host, area, 16 * 1024, 8);
    }

    protected override long Admit(VbaseOpCall call, RegionRequest request)
    {
        long rc = base.Admit(call, request);
        return rc < 0 ? rc : 0;
    }

    private ulong CounterAt(ProtectedRegion r, int page, int line) => metadataOf[r.Id] + ((ulong)((page * 64) + line) * Field);

    private ulong MacAt(ProtectedRegion r, int page, int line) => CounterAt(r, page, line) + (r.Length / Line * Field);

    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        metadataOf[region.Id] = allocator!.Allocate(region.Length / Line * Field * 2) ?? throw new InvalidOperationException("metadata area full");
        ForEachLine(region, Line, line =>
        {
            int page = line.Page, index = line.Offset / Line;
            cipher.Transform(line.Bytes, line.Bytes, line.Address, 1);
            BinaryPrimitives.WriteUInt64LittleEndian(allocator.Area.Slice(CounterAt(region, page, index), Field), 1);
            mac.Compute(line.Bytes, line.Address, 1, allocator.Area.Slice(MacAt(region, page, index), Field));
        });
    }

    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        cache!.Flush();
        ForEachLine(region, Line, line => cipher.Transform(line.Bytes, line.Bytes, line.Address,
            BinaryPrimitives.ReadUInt64LittleEndian(allocator!.Area.Slice(CounterAt(region, line.Page, line.Offset / Line), Field))));
        allocator!.Free(metadataOf[region.Id]);
        metadataOf.Remove(region.Id);
    }

    public override PageView DecideView(in MemoryAccessContext access) => access.IsApplication ? PageView.Plaintext : PageView.Dram;

    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        Span<byte> counterBytes = stackalloc byte[Field], tag = stackalloc byte[Field];
        Read(CounterAt(line.Region, line.RegionPage, line.Line), counterBytes, line.Inspection);
        Read(MacAt(line.Region, line.RegionPage, line.Line), tag, line.Inspection);
        ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(counterBytes);
        if (!mac.Verify(dram, line.MachineAddress, counter, tag))
        {
            Host.ReportViolation(line, "line MAC mismatch");
            return false;
        }
        cipher.Transform(dram, plaintext, line.MachineAddress, counter);
        return true;
    }

    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        cache!.TryGet(CounterAt(line.Region, line.RegionPage, line.Line), write: true, out Span<byte> counterLine);
        int at = (int)(CounterAt(line.Region, line.RegionPage, line.Line) % Line);
        ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(counterLine[at..]) + 1;
        BinaryPrimitives.WriteUInt64LittleEndian(counterLine[at..], counter);
        cipher.Transform(plaintext, dram, line.MachineAddress, counter);
        cache.TryGet(MacAt(line.Region, line.RegionPage, line.Line), write: true, out Span<byte> macLine);
        mac.Compute(dram, line.MachineAddress, counter, macLine.Slice((int)(MacAt(line.Region, line.RegionPage, line.Line) % Line), Field));
    }

    private void Read(ulong offset, Span<byte> dest, bool inspection)
    {
        if (inspection)
        {
            cache!.Peek(offset, dest);
            return;
        }
        cache!.TryGet(offset, write: false, out Span<byte> line);
        line.Slice((int)(offset % Line), dest.Length).CopyTo(dest);
    }

    public override void FlushMetadata() => cache?.Flush();

    public override IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line) =>
    [
        new("counter", allocator!.Area.BaseAddress + CounterAt(region, page, line), Field),
        new("mac", allocator.Area.BaseAddress + MacAt(region, page, line), Field),
    ];

    public void Dispose()
    {
        cipher.Dispose();
        mac.Dispose();
    }
}
