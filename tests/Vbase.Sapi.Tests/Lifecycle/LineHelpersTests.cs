using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Sapi.Tests.Lifecycle;

/// <summary>The small shared pieces the architectures use: seed keys and parameter values.</summary>
public sealed class LineHelpersTests
{
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
}
