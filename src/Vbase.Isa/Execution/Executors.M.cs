using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

// M: multiplication and division. Division never traps: x/0 gives all ones (remainder x), and the signed
// overflow MIN/-1 gives MIN (remainder 0), per the unprivileged spec table 13.1.
internal static unsafe partial class Executors
{
    public static DecodedInstruction* Mul(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] * h.Hot.X[d->Rs2];
        return Next(d);
    }
    public static DecodedInstruction* Mulh(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = MulHighSigned(h.Hot.X[d->Rs1], h.Hot.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Mulhu(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = MulHighUnsigned(h.Hot.X[d->Rs1], h.Hot.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Mulhsu(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = MulHighSignedUnsigned(h.Hot.X[d->Rs1], h.Hot.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Div(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)SignedDiv((long)h.Hot.X[d->Rs1], (long)h.Hot.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Rem(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)SignedRem((long)h.Hot.X[d->Rs1], (long)h.Hot.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Divu(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = UnsignedDiv(h.Hot.X[d->Rs1], h.Hot.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Remu(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = UnsignedRem(h.Hot.X[d->Rs1], h.Hot.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Mulw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(int)((uint)h.Hot.X[d->Rs1] * (uint)h.Hot.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Divw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(long)SignedDiv32((int)h.Hot.X[d->Rs1], (int)h.Hot.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Remw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(long)SignedRem32((int)h.Hot.X[d->Rs1], (int)h.Hot.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Divuw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(int)UnsignedDiv32((uint)h.Hot.X[d->Rs1], (uint)h.Hot.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Remuw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(int)UnsignedRem32((uint)h.Hot.X[d->Rs1], (uint)h.Hot.X[d->Rs2]);
        return Next(d);
    }

    // The value functions, shared with the translator (Translation/RegionTranslator.cs calls them from IL).
    internal static ulong MulHighSigned(ulong a, ulong b) => (ulong)Math.BigMul((long)a, (long)b, out _);
    internal static ulong MulHighUnsigned(ulong a, ulong b) => Math.BigMul(a, b, out _);
    internal static ulong MulHighSignedUnsigned(ulong a, ulong b)
    {
        ulong high = Math.BigMul(a, b, out _);
        // Treating a negative a as unsigned added 2^64·b; take it back.
        return (long)a < 0 ? high - b : high;
    }
    internal static long SignedDiv(long a, long b) => b == 0 ? -1 : (a == long.MinValue && b == -1) ? a : a / b;
    internal static long SignedRem(long a, long b) => b == 0 ? a : (a == long.MinValue && b == -1) ? 0 : a % b;
    internal static ulong UnsignedDiv(ulong a, ulong b) => b == 0 ? ulong.MaxValue : a / b;
    internal static ulong UnsignedRem(ulong a, ulong b) => b == 0 ? a : a % b;
    internal static int SignedDiv32(int a, int b) => b == 0 ? -1 : (a == int.MinValue && b == -1) ? a : a / b;
    internal static int SignedRem32(int a, int b) => b == 0 ? a : (a == int.MinValue && b == -1) ? 0 : a % b;
    internal static uint UnsignedDiv32(uint a, uint b) => b == 0 ? uint.MaxValue : a / b;
    internal static uint UnsignedRem32(uint a, uint b) => b == 0 ? a : a % b;
}
