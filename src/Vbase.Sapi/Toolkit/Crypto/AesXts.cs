using System.Buffers.Binary;

namespace Vbase.Sapi.Toolkit.Crypto;

/// <summary>
/// XTS-AES (IEEE Std 1619, NIST SP 800-38E), built on the platform's AES (System.Security.Cryptography) in ECB mode.
/// A data unit of at least 16 bytes is encrypted under a 128-bit tweak: the data-unit sequence number as a
/// little-endian integer (the <see cref="ulong"/> fills the low 8 bytes, the high 8 are zero). Block j uses the tweak
/// T_j = AES_K2(tweak) · α^j in GF(2^128); a trailing partial block uses ciphertext stealing, so the ciphertext is
/// exactly as long as the plaintext.
/// <para>
/// <see cref="EncryptAtAddress"/> / <see cref="DecryptAtAddress"/> give the SEV-style memory form: every 16-byte block
/// is its own data unit, tweaked by its physical address, so blocks can be read and written independently and the same
/// plaintext encrypts differently at every address.
/// </para>
/// Calls allocate nothing on the managed heap. Not thread-safe: use one instance per engine.
/// </summary>
public sealed class AesXts : IDisposable
{
    /// <summary>The AES block size in bytes; also the smallest data unit.</summary>
    public const int BlockBytes = 16;

    private const int ChunkBytes = EcbCipher.ChunkBytes;
    private const int ChunkBlocks = ChunkBytes / BlockBytes;
    // x^128 = x^7 + x^2 + x + 1: the feedback when doubling a tweak overflows (IEEE 1619 §5.2).
    private const ulong GfFeedback = 0x87;

    private readonly EcbCipher dataCipher;
    private readonly EcbCipher tweakCipher;

    /// <param name="dataKey">Key1, which encrypts the data: 16 bytes (XTS-AES-128) or 32 bytes (XTS-AES-256).</param>
    /// <param name="tweakKey">Key2, which encrypts the tweak: the same length as <paramref name="dataKey"/>.</param>
    public AesXts(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> tweakKey)
    {
        if (dataKey.Length is not (16 or 32))
        {
            throw new ArgumentException("an XTS-AES key half is 16 or 32 bytes", nameof(dataKey));
        }
        if (tweakKey.Length != dataKey.Length)
        {
            throw new ArgumentException("both XTS key halves have the same length", nameof(tweakKey));
        }
        dataCipher = new EcbCipher(dataKey, withDecryption: true);
        tweakCipher = new EcbCipher(tweakKey, withDecryption: false);
    }

    /// <summary>Encrypts one data unit (at least 16 bytes; any length beyond that).</summary>
    /// <param name="dataUnit">The data-unit sequence number (the tweak).</param>
    public void Encrypt(ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, ulong dataUnit) =>
        Transform(plaintext, ciphertext, dataUnit, encrypt: true);

    /// <summary>Decrypts one data unit produced by <see cref="Encrypt"/> with the same <paramref name="dataUnit"/>.</summary>
    public void Decrypt(ReadOnlySpan<byte> ciphertext, Span<byte> plaintext, ulong dataUnit) =>
        Transform(ciphertext, plaintext, dataUnit, encrypt: false);

    /// <summary>
    /// SEV-style memory encryption: <paramref name="plaintext"/> (a multiple of 16 bytes) lies at the 16-byte-aligned
    /// <paramref name="physicalAddress"/>; the block at byte offset i is encrypted as a one-block data unit whose
    /// sequence number is physicalAddress + i. Moving a block to another address therefore changes its decryption.
    /// </summary>
    public void EncryptAtAddress(ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, ulong physicalAddress) =>
        TransformAtAddress(plaintext, ciphertext, physicalAddress, encrypt: true);

    /// <summary>Inverse of <see cref="EncryptAtAddress"/> for the same <paramref name="physicalAddress"/>.</summary>
    public void DecryptAtAddress(ReadOnlySpan<byte> ciphertext, Span<byte> plaintext, ulong physicalAddress) =>
        TransformAtAddress(ciphertext, plaintext, physicalAddress, encrypt: false);

    /// <inheritdoc/>
    public void Dispose()
    {
        dataCipher.Dispose();
        tweakCipher.Dispose();
    }

