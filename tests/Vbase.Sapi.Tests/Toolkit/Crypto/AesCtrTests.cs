using System.Security.Cryptography;
using Vbase.Sapi.Toolkit.Crypto;

namespace Vbase.Sapi.Tests.Toolkit.Crypto;

public class AesCtrTests
{
    // NIST SP 800-38A, Appendix F.5: the shared initial counter block and plaintext.
    private const string Sp80038aCounter = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    private const string Sp80038aPlaintext =
        "6bc1bee22e409f96e93d7e117393172a" + "ae2d8a571e03ac9c9eb76fac45af8e51" +
        "30c81c46a35ce411e5fbc1191a0a52ef" + "f69f2445df4f9b17ad2b417be66c3710";

    public static TheoryData<string, string> Sp80038aVectors() => new()
    {
        // F.5.1 CTR-AES128.Encrypt (F.5.2 decrypts the same pair)
        {
            "2b7e151628aed2a6abf7158809cf4f3c",
            "874d6191b620e3261bef6864990db6ce" + "9806f66b7970fdff8617187bb9fffdff" +
            "5ae4df3edbd5d35e5b4f09020db03eab" + "1e031dda2fbe03d1792170a0f3009cee"
        },
        // F.5.5 CTR-AES256.Encrypt (F.5.6 decrypts the same pair)
        {
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "601ec313775789a5b7a7f504bbf3d228" + "f443e3ca4d62b59aca84e990cacaf5c5" +
            "2b0930daa23de94ce87017ba2d84988d" + "dfc9c58db67aada613c2dd08457941a6"
        },
    };

    [Theory]
    [MemberData(nameof(Sp80038aVectors))]
    public void StandardModeMatchesSp80038aEncryption(string key, string ciphertext)
    {
        using var ctr = new AesCtr(Convert.FromHexString(key));
        byte[] output = new byte[64];
        ctr.Transform(Convert.FromHexString(Sp80038aPlaintext), output, Convert.FromHexString(Sp80038aCounter));
        Assert.Equal(ciphertext, Convert.ToHexStringLower(output));
    }

    [Theory]
    [MemberData(nameof(Sp80038aVectors))]
    public void StandardModeMatchesSp80038aDecryption(string key, string ciphertext)
    {
        using var ctr = new AesCtr(Convert.FromHexString(key));
        byte[] output = new byte[64];
        ctr.Transform(Convert.FromHexString(ciphertext), output, Convert.FromHexString(Sp80038aCounter));
        Assert.Equal(Sp80038aPlaintext, Convert.ToHexStringLower(output));
    }

    [Fact]
    public void StandardModeTruncatesTheKeystreamOfAPartialFinalBlock()
    {
        using var ctr = new AesCtr(Convert.FromHexString("2b7e151628aed2a6abf7158809cf4f3c"));
        byte[] output = new byte[20];
        ctr.Transform(Convert.FromHexString(Sp80038aPlaintext)[..20], output, Convert.FromHexString(Sp80038aCounter));
        Assert.Equal("874d6191b620e3261bef6864990db6ce9806f66b", Convert.ToHexStringLower(output));
    }

    [Fact]
    public void StandardModeIncrementsTheWholeBlockAndWrapsModulo2To128()
    {
        byte[] key = Convert.FromHexString("2b7e151628aed2a6abf7158809cf4f3c");
        using var ctr = new AesCtr(key);
        byte[] icb = Convert.FromHexString("00000000000000ffffffffffffffffff");
        byte[] keystream = new byte[48];
        ctr.Transform(new byte[48], keystream, icb);

        byte[] expectedCounters = Convert.FromHexString(
            "00000000000000ffffffffffffffffff" + "00000000000001000000000000000000" + "00000000000001000000000000000001");
        Assert.Equal(Ecb(key, expectedCounters), keystream);

        byte[] top = new byte[32];
        ctr.Transform(new byte[32], top, Convert.FromHexString("ffffffffffffffffffffffffffffffff"));
        Assert.Equal(Ecb(key, Convert.FromHexString("ffffffffffffffffffffffffffffffff" + "00000000000000000000000000000000")), top);
    }

    [Fact]
    public void StandardModeIsContinuousAcrossInternalChunks()
    {
        using var ctr = new AesCtr(Convert.FromHexString("2b7e151628aed2a6abf7158809cf4f3c"));
        byte[] plaintext = Pattern(1000);
        byte[] whole = new byte[1000];
        ctr.Transform(plaintext, whole, Convert.FromHexString(Sp80038aCounter));

        // Block 20 is keystream AES(ICB + 20): start a fresh call there and compare.
        byte[] icb20 = Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9fafbfcfdff13");
        byte[] tail = new byte[1000 - 320];
        ctr.Transform(plaintext.AsSpan(320), tail, icb20);
        Assert.Equal(whole[320..], tail);
    }

