using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Vbase.Sapi.Toolkit.Macs;

/// <summary>
/// A Carter–Wegman MAC as memory-integrity engines use it (SGX's MEE, AEGIS-style designs): GMAC, i.e. AES-GCM
/// (NIST SP 800-38D) with an empty plaintext and the message as associated data. The tag is
/// GHASH_H(message, zero-padded ‖ its bit length) ⊕ AES_K(nonce ‖ 0^31 ‖ 1), with H = AES_K(0^128): a polynomial
/// universal hash masked by a one-time pad, truncated to its leftmost <see cref="TagBytes"/> bytes (SP 800-38D's
/// MSB_t). Default 8 bytes; 7 (56 bits, as SGX) is allowed.
/// <para>
/// The 96-bit nonce is built from the line's physical address and version so that no (address, version) pair is
/// reused under one key:
/// <code>
/// bytes 0..6  : address, little-endian, 56 bits (RV64 physical addresses are at most 56 bits)
/// bytes 7..11 : version, little-endian, 40 bits
/// </code>
/// Callers must bound their counters to <see cref="MaxVersion"/> (re-key on overflow).
/// </para>
/// One <see cref="AesGcm"/> is reused; calls allocate nothing on the managed heap. Not thread-safe.
/// </summary>
public sealed class CarterWegmanMac : IDisposable
{
    /// <summary>The GCM nonce length in bytes.</summary>
    public const int NonceBytes = 12;
    /// <summary>The untruncated GMAC tag length in bytes.</summary>
    public const int FullTagBytes = 16;
    /// <summary>The smallest truncated tag length allowed, in bytes.</summary>
    public const int MinTagBytes = 4;
    /// <summary>The largest address the nonce can hold (2^56 − 1).</summary>
    public const ulong MaxAddress = (1UL << 56) - 1;
    /// <summary>The largest version the nonce can hold (2^40 − 1).</summary>
    public const ulong MaxVersion = (1UL << 40) - 1;

    private readonly AesGcm gcm;

    /// <param name="key">An AES key of 16, 24 or 32 bytes.</param>
    /// <param name="tagBytes">Tag length, <see cref="MinTagBytes"/>..<see cref="FullTagBytes"/>.</param>
    public CarterWegmanMac(ReadOnlySpan<byte> key, int tagBytes = 8)
    {
        if (tagBytes is < MinTagBytes or > FullTagBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(tagBytes), tagBytes, "a GMAC tag is 4 to 16 bytes here");
        }
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentException("an AES key is 16, 24 or 32 bytes", nameof(key));
        }
        TagBytes = tagBytes;
        // AesGcm only produces 12..16-byte tags; the full tag is computed and truncated here, which is what
        // SP 800-38D's truncation means anyway.
        gcm = new AesGcm(key, FullTagBytes);
    }

    /// <summary>Bytes in a tag.</summary>
    public int TagBytes { get; }

    /// <summary>Writes the 12-byte nonce for (<paramref name="address"/>, <paramref name="version"/>).</summary>
    public static void WriteNonce(Span<byte> nonce, ulong address, ulong version)
    {
        if (nonce.Length < NonceBytes)
        {
            throw new ArgumentException("a GCM nonce is 12 bytes", nameof(nonce));
        }
        if (address > MaxAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, "the nonce holds a 56-bit address");
        }
        if (version > MaxVersion)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "the nonce holds a 40-bit version");
        }
        Span<byte> wide = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(wide, address);
        BinaryPrimitives.WriteUInt64LittleEndian(wide[8..], version);
        wide[..7].CopyTo(nonce);
        wide.Slice(8, 5).CopyTo(nonce[7..]);
    }

    /// <summary>Writes the truncated tag of <paramref name="message"/> at (<paramref name="address"/>,
    /// <paramref name="version"/>) into the first <see cref="TagBytes"/> bytes of <paramref name="tag"/>.</summary>
    public void Compute(ReadOnlySpan<byte> message, ulong address, ulong version, Span<byte> tag)
    {
        Span<byte> nonce = stackalloc byte[NonceBytes];
        WriteNonce(nonce, address, version);
        Compute(message, nonce, tag);
    }

    /// <summary>Writes the truncated tag of <paramref name="message"/> under an explicit 12-byte
    /// <paramref name="nonce"/> (for known-answer tests and callers with their own nonce layout).</summary>
    public void Compute(ReadOnlySpan<byte> message, ReadOnlySpan<byte> nonce, Span<byte> tag)
    {
        if (nonce.Length != NonceBytes)
        {
            throw new ArgumentException("a GCM nonce is 12 bytes", nameof(nonce));
        }
        if (tag.Length < TagBytes)
        {
            throw new ArgumentException($"the tag buffer needs {TagBytes} bytes", nameof(tag));
        }
        Span<byte> full = stackalloc byte[FullTagBytes];
        gcm.Encrypt(nonce, ReadOnlySpan<byte>.Empty, Span<byte>.Empty, full, message);
        full[..TagBytes].CopyTo(tag);
    }

    /// <summary>True if <paramref name="tag"/> (exactly <see cref="TagBytes"/> long) is the tag of
    /// <paramref name="message"/> at (<paramref name="address"/>, <paramref name="version"/>); constant-time.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ulong address, ulong version, ReadOnlySpan<byte> tag)
    {
        Span<byte> expected = stackalloc byte[TagBytes];
        Compute(message, address, version, expected);
        return tag.Length == TagBytes && CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    /// <inheritdoc/>
    public void Dispose() => gcm.Dispose();
}
