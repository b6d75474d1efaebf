using Vbase.Sapi.Toolkit.Counters;

namespace Vbase.Sapi.Tests.Toolkit.Counters;

public class VersionCounterStoreTests
{
    [Fact]
    public void EachLineCountsItsOwnWritesFromZero()
    {
        var store = new VersionCounterStore(lineCount: 16);
        Assert.Equal((1UL << 56) - 1, store.MaxValue);
        Assert.Equal(0UL, store.Get(3));
        Assert.Equal(new CounterIncrement(1, false), store.Increment(3));
        Assert.Equal(new CounterIncrement(2, false), store.Increment(3));
        Assert.Equal(new CounterIncrement(1, false), store.Increment(4));
        Assert.Equal(2UL, store.Get(3));
        Assert.Equal(1UL, store.Get(4));
        Assert.Equal(0UL, store.Get(5));
    }

    [Fact]
    public void ThrowPolicyRefusesToPassTheTopAndKeepsTheValue()
    {
        var store = new VersionCounterStore(4, counterBits: 2, CounterOverflowPolicy.Throw);
        for (int i = 0; i < 3; i++)
        {
            store.Increment(0);
        }
        Assert.Equal(3UL, store.Get(0));
        Assert.Throws<CounterOverflowException>(() => store.Increment(0));
        Assert.Equal(3UL, store.Get(0));
        Assert.Equal(1, store.Overflows);
    }

    [Fact]
    public void WrapPolicyReturnsToZeroAndReportsIt()
    {
        var store = new VersionCounterStore(4, counterBits: 2, CounterOverflowPolicy.Wrap);
        store.Set(1, 3);
        Assert.Equal(new CounterIncrement(0, Overflowed: true), store.Increment(1));
        Assert.Equal(new CounterIncrement(1, Overflowed: false), store.Increment(1));
        Assert.Equal(1, store.Overflows);
    }

    [Fact]
    public void SaturatePolicyStaysAtTheTopAndReportsEveryAttempt()
    {
        var store = new VersionCounterStore(4, counterBits: 3, CounterOverflowPolicy.Saturate);
        store.Set(2, 7);
        Assert.Equal(new CounterIncrement(7, Overflowed: true), store.Increment(2));
        Assert.Equal(new CounterIncrement(7, Overflowed: true), store.Increment(2));
        Assert.Equal(2, store.Overflows);
    }

    [Fact]
    public void SixtyFourBitCountersUseTheFullRange()
    {
        var store = new VersionCounterStore(1, counterBits: 64, CounterOverflowPolicy.Wrap);
        store.Set(0, ulong.MaxValue - 1);
        Assert.Equal(new CounterIncrement(ulong.MaxValue, false), store.Increment(0));
        Assert.Equal(new CounterIncrement(0, true), store.Increment(0));
    }

    [Fact]
    public void SetModelsAnOffChipWriteAndWriteValueEncodesLittleEndian()
    {
        var store = new VersionCounterStore(8);
        store.Increment(6);
        store.Increment(6);
        store.Set(6, 1); // a replayed old value: the store itself does not object
        Assert.Equal(1UL, store.Get(6));
        store.Set(6, 0x0102_0304_0506);
        byte[] encoded = new byte[8];
        store.WriteValue(6, encoded);
        Assert.Equal("0605040302010000", Convert.ToHexStringLower(encoded));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Set(6, 1UL << 56));
    }

    [Fact]
    public void RejectsLinesOutsideTheStoreAndBadWidths()
    {
        var store = new VersionCounterStore(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Get(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Increment(ulong.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VersionCounterStore(8, counterBits: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VersionCounterStore(8, counterBits: 65));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VersionCounterStore(0));
    }
}
