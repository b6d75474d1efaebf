using System.Buffers.Binary;
using Vbase.Architectures.SgxMee;
using Vbase.Sapi.Toolkit.Integrity;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Tests.SgxMee;

/// <summary>
/// The MEE on its own, as a physical attacker meets it: data lines in "DRAM" (a byte array here) and the off-chip
/// metadata (counters, MAC tags, tree nodes) that the attacker may also rewrite; only the tree root is out of reach.
/// </summary>
public sealed class MemoryEncryptionEngineTests
{
    private const int Lines = 256;                   // 4 pages, like the vault
    private const ulong Base = 0x21_6000;            // physical address of line 0
    private const int L = MemoryEncryptionEngine.LineBytes;

    private sealed class Range : IDisposable
    {
        public Range(int trustedTreeNodes = 512, MetadataCache? cache = null)
        {
            Cache = cache ?? new MetadataCache(32 * 1024, 8);
            byte[] k1 = [.. Enumerable.Range(1, 16).Select(i => (byte)i)], k2 = [.. Enumerable.Range(101, 16).Select(i => (byte)i)];
            Engine = new MemoryEncryptionEngine(Lines, k1, k2, Cache, metadataWindow: 1, treeArity: 8, trustedTreeNodes);
            for (int i = 0; i < Lines; i++)
            {
                Plain(i).CopyTo(Dram.AsSpan(i * L, L));
                Engine.Seal(i, Address(i), Dram.AsSpan(i * L, L));
            }
        }

        public MetadataCache Cache { get; }
        public MemoryEncryptionEngine Engine { get; }
        public byte[] Dram { get; } = new byte[Lines * L];

        public Span<byte> Line(int i) => Dram.AsSpan(i * L, L);

        public LineCheck Read(int i, out byte[] plaintext)
        {
            plaintext = new byte[L];
            return Engine.Open(i, Address(i), Line(i), plaintext);
        }

        public void Write(int i, byte fill)
        {
            Assert.Equal(LineCheck.Valid, Read(i, out byte[] plaintext));
            plaintext.AsSpan().Fill(fill);
            Assert.True(Engine.Store(i, Address(i), plaintext, Line(i)));
        }

        public void Dispose() => Engine.Dispose();
    }

    private static ulong Address(int line) => Base + (ulong)(line * L);

    private static byte[] Plain(int line) => [.. Enumerable.Range(0, L).Select(b => (byte)(line ^ b))];

    [Fact]
    public void SealedLinesAreCiphertextThatOpensToThePlaintext()
    {
        using var r = new Range();
        Assert.False(r.Line(3).SequenceEqual(Plain(3)));
        Assert.Equal(LineCheck.Valid, r.Read(3, out byte[] p));
        Assert.Equal(Plain(3), p);
    }

    [Fact]
    public void AWriteBumpsTheVersionSoTheSamePlaintextEncryptsDifferently()
    {
        using var r = new Range();
        r.Write(5, 0x41);
        byte[] first = r.Line(5).ToArray();
        r.Write(5, 0x41);
        Assert.False(first.AsSpan().SequenceEqual(r.Line(5)));   // counter mode with a fresh seed: no repeated keystream
        Assert.Equal(2UL, r.Engine.Counters.Get(5));
        Assert.Equal(LineCheck.Valid, r.Read(5, out byte[] p));
        Assert.All(p, b => Assert.Equal(0x41, b));
    }

    [Fact]
    public void ASpoofedLineFailsItsMac()
    {
        using var r = new Range();
        r.Line(1).Fill(0x41);
        Assert.Equal(LineCheck.MacMismatch, r.Read(1, out _));
        r.Line(2)[17] ^= 1;                                        // a single flipped bit of ciphertext
        Assert.Equal(LineCheck.MacMismatch, r.Read(2, out _));
    }

    [Fact]
    public void ASplicedLineFailsItsMacBecauseTheMacBindsTheAddress()
    {
        using var r = new Range();
        r.Line(2).CopyTo(r.Line(1));
        r.Engine.MacTags.Slice(2 * MemoryEncryptionEngine.TagBytes, MemoryEncryptionEngine.TagBytes)
            .CopyTo(r.Engine.MacTags[(1 * MemoryEncryptionEngine.TagBytes)..]);   // even with its MAC moved along
        Assert.Equal(LineCheck.MacMismatch, r.Read(1, out _));
    }

    [Fact]
    public void ReplayedDataAloneFailsTheMacOfTheCurrentVersion()
    {
        using var r = new Range();
        byte[] old = r.Line(1).ToArray();
        r.Write(1, 0x42);
        old.CopyTo(r.Line(1));
        Assert.Equal(LineCheck.MacMismatch, r.Read(1, out _));
    }

