using System.Security.Cryptography;
using Vbase.Sapi.Toolkit.Crypto;

namespace Vbase.Sapi.Tests.Toolkit.Crypto;

public class AesXtsTests
{
    private const string StealingKey1 = "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0";
    private const string StealingKey2 = "bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0";

    /// <summary>(name, key1, key2, data unit, plaintext, ciphertext).</summary>
    public static TheoryData<string, string, string, ulong, string, string> Vectors() => new()
    {
        // IEEE Std 1619-2007, Annex B.
        {
            "IEEE 1619 vector 1", "00000000000000000000000000000000", "00000000000000000000000000000000", 0,
            new string('0', 64), "917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e"
        },
        {
            "IEEE 1619 vector 2", "11111111111111111111111111111111", "22222222222222222222222222222222", 0x33_3333_3333,
            new string('4', 64), "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0"
        },
        {
            "IEEE 1619 vector 3", StealingKey1, "22222222222222222222222222222222", 0x33_3333_3333,
            new string('4', 64), "af85336b597afc1a900b2eb21ec949d292df4c047e0b21532186a5971a227a89"
        },
        {
            "IEEE 1619 vector 4", "27182818284590452353602874713526", "31415926535897932384626433832795", 0,
            Vector4Plaintext(), Vector4Ciphertext
        },
        {
            "IEEE 1619 vector 15 (17 bytes)", StealingKey1, StealingKey2, 0x12_3456_789a,
            "000102030405060708090a0b0c0d0e0f10", "6c1625db4671522d3d7599601de7ca09ed"
        },
        {
            "IEEE 1619 vector 16 (18 bytes)", StealingKey1, StealingKey2, 0x12_3456_789a,
            "000102030405060708090a0b0c0d0e0f1011", "d069444b7a7e0cab09e24447d24deb1fedbf"
        },
        {
            "IEEE 1619 vector 17 (19 bytes)", StealingKey1, StealingKey2, 0x12_3456_789a,
            "000102030405060708090a0b0c0d0e0f101112", "e5df1351c0544ba1350b3363cd8ef4beedbf9d"
        },
        {
            "IEEE 1619 vector 18 (20 bytes)", StealingKey1, StealingKey2, 0x12_3456_789a,
            "000102030405060708090a0b0c0d0e0f10111213", "9d84c813f719aa2c7be3f66171c7c5c2edbf9dac"
        },
        // Gladman's XTS test values (also in libgcrypt's suite): 31 bytes.
        {
            "Gladman 31 bytes", StealingKey1, StealingKey2, 0x12_3456_789a,
            Counting(31), "d05bc090a8e04f1b3d3ecdd5baec0fd4edbf9dace45d6f6a7306e64be5dd82"
        },
        // Stealing after several full blocks; expected values from OpenSSL (Python cryptography 48).
        {
            "OpenSSL 40 bytes", StealingKey1, StealingKey2, 0x12_3456_789a,
            Counting(40), "edbf9dace45d6f6a7306e64be5dd824b022c3f86973015011a4f0a0e1e0440c92538f5724fcf2424"
        },
        {
            "OpenSSL 49 bytes", StealingKey1, StealingKey2, 0x12_3456_789a,
            Counting(49), "edbf9dace45d6f6a7306e64be5dd824b2538f5724fcf24249ac111ab45ad392340c05decd9efa2b8fea22548665bf67b3a"
        },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void EncryptsKnownAnswers(string name, string key1, string key2, ulong dataUnit, string plaintext, string ciphertext)
    {
        using var xts = new AesXts(Convert.FromHexString(key1), Convert.FromHexString(key2));
        byte[] output = new byte[plaintext.Length / 2];
        xts.Encrypt(Convert.FromHexString(plaintext), output, dataUnit);
        Assert.True(ciphertext == Convert.ToHexStringLower(output), name);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void DecryptsKnownAnswers(string name, string key1, string key2, ulong dataUnit, string plaintext, string ciphertext)
    {
        using var xts = new AesXts(Convert.FromHexString(key1), Convert.FromHexString(key2));
        byte[] output = new byte[ciphertext.Length / 2];
        xts.Decrypt(Convert.FromHexString(ciphertext), output, dataUnit);
        Assert.True(plaintext == Convert.ToHexStringLower(output), name);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(64)]
    [InlineData(300)]
    [InlineData(4096)]
    [InlineData(4100)]
    public void RoundTripsInPlaceForAnyLengthFrom16(int length)
    {
        using var xts = new AesXts(RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32));
        byte[] plaintext = AesCtrTests.Pattern(length);
        byte[] buffer = (byte[])plaintext.Clone();
        xts.Encrypt(buffer, buffer, 77);
        Assert.NotEqual(plaintext, buffer);
        xts.Decrypt(buffer, buffer, 77);
        Assert.Equal(plaintext, buffer);
    }

    [Fact]
    public void TheDataUnitNumberChangesTheCiphertext()
    {
        using var xts = new AesXts(RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(16));
        byte[] plaintext = AesCtrTests.Pattern(64);
        byte[] unit1 = new byte[64];
        byte[] unit2 = new byte[64];
        xts.Encrypt(plaintext, unit1, 1);
        xts.Encrypt(plaintext, unit2, 2);
        for (int block = 0; block < 4; block++)
        {
            Range r = (block * 16)..((block + 1) * 16);
            Assert.NotEqual(unit1[r], unit2[r]);
        }
    }

    [Fact]
    public void AddressFormTweaksEachBlockByItsPhysicalAddress()
    {
        using var xts = new AesXts(RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(16));
        byte[] line = new byte[64]; // four equal (zero) blocks
        byte[] encrypted = new byte[64];
        xts.EncryptAtAddress(line, encrypted, 0x8000_2000);

        for (int block = 0; block < 4; block++)
        {
            // Each block is a one-block data unit numbered by its own address.
            byte[] single = new byte[16];
            xts.Encrypt(line.AsSpan(block * 16, 16), single, 0x8000_2000 + (ulong)(block * 16));
            Assert.Equal(single, encrypted[(block * 16)..((block + 1) * 16)]);
        }
        Assert.Equal(4, encrypted.Chunk(16).Select(Convert.ToHexString).Distinct().Count());

        byte[] elsewhere = new byte[64];
        xts.EncryptAtAddress(line, elsewhere, 0x8000_3000);
        Assert.NotEqual(encrypted, elsewhere);

        byte[] decrypted = new byte[64];
        xts.DecryptAtAddress(encrypted, decrypted, 0x8000_2000);
        Assert.Equal(line, decrypted);
        // A block moved to another address (splicing) no longer decrypts to its plaintext.
        xts.DecryptAtAddress(encrypted, decrypted, 0x8000_2010);
        Assert.NotEqual(line, decrypted);
    }

    [Fact]
    public void AddressFormAcceptsManyBlocksAcrossInternalChunks()
    {
        using var xts = new AesXts(RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(16));
        byte[] page = AesCtrTests.Pattern(4096);
        byte[] encrypted = new byte[4096];
        xts.EncryptAtAddress(page, encrypted, 0x8010_0000);
        byte[] lastBlock = new byte[16];
        xts.EncryptAtAddress(page.AsSpan(4080), lastBlock, 0x8010_0000 + 4080);
        Assert.Equal(encrypted[4080..], lastBlock);
        byte[] decrypted = new byte[4096];
        xts.DecryptAtAddress(encrypted, decrypted, 0x8010_0000);
        Assert.Equal(page, decrypted);
    }

    [Fact]
    public void RejectsBadKeysShortUnitsAndMisalignedAddresses()
    {
        Assert.Throws<ArgumentException>(() => new AesXts(new byte[24], new byte[24]));
        Assert.Throws<ArgumentException>(() => new AesXts(new byte[16], new byte[32]));
        using var xts = new AesXts(new byte[16], new byte[16]);
        Assert.Throws<ArgumentException>(() => xts.Encrypt(new byte[15], new byte[15], 0));
        Assert.Throws<ArgumentException>(() => xts.Encrypt(new byte[32], new byte[31], 0));
        Assert.Throws<ArgumentException>(() => xts.EncryptAtAddress(new byte[16], new byte[16], 0x8000_0008));
        Assert.Throws<ArgumentException>(() => xts.EncryptAtAddress(new byte[20], new byte[20], 0x8000_0000));
    }

    private static string Counting(int length)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)i;
        }
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Vector 4's plaintext: bytes 00..ff, twice.</summary>
    private static string Vector4Plaintext() => Counting(256) + Counting(256);

    private const string Vector4Ciphertext =
        "27a7479befa1d476489f308cd4cfa6e2a96e4bbe3208ff25287dd3819616e89c" +
        "c78cf7f5e543445f8333d8fa7f56000005279fa5d8b5e4ad40e736ddb4d35412" +
        "328063fd2aab53e5ea1e0a9f332500a5df9487d07a5c92cc512c8866c7e860ce" +
        "93fdf166a24912b422976146ae20ce846bb7dc9ba94a767aaef20c0d61ad0265" +
        "5ea92dc4c4e41a8952c651d33174be51a10c421110e6d81588ede82103a252d8" +
        "a750e8768defffed9122810aaeb99f9172af82b604dc4b8e51bcb08235a6f434" +
        "1332e4ca60482a4ba1a03b3e65008fc5da76b70bf1690db4eae29c5f1badd03c" +
        "5ccf2a55d705ddcd86d449511ceb7ec30bf12b1fa35b913f9f747a8afd1b130e" +
        "94bff94effd01a91735ca1726acd0b197c4e5b03393697e126826fb6bbde8ecc" +
        "1e08298516e2c9ed03ff3c1b7860f6de76d4cecd94c8119855ef5297ca67e9f3" +
        "e7ff72b1e99785ca0a7e7720c5b36dc6d72cac9574c8cbbc2f801e23e56fd344" +
        "b07f22154beba0f08ce8891e643ed995c94d9a69c9f1b5f499027a78572aeebd" +
        "74d20cc39881c213ee770b1010e4bea718846977ae119f7a023ab58cca0ad752" +
        "afe656bb3c17256a9f6e9bf19fdd5a38fc82bbe872c5539edb609ef4f79c203e" +
        "bb140f2e583cb2ad15b4aa5b655016a8449277dbd477ef2c8d6c017db738b18d" +
        "eb4a427d1923ce3ff262735779a418f20a282df920147beabe421ee5319d0568";
}
