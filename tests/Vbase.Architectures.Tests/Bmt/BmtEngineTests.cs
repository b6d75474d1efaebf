using Vbase.Architectures.Bmt;
using Vbase.Hypervisor;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.Tests.Bmt;

/// <summary>
/// The BMT engine on its own, as the chip boundary drives it: byte arrays stand in for the data frames, the counter
/// blocks, MACs and tree nodes lie in a real metadata area of machine memory (where an attacker may rewrite them).
/// Encryption under split counters, the per-line MAC, the tree over counter blocks, the page re-encryption on a
/// minor overflow, and the metadata traffic.
/// </summary>
public sealed class BmtEngineTests : IDisposable
{
    private const int Pages = 4;
    private const ulong FirstMfn = 0x216;
    private const int L = BmtEngine.LineBytes;

    private readonly Hypervisor.Hypervisor hv = new(new HypervisorOptions { MachineMemory = 8UL << 20 });
    private readonly BmtEngine engine;
    private readonly BmtRegionMetadata m;
    private readonly byte[][] frames = [.. Enumerable.Range(0, Pages).Select(_ => new byte[4096])];

    public BmtEngineTests() : this(new BmtParameters())
    {
    }

    private BmtEngineTests(BmtParameters parameters)
    {
        MetadataArea area = hv.Sapi.ReserveMetadata(64 * 1024);
        engine = new BmtEngine(hv.Sapi, parameters, area, [.. Enumerable.Range(1, 16).Select(i => (byte)i)], new byte[32], [9, 9]);
        m = engine.Allocate(Pages)!;
        for (int p = 0; p < Pages; p++)
        {
            for (int i = 0; i < 4096; i++)
            {
                frames[p][i] = Plain(p, i);
            }
            engine.Seal(m, p, FirstMfn + (ulong)p, frames[p], major: 1UL << BmtEngine.MajorsPerRegistrationBits);
        }
        engine.BuildTree(m);
    }

    public void Dispose()
    {
        engine.Dispose();
        hv.Dispose();
    }

    private static byte Plain(int page, int at) => (byte)((at * 7) + 3 + page);

    private MetadataArea Area => engine.Area;

    private Span<byte> Line(int page, int line) => frames[page].AsSpan(line * L, L);

    private BmtCheck Fill(int page, int line, out byte[] plaintext)
    {
        plaintext = new byte[L];
        return engine.Fill(m, page, line, FirstMfn + (ulong)page, Line(page, line), plaintext);
    }

    private bool WriteBack(int page, int line, byte fill, out bool reencrypted)
    {
        byte[] plaintext = new byte[L];
        plaintext.AsSpan().Fill(fill);
        return engine.WriteBack(m, page, line, FirstMfn + (ulong)page, plaintext, Line(page, line), frames[page], out reencrypted);
    }

    private void WriteBack(int page, int line, byte fill) => Assert.True(WriteBack(page, line, fill, out _));

    [Fact]
    public void DramHoldsCiphertextThatFillsToThePlaintext()
    {
        Assert.NotEqual(Plain(0, 64), frames[0][64]);
        Assert.Equal(BmtCheck.Verified, Fill(0, 1, out byte[] p));
        Assert.Equal(Plain(0, 64), p[0]);
        Assert.Equal(BmtCheck.Verified, Fill(3, 63, out p));
        Assert.Equal(Plain(3, 63 * 64 + 5), p[5]);
    }

    [Fact]
    public void AWriteBackBumpsTheMinorAndReencrypts()
    {
        WriteBack(1, 2, 0x55);
        byte[] first = Line(1, 2).ToArray();
        WriteBack(1, 2, 0x55);
        Assert.False(first.AsSpan().SequenceEqual(Line(1, 2)));   // same plaintext, new counter: new ciphertext
        Assert.Equal((1UL << BmtEngine.MajorsPerRegistrationBits, 2UL), engine.PeekCounter(m, 1, 2));
        Assert.Equal(0UL, engine.PeekCounter(m, 1, 3).Minor);
        Assert.Equal(BmtCheck.Verified, Fill(1, 2, out byte[] p));
        Assert.All(p, b => Assert.Equal(0x55, b));
    }

