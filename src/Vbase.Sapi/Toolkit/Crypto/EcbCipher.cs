using System.Security.Cryptography;

namespace Vbase.Sapi.Toolkit.Crypto;

/// <summary>
/// Raw AES block encryption/decryption for the modes built here. The platform's ECB transforms are created once and
/// reused: the one-shot <see cref="SymmetricAlgorithm.EncryptEcb(ReadOnlySpan{byte}, Span{byte}, PaddingMode)"/>
/// re-expands the key and allocates on every call, which dominates the cost of encrypting one memory line.
/// Not thread-safe (the staging buffers are shared).
/// </summary>
internal sealed class EcbCipher : IDisposable
{
    public const int BlockBytes = 16;
    /// <summary>The most bytes one call to <see cref="Encrypt"/> or <see cref="Decrypt"/> should pass, so callers can
    /// stage that much on the stack.</summary>
    public const int ChunkBytes = 256;

    private readonly Aes aes;
    private readonly ICryptoTransform encryptor;
    private readonly ICryptoTransform decryptor;
    // ICryptoTransform works on arrays: inputs are staged through these (allocated once).
    private readonly byte[] stageIn = new byte[ChunkBytes];
    private readonly byte[] stageOut = new byte[ChunkBytes];

    public EcbCipher(ReadOnlySpan<byte> key, bool withDecryption)
    {
        aes = Aes.Create();
        aes.SetKey(key);
        aes.Mode = CipherMode.ECB;
        aes.Padding = PaddingMode.None;
        encryptor = aes.CreateEncryptor();
        decryptor = withDecryption ? aes.CreateDecryptor() : encryptor;
    }

    /// <summary>AES-encrypts whole blocks; <paramref name="output"/> may be the same memory as
    /// <paramref name="input"/>.</summary>
    public void Encrypt(ReadOnlySpan<byte> input, Span<byte> output) => Run(encryptor, input, output);

    /// <summary>AES-decrypts whole blocks (only if created with decryption).</summary>
    public void Decrypt(ReadOnlySpan<byte> input, Span<byte> output) => Run(decryptor, input, output);

    public void Dispose()
    {
        encryptor.Dispose();
        if (!ReferenceEquals(decryptor, encryptor))
        {
            decryptor.Dispose();
        }
        aes.Dispose();
    }

    private void Run(ICryptoTransform transform, ReadOnlySpan<byte> input, Span<byte> output)
    {
        for (int offset = 0; offset < input.Length; offset += ChunkBytes)
        {
            int bytes = Math.Min(ChunkBytes, input.Length - offset);
            input.Slice(offset, bytes).CopyTo(stageIn);
            int written = transform.TransformBlock(stageIn, 0, bytes, stageOut, 0);
            if (written != bytes)
            {
                throw new CryptographicException("the ECB transform held back data");
            }
            stageOut.AsSpan(0, bytes).CopyTo(output.Slice(offset, bytes));
        }
    }
}