    private void TransformAtAddress(ReadOnlySpan<byte> input, Span<byte> output, ulong physicalAddress, bool encrypt)
    {
        if (physicalAddress % BlockBytes != 0)
        {
            throw new ArgumentException("the address must be 16-byte aligned", nameof(physicalAddress));
        }
        if (input.Length % BlockBytes != 0)
        {
            throw new ArgumentException("address-tweaked data is a whole number of 16-byte blocks", nameof(input));
        }
        CheckOutput(input, output);
        Span<byte> units = stackalloc byte[ChunkBytes];
        Span<byte> tweaks = stackalloc byte[ChunkBytes];
        Span<byte> work = stackalloc byte[ChunkBytes];
        for (int offset = 0; offset < input.Length; offset += ChunkBytes)
        {
            int bytes = Math.Min(ChunkBytes, input.Length - offset);
            units[..bytes].Clear();
            for (int b = 0; b < bytes; b += BlockBytes)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(units[b..], physicalAddress + (ulong)(offset + b));
            }
            // One ECB call encrypts all the blocks' tweaks (each block is data unit 0-th block, so α^0 = 1).
            tweakCipher.Encrypt(units[..bytes], tweaks[..bytes]);
            XexBlocks(input.Slice(offset, bytes), output.Slice(offset, bytes), tweaks[..bytes], work, encrypt);
        }
    }

    private void Transform(ReadOnlySpan<byte> input, Span<byte> output, ulong dataUnit, bool encrypt)
    {
        if (input.Length < BlockBytes)
        {
            throw new ArgumentException("an XTS data unit is at least 16 bytes", nameof(input));
        }
        CheckOutput(input, output);

        Span<byte> tweak = stackalloc byte[BlockBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(tweak, dataUnit);
        BinaryPrimitives.WriteUInt64LittleEndian(tweak[8..], 0);
        tweakCipher.Encrypt(tweak, tweak);
        ulong tweakLow = BinaryPrimitives.ReadUInt64LittleEndian(tweak);
        ulong tweakHigh = BinaryPrimitives.ReadUInt64LittleEndian(tweak[8..]);

        int partial = input.Length % BlockBytes;
        int fullBlocks = input.Length / BlockBytes;
        // With stealing, the last full block is handled together with the partial one.
        int plainBlocks = partial == 0 ? fullBlocks : fullBlocks - 1;

        Span<byte> tweaks = stackalloc byte[ChunkBytes];
        Span<byte> work = stackalloc byte[ChunkBytes];
        for (int block = 0; block < plainBlocks; block += ChunkBlocks)
        {
            int blocks = Math.Min(ChunkBlocks, plainBlocks - block);
            for (int b = 0; b < blocks; b++)
            {
                WriteTweak(tweaks.Slice(b * BlockBytes), tweakLow, tweakHigh);
                MultiplyByAlpha(ref tweakLow, ref tweakHigh);
            }
            int bytes = blocks * BlockBytes;
            int offset = block * BlockBytes;
            XexBlocks(input.Slice(offset, bytes), output.Slice(offset, bytes), tweaks[..bytes], work, encrypt);
        }
        if (partial == 0)
        {
            return;
        }

        // Ciphertext stealing (IEEE 1619 §5.3.2 / §5.4.2). The tweaks are T_{m-1} (last full block) and T_m.
        Span<byte> tweakLast = stackalloc byte[BlockBytes];
        Span<byte> tweakNext = stackalloc byte[BlockBytes];
        WriteTweak(tweakLast, tweakLow, tweakHigh);
        MultiplyByAlpha(ref tweakLow, ref tweakHigh);
        WriteTweak(tweakNext, tweakLow, tweakHigh);

        int lastFull = plainBlocks * BlockBytes;
        int tail = lastFull + BlockBytes;
        Span<byte> stolen = stackalloc byte[BlockBytes];
        Span<byte> merged = stackalloc byte[BlockBytes];
        // Encryption uses T_{m-1} then T_m; decryption must undo them in the reverse order.
        XexBlocks(input.Slice(lastFull, BlockBytes), stolen, encrypt ? tweakLast : tweakNext, work, encrypt);
        input.Slice(tail, partial).CopyTo(merged);
        stolen[partial..].CopyTo(merged[partial..]);
        // Read the whole input before writing: output may be the same buffer as input.
        stolen[..partial].CopyTo(output.Slice(tail, partial));
        XexBlocks(merged, output.Slice(lastFull, BlockBytes), encrypt ? tweakNext : tweakLast, work, encrypt);
    }

    /// <summary>output = E_K1(input ⊕ T) ⊕ T per block (or D_K1 for decryption), for whole blocks.</summary>
    private void XexBlocks(ReadOnlySpan<byte> input, Span<byte> output, ReadOnlySpan<byte> tweaks, Span<byte> work, bool encrypt)
    {
        int bytes = input.Length;
        Span<byte> buffer = work[..bytes];
        BlockXor.Xor(input, tweaks, buffer);
        if (encrypt)
        {
            dataCipher.Encrypt(buffer, buffer);
        }
        else
        {
            dataCipher.Decrypt(buffer, buffer);
        }
        BlockXor.Xor(buffer, tweaks, output[..bytes]);
    }

    private static void WriteTweak(Span<byte> destination, ulong low, ulong high)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, low);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], high);
    }

    /// <summary>Multiplies the tweak by α (x) in GF(2^128), little-endian byte order as IEEE 1619 §5.2 specifies.</summary>
    private static void MultiplyByAlpha(ref ulong low, ref ulong high)
    {
        ulong carry = high >> 63;
        high = (high << 1) | (low >> 63);
        low = (low << 1) ^ (carry * GfFeedback);
    }

    private static void CheckOutput(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < input.Length)
        {
            throw new ArgumentException("the output is shorter than the input", nameof(output));
        }
    }
}
