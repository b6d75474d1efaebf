using System.Buffers.Binary;

namespace Vbase.Sapi.Toolkit.Crypto;

/// <summary>
/// AES in counter mode, in two forms:
/// <list type="bullet">
/// <item><description>the standard mode of NIST SP 800-38A §6.5: a 16-byte initial counter block, incremented as one
/// 128-bit big-endian integer (mod 2^128) per block;</description></item>
/// <item><description>the memory-encryption form of AEGIS, SGX's MEE and Bonsai Merkle Trees, where each 16-byte block
/// has its own seed made of its physical address and the line's version counter (see
/// <see cref="Transform(ReadOnlySpan{byte}, Span{byte}, ulong, ulong)"/>).</description></item>
/// </list>
/// Encryption and decryption are the same operation. The AES transform is created once per key; calls allocate nothing on
/// the managed heap (keystream is built on the stack). Not thread-safe: use one instance per engine.
/// </summary>
public sealed class AesCtr : IDisposable
{
    /// <summary>The AES block size in bytes.</summary>
    public const int BlockBytes = 16;

    // Keystream is produced this many bytes per AES call, to amortise the per-call cost of the platform cipher.
    private const int ChunkBytes = EcbCipher.ChunkBytes;

    private readonly EcbCipher cipher;

    /// <param name="key">An AES key of 16, 24 or 32 bytes.</param>
    public AesCtr(ReadOnlySpan<byte> key)
    {
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentException("an AES key is 16, 24 or 32 bytes", nameof(key));
        }
        cipher = new EcbCipher(key, withDecryption: false);
    }

    /// <summary>
    /// Standard CTR mode (SP 800-38A): block j of the input is XORed with AES_K(ICB + j), the addition being on the
    /// whole 128-bit block read big-endian, wrapping mod 2^128. The input may end with a partial block (its keystream
    /// is truncated). <paramref name="input"/> and <paramref name="output"/> may be the same buffer.
    /// </summary>
    /// <param name="initialCounterBlock">The 16-byte initial counter block (ICB).</param>
    public void Transform(ReadOnlySpan<byte> input, Span<byte> output, ReadOnlySpan<byte> initialCounterBlock)
    {
        CheckLengths(input, output);
        if (initialCounterBlock.Length != BlockBytes)
        {
            throw new ArgumentException("the initial counter block is 16 bytes", nameof(initialCounterBlock));
        }
        ulong high = BinaryPrimitives.ReadUInt64BigEndian(initialCounterBlock);
        ulong low = BinaryPrimitives.ReadUInt64BigEndian(initialCounterBlock[8..]);

        Span<byte> counters = stackalloc byte[ChunkBytes];
        Span<byte> keystream = stackalloc byte[ChunkBytes];
        for (int offset = 0; offset < input.Length; offset += ChunkBytes)
        {
            int bytes = Math.Min(ChunkBytes, input.Length - offset);
            int blocks = (bytes + BlockBytes - 1) / BlockBytes;
            for (int b = 0; b < blocks; b++)
            {
                Span<byte> block = counters.Slice(b * BlockBytes, BlockBytes);
                BinaryPrimitives.WriteUInt64BigEndian(block, high);
                BinaryPrimitives.WriteUInt64BigEndian(block[8..], low);
                low++;
                if (low == 0)
                {
                    high++; // carry into the upper half; wraps mod 2^128 like the standard's increment
                }
            }
            int blockBytes = blocks * BlockBytes;
            cipher.Encrypt(counters[..blockBytes], keystream[..blockBytes]);
            BlockXor.Xor(input.Slice(offset, bytes), keystream, output.Slice(offset, bytes));
        }
    }

    /// <summary>
    /// Memory-encryption CTR (AEGIS / SGX MEE / BMT "seed" form). The block that starts at byte offset i of the
    /// input (i = 0, 16, 32, …) is XORed with AES_K(seed), where the 16-byte seed is laid out as:
    /// <code>
    /// bytes 0..7  : address + i, little-endian (the block's own physical address)
    /// bytes 8..15 : counter, little-endian (the line's version / write counter)
    /// </code>
    /// so two blocks get the same keystream only if both their address and their counter are equal: equal plaintexts
    /// at different addresses, or at one address after a write, encrypt differently. The input may end with a
    /// partial block. <paramref name="input"/> and <paramref name="output"/> may be the same buffer.
    /// </summary>
    /// <param name="address">Physical address of the first input byte (normally line-aligned).</param>
    /// <param name="counter">The version counter of the data (the whole 64 bits are used).</param>
    public void Transform(ReadOnlySpan<byte> input, Span<byte> output, ulong address, ulong counter)
    {
        CheckLengths(input, output);
        Span<byte> seeds = stackalloc byte[ChunkBytes];
        Span<byte> keystream = stackalloc byte[ChunkBytes];
        for (int offset = 0; offset < input.Length; offset += ChunkBytes)
        {
            int bytes = Math.Min(ChunkBytes, input.Length - offset);
            int blocks = (bytes + BlockBytes - 1) / BlockBytes;
            for (int b = 0; b < blocks; b++)
            {
                WriteSeed(seeds.Slice(b * BlockBytes, BlockBytes), address + (ulong)(offset + b * BlockBytes), counter);
            }
            int blockBytes = blocks * BlockBytes;
            cipher.Encrypt(seeds[..blockBytes], keystream[..blockBytes]);
            BlockXor.Xor(input.Slice(offset, bytes), keystream, output.Slice(offset, bytes));
        }
    }

    /// <summary>Writes the 16-byte memory-encryption seed: <paramref name="blockAddress"/> (8 bytes LE) then
    /// <paramref name="counter"/> (8 bytes LE).</summary>
    public static void WriteSeed(Span<byte> seed, ulong blockAddress, ulong counter)
    {
        if (seed.Length < BlockBytes)
        {
            throw new ArgumentException("a seed is 16 bytes", nameof(seed));
        }
        BinaryPrimitives.WriteUInt64LittleEndian(seed, blockAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(seed[8..], counter);
    }

    /// <inheritdoc/>
    public void Dispose() => cipher.Dispose();

    private static void CheckLengths(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < input.Length)
        {
            throw new ArgumentException("the output is shorter than the input", nameof(output));
        }
    }
}