    [Fact]
    public void MemoryFormSeedIsAddressThenCounterLittleEndian()
    {
        byte[] key = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
        using var ctr = new AesCtr(key);
        byte[] keystream = new byte[32];
        ctr.Transform(new byte[32], keystream, address: 0x8000_1040, counter: 0x0102_0304_0506_0708);

        byte[] seeds = Convert.FromHexString(
            "4010008000000000" + "0807060504030201" +   // block 0: address 0x80001040
            "5010008000000000" + "0807060504030201");   // block 1: address 0x80001050
        Assert.Equal(Ecb(key, seeds), keystream);

        byte[] seed = new byte[16];
        AesCtr.WriteSeed(seed, 0x8000_1040, 0x0102_0304_0506_0708);
        Assert.Equal(seeds[..16], seed);
    }

    [Fact]
    public void MemoryFormMatchesAnIndependentImplementation()
    {
        // Expected value from Python cryptography 48 (OpenSSL AES-ECB over the documented seeds).
        using var ctr = new AesCtr(Convert.FromHexString("000102030405060708090a0b0c0d0e0f"));
        byte[] plaintext = new byte[40];
        for (int i = 0; i < plaintext.Length; i++)
        {
            plaintext[i] = (byte)((i * 7) + 3);
        }
        byte[] ciphertext = new byte[40];
        ctr.Transform(plaintext, ciphertext, address: 0x8000_1000, counter: 7);
        Assert.Equal("a32e5b245af791a79422e2a71087d006982ed4b633d61d86f871c8a62a2f3bd8b13d4bc1d764f023",
            Convert.ToHexStringLower(ciphertext));
    }

    [Fact]
    public void MemoryFormRoundTripsInPlaceWithAPartialBlock()
    {
        using var ctr = new AesCtr(RandomNumberGenerator.GetBytes(32));
        byte[] plaintext = Pattern(77);
        byte[] buffer = (byte[])plaintext.Clone();
        ctr.Transform(buffer, buffer, 0x9000_0000, 42);
        Assert.NotEqual(plaintext, buffer);
        ctr.Transform(buffer, buffer, 0x9000_0000, 42);
        Assert.Equal(plaintext, buffer);
    }

    [Fact]
    public void EqualPlaintextsEncryptDifferentlyAtDifferentAddressesAndCounters()
    {
        using var ctr = new AesCtr(RandomNumberGenerator.GetBytes(16));
        byte[] line = Pattern(64);
        byte[] atA = new byte[64];
        byte[] atB = new byte[64];
        byte[] atANextCounter = new byte[64];
        byte[] atAAgain = new byte[64];
        ctr.Transform(line, atA, 0x8000_0000, 5);
        ctr.Transform(line, atB, 0x8000_0040, 5);
        ctr.Transform(line, atANextCounter, 0x8000_0000, 6);
        ctr.Transform(line, atAAgain, 0x8000_0000, 5);

        Assert.Equal(atA, atAAgain); // deterministic for one (address, counter)
        for (int block = 0; block < 4; block++)
        {
            Range r = (block * 16)..((block + 1) * 16);
            Assert.NotEqual(atA[r], atB[r]);
            Assert.NotEqual(atA[r], atANextCounter[r]);
        }

        // Within one line, equal 16-byte blocks differ too: each block's seed has its own address.
        byte[] zeros = new byte[32];
        byte[] encrypted = new byte[32];
        ctr.Transform(zeros, encrypted, 0x8000_0000, 5);
        Assert.NotEqual(encrypted[..16], encrypted[16..]);
    }

    [Fact]
    public void MemoryFormIsContinuousAcrossInternalChunks()
    {
        using var ctr = new AesCtr(RandomNumberGenerator.GetBytes(16));
        byte[] plaintext = Pattern(1000);
        byte[] whole = new byte[1000];
        ctr.Transform(plaintext, whole, 0x8000_0000, 9);
        for (int offset = 0; offset < 1000; offset += 16)
        {
            int length = Math.Min(16, 1000 - offset);
            byte[] piece = new byte[length];
            ctr.Transform(plaintext.AsSpan(offset, length), piece, 0x8000_0000 + (ulong)offset, 9);
            Assert.Equal(whole[offset..(offset + length)], piece);
        }
    }

    [Fact]
    public void RejectsBadKeysCounterBlocksAndShortOutputs()
    {
        Assert.Throws<ArgumentException>(() => new AesCtr(new byte[15]));
        using var ctr = new AesCtr(new byte[16]);
        Assert.Throws<ArgumentException>(() => ctr.Transform(new byte[16], new byte[16], new byte[15]));
        Assert.Throws<ArgumentException>(() => ctr.Transform(new byte[16], new byte[15], 0, 0));
    }

    internal static byte[] Ecb(byte[] key, byte[] blocks)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        return aes.EncryptEcb(blocks, PaddingMode.None);
    }

    internal static byte[] Pattern(int length)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 31) + 17);
        }
        return bytes;
    }
}
