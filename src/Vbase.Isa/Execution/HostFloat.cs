using System.Runtime.CompilerServices;

namespace Vbase.Isa.Execution;

/// <summary>The arithmetic <see cref="HostFloat"/> can do on the host's FPU.</summary>
internal enum HostFloatOp : byte
{
    Add,
    Sub,
    Mul,
    Div,
}

/// <summary>
/// The host FPU where it gives exactly what SoftFloat would (QEMU's "hardfloat" idea, written here because it sits on
/// the FP hot path): round-to-nearest-even only (the host's mode), every operand a normal number (so no NaN, infinity,
/// zero or subnormal goes in, and no invalid or divide-by-zero can come out), the accrued inexact flag already set
/// (so whether this result is inexact changes nothing), and a result that is normal again and above the lowest binade
/// (an infinity would be an overflow, a zero, a subnormal or the smallest normals may be an underflow: those go back to
/// SoftFloat, which sets the flags). .NET's double and
/// float arithmetic and Math(F).FusedMultiplyAdd and Sqrt are IEEE 754 operations rounded to nearest even, and single
/// precision is computed as single (no double rounding), so under these conditions the bits and the flags are
/// SoftFloat's. Each method returns false when the conditions do not hold; the caller then uses SoftFloat.
/// </summary>
internal static class HostFloat
{
    private const ulong DoubleExponent = 0x7FF0_0000_0000_0000;
    private const uint SingleExponent = 0x7F80_0000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool NormalDouble(ulong bits)
    {
        ulong e = bits & DoubleExponent;
        return e != 0 && e != DoubleExponent;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool NormalSingle(ulong bits)
    {
        uint e = (uint)bits & SingleExponent;
        return e != 0 && e != SingleExponent;
    }

    // A result in the lowest binade may have been tiny before it rounded up to the smallest normal (RISC-V detects
    // tininess after rounding with an unbounded exponent: 0.5 × -(2 - 2^-52)·2^-1022 rounds to -2^-1022 and underflows),
    // so results must sit above it.
    private const ulong DoubleLowestBinade = 0x0010_0000_0000_0000;
    private const uint SingleLowestBinade = 0x0080_0000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SafeDouble(ulong bits)
    {
        ulong e = bits & DoubleExponent;
        return e > DoubleLowestBinade && e != DoubleExponent;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SafeSingle(ulong bits)
    {
        uint e = (uint)bits & SingleExponent;
        return e > SingleLowestBinade && e != SingleExponent;
    }

    /// <summary>Whether the fast path may be tried at all: RNE and NX already accrued.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Applies(int rm, uint fflags) => rm == RoundingModes.NearestEven && (fflags & FloatFlags.Inexact) != 0;

    public static bool TryBinary(HostFloatOp op, bool isDouble, ulong a, ulong b, out ulong result)
    {
        if (isDouble)
        {
            if (NormalDouble(a) && NormalDouble(b))
            {
                double x = BitConverter.UInt64BitsToDouble(a), y = BitConverter.UInt64BitsToDouble(b);
                double r = op switch { HostFloatOp.Add => x + y, HostFloatOp.Sub => x - y, HostFloatOp.Mul => x * y, _ => x / y };
                result = BitConverter.DoubleToUInt64Bits(r);
                return SafeDouble(result);
            }
        }
        else if (NormalSingle(a) && NormalSingle(b))
        {
            float x = BitConverter.UInt32BitsToSingle((uint)a), y = BitConverter.UInt32BitsToSingle((uint)b);
            float r = op switch { HostFloatOp.Add => x + y, HostFloatOp.Sub => x - y, HostFloatOp.Mul => x * y, _ => x / y };
            result = BitConverter.SingleToUInt32Bits(r);
            return SafeSingle(result);
        }
        result = 0;
        return false;
    }

    /// <summary>(±a·b) ± c, fused.</summary>
    public static bool TryFused(bool isDouble, ulong a, ulong b, ulong c, bool negateProduct, bool negateAddend, out ulong result)
    {
        if (isDouble)
        {
            if (NormalDouble(a) && NormalDouble(b) && NormalDouble(c))
            {
                double x = BitConverter.UInt64BitsToDouble(a), y = BitConverter.UInt64BitsToDouble(b), z = BitConverter.UInt64BitsToDouble(c);
                double r = Math.FusedMultiplyAdd(negateProduct ? -x : x, y, negateAddend ? -z : z);
                result = BitConverter.DoubleToUInt64Bits(r);
                return SafeDouble(result);
            }
        }
        else if (NormalSingle(a) && NormalSingle(b) && NormalSingle(c))
        {
            float x = BitConverter.UInt32BitsToSingle((uint)a), y = BitConverter.UInt32BitsToSingle((uint)b), z = BitConverter.UInt32BitsToSingle((uint)c);
            float r = MathF.FusedMultiplyAdd(negateProduct ? -x : x, y, negateAddend ? -z : z);
            result = BitConverter.SingleToUInt32Bits(r);
            return SafeSingle(result);
        }
        result = 0;
        return false;
    }

    /// <summary>√a of a positive normal a (whose root is always normal).</summary>
    public static bool TrySqrt(bool isDouble, ulong a, out ulong result)
    {
        if (isDouble)
        {
            if (NormalDouble(a) && (long)a > 0)
            {
                result = BitConverter.DoubleToUInt64Bits(Math.Sqrt(BitConverter.UInt64BitsToDouble(a)));
                return true;
            }
        }
        else if (NormalSingle(a) && (int)(uint)a > 0)
        {
            result = BitConverter.SingleToUInt32Bits(MathF.Sqrt(BitConverter.UInt32BitsToSingle((uint)a)));
            return true;
        }
        result = 0;
        return false;
    }
}