    [Theory]
    [InlineData(512)]   // a trusted tree node on chip stops the walk: the counter's digest no longer matches it
    [InlineData(0)]     // no tree cache: the walk climbs to the on-chip root
    public void ReplayedDataMacAndCounterTogetherFailTheTree(int trustedTreeNodes)
    {
        using var r = new Range(trustedTreeNodes);
        byte[] oldData = r.Line(1).ToArray();
        byte[] oldTag = r.Engine.MacTags.Slice(MemoryEncryptionEngine.TagBytes, MemoryEncryptionEngine.TagBytes).ToArray();
        ulong oldVersion = r.Engine.Counters.Get(1);
        IntegrityNodeSnapshot oldNodes = r.Engine.Tree.Store.Snapshot();
        r.Write(1, 0x42);

        // Everything off chip goes back: data, MAC, counter and every tree node. Only the root stayed on chip.
        oldData.CopyTo(r.Line(1));
        oldTag.CopyTo(r.Engine.MacTags[MemoryEncryptionEngine.TagBytes..]);
        r.Engine.Counters.Set(1, oldVersion);
        r.Engine.Tree.Store.Restore(oldNodes);

        Assert.Equal(LineCheck.TreeMismatch, r.Read(1, out _));
    }

    [Fact]
    public void AWriteOverATamperedTreePathIsRefusedAndChangesNothing()
    {
        using var r = new Range(trustedTreeNodes: 0);
        byte[] before = r.Line(9).ToArray();
        r.Engine.Tree.Store.FlipBit(0, 9 / 8, 3);                  // a sibling digest on line 9's path
        Assert.False(r.Engine.Store(9, Address(9), new byte[L], r.Line(9)));
        Assert.Equal(0UL, r.Engine.Counters.Get(9));
        Assert.Equal(before, r.Line(9).ToArray());
    }

    [Fact]
    public void MetadataTrafficFollowsTheCache()
    {
        using var r = new Range();
        Assert.Equal(default, r.Cache.Statistics);                 // sealing at creation is not traffic
        r.Read(0, out _);
        // MAC line, version line, then the tree up to the top off-chip node (3 levels for 256 lines at arity 8).
        Assert.Equal(5, r.Cache.Statistics.Misses);
        r.Read(1, out _);                                          // same MAC and version lines: two hits
        Assert.Equal(5, r.Cache.Statistics.Misses);
        Assert.Equal(2, r.Cache.Statistics.Hits);
        r.Read(8, out _);                                          // next version line misses, its tree node too; level 1 hits
        Assert.Equal(8, r.Cache.Statistics.Misses);
        r.Write(8, 1);                                             // read (2 hits) + MAC, version, 3 tree levels dirtied
        Assert.Equal(8, r.Cache.Statistics.Misses);
        Assert.Equal(0, r.Cache.Statistics.Writebacks);
    }

    [Fact]
    public void ASmallCacheWritesDirtyMetadataBack()
    {
        using var r = new Range(cache: new MetadataCache(256, 1));  // 4 lines, direct-mapped
        for (int i = 0; i < Lines; i += 8)
        {
            r.Write(i, (byte)i);
        }
        MetadataCacheStatistics s = r.Cache.Statistics;
        Assert.True(s.Writebacks > 0, $"{s}");
        Assert.True(s.DramReads > 32, $"{s}");
    }

    [Fact]
    public void InspectionDecryptsWithoutCheckingOrCounting()
    {
        using var r = new Range();
        r.Line(4)[0] ^= 0xFF;
        byte[] p = new byte[L];
        Assert.Equal(LineCheck.Valid, r.Engine.Open(4, Address(4), r.Line(4), p, inspect: true));
        Assert.Equal((byte)(Plain(4)[0] ^ 0xFF), p[0]);
        Assert.Equal(default, r.Cache.Statistics);
        Assert.Equal(0, r.Engine.Failures);
    }

    [Fact]
    public void VersionCountersAreTheTreesLeaves()
    {
        using var r = new Range(trustedTreeNodes: 0);
        r.Write(7, 3);
        Span<byte> leaf = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(leaf, 1);
        Assert.True(r.Engine.Tree.Verify(7, leaf));
        BinaryPrimitives.WriteUInt64LittleEndian(leaf, 0);
        Assert.False(r.Engine.Tree.Verify(7, leaf));
        Assert.Equal(8, r.Engine.Tree.Arity);
    }
}
