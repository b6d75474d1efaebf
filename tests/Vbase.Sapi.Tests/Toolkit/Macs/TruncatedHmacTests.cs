using System.Security.Cryptography;
using System.Text;
using Vbase.Sapi.Toolkit.Macs;

namespace Vbase.Sapi.Tests.Toolkit.Macs;

public class TruncatedHmacTests
{
    /// <summary>RFC 4231 §4.2 and §4.3: (key, data, HMAC-SHA-256).</summary>
    public static TheoryData<string, string, string> Rfc4231() => new()
    {
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
    };

    [Theory]
    [MemberData(nameof(Rfc4231))]
    public void FullLengthTagMatchesRfc4231(string key, string data, string mac)
    {
        using var hmac = new TruncatedHmac(Convert.FromHexString(key), tagBytes: 32);
        byte[] tag = new byte[32];
        hmac.Compute(Convert.FromHexString(data), tag);
        Assert.Equal(mac, Convert.ToHexStringLower(tag));
    }

    [Theory]
    [MemberData(nameof(Rfc4231))]
    public void TruncatedTagIsTheLeftmostBytes(string key, string data, string mac)
    {
        // RFC 4231 §4.6 (test case 5) defines truncation as keeping the leftmost bits.
        for (int bytes = TruncatedHmac.MinTagBytes; bytes <= TruncatedHmac.MaxTagBytes; bytes++)
        {
            using var hmac = new TruncatedHmac(Convert.FromHexString(key), bytes);
            byte[] tag = new byte[bytes];
            hmac.Compute(Convert.FromHexString(data), tag);
            Assert.Equal(mac[..(bytes * 2)], Convert.ToHexStringLower(tag));
        }
    }

    [Fact]
    public void MatchesRfc4231TestCase5TruncatedTo128Bits()
    {
        using var hmac = new TruncatedHmac(Convert.FromHexString("0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"), tagBytes: 16);
        byte[] tag = new byte[16];
        hmac.Compute(Encoding.ASCII.GetBytes("Test With Truncation"), tag);
        Assert.Equal("a3b6167473100ee06e0c796c2955552b", Convert.ToHexStringLower(tag));
    }

    [Fact]
    public void BoundFormMacsAddressCounterThenMessage()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        using var hmac = new TruncatedHmac(key, tagBytes: 8);
        byte[] line = RandomNumberGenerator.GetBytes(64);
        byte[] tag = new byte[8];
        hmac.Compute(line, address: 0x8000_0040, counter: 3, tag);

        byte[] prefixed = [.. Convert.FromHexString("4000008000000000" + "0300000000000000"), .. line];
        Assert.Equal(HMACSHA256.HashData(key, prefixed)[..8], tag);
    }

    [Fact]
    public void VerifyRejectsAFlippedBitAWrongAddressAWrongCounterAndAWrongLength()
    {
        using var hmac = new TruncatedHmac(RandomNumberGenerator.GetBytes(32), tagBytes: 8);
        byte[] line = RandomNumberGenerator.GetBytes(64);
        byte[] tag = new byte[8];
        hmac.Compute(line, 0x8000_0000, 10, tag);
        Assert.True(hmac.Verify(line, 0x8000_0000, 10, tag));

        for (int bit = 0; bit < line.Length * 8; bit += 37)
        {
            byte[] tampered = (byte[])line.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(hmac.Verify(tampered, 0x8000_0000, 10, tag));
        }
        Assert.False(hmac.Verify(line, 0x8000_0040, 10, tag)); // spliced to another line
        Assert.False(hmac.Verify(line, 0x8000_0000, 9, tag));  // replayed under an old counter
        Assert.False(hmac.Verify(line, 0x8000_0000, 10, tag.AsSpan(0, 7)));

        byte[] unbound = new byte[8];
        hmac.Compute(line, unbound);
        Assert.True(hmac.Verify(line, unbound));
        unbound[0] ^= 1;
        Assert.False(hmac.Verify(line, unbound));
    }

    [Fact]
    public void RejectsTagLengthsOutside4To32()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedHmac(new byte[32], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedHmac(new byte[32], 33));
        using var hmac = new TruncatedHmac(new byte[32], 8);
        Assert.Throws<ArgumentException>(() => hmac.Compute(new byte[4], new byte[7]));
    }
}
