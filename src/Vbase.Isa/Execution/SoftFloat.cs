using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vbase.Isa.Execution;

/// <summary>A binary interchange format: binary32 (F) or binary64 (D), as its field widths.</summary>
internal readonly struct FloatFormat(int fractionBits, int exponentBits)
{
    public readonly int FractionBits = fractionBits;
    public readonly int ExponentBits = exponentBits;

    public static readonly FloatFormat Single = new(23, 8);
    public static readonly FloatFormat Double = new(52, 11);

    public int Bias => (1 << (ExponentBits - 1)) - 1;
    /// <summary>The all-ones exponent field (infinities and NaNs).</summary>
    public int MaxExponent => (1 << ExponentBits) - 1;
    public ulong SignBit => 1UL << (FractionBits + ExponentBits);
    public ulong FractionMask => (1UL << FractionBits) - 1;
    public ulong QuietBit => 1UL << (FractionBits - 1);
    public ulong Infinity => (ulong)MaxExponent << FractionBits;
    /// <summary>The canonical NaN every RISC-V operation that makes a NaN returns (0x7fc00000, 0x7ff8000000000000).</summary>
    public ulong CanonicalNaN => Infinity | QuietBit;
    public ulong MaxFinite => Infinity - 1;
}

/// <summary>The fflags bits (unprivileged spec, "Floating-Point Control and Status Register").</summary>
internal static class FloatFlags
{
    public const uint Inexact = 1, Underflow = 2, Overflow = 4, DivideByZero = 8, Invalid = 16;
}

/// <summary>The rounding modes, as the rm field and frm encode them (5 and 6 are reserved, 7 is dynamic).</summary>
internal static class RoundingModes
{
    public const int NearestEven = 0, TowardZero = 1, Down = 2, Up = 3, NearestMaxMagnitude = 4, Dynamic = 7;
}

/// <summary>
/// IEEE 754 binary32/binary64 arithmetic computed on the bits, exactly: every rounding mode and every exception
/// flag. Why not the host's double: .NET has neither rounding-mode control nor access to the flags (and x64 and
/// Arm differ in their NaNs), and a single-precision result computed in double and rounded again can differ
/// (double rounding). No NuGet soft-float is a well-kept fit, so this follows the design of Berkeley SoftFloat
/// (Hauser), written afresh: unpack to a sign, an exponent and a significand with guard bits, operate exactly
/// (or with a "sticky" bit for what is shifted out), then round and pack once, in one function for both formats.
/// RISC-V specifics (the spec's F chapter, and SoftFloat's RISCV specialisation): tininess is detected after
/// rounding; every NaN result is the canonical NaN; an invalid 0·∞ in a fused multiply-add is invalid even when
/// the addend is a quiet NaN.
/// </summary>
/// <remarks>
/// Values are passed as their encodings in the low bits of a ulong. Unpacked, a finite nonzero value is
/// <c>sig · 2^(exp − 62)</c> with the leading one of <c>sig</c> at bit 62: binary64 keeps 10 bits below its 53,
/// binary32 39 below its 24, enough for the guard, round and sticky bits of every operation here.
/// </remarks>
internal static class SoftFloat
{
    // ---- Classification ----

    public static bool Sign(ulong a, FloatFormat f) => (a & f.SignBit) != 0;
    private static int ExponentField(ulong a, FloatFormat f) => (int)(a >> f.FractionBits) & f.MaxExponent;
    public static bool IsNaN(ulong a, FloatFormat f) => (a & ~f.SignBit) > f.Infinity;
    public static bool IsSignalingNaN(ulong a, FloatFormat f) => IsNaN(a, f) && (a & f.QuietBit) == 0;
    public static bool IsInfinity(ulong a, FloatFormat f) => (a & ~f.SignBit) == f.Infinity;
    public static bool IsZero(ulong a, FloatFormat f) => (a & ~f.SignBit) == 0;

    private static ulong SignOf(bool negative, FloatFormat f) => negative ? f.SignBit : 0;

    /// <summary>The canonical NaN, raising invalid if either operand is a signalling NaN.</summary>
    private static ulong NaNResult(ulong a, ulong b, FloatFormat f, ref uint flags)
    {
        if (IsSignalingNaN(a, f) || IsSignalingNaN(b, f))
        {
            flags |= FloatFlags.Invalid;
        }
        return f.CanonicalNaN;
    }

