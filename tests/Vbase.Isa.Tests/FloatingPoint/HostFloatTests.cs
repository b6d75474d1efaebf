using Vbase.Isa.Execution;

namespace Vbase.Isa.Tests.FloatingPoint;

/// <summary>
/// The host-FPU fast path (HostFloat) against SoftFloat on random operands weighted towards the edges (exponents near
/// overflow and underflow, equal magnitudes that cancel, fractions full of ones): wherever the fast path accepts an
/// operation its bits are SoftFloat's and SoftFloat raises nothing beyond inexact (already accrued), so the flags
/// agree too; where SoftFloat raises overflow, underflow, invalid or divide-by-zero the fast path has declined.
/// </summary>
public sealed class HostFloatTests
{
    private const int Cases = 200_000;

    private static ulong Operand(Random rng, bool isDouble)
    {
        FloatFormat f = isDouble ? FloatFormat.Double : FloatFormat.Single;
        int maxExponent = f.MaxExponent;
        int exponent = rng.Next(8) switch
        {
            0 => rng.Next(0, 4),                                   // zero, subnormal or the smallest normals
            1 => rng.Next(maxExponent - 3, maxExponent + 1),       // the largest normals, infinity, NaN
            2 => f.Bias + rng.Next(-2, 3),                         // around 1: cancellation
            _ => rng.Next(1, maxExponent),
        };
        ulong fraction = rng.Next(4) switch
        {
            0 => 0,
            1 => f.FractionMask,
            _ => (ulong)rng.NextInt64() & f.FractionMask,
        };
        ulong sign = rng.Next(2) == 0 ? 0 : f.SignBit;
        return sign | ((ulong)exponent << f.FractionBits) | fraction;
    }

    private static (int Accepted, int Declined) Check(bool isDouble, int seed, Func<ulong, ulong, ulong, (bool Ok, ulong Fast)> host,
        Func<ulong, ulong, ulong, (ulong Soft, uint Flags)> soft)
    {
        var rng = new Random(seed);
        int accepted = 0, declined = 0;
        for (int i = 0; i < Cases; i++)
        {
            ulong a = Operand(rng, isDouble), b = Operand(rng, isDouble), c = Operand(rng, isDouble);
            if (rng.Next(8) == 0)
            {
                b = a;                                              // x - x, x / x
            }
            (bool ok, ulong fast) = host(a, b, c);
            (ulong expected, uint flags) = soft(a, b, c);
            if (ok)
            {
                accepted++;
                Assert.True(fast == expected, $"0x{a:x} 0x{b:x} 0x{c:x}: host 0x{fast:x}, SoftFloat 0x{expected:x}");
                Assert.True((flags & ~FloatFlags.Inexact) == 0, $"0x{a:x} 0x{b:x} 0x{c:x}: accepted but SoftFloat raised 0x{flags:x}");
            }
            else
            {
                declined++;
            }
        }
        return (accepted, declined);
    }

    /// <summary>(HostFloatOp as a number: the enum is internal to the ISA, a test's parameters are public.)</summary>
    public static TheoryData<int, bool> Binaries()
    {
        var data = new TheoryData<int, bool>();
        foreach (HostFloatOp op in Enum.GetValues<HostFloatOp>())
        {
            data.Add((int)op, true);
            data.Add((int)op, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public void BinaryOperationsAgreeWithSoftFloatWhereverTheFastPathAccepts(int opNumber, bool isDouble)
    {
        var op = (HostFloatOp)opNumber;
        FloatFormat f = isDouble ? FloatFormat.Double : FloatFormat.Single;
        (int accepted, int declined) = Check(isDouble, 100 + (int)op * 2 + (isDouble ? 1 : 0),
            (a, b, _) => (HostFloat.TryBinary(op, isDouble, a, b, out ulong r), r),
            (a, b, _) =>
            {
                uint flags = 0;
                ulong r = op switch
                {
                    HostFloatOp.Add => SoftFloat.Add(a, b, f, RoundingModes.NearestEven, ref flags),
                    HostFloatOp.Sub => SoftFloat.Sub(a, b, f, RoundingModes.NearestEven, ref flags),
                    HostFloatOp.Mul => SoftFloat.Mul(a, b, f, RoundingModes.NearestEven, ref flags),
                    _ => SoftFloat.Div(a, b, f, RoundingModes.NearestEven, ref flags),
                };
                return (r, flags);
            });
        Assert.True(accepted > Cases / 4, $"only {accepted} accepted");   // the test exercises both sides
        Assert.True(declined > Cases / 10, $"only {declined} declined");
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(true, true, true)]
    [InlineData(false, false, true)]
    [InlineData(false, true, false)]
    public void FusedMultiplyAddsAgreeWithSoftFloat(bool isDouble, bool negateProduct, bool negateAddend)
    {
        FloatFormat f = isDouble ? FloatFormat.Double : FloatFormat.Single;
        (int accepted, _) = Check(isDouble, 200 + (isDouble ? 1 : 0) + (negateProduct ? 2 : 0) + (negateAddend ? 4 : 0),
            (a, b, c) => (HostFloat.TryFused(isDouble, a, b, c, negateProduct, negateAddend, out ulong r), r),
            (a, b, c) =>
            {
                uint flags = 0;
                ulong r = SoftFloat.MulAdd(a, b, c, negateProduct, negateAddend, f, RoundingModes.NearestEven, ref flags);
                return (r, flags);
            });
        Assert.True(accepted > Cases / 10, $"only {accepted} accepted");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SquareRootsAgreeWithSoftFloat(bool isDouble)
    {
        FloatFormat f = isDouble ? FloatFormat.Double : FloatFormat.Single;
        (int accepted, _) = Check(isDouble, 300 + (isDouble ? 1 : 0),
            (a, _, _) => (HostFloat.TrySqrt(isDouble, a, out ulong r), r),
            (a, _, _) =>
            {
                uint flags = 0;
                ulong r = SoftFloat.Sqrt(a, f, RoundingModes.NearestEven, ref flags);
                return (r, flags);
            });
        Assert.True(accepted > Cases / 4, $"only {accepted} accepted");
    }

    [Fact]
    public void TheFastPathIsTriedOnlyUnderRoundToNearestEvenWithInexactAccrued()
    {
        Assert.True(HostFloat.Applies(RoundingModes.NearestEven, FloatFlags.Inexact));
        Assert.False(HostFloat.Applies(RoundingModes.NearestEven, 0));
        Assert.False(HostFloat.Applies(RoundingModes.TowardZero, FloatFlags.Inexact));
        Assert.False(HostFloat.Applies(RoundingModes.NearestMaxMagnitude, FloatFlags.Inexact | FloatFlags.Overflow));
    }
}
