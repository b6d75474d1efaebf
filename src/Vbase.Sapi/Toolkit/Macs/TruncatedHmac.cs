using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Vbase.Sapi.Toolkit.Macs;

/// <summary>
/// HMAC-SHA-256 truncated to its leftmost <see cref="TagBytes"/> bytes (RFC 2104 §5, as RFC 4231 test case 5 does).
/// The bound form <see cref="Compute(ReadOnlySpan{byte}, ulong, ulong, Span{byte})"/> MACs
/// <c>address (8 bytes LE) || counter (8 bytes LE) || message</c>, so a valid (data, tag) pair does not verify at
/// another address (splicing) or under another counter (replay). One <see cref="IncrementalHash"/> is reused; calls
/// allocate nothing on the managed heap. Not thread-safe.
/// </summary>
public sealed class TruncatedHmac : IDisposable
{
    /// <summary>The smallest tag length allowed, in bytes.</summary>
    public const int MinTagBytes = 4;
    /// <summary>The largest tag length (the whole SHA-256 output), in bytes.</summary>
    public const int MaxTagBytes = 32;

    private readonly IncrementalHash hmac;

    /// <param name="key">The HMAC key (any length; RFC 2104 hashes keys longer than 64 bytes).</param>
    /// <param name="tagBytes">Tag length, <see cref="MinTagBytes"/>..<see cref="MaxTagBytes"/>.</param>
    public TruncatedHmac(ReadOnlySpan<byte> key, int tagBytes = 8)
    {
        if (tagBytes is < MinTagBytes or > MaxTagBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(tagBytes), tagBytes, "an HMAC-SHA-256 tag is 4 to 32 bytes");
        }
        TagBytes = tagBytes;
        hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
    }

    /// <summary>Bytes in a tag.</summary>
    public int TagBytes { get; }

    /// <summary>Writes the truncated HMAC of <paramref name="message"/> into the first <see cref="TagBytes"/> bytes of
    /// <paramref name="tag"/>.</summary>
    public void Compute(ReadOnlySpan<byte> message, Span<byte> tag)
    {
        CheckTag(tag);
        hmac.AppendData(message);
        Finish(tag);
    }

    /// <summary>Writes the truncated HMAC of <c>address (8 bytes LE) || counter (8 bytes LE) || message</c>.</summary>
    public void Compute(ReadOnlySpan<byte> message, ulong address, ulong counter, Span<byte> tag)
    {
        CheckTag(tag);
        Span<byte> binding = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(binding, address);
        BinaryPrimitives.WriteUInt64LittleEndian(binding[8..], counter);
        hmac.AppendData(binding);
        hmac.AppendData(message);
        Finish(tag);
    }

    /// <summary>True if <paramref name="tag"/> (exactly <see cref="TagBytes"/> long) is the tag of
    /// <paramref name="message"/>. Compared in constant time.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> tag)
    {
        Span<byte> expected = stackalloc byte[TagBytes];
        Compute(message, expected);
        return tag.Length == TagBytes && CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    /// <summary>True if <paramref name="tag"/> is the tag of <paramref name="message"/> bound to
    /// <paramref name="address"/> and <paramref name="counter"/>. Compared in constant time.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ulong address, ulong counter, ReadOnlySpan<byte> tag)
    {
        Span<byte> expected = stackalloc byte[TagBytes];
        Compute(message, address, counter, expected);
        return tag.Length == TagBytes && CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    /// <inheritdoc/>
    public void Dispose() => hmac.Dispose();

    private void Finish(Span<byte> tag)
    {
        Span<byte> full = stackalloc byte[MaxTagBytes];
        hmac.GetHashAndReset(full);
        full[..TagBytes].CopyTo(tag);
    }

    private void CheckTag(Span<byte> tag)
    {
        if (tag.Length < TagBytes)
        {
            throw new ArgumentException($"the tag buffer needs {TagBytes} bytes", nameof(tag));
        }
    }
}