    [Fact]
    public void SpoofedSplicedAndReplayedLinesFailTheirMac()
    {
        Line(0, 1).Fill(0x41);
        Assert.Equal(BmtCheck.MacMismatch, Fill(0, 1, out _));
        Line(0, 3).CopyTo(Line(0, 2));                           // another line's valid ciphertext: the MAC binds the address
        Assert.Equal(BmtCheck.MacMismatch, Fill(0, 2, out _));
        byte[] old = Line(2, 5).ToArray();
        WriteBack(2, 5, 1);
        old.CopyTo(Line(2, 5));                                  // the counter moved on
        Assert.Equal(BmtCheck.MacMismatch, Fill(2, 5, out _));
    }

    [Fact]
    public void ARollbackOfDataCounterBlockMacAndTreeInDramFailsTheTree()
    {
        engine.Cache.Flush();
        byte[] oldData = Line(1, 1).ToArray(), oldMetadata = Area.Slice(m.Offset, (int)m.Bytes).ToArray();
        WriteBack(1, 1, 0x42);
        engine.Cache.Flush();
        oldData.CopyTo(Line(1, 1));
        oldMetadata.CopyTo(Area.Slice(m.Offset, oldMetadata.Length));   // only the on-chip root remembers
        Assert.Equal(BmtCheck.CounterBlockMismatch, Fill(1, 1, out _));
    }

    [Fact]
    public void ATamperedCounterBlockFailsTheTreeAndAWriteBackOverItWritesNothing()
    {
        engine.Cache.Flush();
        Area.Slice(m.Offset + L + 8, 1)[0] ^= 1;                 // page 1's first minor, in DRAM
        Assert.Equal(BmtCheck.CounterBlockMismatch, Fill(1, 0, out _));
        byte[] before = Line(1, 0).ToArray();
        Assert.False(WriteBack(1, 0, 7, out _));
        Assert.Equal(before, Line(1, 0).ToArray());
        Assert.Equal(BmtCheck.Verified, Fill(0, 0, out _));      // another page's counter block still verifies
    }

    [Fact]
    public void TheLastMinorWriteBackBumpsTheMajorAndReencryptsThePageInDram()
    {
        for (int i = 0; i < 127; i++)
        {
            WriteBack(2, 7, (byte)i, out bool early);
            Assert.False(early);
        }
        WriteBack(2, 9, 0x99);
        long reads = hv.Sapi.Cost.DataReads, writes = hv.Sapi.Cost.DataWrites;
        Assert.True(WriteBack(2, 7, 0xAB, out bool reencrypted));   // the 128th: minor 127 → overflow
        Assert.True(reencrypted);
        Assert.Equal(1, engine.PageReencryptions);
        Assert.Equal(63, engine.ReencryptedLines);
        Assert.Equal((reads + 63, writes + 63), (hv.Sapi.Cost.DataReads, hv.Sapi.Cost.DataWrites));   // the engine's own traffic
        Assert.Equal(((1UL << BmtEngine.MajorsPerRegistrationBits) + 1, 0UL), engine.PeekCounter(m, 2, 9));
        Assert.Equal(BmtCheck.Verified, Fill(2, 7, out byte[] p));
        Assert.Equal(0xAB, p[0]);
        Assert.Equal(BmtCheck.Verified, Fill(2, 9, out p));
        Assert.Equal(0x99, p[0]);
        Assert.Equal(BmtCheck.Verified, Fill(2, 30, out p));
        Assert.Equal(Plain(2, 30 * 64), p[0]);
    }

    [Fact]
    public void AReencryptionDoesNotLaunderATamperedLine()
    {
        Line(3, 4).Fill(0x66);                                   // a raw write that bypassed the engine
        for (int i = 0; i < 128; i++)
        {
            WriteBack(3, 0, (byte)i);
        }
        Assert.Equal(1, engine.PageReencryptions);
        Assert.Equal(62, engine.ReencryptedLines);
        Assert.Equal(BmtCheck.MacMismatch, Fill(3, 4, out _));
    }