    private static ulong Invalid(FloatFormat f, ref uint flags)
    {
        flags |= FloatFlags.Invalid;
        return f.CanonicalNaN;
    }

    /// <summary>A finite nonzero value as sig · 2^(exp − 62), the leading one of sig at bit 62 (subnormals normalised).</summary>
    private static int Unpack(ulong a, FloatFormat f, out ulong sig)
    {
        int e = ExponentField(a, f);
        ulong fraction = a & f.FractionMask;
        if (e == 0)
        {
            int shift = BitOperations.LeadingZeroCount(fraction) - 1;
            sig = fraction << shift;
            return 1 - f.Bias - f.FractionBits - shift + 62;
        }
        sig = (fraction | (1UL << f.FractionBits)) << (62 - f.FractionBits);
        return e - f.Bias;
    }

    private static ulong ShiftRightJam(ulong x, int count) =>
        count <= 0 ? x : count >= 64 ? (x != 0 ? 1UL : 0) : (x >> count) | ((x << (64 - count)) != 0 ? 1UL : 0);

    private static UInt128 ShiftRightJam(UInt128 x, int count) =>
        count <= 0 ? x : count >= 128 ? (x != 0 ? UInt128.One : UInt128.Zero) : (x >> count) | ((x << (128 - count)) != 0 ? UInt128.One : UInt128.Zero);

    /// <summary>Whether the kept bits round away from zero, given the bits below them (<paramref name="half"/> is the halfway value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool RoundsUp(ulong kept, ulong roundBits, ulong half, bool negative, int rm) => rm switch
    {
        RoundingModes.NearestEven => roundBits > half || (roundBits == half && (kept & 1) != 0),
        RoundingModes.TowardZero => false,
        RoundingModes.Down => negative && roundBits != 0,
        RoundingModes.Up => !negative && roundBits != 0,
        _ => roundBits >= half, // NearestMaxMagnitude
    };

    /// <summary>
    /// Rounds sig · 2^(exp − 62) (sig nonzero, its leading one at bit 62 or 63, or lower) to the format and packs it,
    /// raising inexact, underflow (tiny after rounding and inexact) and overflow.
    /// </summary>
    public static ulong RoundPack(bool negative, int exp, ulong sig, FloatFormat f, int rm, ref uint flags)
    {
        if ((sig >> 63) != 0)
        {
            sig = ShiftRightJam(sig, 1);
            exp++;
        }
        else
        {
            int lz = BitOperations.LeadingZeroCount(sig) - 1;
            sig <<= lz;
            exp -= lz;
        }
        int shift = 62 - f.FractionBits; // the bits below the significand's p = FractionBits + 1
        ulong roundMask = (1UL << shift) - 1, half = 1UL << (shift - 1);
        int e = exp + f.Bias;
        if (e >= f.MaxExponent)
        {
            return Overflow(negative, f, rm, ref flags);
        }
        bool tiny = false;
        if (e <= 0)
        {
            // Tiny after rounding: below 2^emin even when rounded to p bits with an unbounded exponent, i.e.
            // unless e = 0 and the significand is all ones and rounds up into 2^emin.
            ulong kept = sig >> shift;
            tiny = e < 0 || kept != (1UL << (f.FractionBits + 1)) - 1 || !RoundsUp(kept, sig & roundMask, half, negative, rm);
            sig = ShiftRightJam(sig, 1 - e);
            e = 1;
        }
        ulong roundBits = sig & roundMask;
        ulong q = sig >> shift;
        if (RoundsUp(q, roundBits, half, negative, rm))
        {
            q++;
        }
        // The leading one of q adds 1 to the exponent field: a carry out of rounding lands in it, and a
        // subnormal that rounds up to 2^emin becomes the smallest normal.
        ulong bits = ((ulong)(e - 1) << f.FractionBits) + q;
        if ((int)(bits >> f.FractionBits) >= f.MaxExponent)
        {
            return Overflow(negative, f, rm, ref flags);
        }
        if (roundBits != 0)
        {
            flags |= FloatFlags.Inexact | (tiny ? FloatFlags.Underflow : 0);
        }
        return bits | SignOf(negative, f);
    }

