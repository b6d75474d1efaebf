using Vbase.Architectures.Pmp;
using Vbase.Sapi.Memory;

namespace Vbase.Architectures.Tests.Pmp;

/// <summary>The security monitor's PMP programming: merging frames into ranges, encoding them, and the entry budget.</summary>
public sealed class PmpTableTests
{
    private static Mfn[] Frames(params ulong[] mfns) => [.. mfns.Select(m => new Mfn(m))];

    [Fact]
    public void AnAlignedPowerOfTwoRunIsOneNapotEntry()
    {
        PmpRange r = Assert.Single(PmpTable.Plan(Frames(0x103, 0x100, 0x102, 0x101), 1));   // order does not matter
        Assert.Equal(new PmpRange(0x100000, 0x4000, PmpAddressMode.Napot, 1), r);
        Assert.Equal(1, r.Entries);
    }

    [Fact]
    public void AnUnalignedRunSplitsIntoTwoNapotEntriesOrOneTorPair()
    {
        // The vault's frames in the attack suite: 0x216..0x219 = two 8 KiB blocks.
        Assert.Equal(
            [new PmpRange(0x216000, 0x2000, PmpAddressMode.Napot, 1), new PmpRange(0x218000, 0x2000, PmpAddressMode.Napot, 1)],
            PmpTable.Plan(Frames(0x216, 0x217, 0x218, 0x219), 1));
        // 0x101..0x105 would need three NAPOT blocks: a TOR pair (two entries) is cheaper.
        PmpRange tor = Assert.Single(PmpTable.Plan(Frames(0x101, 0x102, 0x103, 0x104, 0x105), 1));
        Assert.Equal(new PmpRange(0x101000, 0x5000, PmpAddressMode.Tor, 1), tor);
        Assert.Equal(2, tor.Entries);
    }

    [Fact]
    public void RegistrationsBeyondTheFreeEntriesAreRefusedAsAWhole()
    {
        var table = new PmpTable();
        Assert.Equal(14, table.EnclaveEntries);                     // 16 minus the monitor's and the OS's
        Assert.True(table.TryGrant(Frames([.. Enumerable.Range(0, 13).Select(i => 0x200UL + 2UL * (ulong)i)]), 1));
        Assert.Equal(13, table.UsedEntries);
        Assert.False(table.TryGrant(Frames(0x300, 0x302), 2));      // two more scattered frames do not fit
        Assert.Equal(13, table.UsedEntries);
        Assert.Null(table.Find(0x300000));
        Assert.True(table.TryGrant(Frames(0x300, 0x301), 2));       // one aligned 8 KiB block does
        Assert.Equal(2, table.Find(0x301fff)!.Value.Owner);
        Assert.Equal(1, table.Find(0x200000)!.Value.Owner);
        Assert.Null(table.Find(0x201000));

        table.Revoke(1);
        Assert.Equal(1, table.UsedEntries);
        Assert.Null(table.Find(0x200000));
    }

    [Fact]
    public void TheEntryCountIsBounded()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PmpTable(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PmpTable(65));
        Assert.Equal(6, new PmpTable(8).EnclaveEntries);
    }
}