    [Fact]
    public void MetadataTrafficFollowsTheCache()
    {
        hv.Sapi.Cost.MetadataReads = 0;
        Fill(0, 0, out _);
        Assert.Equal(3, hv.Sapi.Cost.MetadataReads);             // the counter block, the tree's one node level, the MAC line
        Fill(0, 1, out _);
        Assert.Equal(3, hv.Sapi.Cost.MetadataReads);             // all on chip
        Fill(1, 0, out _);
        Assert.Equal(5, hv.Sapi.Cost.MetadataReads);             // page 1's counter block (its parent is cached) and MAC line
        WriteBack(1, 0, 3);
        engine.Cache.Flush();
        Assert.Equal(3, hv.Sapi.Cost.MetadataWrites);            // counter block, MAC line, then the tree node (the root follows)
    }

    [Fact]
    public void InspectionChecksWithoutCountingOrFetching()
    {
        long reads = hv.Sapi.Cost.MetadataReads, macs = hv.Sapi.Cost.MacOps, ciphers = hv.Sapi.Cost.CipherOps;
        byte[] p = new byte[L];
        Assert.Equal(BmtCheck.Verified, engine.Fill(m, 0, 2, FirstMfn, Line(0, 2), p, inspection: true));
        Assert.Equal(Plain(0, 128), p[0]);
        Line(0, 2)[0] ^= 1;
        Assert.Equal(BmtCheck.MacMismatch, engine.Fill(m, 0, 2, FirstMfn, Line(0, 2), p, inspection: true));
        Assert.Equal((reads, macs, ciphers), (hv.Sapi.Cost.MetadataReads, hv.Sapi.Cost.MacOps, hv.Sapi.Cost.CipherOps));
        Assert.Equal(0, engine.Cache.Hits + engine.Cache.Misses);
    }

    [Fact]
    public void TheMetadataOfALineIsItsCounterBlockItsMacAndTheTreeAbove()
    {
        IReadOnlyList<MetadataRange> ranges = engine.Describe(m, 2, 3);
        Assert.Equal(["counter block", "mac", "tree level 1"], ranges.Select(r => r.What));
        Assert.Equal(Area.BaseAddress + m.Offset + (2 * 64), ranges[0].MachineAddress);
        Assert.Equal(Area.BaseAddress + m.MacsOffset + ((2 * 64 + 3) * 8), ranges[1].MachineAddress);
        Assert.Equal((64, 8, 64), (ranges[0].Length, ranges[1].Length, ranges[2].Length));
        Assert.Equal((ulong)(Pages * 64) + (Pages * 64 * 8) + 64, m.Bytes);
    }

    [Fact]
    public void ASmallCacheWritesDirtyMetadataBackAndStaysCorrect()
    {
        using var small = new BmtEngineTests(new BmtParameters { MetadataCacheBytes = 256, MetadataCacheWays = 4 });
        for (int p = 0; p < Pages; p++)
        {
            for (int line = 0; line < 64; line += 9)
            {
                small.WriteBack(p, line, (byte)(p + line));
            }
        }
        Assert.True(small.hv.Sapi.Cost.MetadataWrites > 10, $"{small.hv.Sapi.Cost.MetadataWrites}");
        for (int p = 0; p < Pages; p++)
        {
            Assert.Equal(BmtCheck.Verified, small.Fill(p, 9, out byte[] plain));
            Assert.Equal((byte)(p + 9), plain[0]);
        }
    }

    [Theory]
    [InlineData("metadata-cache-bytes", "1000")]   // not a multiple of ways × 64
    [InlineData("mac-bytes", "2")]
    [InlineData("mac-bytes", "12")]                // a MAC line holds whole tags
    [InlineData("tree-arity", "1")]
    [InlineData("tree-arity", "16")]               // a node is one line of 8-byte digests
    [InlineData("minor-bits", "8")]                // the counter block is one line
    [InlineData("minor-bits", "seven")]
    [InlineData("minor_bits", "7")]                // no such parameter
    public void BadParametersAreRefusedWhenTheArchitectureIsBuilt(string key, string value)
    {
        var options = new ArchitectureOptions { Parameters = new Dictionary<string, string> { [key] = value } };
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => new BmtArchitecture(options));
        Assert.Contains(key, e.Message);
    }
}
