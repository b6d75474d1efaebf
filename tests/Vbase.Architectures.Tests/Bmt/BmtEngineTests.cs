using Vbase.Architectures.Bmt;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.Tests.Bmt;

/// <summary>
/// The BMT engine on its own, on plain byte arrays standing in for frames: encryption under split counters, the
/// per-line MAC, the tree over counter blocks, the page re-encryption on a minor overflow, and the metadata traffic.
/// </summary>
public sealed class BmtEngineTests : IDisposable
{
    private const ulong Mfn = 5;
    private readonly byte[] plaintext = new byte[4096];
    private readonly byte[] frame = new byte[4096];
    private readonly BmtEngine engine;

    public BmtEngineTests()
    {
        for (int i = 0; i < plaintext.Length; i++)
        {
            plaintext[i] = (byte)(i * 7 + 3);
        }
        plaintext.CopyTo(frame, 0);
        engine = new BmtEngine(new BmtParameters(), frameCount: 64, new byte[16] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }, new byte[32]);
        Assert.True(engine.Protect(Mfn, frame));
    }

    public void Dispose() => engine.Dispose();

    private ulong? Read(int offset)
    {
        byte[] data = frame.AsSpan(offset, 8).ToArray();
        return engine.Read(Mfn, frame, offset, data, out _) == BmtCheck.Verified ? BitConverter.ToUInt64(data) : null;
    }

    private BmtCheck Write(int offset, ulong value) => engine.Write(Mfn, frame, offset, BitConverter.GetBytes(value), out _);

    private ulong Plain(int offset) => BitConverter.ToUInt64(plaintext, offset);

    [Fact]
    public void DramHoldsCiphertextAndTheOwnerReadsAndWritesPlaintext()
    {
        for (int line = 0; line < 64; line++)
        {
            Assert.False(frame.AsSpan(line * 64, 64).SequenceEqual(plaintext.AsSpan(line * 64, 64)));
        }
        Assert.Equal(Plain(64), Read(64));
        Assert.Equal(Plain(60), Read(60));                  // a misaligned load across two lines
        byte[] before = frame.AsSpan(64, 64).ToArray();
        Assert.Equal(BmtCheck.Verified, Write(64, 0x1122_3344_5566_7788));
        Assert.False(frame.AsSpan(64, 64).SequenceEqual(before));   // re-encrypted under the bumped minor
        Assert.Equal(0x1122_3344_5566_7788UL, Read(64));
        Assert.Equal(Plain(72), Read(72));                  // the rest of the line survived the read-modify-write
        Assert.Equal(1, engine.Counters.Get(Mfn * 64 + 1).Minor);

        Assert.Equal(0, engine.Unprotect(Mfn, frame));
        Assert.Equal(0x1122_3344_5566_7788UL, BitConverter.ToUInt64(frame, 64));
        Assert.True(frame.AsSpan(128).SequenceEqual(plaintext.AsSpan(128)));
    }

    [Fact]
    public void SpoofSpliceAndAWriteThatBypassedTheEngineFailTheMac()
    {
        frame.AsSpan(64, 64).Fill(0x41);                                  // spoof
        Assert.Null(Read(64));
        Assert.Equal(BmtCheck.MacMismatch, engine.Read(Mfn, frame, 64, new byte[8], out int line));
        Assert.Equal(1, line);
        Assert.Equal(BmtCheck.MacMismatch, Write(64, 1));                 // a write's read-modify-write checks too

        frame.AsSpan(128, 64).CopyTo(frame.AsSpan(192, 64));              // splice: a valid line at the wrong address
        Assert.Null(Read(192));
        Assert.Equal(Plain(256), Read(256));                              // untouched lines still verify
    }

    [Fact]
    public void ReplayedDataWithItsMacFailsBecauseTheCounterMovedOn()
    {
        byte[] oldLine = frame.AsSpan(64, 64).ToArray();
        byte[] oldMac = engine.MacOf(Mfn, 1).ToArray();
        Assert.Equal(BmtCheck.Verified, Write(64, 42));
        oldLine.CopyTo(frame.AsSpan(64));
        oldMac.CopyTo(engine.MacOf(Mfn, 1));
        Assert.Null(Read(64));
    }

    [Fact]
    public void ReplayingTheCounterBlockTooIsCaughtByTheTree()
    {
        byte[] oldLine = frame.AsSpan(64, 64).ToArray();
        byte[] oldMac = engine.MacOf(Mfn, 1).ToArray();
        byte[] oldCounters = new byte[engine.Counters.CounterBlockBytes];
        engine.Counters.WriteCounterBlock(Mfn, oldCounters);
        Assert.Equal(BmtCheck.Verified, Write(64, 42));

        // Data, MAC and counter block all rolled back off-chip; the counter block leaves the chip first.
        engine.Cache.Flush();
        oldLine.CopyTo(frame.AsSpan(64));
        oldMac.CopyTo(engine.MacOf(Mfn, 1));
        engine.Counters.LoadCounterBlock(Mfn, oldCounters);
        Assert.Equal(BmtCheck.CounterBlockMismatch, engine.Read(Mfn, frame, 64, new byte[8], out _));
    }

    [Fact]
    public void AMinorOverflowBumpsTheMajorAndReencryptsThePage()
    {
        ulong majorBefore = engine.Counters.GetMajor(Mfn);
        byte[] otherLineBefore = frame.AsSpan(128, 64).ToArray();
        for (int i = 1; i <= 127; i++)
        {
            Assert.Equal(BmtCheck.Verified, Write(64, (ulong)i));
        }
        Assert.Equal(0, engine.PageReencryptions);
        Assert.True(frame.AsSpan(128, 64).SequenceEqual(otherLineBefore));
        Assert.Equal(BmtCheck.Verified, Write(64, 128));                 // the 128th write overflows the 7-bit minor
        Assert.Equal(1, engine.PageReencryptions);
        Assert.Equal(majorBefore + 1, engine.Counters.GetMajor(Mfn));
        Assert.False(frame.AsSpan(128, 64).SequenceEqual(otherLineBefore));   // the other lines moved to the new major
        Assert.Equal(128UL, Read(64));
        for (int offset = 128; offset < 4096; offset += 8)
        {
            Assert.Equal(Plain(offset), Read(offset));
        }
    }

    [Fact]
    public void ReencryptionDoesNotLaunderATamperedLine()
    {
        frame[5 * 64] ^= 1;
        for (int i = 0; i < 128; i++)
        {
            Assert.Equal(BmtCheck.Verified, Write(0, (ulong)i));
        }
        Assert.Equal(1, engine.PageReencryptions);
        Assert.Null(Read(5 * 64));
        Assert.Equal(Plain(6 * 64), Read(6 * 64));
    }

    [Fact]
    public void MetadataGoesThroughTheCacheAndInspectionCountsNothing()
    {
        engine.Cache.Flush();
        engine.Cache.ResetStatistics();
        Read(64);
        var first = engine.Cache.Statistics;
        // counter block + every tree level up to the root (nothing on chip) + the MAC line
        Assert.Equal(1 + engine.Tree.Height + 1, first.Misses);
        Read(72);
        Assert.Equal(first.Misses, engine.Cache.Statistics.Misses);       // all on chip now
        long accesses = engine.ProtectedAccesses;
        byte[] seen = new byte[64];
        engine.Inspect(Mfn, frame, 64, seen);
        Assert.True(seen.AsSpan().SequenceEqual(plaintext.AsSpan(64, 64)));
        Assert.Equal(accesses, engine.ProtectedAccesses);
        Assert.Equal(first.Misses, engine.Cache.Statistics.Misses);
    }

    [Fact]
    public void ASmallCacheWritesDirtyMetadataBack()
    {
        using var small = new BmtEngine(new BmtParameters { MetadataCacheBytes = 256, MetadataCacheWays = 2 }, 64, new byte[16], new byte[32]);
        byte[][] frames = [.. Enumerable.Range(0, 8).Select(_ => new byte[4096])];
        for (int f = 0; f < frames.Length; f++)
        {
            Assert.True(small.Protect((ulong)f, frames[f]));
        }
        for (int f = 0; f < frames.Length; f++)
        {
            Assert.Equal(BmtCheck.Verified, small.Write((ulong)f, frames[f], 0, new byte[8], out _));
        }
        Assert.True(small.Cache.Statistics.Writebacks > 0);
    }

    [Theory]
    [InlineData("metadata-cache-bytes", "1000")]   // not a multiple of ways × 64
    [InlineData("mac-bytes", "2")]
    [InlineData("tree-arity", "1")]
    [InlineData("minor-bits", "9")]
    [InlineData("minor-bits", "seven")]
    [InlineData("minor_bits", "7")]                // no such parameter
    public void BadParametersAreRefusedWhenTheArchitectureIsBuilt(string key, string value)
    {
        var options = new ArchitectureOptions { Parameters = new Dictionary<string, string> { [key] = value } };
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => new BmtArchitecture(options));
        Assert.Contains(key, e.Message);
    }
}
