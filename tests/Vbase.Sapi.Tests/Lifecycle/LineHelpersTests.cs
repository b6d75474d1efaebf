using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Lines;
using Vbase.Sapi.Toolkit.Metadata;
using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Sapi.Tests.Lifecycle;

/// <summary>The small shared pieces the architectures moved onto with the lifecycle base class.</summary>
public sealed class LineHelpersTests
{
    private static List<AccessLine> Lines(int offset, int length, int regionPage = 0, int lineBytes = 64)
    {
        var access = new MemoryAccessContext
        {
            Accessor = Accessor.GuestUser,
            Kind = AccessKind.Load,
            Domain = new DomainId(1),
            Initiator = new DomainId(1),
            Gfn = new Gfn(0x80300),
            Mfn = new Mfn(0x216),
            Offset = offset,
            Region = null!,   // not consulted
            RegionPage = regionPage,
            Time = 0,
        };
        var lines = new List<AccessLine>();
        foreach (AccessLine line in AccessLines.Of(access, length, lineBytes))
        {
            lines.Add(line);
        }
        return lines;
    }

    [Fact]
    public void AnAlignedAccessInsideOneLineIsOnePiece()
    {
        AccessLine line = Assert.Single(Lines(128, 8, regionPage: 2));
        Assert.Equal(new AccessLine(Start: 128, Position: 128, Count: 8, DataOffset: 0, Index: (2 * 64) + 2, Address: 0x216_080UL), line);
        Assert.Equal(0, line.InLine);
    }

    [Fact]
    public void AMisalignedAccessSplitsAtTheLineBoundary()
    {
        List<AccessLine> lines = Lines(60, 8);
        Assert.Equal(2, lines.Count);
        Assert.Equal((0, 60, 4, 0, 60), (lines[0].Start, lines[0].Position, lines[0].Count, lines[0].DataOffset, lines[0].InLine));
        Assert.Equal((64, 64, 4, 4, 0), (lines[1].Start, lines[1].Position, lines[1].Count, lines[1].DataOffset, lines[1].InLine));
        Assert.Equal(new[] { 0, 1 }, lines.Select(l => l.Index));
    }

    [Fact]
    public void APageCopyIsEveryLineAndAnEmptyAccessNone()
    {
        List<AccessLine> page = Lines(0, PageSize.Bytes);
        Assert.Equal(PageSize.Bytes / 64, page.Count);
        Assert.All(page, l => Assert.Equal(64, l.Count));
        Assert.Equal(PageSize.Bytes - 64, page[^1].DataOffset);
        Assert.Empty(Lines(100, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Lines(0, 8, lineBytes: 48));
    }

    [Fact]
    public void SeedKeysAreTheWordsTheArchitecturesAlwaysWrote()
    {
        Span<byte> key = stackalloc byte[32];
        SeedKeys.Derive(5, 0x10, key, tag: 0x99);
        Assert.Equal(5UL ^ 0x10, BitConverter.ToUInt64(key));
        Assert.Equal(unchecked(~5UL * 0x9E37_79B9_7F4A_7C15UL), BitConverter.ToUInt64(key[8..]));
        Assert.Equal(unchecked(5UL * 0xC2B2_AE3D_27D4_EB4FUL), BitConverter.ToUInt64(key[16..]));
        Assert.Equal(0x99UL, BitConverter.ToUInt64(key[24..]));
        byte[] shortKey = new byte[16];
        SeedKeys.Derive(5, 0x10, shortKey);
        Assert.Equal(key[..16].ToArray(), shortKey);
        Assert.Throws<ArgumentException>(() => SeedKeys.Derive(5, 0x10, new byte[24]));
    }

    [Fact]
    public void ParameterValuesParseRangesAndNameUnknownParameters()
    {
        Assert.Equal(32768, ParameterValues.Integer("metadata-cache-bytes", "32_768", 64, 1 << 26));
        ArgumentException bad = Assert.Throws<ArgumentException>(() => ParameterValues.Integer("mac-bytes", "9", 4, 8));
        Assert.StartsWith("mac-bytes is an integer from 4 to 8, not '9'", bad.Message, StringComparison.Ordinal);
        ArgumentException unknown = ParameterValues.Unknown("xom", "arity", ["mac-bytes", "mac-store"]);
        Assert.StartsWith("xom has no parameter 'arity' (it has: mac-bytes, mac-store)", unknown.Message, StringComparison.Ordinal);
        Assert.Equal("options", unknown.ParamName);
    }

    [Fact]
    public void TrafficFromAMetadataCacheCountsItsMissesAsReads()
    {
        var cache = new MetadataCache(1024, 2);
        cache.Access(0, isWrite: false);
        cache.Access(0, isWrite: false);
        Assert.Equal(new MetadataTraffic(7, 1, 0, 1, 1), cache.Traffic(7));
    }
}
