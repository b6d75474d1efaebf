using System.Buffers.Binary;

namespace Vbase.Sapi.Toolkit.Crypto;

/// <summary>
/// Key material from the run's seed, so that runs are reproducible and each architecture (each
/// <c>label</c>) has keys of its own. Not a KDF: the simulated processor's secret, not a real one.
/// </summary>
public static class SeedKeys
{
    /// <summary>
    /// Fills <paramref name="key"/> (16 or 32 bytes) with little-endian words: <c>seed ^ label</c>,
    /// <c>~seed × 0x9E3779B97F4A7C15</c>, and for 32 bytes <c>seed × 0xC2B2AE3D27D4EB4F</c> and <paramref name="tag"/>.
    /// </summary>
    public static void Derive(ulong seed, ulong label, Span<byte> key, ulong tag = 0)
    {
        if (key.Length is not (16 or 32))
        {
            throw new ArgumentException("a key of 16 or 32 bytes", nameof(key));
        }
        BinaryPrimitives.WriteUInt64LittleEndian(key, seed ^ label);
        BinaryPrimitives.WriteUInt64LittleEndian(key[8..], ~seed * 0x9E37_79B9_7F4A_7C15UL);
        if (key.Length == 32)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(key[16..], seed * 0xC2B2_AE3D_27D4_EB4FUL);
            BinaryPrimitives.WriteUInt64LittleEndian(key[24..], tag);
        }
    }
}