    private static ulong Overflow(bool negative, FloatFormat f, int rm, ref uint flags)
    {
        flags |= FloatFlags.Overflow | FloatFlags.Inexact;
        bool toInfinity = rm switch
        {
            RoundingModes.TowardZero => false,
            RoundingModes.Down => negative,
            RoundingModes.Up => !negative,
            _ => true,
        };
        return (toInfinity ? f.Infinity : f.MaxFinite) | SignOf(negative, f);
    }

    /// <summary>The zero an exact cancellation gives: +0, or −0 when rounding down (IEEE 754 §6.3).</summary>
    private static ulong CancelledZero(FloatFormat f, int rm) => rm == RoundingModes.Down ? f.SignBit : 0;

    // ---- Arithmetic ----

    public static ulong Add(ulong a, ulong b, FloatFormat f, int rm, ref uint flags) => AddSigned(a, b, false, f, rm, ref flags);
    public static ulong Sub(ulong a, ulong b, FloatFormat f, int rm, ref uint flags) => AddSigned(a, b, true, f, rm, ref flags);

    private static ulong AddSigned(ulong a, ulong b, bool negateB, FloatFormat f, int rm, ref uint flags)
    {
        if (IsNaN(a, f) || IsNaN(b, f))
        {
            return NaNResult(a, b, f, ref flags);
        }
        if (negateB)
        {
            b ^= f.SignBit;
        }
        bool sa = Sign(a, f), sb = Sign(b, f);
        if (IsInfinity(a, f))
        {
            return IsInfinity(b, f) && sa != sb ? Invalid(f, ref flags) : a;
        }
        if (IsInfinity(b, f))
        {
            return b;
        }
        if (IsZero(a, f))
        {
            return IsZero(b, f) && sa != sb ? CancelledZero(f, rm) : b;
        }
        if (IsZero(b, f))
        {
            return a;
        }
        int ea = Unpack(a, f, out ulong siga), eb = Unpack(b, f, out ulong sigb);
        return AddMagnitudes(sa, ea, siga, sb, eb, sigb, f, rm, ref flags);
    }

    private static ulong AddMagnitudes(bool sa, int ea, ulong siga, bool sb, int eb, ulong sigb, FloatFormat f, int rm, ref uint flags)
    {
        if (ea < eb || (ea == eb && siga < sigb))
        {
            (sa, ea, siga, sb, eb, sigb) = (sb, eb, sigb, sa, ea, siga);
        }
        sigb = ShiftRightJam(sigb, ea - eb);
        if (sa == sb)
        {
            return RoundPack(sa, ea, siga + sigb, f, rm, ref flags); // may carry into bit 63: RoundPack shifts it back
        }
        ulong difference = siga - sigb;
        return difference == 0 ? CancelledZero(f, rm) : RoundPack(sa, ea, difference, f, rm, ref flags);
    }

    public static ulong Mul(ulong a, ulong b, FloatFormat f, int rm, ref uint flags)
    {
        if (IsNaN(a, f) || IsNaN(b, f))
        {
            return NaNResult(a, b, f, ref flags);
        }
        bool negative = Sign(a, f) != Sign(b, f);
        if (IsInfinity(a, f) || IsInfinity(b, f))
        {
            return IsZero(a, f) || IsZero(b, f) ? Invalid(f, ref flags) : f.Infinity | SignOf(negative, f);
        }
        if (IsZero(a, f) || IsZero(b, f))
        {
            return SignOf(negative, f);
        }
        int e = Unpack(a, f, out ulong siga) + Unpack(b, f, out ulong sigb);
        // The product (below 2^126) scaled by 2^-62, the bits shifted out kept as sticky.
        ulong high = Math.BigMul(siga, sigb, out ulong low);
        ulong sig = (high << 2) | (low >> 62) | ((low & ((1UL << 62) - 1)) != 0 ? 1UL : 0);
        return RoundPack(negative, e, sig, f, rm, ref flags);
    }

