using Vbase.Architectures.SgxMee;
using Vbase.Hypervisor;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Tests.SgxMee;

/// <summary>
/// The MEE on its own, as a physical attacker meets it: data lines in "DRAM" (a byte array here) and the metadata
/// (versions, MAC tags, tree nodes) in a real metadata area of machine memory, which the attacker may also rewrite;
/// only the tree's root and the metadata cache are on chip.
/// </summary>
public sealed class MemoryEncryptionEngineTests : IDisposable
{
    private const int Lines = 256;                   // 4 pages, like the vault
    private const ulong Base = 0x21_6000;            // physical address of line 0
    private const int L = MemoryEncryptionEngine.LineBytes;

    private readonly Hypervisor.Hypervisor hv = new(new HypervisorOptions { MachineMemory = 8UL << 20 });
    private readonly MetadataArea area;
    private readonly DramMetadataCache cache;
    private readonly MemoryEncryptionEngine engine;
    private readonly byte[] dram = new byte[Lines * L];

    public MemoryEncryptionEngineTests() : this(32 * 1024, 8)
    {
    }

    private MemoryEncryptionEngineTests(int cacheBytes, int ways)
    {
        area = hv.Sapi.ReserveMetadata(64 * 1024);
        cache = new DramMetadataCache(hv.Sapi, area, cacheBytes, ways);
        byte[] k1 = [.. Enumerable.Range(1, 16).Select(i => (byte)i)], k2 = [.. Enumerable.Range(101, 16).Select(i => (byte)i)];
        engine = new MemoryEncryptionEngine(hv.Sapi, cache, areaOffset: 0, Lines, k1, k2, [7, 7, 7], treeArity: 8);
        for (int i = 0; i < Lines; i++)
        {
            Plain(i).CopyTo(Line(i));
            engine.Seal(i, Address(i), Line(i));
        }
        engine.BuildTree();
    }

    public void Dispose()
    {
        engine.Dispose();
        hv.Dispose();
    }

    private Span<byte> Line(int i) => dram.AsSpan(i * L, L);

    private static ulong Address(int line) => Base + (ulong)(line * L);

    private static byte[] Plain(int line) => [.. Enumerable.Range(0, L).Select(b => (byte)(line ^ b))];

    private LineCheck Fill(int i, out byte[] plaintext)
    {
        plaintext = new byte[L];
        return engine.Fill(i, Address(i), Line(i), plaintext);
    }

    private void WriteBack(int i, byte fill)
    {
        byte[] plaintext = new byte[L];
        plaintext.AsSpan().Fill(fill);
        Assert.True(engine.WriteBack(i, Address(i), plaintext, Line(i)));
    }

    [Fact]
    public void SealedLinesAreCiphertextThatFillsToThePlaintext()
    {
        Assert.False(Line(3).SequenceEqual(Plain(3)));
        Assert.Equal(LineCheck.Valid, Fill(3, out byte[] p));
        Assert.Equal(Plain(3), p);
        Assert.Equal(32, engine.MetadataLines);                  // 8 versions per line
        Assert.Equal(2 * 32 * 64 + (4 + 1) * 64, (int)engine.Bytes);   // versions, MACs, 4 + 1 tree nodes
    }

    [Fact]
    public void AWriteBackBumpsTheVersionSoTheSamePlaintextEncryptsDifferently()
    {
        WriteBack(5, 0x41);
        byte[] first = Line(5).ToArray();
        WriteBack(5, 0x41);
        Assert.False(first.AsSpan().SequenceEqual(Line(5)));   // counter mode with a fresh seed: no repeated keystream
        Assert.Equal(2UL, engine.PeekVersion(5));
        cache.Flush();
        Assert.Equal(2, area.Slice(5 * MemoryEncryptionEngine.VersionBytes, 1)[0]);   // the version is in DRAM, slot 5
        Assert.Equal(LineCheck.Valid, Fill(5, out byte[] p));
        Assert.All(p, b => Assert.Equal(0x41, b));
    }

    [Fact]
    public void ASpoofedLineFailsItsMac()
    {
        Line(1).Fill(0x41);
        Assert.Equal(LineCheck.MacMismatch, Fill(1, out _));
        Line(2)[17] ^= 1;                                        // a single flipped bit of ciphertext
        Assert.Equal(LineCheck.MacMismatch, Fill(2, out _));
    }

    [Fact]
    public void ASplicedLineFailsItsMacEvenWithItsMacMovedAlong()
    {
        Line(2).CopyTo(Line(1));
        ulong macs = engine.MacsOffset;
        area.Slice(macs + (2 * MemoryEncryptionEngine.TagBytes), MemoryEncryptionEngine.TagBytes).CopyTo(area.Slice(macs + MemoryEncryptionEngine.TagBytes, MemoryEncryptionEngine.TagBytes));
        Assert.Equal(LineCheck.MacMismatch, Fill(1, out _));      // the MAC binds the address
    }

    [Fact]
    public void ReplayedDataAloneFailsTheMacOfTheCurrentVersion()
    {
        byte[] old = Line(1).ToArray();
        WriteBack(1, 0x42);
        old.CopyTo(Line(1));
        Assert.Equal(LineCheck.MacMismatch, Fill(1, out _));
    }

