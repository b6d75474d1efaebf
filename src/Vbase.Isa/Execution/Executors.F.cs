using System.Runtime.CompilerServices;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

// F: single precision, and the shapes F and D share (D's handlers, Executors.D.cs, pass FloatFormat.Double).
// Every FP instruction is illegal while mstatus.FS is Off, and so is one whose rounding mode is reserved (rm 5
// or 6, or dynamic with frm 5..7). The arithmetic is SoftFloat's (exact flags, every rounding mode), or the host
// FPU's where that gives the same bits and flags (HostFloat: RNE, normal operands and result, NX already set). Singles
// live NaN-boxed in the 64-bit f registers: one whose upper half is not all ones reads as the canonical NaN,
// except in the transfers (fsw, fmv.x.w), which move the low 32 bits as they are.
internal static unsafe partial class Executors
{
    private const ulong BoxBits = 0xFFFF_FFFF_0000_0000;

    /// <summary>The rounding mode an instruction uses, or -1 if it is reserved (illegal instruction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RoundingModeOf(Hart h, DecodedInstruction* d)
    {
        int rm = d->Rm == RoundingModes.Dynamic ? (int)h.Hot.Frm : d->Rm;
        return rm <= RoundingModes.NearestMaxMagnitude ? rm : -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadF(Hart h, int r, FloatFormat f)
    {
        ulong v = h.Hot.F[r];
        return f.FractionBits == FloatFormat.Double.FractionBits ? v : (v & BoxBits) == BoxBits ? (uint)v : FloatFormat.Single.CanonicalNaN;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteF(Hart h, int r, FloatFormat f, ulong v)
    {
        h.Hot.F[r] = f.FractionBits == FloatFormat.Double.FractionBits ? v : v | BoxBits;
        h.MarkFpDirty();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accrue(Hart h, uint flags)
    {
        if (flags != 0)
        {
            h.Hot.Fflags |= flags;
            h.MarkFpDirty();
        }
    }

    /// <summary>
    /// The rounding mode of an FP instruction that rounds, or -1 if it is illegal: FS Off, or a reserved mode.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int EnabledRoundingMode(Hart h, DecodedInstruction* d) => h.FpEnabled ? RoundingModeOf(h, d) : -1;

    /// <summary>Writes a result to rd, accrues its flags (after the write, so FS is Dirty either way) and goes on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodedInstruction* Retire(Hart h, DecodedInstruction* d, FloatFormat f, ulong r, uint flags)
    {
        WriteF(h, d->Rd, f, r);
        Accrue(h, flags);
        return Next(d);
    }

    // ---- The shapes ----

    private static DecodedInstruction* FpLoad(Hart h, DecodedInstruction* d, int size)
    {
        if (!h.FpEnabled)
        {
            return Illegal(h, d);
        }
        DecodedInstruction* next = Next(d); // read before the access, as the integer loads do
        int rd = d->Rd;
        if (!h.Load(h.Hot.X[d->Rs1] + (ulong)d->Imm, size, out ulong v))
        {
            return null;
        }
        WriteF(h, rd, size == 4 ? FloatFormat.Single : FloatFormat.Double, v);
        return next;
    }

    private static DecodedInstruction* FpStore(Hart h, DecodedInstruction* d, int size)
    {
        if (!h.FpEnabled)
        {
            return Illegal(h, d);
        }
        ulong v = h.Hot.F[d->Rs2];
        return Store(h, d, h.Hot.X[d->Rs1] + (ulong)d->Imm, size, size == 4 ? (uint)v : v);
    }

    private static DecodedInstruction* FpBinary(Hart h, DecodedInstruction* d, FloatFormat f, HostFloatOp hostOp,
        delegate*<ulong, ulong, FloatFormat, int, ref uint, ulong> op)
    {
        int rm = EnabledRoundingMode(h, d);
        if (rm < 0)
        {
            return Illegal(h, d);
        }
        ulong a = ReadF(h, d->Rs1, f), b = ReadF(h, d->Rs2, f);
        if (HostFloat.Applies(rm, h.Hot.Fflags) && HostFloat.TryBinary(hostOp, IsDouble(f), a, b, out ulong fast))
        {
            WriteF(h, d->Rd, f, fast);
            return Next(d);
        }
        uint flags = 0;
        return Retire(h, d, f, op(a, b, f, rm, ref flags), flags);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDouble(FloatFormat f) => f.FractionBits == FloatFormat.Double.FractionBits;

    private static DecodedInstruction* FpSqrt(Hart h, DecodedInstruction* d, FloatFormat f)
    {
        int rm = EnabledRoundingMode(h, d);
        if (rm < 0)
        {
            return Illegal(h, d);
        }
        ulong a = ReadF(h, d->Rs1, f);
        if (HostFloat.Applies(rm, h.Hot.Fflags) && HostFloat.TrySqrt(IsDouble(f), a, out ulong fast))
        {
            WriteF(h, d->Rd, f, fast);
            return Next(d);
        }
        uint flags = 0;
        return Retire(h, d, f, SoftFloat.Sqrt(a, f, rm, ref flags), flags);
    }

    private static DecodedInstruction* FpFused(Hart h, DecodedInstruction* d, FloatFormat f, bool negateProduct, bool negateAddend)
    {
        int rm = EnabledRoundingMode(h, d);
        if (rm < 0)
        {
            return Illegal(h, d);
        }
        ulong a = ReadF(h, d->Rs1, f), b = ReadF(h, d->Rs2, f), c = ReadF(h, d->Rs3, f);
        if (HostFloat.Applies(rm, h.Hot.Fflags) && HostFloat.TryFused(IsDouble(f), a, b, c, negateProduct, negateAddend, out ulong fast))
        {
            WriteF(h, d->Rd, f, fast);
            return Next(d);
        }
        uint flags = 0;
        return Retire(h, d, f, SoftFloat.MulAdd(a, b, c, negateProduct, negateAddend, f, rm, ref flags), flags);
    }

    /// <summary>fsgnj (kind 0), fsgnjn (1), fsgnjx (2): rs1's magnitude with a sign from rs2; no NaN is canonicalised.</summary>
    private static DecodedInstruction* FpSignInject(Hart h, DecodedInstruction* d, FloatFormat f, int kind)
    {
        if (!h.FpEnabled)
        {
            return Illegal(h, d);
        }
        ulong a = ReadF(h, d->Rs1, f), b = ReadF(h, d->Rs2, f), sign = f.SignBit;
        ulong s = kind switch { 0 => b & sign, 1 => ~b & sign, _ => (a ^ b) & sign };
        WriteF(h, d->Rd, f, (a & ~sign) | s);
        return Next(d);
    }

    private static DecodedInstruction* FpMinMax(Hart h, DecodedInstruction* d, FloatFormat f, bool max)
    {
        if (!h.FpEnabled)
        {
            return Illegal(h, d);
        }
        uint flags = 0;
        return Retire(h, d, f, SoftFloat.MinMax(ReadF(h, d->Rs1, f), ReadF(h, d->Rs2, f), max, f, ref flags), flags);
    }

    /// <summary>feq (kind 0), flt (1), fle (2) into an integer register.</summary>
    private static DecodedInstruction* FpCompare(Hart h, DecodedInstruction* d, FloatFormat f, int kind)
    {
        if (!h.FpEnabled)
        {
            return Illegal(h, d);
        }
        uint flags = 0;
        ulong a = ReadF(h, d->Rs1, f), b = ReadF(h, d->Rs2, f);
        bool r = kind == 0 ? SoftFloat.Equal(a, b, f, ref flags) : SoftFloat.Compare(a, b, kind == 2, f, ref flags);
        h.Hot.X[d->Rd] = r ? 1UL : 0;
        Accrue(h, flags);
        return Next(d);
    }

    private static DecodedInstruction* FpClass(Hart h, DecodedInstruction* d, FloatFormat f)
    {
        if (!h.FpEnabled)
        {
            return Illegal(h, d);
        }
        h.Hot.X[d->Rd] = SoftFloat.Classify(ReadF(h, d->Rs1, f), f);
        return Next(d);
    }

    private static DecodedInstruction* FpToInteger(Hart h, DecodedInstruction* d, FloatFormat f, int bits, bool signed)
    {
        int rm = EnabledRoundingMode(h, d);
        if (rm < 0)
        {
            return Illegal(h, d);
        }
        uint flags = 0;
        h.Hot.X[d->Rd] = SoftFloat.ToInteger(ReadF(h, d->Rs1, f), f, bits, signed, rm, ref flags);
        Accrue(h, flags);
        return Next(d);
    }

    private static DecodedInstruction* FpFromInteger(Hart h, DecodedInstruction* d, FloatFormat f, int bits, bool signed)
    {
        int rm = EnabledRoundingMode(h, d);
        if (rm < 0)
        {
            return Illegal(h, d);
        }
        uint flags = 0;
        return Retire(h, d, f, SoftFloat.FromInteger(h.Hot.X[d->Rs1], bits, signed, f, rm, ref flags), flags);
    }

    private static DecodedInstruction* FpConvert(Hart h, DecodedInstruction* d, FloatFormat from, FloatFormat to)
    {
        int rm = EnabledRoundingMode(h, d);
        if (rm < 0)
        {
            return Illegal(h, d);
        }
        uint flags = 0;
        return Retire(h, d, to, SoftFloat.Convert(ReadF(h, d->Rs1, from), from, to, rm, ref flags), flags);
    }

    /// <summary>fmv.x.w (sign-extends the low 32 bits, boxed or not) and fmv.x.d.</summary>
    private static DecodedInstruction* FpMoveToInteger(Hart h, DecodedInstruction* d, int size)
    {
        if (!h.FpEnabled)
        {
            return Illegal(h, d);
        }
        ulong v = h.Hot.F[d->Rs1];
        h.Hot.X[d->Rd] = size == 4 ? (ulong)(long)(int)v : v;
        return Next(d);
    }

    /// <summary>fmv.w.x (boxes the low 32 bits) and fmv.d.x.</summary>
    private static DecodedInstruction* FpMoveFromInteger(Hart h, DecodedInstruction* d, int size)
    {
        if (!h.FpEnabled)
        {
            return Illegal(h, d);
        }
        ulong v = h.Hot.X[d->Rs1];
        WriteF(h, d->Rd, size == 4 ? FloatFormat.Single : FloatFormat.Double, size == 4 ? (uint)v : v);
        return Next(d);
    }

    // ---- F ----

    public static DecodedInstruction* Flw(Hart h, DecodedInstruction* d) => FpLoad(h, d, 4);
    public static DecodedInstruction* Fsw(Hart h, DecodedInstruction* d) => FpStore(h, d, 4);
    public static DecodedInstruction* FmaddS(Hart h, DecodedInstruction* d) => FpFused(h, d, FloatFormat.Single, false, false);
    public static DecodedInstruction* FmsubS(Hart h, DecodedInstruction* d) => FpFused(h, d, FloatFormat.Single, false, true);
    public static DecodedInstruction* FnmsubS(Hart h, DecodedInstruction* d) => FpFused(h, d, FloatFormat.Single, true, false);
    public static DecodedInstruction* FnmaddS(Hart h, DecodedInstruction* d) => FpFused(h, d, FloatFormat.Single, true, true);
    public static DecodedInstruction* FaddS(Hart h, DecodedInstruction* d) => FpBinary(h, d, FloatFormat.Single, HostFloatOp.Add, &SoftFloat.Add);
    public static DecodedInstruction* FsubS(Hart h, DecodedInstruction* d) => FpBinary(h, d, FloatFormat.Single, HostFloatOp.Sub, &SoftFloat.Sub);
    public static DecodedInstruction* FmulS(Hart h, DecodedInstruction* d) => FpBinary(h, d, FloatFormat.Single, HostFloatOp.Mul, &SoftFloat.Mul);
    public static DecodedInstruction* FdivS(Hart h, DecodedInstruction* d) => FpBinary(h, d, FloatFormat.Single, HostFloatOp.Div, &SoftFloat.Div);
    public static DecodedInstruction* FsqrtS(Hart h, DecodedInstruction* d) => FpSqrt(h, d, FloatFormat.Single);
    public static DecodedInstruction* FsgnjS(Hart h, DecodedInstruction* d) => FpSignInject(h, d, FloatFormat.Single, 0);
    public static DecodedInstruction* FsgnjnS(Hart h, DecodedInstruction* d) => FpSignInject(h, d, FloatFormat.Single, 1);
    public static DecodedInstruction* FsgnjxS(Hart h, DecodedInstruction* d) => FpSignInject(h, d, FloatFormat.Single, 2);
    public static DecodedInstruction* FminS(Hart h, DecodedInstruction* d) => FpMinMax(h, d, FloatFormat.Single, false);
    public static DecodedInstruction* FmaxS(Hart h, DecodedInstruction* d) => FpMinMax(h, d, FloatFormat.Single, true);
    public static DecodedInstruction* FeqS(Hart h, DecodedInstruction* d) => FpCompare(h, d, FloatFormat.Single, 0);
    public static DecodedInstruction* FltS(Hart h, DecodedInstruction* d) => FpCompare(h, d, FloatFormat.Single, 1);
    public static DecodedInstruction* FleS(Hart h, DecodedInstruction* d) => FpCompare(h, d, FloatFormat.Single, 2);
    public static DecodedInstruction* FclassS(Hart h, DecodedInstruction* d) => FpClass(h, d, FloatFormat.Single);
    public static DecodedInstruction* FcvtWS(Hart h, DecodedInstruction* d) => FpToInteger(h, d, FloatFormat.Single, 32, true);
    public static DecodedInstruction* FcvtWuS(Hart h, DecodedInstruction* d) => FpToInteger(h, d, FloatFormat.Single, 32, false);
    public static DecodedInstruction* FcvtLS(Hart h, DecodedInstruction* d) => FpToInteger(h, d, FloatFormat.Single, 64, true);
    public static DecodedInstruction* FcvtLuS(Hart h, DecodedInstruction* d) => FpToInteger(h, d, FloatFormat.Single, 64, false);
    public static DecodedInstruction* FcvtSW(Hart h, DecodedInstruction* d) => FpFromInteger(h, d, FloatFormat.Single, 32, true);
    public static DecodedInstruction* FcvtSWu(Hart h, DecodedInstruction* d) => FpFromInteger(h, d, FloatFormat.Single, 32, false);
    public static DecodedInstruction* FcvtSL(Hart h, DecodedInstruction* d) => FpFromInteger(h, d, FloatFormat.Single, 64, true);
    public static DecodedInstruction* FcvtSLu(Hart h, DecodedInstruction* d) => FpFromInteger(h, d, FloatFormat.Single, 64, false);
    public static DecodedInstruction* FmvXW(Hart h, DecodedInstruction* d) => FpMoveToInteger(h, d, 4);
    public static DecodedInstruction* FmvWX(Hart h, DecodedInstruction* d) => FpMoveFromInteger(h, d, 4);
}