    public static ulong Div(ulong a, ulong b, FloatFormat f, int rm, ref uint flags)
    {
        if (IsNaN(a, f) || IsNaN(b, f))
        {
            return NaNResult(a, b, f, ref flags);
        }
        bool negative = Sign(a, f) != Sign(b, f);
        if (IsInfinity(a, f))
        {
            return IsInfinity(b, f) ? Invalid(f, ref flags) : f.Infinity | SignOf(negative, f);
        }
        if (IsInfinity(b, f))
        {
            return SignOf(negative, f);
        }
        if (IsZero(b, f))
        {
            if (IsZero(a, f))
            {
                return Invalid(f, ref flags);
            }
            flags |= FloatFlags.DivideByZero;
            return f.Infinity | SignOf(negative, f);
        }
        if (IsZero(a, f))
        {
            return SignOf(negative, f);
        }
        int e = Unpack(a, f, out ulong siga) - Unpack(b, f, out ulong sigb);
        // siga/sigb is in (1/2, 2): the quotient of siga·2^62 has its leading one at bit 61 or 62; a nonzero
        // remainder is the sticky bit.
        UInt128 dividend = (UInt128)siga << 62;
        UInt128 quotient = dividend / sigb;
        ulong q = (ulong)quotient | (quotient * sigb != dividend ? 1UL : 0);
        return RoundPack(negative, e, q, f, rm, ref flags);
    }

    public static ulong Sqrt(ulong a, FloatFormat f, int rm, ref uint flags)
    {
        if (IsNaN(a, f))
        {
            return NaNResult(a, a, f, ref flags);
        }
        if (IsZero(a, f))
        {
            return a; // sqrt(±0) = ±0
        }
        if (Sign(a, f))
        {
            return Invalid(f, ref flags);
        }
        if (IsInfinity(a, f))
        {
            return a;
        }
        int e = Unpack(a, f, out ulong sig);
        // sqrt(sig · 2^(e−62)) = sqrt(n) · 2^((e − 126 − s)/2) with n = sig · 2^(64+s) and s making the exponent even;
        // n is in [2^126, 2^128), its root in [2^63, 2^64), and an inexact root is the sticky bit.
        int s = e & 1;
        UInt128 n = (UInt128)sig << (64 + s);
        ulong r = IntegerSqrt(n);
        ulong root = r | ((UInt128)r * r != n ? 1UL : 0);
        return RoundPack(false, ((e - 126 - s) >> 1) + 62, root, f, rm, ref flags);
    }

    /// <summary>floor(sqrt(n)) for n below 2^128: the host's estimate (good to about 2^11), one Newton step, then the last unit.</summary>
    private static ulong IntegerSqrt(UInt128 n)
    {
        double estimate = Math.Sqrt((double)n);
        UInt128 r = estimate >= 18446744073709551615.0 ? ulong.MaxValue : (ulong)estimate;
        if (r == 0)
        {
            r = 1;
        }
        r = (r + n / r) >> 1;
        if (r > ulong.MaxValue)
        {
            r = ulong.MaxValue;
        }
        while (r * r > n)
        {
            r--;
        }
        while (r < ulong.MaxValue && (r + 1) * (r + 1) <= n)
        {
            r++;
        }
        return (ulong)r;
    }

