using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Sapi.Tests.Toolkit.Metadata;

public class MetadataCacheTests
{
    [Fact]
    public void GeometryFollowsCapacityWaysAndLineSize()
    {
        var cache = new MetadataCache(capacityBytes: 32 * 1024, associativity: 8, lineBytes: 64);
        Assert.Equal(64, cache.SetCount);
        Assert.Equal(new MetadataCacheStatistics(0, 0, 0, 0), cache.Statistics);
    }

    [Fact]
    public void DirectMappedConflictsEvictAndWriteBackOnlyDirtyLines()
    {
        var cache = new MetadataCache(capacityBytes: 128, associativity: 1, lineBytes: 64); // two sets
        Assert.False(cache.Access(0x000, isWrite: false)); // miss: set 0
        Assert.True(cache.Access(0x03F, isWrite: false));  // hit: same line
        Assert.False(cache.Access(0x040, isWrite: false)); // miss: set 1
        Assert.False(cache.Access(0x080, isWrite: false)); // miss: set 0, evicts clean line 0
        Assert.False(cache.Access(0x000, isWrite: true));  // miss: set 0, evicts clean line 2; line 0 now dirty
        Assert.True(cache.IsDirty(0x000));
        Assert.False(cache.Access(0x080, isWrite: false)); // miss: evicts dirty line 0 → one writeback
        Assert.True(cache.Access(0x040, isWrite: false));  // set 1 was never disturbed

        Assert.Equal(new MetadataCacheStatistics(Hits: 2, Misses: 5, DramReads: 5, Writebacks: 1), cache.Statistics);
        Assert.Equal(7, cache.Statistics.Accesses);
        Assert.Equal(6, cache.Statistics.DramTraffic);
    }

    [Fact]
    public void ReplacementIsLeastRecentlyUsedWithinASet()
    {
        var cache = new MetadataCache(capacityBytes: 128, associativity: 2, lineBytes: 64); // one set, two ways
        cache.Access(0x000, false); // A
        cache.Access(0x040, false); // B
        Assert.True(cache.Access(0x000, false)); // A is now the most recent
        Assert.False(cache.Access(0x080, false)); // C evicts B, the least recently used
        Assert.True(cache.Contains(0x000));
        Assert.False(cache.Contains(0x040));
        Assert.True(cache.Contains(0x080));
        Assert.False(cache.Access(0x040, false)); // B evicts A (C is more recent)
        Assert.False(cache.Contains(0x000));
        Assert.Equal(new MetadataCacheStatistics(1, 4, 4, 0), cache.Statistics);
    }

    [Fact]
    public void WriteHitsDirtyALineThatIsWrittenBackOnceOnEviction()
    {
        var cache = new MetadataCache(capacityBytes: 64, associativity: 1, lineBytes: 64); // a single line
        cache.Access(0x1000, false);
        Assert.False(cache.IsDirty(0x1000));
        Assert.True(cache.Access(0x1008, true));
        Assert.True(cache.Access(0x1010, true));
        Assert.True(cache.IsDirty(0x1000));
        cache.Access(0x2000, false); // evicts the dirty line
        cache.Access(0x3000, false); // evicts a clean line
        Assert.Equal(new MetadataCacheStatistics(2, 3, 3, 1), cache.Statistics);
    }

    [Fact]
    public void FlushWritesBackEveryDirtyLineAndEmptiesTheCache()
    {
        var cache = new MetadataCache(capacityBytes: 256, associativity: 4, lineBytes: 64); // fully associative
        cache.Access(0x000, true);
        cache.Access(0x040, false);
        cache.Access(0x080, true);
        cache.Access(0x0C0, true);
        Assert.Equal(3, cache.Flush());
        Assert.False(cache.Contains(0x000));
        Assert.Equal(new MetadataCacheStatistics(0, 4, 4, 3), cache.Statistics);
        Assert.Equal(0, cache.Flush());
        Assert.False(cache.Access(0x000, false));
    }

    [Fact]
    public void ResetStatisticsKeepsTheContents()
    {
        var cache = new MetadataCache(capacityBytes: 1024, associativity: 2, lineBytes: 32);
        cache.Access(0x500, false);
        cache.ResetStatistics();
        Assert.Equal(new MetadataCacheStatistics(0, 0, 0, 0), cache.Statistics);
        Assert.True(cache.Access(0x51F, false));
        Assert.Equal(new MetadataCacheStatistics(1, 0, 0, 0), cache.Statistics);
    }

    [Fact]
    public void AStreamLargerThanTheCacheMissesEveryTimeUnderLru()
    {
        var cache = new MetadataCache(capacityBytes: 512, associativity: 8, lineBytes: 64); // one set of 8 ways
        for (int round = 0; round < 3; round++)
        {
            for (ulong line = 0; line < 9; line++)
            {
                cache.Access(line * 64, isWrite: true);
            }
        }
        // LRU thrashes on a cyclic stream one line longer than the set.
        Assert.Equal(new MetadataCacheStatistics(0, 27, 27, 19), cache.Statistics);
    }

    [Fact]
    public void RejectsImpossibleGeometries()
    {
        Assert.Throws<ArgumentException>(() => new MetadataCache(100, 1, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MetadataCache(128, 1, 48));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MetadataCache(0, 1, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MetadataCache(128, 0, 64));
    }
}