    [Fact]
    public void ARollbackOfDataAndEveryMetadataByteInDramFailsTheTreeOnlyTheRootKnows()
    {
        cache.Flush();
        byte[] oldData = Line(1).ToArray(), oldMetadata = area.Slice(0, (int)engine.Bytes).ToArray();
        WriteBack(1, 0x42);
        cache.Flush();                                           // what an attacker forces before putting things back
        oldData.CopyTo(Line(1));
        oldMetadata.CopyTo(area.Slice(0, oldMetadata.Length));   // versions, MACs and every tree node as they were
        Assert.Equal(LineCheck.TreeMismatch, Fill(1, out _));
    }

    [Fact]
    public void ATamperedVersionFailsTheTreeAndAWriteBackOverItWritesNothing()
    {
        cache.Flush();
        area.Slice(64 + MemoryEncryptionEngine.VersionBytes, 1)[0] = 1;   // line 9: version line 1, slot 1, in DRAM
        Assert.Equal(LineCheck.TreeMismatch, Fill(9, out _));
        byte[] before = Line(9).ToArray();
        Assert.False(engine.WriteBack(9, Address(9), new byte[L], Line(9)));
        Assert.Equal(before, Line(9).ToArray());
        area.Slice(64 + MemoryEncryptionEngine.VersionBytes, 1)[0] = 0;
        Assert.Equal(LineCheck.Valid, Fill(9, out _));
    }

    [Fact]
    public void MetadataTrafficFollowsTheCache()
    {
        hv.Sapi.Cost.MetadataReads = 0;
        Fill(0, out _);
        // The version line and its tree path (two node levels for 32 version lines at arity 8), then the MAC line.
        Assert.Equal(4, hv.Sapi.Cost.MetadataReads);
        Fill(1, out _);                                          // same version and MAC lines: on chip
        Assert.Equal(4, hv.Sapi.Cost.MetadataReads);
        Fill(8, out _);                                          // next version line (its parent is cached) and MAC line
        Assert.Equal(6, hv.Sapi.Cost.MetadataReads);
        WriteBack(8, 1);                                         // all on chip: no traffic, nothing written yet
        Assert.Equal((6L, 0L), (hv.Sapi.Cost.MetadataReads, hv.Sapi.Cost.MetadataWrites));
        cache.Flush();                                           // the dirty version and MAC lines, then the tree up to the root
        Assert.Equal(4, hv.Sapi.Cost.MetadataWrites);
    }

    [Fact]
    public void ASmallCacheWritesDirtyMetadataBack()
    {
        using var small = new MemoryEncryptionEngineTests(512, 8);   // one set of 8 lines
        long writes = small.hv.Sapi.Cost.MetadataWrites;
        for (int i = 0; i < Lines; i += 8)
        {
            small.WriteBack(i, (byte)i);
        }
        Assert.True(small.hv.Sapi.Cost.MetadataWrites > writes + 20, $"{small.hv.Sapi.Cost.MetadataWrites}");
        for (int i = 0; i < Lines; i += 8)
        {
            Assert.Equal(LineCheck.Valid, small.Fill(i, out byte[] p));
            Assert.Equal((byte)i, p[0]);
        }
    }

    [Fact]
    public void InspectionChecksWithoutCountingOrFetching()
    {
        long reads = hv.Sapi.Cost.MetadataReads, macs = hv.Sapi.Cost.MacOps, ciphers = hv.Sapi.Cost.CipherOps;
        byte[] p = new byte[L];
        Assert.Equal(LineCheck.Valid, engine.Fill(4, Address(4), Line(4), p, inspection: true));
        Assert.Equal(Plain(4), p);
        Line(4)[0] ^= 0xFF;
        Assert.Equal(LineCheck.MacMismatch, engine.Fill(4, Address(4), Line(4), p, inspection: true));
        Assert.Equal((reads, macs, ciphers), (hv.Sapi.Cost.MetadataReads, hv.Sapi.Cost.MacOps, hv.Sapi.Cost.CipherOps));
        Assert.Equal(0, cache.Misses + cache.Hits);
    }

    [Fact]
    public void TheMetadataOfALineIsItsVersionAndMacSlotsAndTheTreeAboveInDram()
    {
        IReadOnlyList<MetadataRange> ranges = engine.Describe(9);
        Assert.Equal(["version", "mac", "tree level 1", "tree level 2"], ranges.Select(r => r.What));
        Assert.Equal(area.BaseAddress + (ulong)(64 + MemoryEncryptionEngine.VersionBytes), ranges[0].MachineAddress);   // line 1, slot 1
        Assert.Equal(area.BaseAddress + engine.MacsOffset + 64 + MemoryEncryptionEngine.TagBytes, ranges[1].MachineAddress);
        Assert.All(ranges, r => Assert.InRange(r.MachineAddress, area.BaseAddress, area.BaseAddress + engine.Bytes - (ulong)r.Length));
    }

    [Fact]
    public void TheTreeHeightAndMetadataSizeFollowTheLineCount()
    {
        Assert.Equal(2, MemoryEncryptionEngine.TreeHeight(Lines, 8));     // 32 → 4 → 1
        Assert.Equal(1, MemoryEncryptionEngine.TreeHeight(8, 8));
        Assert.Equal(3, MemoryEncryptionEngine.TreeHeight(64 * 64, 8));   // 256 KiB: 512 → 64 → 8 → 1
        Assert.Equal(engine.Bytes, MemoryEncryptionEngine.MetadataBytes(Lines, 8));
    }
}