    /// <summary>
    /// (±a·b) ± c with one rounding: fmadd (false, false), fmsub (false, true), fnmsub (true, false), fnmadd (true, true).
    /// </summary>
    public static ulong MulAdd(ulong a, ulong b, ulong c, bool negateProduct, bool negateAddend, FloatFormat f, int rm, ref uint flags)
    {
        bool infinityTimesZero = (IsInfinity(a, f) && IsZero(b, f)) || (IsZero(a, f) && IsInfinity(b, f));
        if (IsNaN(a, f) || IsNaN(b, f) || IsNaN(c, f))
        {
            if (infinityTimesZero || IsSignalingNaN(c, f))
            {
                flags |= FloatFlags.Invalid;
            }
            return NaNResult(a, b, f, ref flags);
        }
        if (infinityTimesZero)
        {
            return Invalid(f, ref flags);
        }
        bool sp = Sign(a, f) != Sign(b, f) != negateProduct;
        if (negateAddend)
        {
            c ^= f.SignBit;
        }
        bool sc = Sign(c, f);
        if (IsInfinity(a, f) || IsInfinity(b, f))
        {
            return IsInfinity(c, f) && sc != sp ? Invalid(f, ref flags) : f.Infinity | SignOf(sp, f);
        }
        if (IsInfinity(c, f))
        {
            return c;
        }
        if (IsZero(a, f) || IsZero(b, f))
        {
            if (IsZero(c, f))
            {
                return sp == sc ? c : CancelledZero(f, rm);
            }
            return c;
        }
        int ep = Unpack(a, f, out ulong siga) + Unpack(b, f, out ulong sigb);
        // The exact product, its leading one moved to bit 125: value = P · 2^(ep − 125).
        UInt128 product = (UInt128)siga * sigb;
        if ((product >> 125) == 0)
        {
            product <<= 1;
        }
        else
        {
            ep++;
        }
        if (IsZero(c, f))
        {
            return RoundWide(sp, ep, product, f, rm, ref flags);
        }
        int ec = Unpack(c, f, out ulong sigc);
        UInt128 addend = (UInt128)sigc << 63; // leading one at bit 125 too
        if (ep < ec || (ep == ec && product < addend))
        {
            (sp, ep, product, sc, ec, addend) = (sc, ec, addend, sp, ep, product);
        }
        addend = ShiftRightJam(addend, ep - ec);
        if (sp == sc)
        {
            return RoundWide(sp, ep, product + addend, f, rm, ref flags);
        }
        UInt128 difference = product - addend;
        return difference == 0 ? CancelledZero(f, rm) : RoundWide(sp, ep, difference, f, rm, ref flags);
    }

    /// <summary>Rounds x · 2^(e − 125) (x nonzero, below 2^127): narrowed to 64 bits with a sticky bit, then <see cref="RoundPack"/>.</summary>
    private static ulong RoundWide(bool negative, int e, UInt128 x, FloatFormat f, int rm, ref uint flags)
    {
        int top = 127 - (int)UInt128.LeadingZeroCount(x);
        ulong sig = top > 62 ? (ulong)ShiftRightJam(x, top - 62) : (ulong)x << (62 - top);
        return RoundPack(negative, e - 125 + top, sig, f, rm, ref flags);
    }

    // ---- Comparisons, min/max, classification ----

    /// <summary>a &lt; b for two non-NaN values (−0 and +0 equal).</summary>
    private static bool Less(ulong a, ulong b, FloatFormat f)
    {
        bool sa = Sign(a, f), sb = Sign(b, f);
        if (sa != sb)
        {
            return sa && !(IsZero(a, f) && IsZero(b, f));
        }
        ulong ma = a & ~f.SignBit, mb = b & ~f.SignBit;
        return sa ? ma > mb : ma < mb;
    }

    /// <summary>feq: quiet; only a signalling NaN raises invalid.</summary>
    public static bool Equal(ulong a, ulong b, FloatFormat f, ref uint flags)
    {
        if (IsNaN(a, f) || IsNaN(b, f))
        {
            NaNResult(a, b, f, ref flags);
            return false;
        }
        return a == b || (IsZero(a, f) && IsZero(b, f));
    }

    /// <summary>flt (orEqual false) and fle (true): signalling; any NaN raises invalid.</summary>
    public static bool Compare(ulong a, ulong b, bool orEqual, FloatFormat f, ref uint flags)
    {
        if (IsNaN(a, f) || IsNaN(b, f))
        {
            flags |= FloatFlags.Invalid;
            return false;
        }
        return orEqual ? !Less(b, a, f) : Less(a, b, f);
    }

    /// <summary>
    /// fmin/fmax (IEEE 754-2019 minimumNumber/maximumNumber, as the F extension since 2.2 defines them): a NaN
    /// operand gives the other one, two give the canonical NaN, a signalling NaN raises invalid; −0 &lt; +0.
    /// </summary>
    public static ulong MinMax(ulong a, ulong b, bool max, FloatFormat f, ref uint flags)
    {
        bool na = IsNaN(a, f), nb = IsNaN(b, f);
        if (na || nb)
        {
            ulong nan = NaNResult(a, b, f, ref flags);
            return na && nb ? nan : na ? b : a;
        }
        bool aFirst = Sign(a, f) != Sign(b, f) ? Sign(a, f) : Less(a, b, f);
        return aFirst != max ? a : b;
    }

