using System.Runtime.InteropServices;

namespace Vbase.Sapi.Toolkit.Crypto;

/// <summary>Byte-wise XOR helpers shared by the modes; allocation-free.</summary>
internal static class BlockXor
{
    /// <summary>destination[i] = left[i] ^ right[i] for i &lt; destination.Length. Exact overlap with an input is allowed.</summary>
    public static void Xor(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        int length = destination.Length;
        int i = 0;
        // Eight bytes at a time: memory lines are multiples of 8, so the tail loop rarely runs.
        int wide = length & ~7;
        if (wide > 0)
        {
            ReadOnlySpan<ulong> l = MemoryMarshal.Cast<byte, ulong>(left[..wide]);
            ReadOnlySpan<ulong> r = MemoryMarshal.Cast<byte, ulong>(right[..wide]);
            Span<ulong> d = MemoryMarshal.Cast<byte, ulong>(destination[..wide]);
            for (int w = 0; w < d.Length; w++)
            {
                d[w] = l[w] ^ r[w];
            }
            i = wide;
        }
        for (; i < length; i++)
        {
            destination[i] = (byte)(left[i] ^ right[i]);
        }
    }
}
