using System.Security.Cryptography;
using Vbase.Sapi.Toolkit.Macs;

namespace Vbase.Sapi.Tests.Toolkit.Macs;

public class CarterWegmanMacTests
{
    /// <summary>GCM with an empty plaintext: (key, IV, AAD, tag).</summary>
    public static TheoryData<string, string, string, string> GmacVectors() => new()
    {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 1.
        { "00000000000000000000000000000000", "000000000000000000000000", "", "58e2fccefa7e3061367f1d57a4e7455a" },
        // NIST CAVP gcmEncryptExtIV128.rsp, [Keylen=128, IVlen=96, PTlen=0, AADlen=128, Taglen=128], Count 0 and 1.
        { "77be63708971c4e240d1cb79e8d77feb", "e0e00f19fed7ba0136a797f3", "7a43ec1d9c0a5a78a0b16533a6213cab", "209fcc8d3675ed938e9c7166709dd946" },
        { "7680c5d3ca6154758e510f4d25b98820", "f8f105f9c3df4965780321f8", "c94c410194c765e3dcc7964379758ed3", "94dca8edfcf90bb74b153c8d48a17930" },
    };

    [Theory]
    [MemberData(nameof(GmacVectors))]
    public void FullTagMatchesGcmKnownAnswers(string key, string iv, string aad, string tag)
    {
        using var mac = new CarterWegmanMac(Convert.FromHexString(key), CarterWegmanMac.FullTagBytes);
        byte[] output = new byte[16];
        mac.Compute(Convert.FromHexString(aad), Convert.FromHexString(iv), output);
        Assert.Equal(tag, Convert.ToHexStringLower(output));
    }

    [Theory]
    [MemberData(nameof(GmacVectors))]
    public void TruncatedTagIsTheLeftmostBytes(string key, string iv, string aad, string tag)
    {
        foreach (int bytes in new[] { 4, 7, 8, 12 })
        {
            using var mac = new CarterWegmanMac(Convert.FromHexString(key), bytes);
            byte[] output = new byte[bytes];
            mac.Compute(Convert.FromHexString(aad), Convert.FromHexString(iv), output);
            Assert.Equal(tag[..(bytes * 2)], Convert.ToHexStringLower(output));
        }
    }

    [Fact]
    public void NonceIs56BitAddressThen40BitVersionLittleEndian()
    {
        byte[] nonce = new byte[12];
        CarterWegmanMac.WriteNonce(nonce, address: 0x00AB_CDEF_0123_4567, version: 0x12_3456_789A);
        Assert.Equal("67452301efcdab" + "9a78563412", Convert.ToHexStringLower(nonce));

        byte[] key = RandomNumberGenerator.GetBytes(16);
        using var mac = new CarterWegmanMac(key, 8);
        byte[] line = RandomNumberGenerator.GetBytes(64);
        byte[] bound = new byte[8];
        byte[] explicitNonce = new byte[8];
        mac.Compute(line, 0x00AB_CDEF_0123_4567, 0x12_3456_789A, bound);
        mac.Compute(line, nonce, explicitNonce);
        Assert.Equal(explicitNonce, bound);

        // Against the platform's GCM directly: the tag of an empty plaintext with the line as associated data.
        using var gcm = new AesGcm(key, 16);
        byte[] full = new byte[16];
        gcm.Encrypt(nonce, ReadOnlySpan<byte>.Empty, Span<byte>.Empty, full, line);
        Assert.Equal(full[..8], bound);
    }

    [Fact]
    public void VerifyRejectsAFlippedCiphertextBitAndOtherAddressesOrVersions()
    {
        using var mac = new CarterWegmanMac(RandomNumberGenerator.GetBytes(16), tagBytes: 7); // SGX-like 56 bits
        byte[] ciphertext = RandomNumberGenerator.GetBytes(64);
        byte[] tag = new byte[7];
        mac.Compute(ciphertext, 0x8000_0000, 4, tag);
        Assert.True(mac.Verify(ciphertext, 0x8000_0000, 4, tag));

        for (int bit = 0; bit < ciphertext.Length * 8; bit++)
        {
            byte[] tampered = (byte[])ciphertext.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(mac.Verify(tampered, 0x8000_0000, 4, tag));
        }
        Assert.False(mac.Verify(ciphertext, 0x8000_0040, 4, tag));
        Assert.False(mac.Verify(ciphertext, 0x8000_0000, 3, tag));
        byte[] badTag = (byte[])tag.Clone();
        badTag[6] ^= 0x80;
        Assert.False(mac.Verify(ciphertext, 0x8000_0000, 4, badTag));
        Assert.False(mac.Verify(ciphertext, 0x8000_0000, 4, tag.AsSpan(0, 6)));
    }

    [Fact]
    public void RejectsOutOfRangeParameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CarterWegmanMac(new byte[16], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CarterWegmanMac(new byte[16], 17));
        Assert.Throws<ArgumentException>(() => new CarterWegmanMac(new byte[20], 8));
        using var mac = new CarterWegmanMac(new byte[16], 8);
        byte[] tag = new byte[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => mac.Compute([], CarterWegmanMac.MaxAddress + 1, 0, tag));
        Assert.Throws<ArgumentOutOfRangeException>(() => mac.Compute([], 0, CarterWegmanMac.MaxVersion + 1, tag));
        mac.Compute([], CarterWegmanMac.MaxAddress, CarterWegmanMac.MaxVersion, tag); // the largest pair fits
        Assert.Throws<ArgumentException>(() => mac.Compute([], new byte[16], tag));
    }
}