    /// <summary>fclass: one bit of ten (−∞, −normal, −subnormal, −0, +0, +subnormal, +normal, +∞, sNaN, qNaN).</summary>
    public static ulong Classify(ulong a, FloatFormat f)
    {
        bool negative = Sign(a, f);
        int bit;
        if (IsNaN(a, f))
        {
            bit = IsSignalingNaN(a, f) ? 8 : 9;
        }
        else if (IsInfinity(a, f))
        {
            bit = negative ? 0 : 7;
        }
        else if (IsZero(a, f))
        {
            bit = negative ? 3 : 4;
        }
        else if (ExponentField(a, f) == 0)
        {
            bit = negative ? 2 : 5;
        }
        else
        {
            bit = negative ? 1 : 6;
        }
        return 1UL << bit;
    }

    // ---- Conversions ----

    /// <summary>fcvt.s.d and fcvt.d.s: NaNs become the canonical NaN of the target (invalid if signalling).</summary>
    public static ulong Convert(ulong a, FloatFormat from, FloatFormat to, int rm, ref uint flags)
    {
        if (IsNaN(a, from))
        {
            NaNResult(a, a, from, ref flags);
            return to.CanonicalNaN;
        }
        bool negative = Sign(a, from);
        if (IsInfinity(a, from))
        {
            return to.Infinity | SignOf(negative, to);
        }
        if (IsZero(a, from))
        {
            return SignOf(negative, to);
        }
        int e = Unpack(a, from, out ulong sig);
        return RoundPack(negative, e, sig, to, rm, ref flags);
    }

    /// <summary>
    /// fcvt.{w,wu,l,lu}: rounds to an integer of <paramref name="bits"/> (32 or 64); a NaN, an infinity or a rounded
    /// value out of range gives the nearest limit (a NaN the largest) and invalid, not inexact. 32-bit results are
    /// sign-extended, as RV64 writes them.
    /// </summary>
    public static ulong ToInteger(ulong a, FloatFormat f, int bits, bool signed, int rm, ref uint flags)
    {
        ulong max = signed ? (1UL << (bits - 1)) - 1 : bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        ulong min = signed ? 0UL - (1UL << (bits - 1)) : 0;
        bool negative = Sign(a, f);
        if (IsNaN(a, f))
        {
            return Saturated(max, bits, ref flags);
        }
        if (IsInfinity(a, f))
        {
            return Saturated(negative ? min : max, bits, ref flags);
        }
        if (IsZero(a, f))
        {
            return 0;
        }
        int e = Unpack(a, f, out ulong sig);
        if (e >= 64)
        {
            return Saturated(negative ? min : max, bits, ref flags);
        }
        ulong magnitude, roundBits = 0;
        if (e >= 62)
        {
            magnitude = sig << (e - 62); // an integer already
        }
        else
        {
            int shift = 62 - e;
            if (shift > 63)
            {
                (sig, shift) = (1, 63); // below 1/2: only its being nonzero matters
            }
            magnitude = sig >> shift;
            roundBits = sig & ((1UL << shift) - 1);
            if (RoundsUp(magnitude, roundBits, 1UL << (shift - 1), negative, rm))
            {
                magnitude++;
            }
        }
        ulong limit = negative ? (signed ? 1UL << (bits - 1) : 0) : max;
        if (magnitude > limit)
        {
            return Saturated(negative ? min : max, bits, ref flags);
        }
        if (roundBits != 0)
        {
            flags |= FloatFlags.Inexact;
        }
        ulong result = negative ? 0 - magnitude : magnitude;
        return bits == 32 ? (ulong)(long)(int)result : result;
    }

    private static ulong Saturated(ulong value, int bits, ref uint flags)
    {
        flags |= FloatFlags.Invalid;
        return bits == 32 ? (ulong)(long)(int)value : value;
    }

    /// <summary>fcvt.{s,d}.{w,wu,l,lu}: the integer in the low <paramref name="bits"/> of <paramref name="x"/>, rounded.</summary>
    public static ulong FromInteger(ulong x, int bits, bool signed, FloatFormat f, int rm, ref uint flags)
    {
        if (bits == 32)
        {
            x = signed ? (ulong)(long)(int)x : (uint)x;
        }
        bool negative = signed && (long)x < 0;
        ulong magnitude = negative ? 0 - x : x;
        return magnitude == 0 ? 0 : RoundPack(negative, 62, magnitude, f, rm, ref flags);
    }
}
