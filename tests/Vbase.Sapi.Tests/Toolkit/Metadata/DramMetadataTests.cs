using Vbase.Hypervisor;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Sapi.Tests.Toolkit.Metadata;

/// <summary>Metadata in DRAM: the metadata cache's traffic, the tree's checks against DRAM tampering, the allocator.</summary>
public sealed class DramMetadataTests : IDisposable
{
    private const int Line = DramMetadataCache.LineBytes;
    private readonly Hypervisor.Hypervisor hv = new(new HypervisorOptions { MachineMemory = 8UL << 20 });
    private readonly MetadataArea area;

    public DramMetadataTests() => area = hv.Sapi.ReserveMetadata(64 * 1024);

    public void Dispose() => hv.Dispose();

    [Fact]
    public void TheAreaIsAtTheTopOfMachineMemoryOwnedByTheHypervisor()
    {
        Assert.Equal(hv.Machine.FrameCount - 16, area.First.Value);
        Assert.Equal(DomainId.Xen, hv.Machine.OwnerOf(area.First));
    }

    [Fact]
    public void MissesReadDramAndDirtyEvictionsWriteItBack()
    {
        // 2 sets × 2 ways: lines 0, 2, 4 share set 0.
        var cache = new DramMetadataCache(hv.Sapi, area, 4 * Line, 2);
        area.Slice(0, 1)[0] = 0x11;
        Assert.True(cache.TryGet(0, write: false, out Span<byte> line));
        Assert.Equal(0x11, line[0]);
        Assert.True(cache.TryGet(8, write: true, out line));     // same line: a hit
        line[8] = 0x22;
        Assert.Equal((1L, 1L), (cache.Misses, cache.Hits));
        Assert.Equal(1, hv.Sapi.Cost.MetadataReads);
        Assert.Equal(0, area.Slice(8, 1)[0]);                    // dirty on chip, DRAM unchanged

        Assert.True(cache.TryGet(2 * Line, write: false, out _));
        Assert.True(cache.TryGet(4 * Line, write: false, out _)); // evicts line 0 (LRU), dirty
        Assert.Equal(0x22, area.Slice(8, 1)[0]);
        Assert.Equal((3L, 1L), (hv.Sapi.Cost.MetadataReads, hv.Sapi.Cost.MetadataWrites));

        Assert.True(cache.TryGet(2 * Line, write: true, out _));
        cache.Flush();
        Assert.Equal(2, hv.Sapi.Cost.MetadataWrites);
        Assert.True(cache.TryGet(2 * Line, write: false, out _)); // emptied: a miss again
        Assert.Equal(4, hv.Sapi.Cost.MetadataReads);
    }

    private (DramMetadataCache Cache, DramIntegrityTree Tree) Tree(long leaves, int cacheBytes = 16 * Line)
    {
        var cache = new DramMetadataCache(hv.Sapi, area, cacheBytes, 4);
        var tree = new DramIntegrityTree(hv.Sapi, [1, 2, 3, 4], leafOffset: 0, leaves, nodeOffset: (ulong)leaves * Line);
        for (long i = 0; i < leaves; i++)
        {
            area.Slice((ulong)(i * Line), 8).Fill((byte)i);
        }
        tree.Build(area);
        cache.AddVerifier(tree);
        return (cache, tree);
    }

    [Fact]
    public void ATreeVerifiesLeavesFetchedFromDramAndCatchesTampering()
    {
        (DramMetadataCache cache, DramIntegrityTree tree) = Tree(100);
        Assert.Equal(3, tree.Height);                            // 100 → 13 → 2 → 1
        Assert.True(cache.TryGet(37 * Line, write: false, out Span<byte> leaf));
        Assert.Equal(37, leaf[0]);
        Assert.True(hv.Sapi.Cost.MacOps >= 4);                   // the leaf and its path up to the root

        cache.Flush();
        area.Slice(38 * Line, 1)[0] ^= 1;                        // a leaf changed in DRAM
        Assert.False(cache.TryGet(38 * Line, write: false, out _));
        area.Slice(38 * Line, 1)[0] ^= 1;
        Assert.True(cache.TryGet(38 * Line, write: false, out _));

        cache.Flush();
        ulong node = (ulong)(100 * Line);                        // the first level-1 node (parent of leaves 0..7)
        area.Slice(node, 1)[0] ^= 1;
        Assert.False(cache.TryGet(3 * Line, write: false, out _));
    }

    [Fact]
    public void WrittenBackLeavesUpdateTheTreeAndARollbackOfEverythingInDramIsCaught()
    {
        (DramMetadataCache cache, _) = Tree(64);
        byte[] before = area.Slice(0, (int)area.Bytes).ToArray();
        Assert.True(cache.TryGet(5 * Line, write: true, out Span<byte> leaf));
        leaf[0] = 0xAA;
        cache.Flush();
        Assert.Equal(0xAA, area.Slice(5 * Line, 1)[0]);
        Assert.True(cache.TryGet(5 * Line, write: false, out leaf)); // the updated path verifies
        Assert.Equal(0xAA, leaf[0]);

        cache.Flush();
        before.CopyTo(area.Slice(0, before.Length));             // every metadata byte back as it was: only the root knows
        Assert.False(cache.TryGet(5 * Line, write: false, out _));
    }

    [Fact]
    public void TheAllocatorReusesFreedBytesAndZeroesThem()
    {
        var allocator = new MetadataAllocator(area);
        ulong a = allocator.Allocate(100)!.Value, b = allocator.Allocate(Line)!.Value;
        Assert.Equal((0UL, 128UL), (a, b));
        area.Slice(a, 4).Fill(0xEE);
        allocator.Free(a);
        Assert.Equal(0UL, allocator.Allocate(Line));
        Assert.Equal(0, area.Slice(0, 1)[0]);
        Assert.Equal(64UL, allocator.Allocate(Line));
        Assert.Null(allocator.Allocate(area.Bytes));
    }

    [Theory]
    [InlineData(16 * Line, 4)]   // 4 sets of 4 ways for a tree of height 3: sets fill with pinned walks, lines spill
    [InlineData(4 * Line, 1)]    // direct-mapped, 4 lines: nearly everything spills
    [InlineData(32 * Line, 8)]
    [InlineData(64 * Line, 4)]
    public void RandomReadsAndWritesThroughASmallCacheNeverFailAnHonestTree(int cacheBytes, int ways)
    {
        // Evictions of dirty nodes whose parents (or children) are being fetched at the same time: the lazy tree must
        // stay consistent whatever the order. Only the root is on chip; nothing is tampered with.
        var cache = new DramMetadataCache(hv.Sapi, area, cacheBytes, ways);
        var tree = new DramIntegrityTree(hv.Sapi, [9], leafOffset: 0, 512, nodeOffset: 512 * Line);
        tree.Build(area);
        cache.AddVerifier(tree);
        var expected = new byte[512];
        var random = new Random(7);
        for (int i = 0; i < 20_000; i++)
        {
            int leaf = random.Next(512);
            bool write = random.Next(3) == 0;
            Assert.True(cache.TryGet((ulong)(leaf * Line), write, out Span<byte> line), $"step {i}: leaf {leaf} failed its honest tree");
            Assert.Equal(expected[leaf], line[1]);
            if (write)
            {
                line[1] = expected[leaf] = (byte)random.Next(256);
            }
            if (i % 5000 == 4999)
            {
                cache.Flush();
            }
        }
    }
}
