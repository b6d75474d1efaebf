using Vbase.Sapi.Toolkit.Counters;

namespace Vbase.Sapi.Tests.Toolkit.Counters;

public class SplitCounterStoreTests
{
    [Fact]
    public void DefaultsAreBonsaiMerkleTreeShapedWithOne64ByteCounterBlockPerPage()
    {
        var store = new SplitCounterStore(pageCount: 4);
        Assert.Equal(64, store.LinesPerPage);
        Assert.Equal(7, store.MinorBits);
        Assert.Equal(127, store.MaxMinor);
        Assert.Equal(64, store.CounterBlockBytes); // 8-byte major + 64 × 7 bits
        Assert.Equal(256, store.LineCount);
        Assert.Equal(1UL, store.PageOf(64));
    }

    [Fact]
    public void MinorOverflowBumpsTheMajorResetsThePageAndAsksForReencryption()
    {
        var store = new SplitCounterStore(pageCount: 2);
        ulong line = 64 + 5; // page 1, line 5
        store.Increment(64 + 9);
        store.Increment(3); // another page: must not be touched
        for (int i = 1; i <= 127; i++)
        {
            SplitCounterIncrement step = store.Increment(line);
            Assert.Equal(new SplitCounter(0, i), step.Counter);
            Assert.False(step.PageReencryptionRequired);
        }

        SplitCounterIncrement overflow = store.Increment(line);
        Assert.True(overflow.PageReencryptionRequired);
        Assert.Equal(new SplitCounter(1, 0), overflow.Counter);
        Assert.Equal(1UL, store.GetMajor(1));
        Assert.Equal(new SplitCounter(1, 0), store.Get(64 + 9)); // its minor was reset too
        Assert.Equal(new SplitCounter(0, 1), store.Get(3));
        Assert.Equal(0UL, store.GetMajor(0));
        Assert.Equal(1, store.PageReencryptions);

        Assert.Equal(new SplitCounterIncrement(new SplitCounter(1, 1), false), store.Increment(line));
    }

    [Fact]
    public void SeedCountersNeverRepeatForALineAcrossAnOverflow()
    {
        var store = new SplitCounterStore(pageCount: 1, linesPerPage: 4, minorBits: 2);
        var seen = new HashSet<ulong> { store.SeedCounter(2) };
        for (int i = 0; i < 40; i++)
        {
            store.Increment(2);
            Assert.True(seen.Add(store.SeedCounter(2)), $"seed counter repeated after {i + 1} writes");
        }
        Assert.Equal(10, store.PageReencryptions); // every fourth write overflows a 2-bit minor
        Assert.Equal((store.GetMajor(0) << 2) | (uint)store.Get(2).Minor, store.SeedCounter(2));
    }

    [Fact]
    public void CounterBlocksPackMajorThenSevenBitMinorsAndLoadBack()
    {
        var store = new SplitCounterStore(pageCount: 2);
        store.Increment(0);             // page 0, line 0: minor 1 → bit 0
        store.Increment(1);             // line 1: minor 1 → bit 7
        for (int i = 0; i < 5; i++)
        {
            store.Increment(63);        // line 63: minor 5 → bits 441..443
        }
        byte[] block = new byte[64];
        store.WriteCounterBlock(0, block);
        Assert.Equal(new byte[8], block[..8]); // major 0
        Assert.Equal(0x81, block[8]);
        Assert.Equal(0x00, block[9]);
        // bit 441 = byte 55 bit 1 (value 1), bit 443 = byte 55 bit 3 (value 4): minor 5 = 0b101.
        Assert.Equal(0b1010, block[8 + 55]);

        var copy = new SplitCounterStore(pageCount: 2);
        copy.LoadCounterBlock(1, block);
        Assert.Equal(new SplitCounter(0, 1), copy.Get(64));
        Assert.Equal(new SplitCounter(0, 1), copy.Get(65));
        Assert.Equal(new SplitCounter(0, 5), copy.Get(127));
        Assert.Equal(new SplitCounter(0, 0), copy.Get(66));
        byte[] again = new byte[64];
        copy.WriteCounterBlock(1, again);
        Assert.Equal(block, again);
    }

    [Fact]
    public void LoadingAnOldCounterBlockRollsThePageBack()
    {
        var store = new SplitCounterStore(pageCount: 1);
        store.Increment(7);
        byte[] old = new byte[64];
        store.WriteCounterBlock(0, old);
        store.Increment(7);
        store.Increment(7);
        store.LoadCounterBlock(0, old); // a replay of off-chip counters; only an integrity tree can notice
        Assert.Equal(new SplitCounter(0, 1), store.Get(7));
    }

    [Fact]
    public void RejectsBadShapesAndIndices()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SplitCounterStore(1, minorBits: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SplitCounterStore(1, minorBits: 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SplitCounterStore(0));
        var store = new SplitCounterStore(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Increment(64));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.GetMajor(1));
        Assert.Throws<ArgumentException>(() => store.WriteCounterBlock(0, new byte[63]));
    }
}
