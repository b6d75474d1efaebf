using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

// M: multiplication and division. Division never traps: x/0 gives all ones (remainder x), and the signed
// overflow MIN/-1 gives MIN (remainder 0), per the unprivileged spec table 13.1.
internal static unsafe partial class Executors
{
    public static DecodedInstruction* Mul(Hart h, DecodedInstruction* d)
    {
        h.X[d->Rd] = h.X[d->Rs1] * h.X[d->Rs2];
        return Next(d);
    }
    public static DecodedInstruction* Mulh(Hart h, DecodedInstruction* d)
    {
        h.X[d->Rd] = (ulong)Math.BigMul((long)h.X[d->Rs1], (long)h.X[d->Rs2], out _);
        return Next(d);
    }
    public static DecodedInstruction* Mulhu(Hart h, DecodedInstruction* d)
    {
        h.X[d->Rd] = Math.BigMul(h.X[d->Rs1], h.X[d->Rs2], out _);
        return Next(d);
    }

    public static DecodedInstruction* Mulhsu(Hart h, DecodedInstruction* d)
    {
        long a = (long)h.X[d->Rs1];
        ulong b = h.X[d->Rs2];
        ulong high = Math.BigMul((ulong)a, b, out _);
        // Treating a negative a as unsigned added 2^64·b; take it back.
        h.X[d->Rd] = a < 0 ? high - b : high;
        return Next(d);
    }

    public static DecodedInstruction* Div(Hart h, DecodedInstruction* d)
    {
        h.X[d->Rd] = (ulong)SignedDiv((long)h.X[d->Rs1], (long)h.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Rem(Hart h, DecodedInstruction* d)
    {
        h.X[d->Rd] = (ulong)SignedRem((long)h.X[d->Rs1], (long)h.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Divu(Hart h, DecodedInstruction* d)
    {
        ulong b = h.X[d->Rs2];
        h.X[d->Rd] = b == 0 ? ulong.MaxValue : h.X[d->Rs1] / b;
        return Next(d);
    }

    public static DecodedInstruction* Remu(Hart h, DecodedInstruction* d)
    {
        ulong a = h.X[d->Rs1], b = h.X[d->Rs2];
        h.X[d->Rd] = b == 0 ? a : a % b;
        return Next(d);
    }

    public static DecodedInstruction* Mulw(Hart h, DecodedInstruction* d)
    {
        h.X[d->Rd] = (ulong)(int)((uint)h.X[d->Rs1] * (uint)h.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Divw(Hart h, DecodedInstruction* d)
    {
        h.X[d->Rd] = (ulong)(long)SignedDiv32((int)h.X[d->Rs1], (int)h.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Remw(Hart h, DecodedInstruction* d)
    {
        h.X[d->Rd] = (ulong)(long)SignedRem32((int)h.X[d->Rs1], (int)h.X[d->Rs2]);
        return Next(d);
    }

    public static DecodedInstruction* Divuw(Hart h, DecodedInstruction* d)
    {
        uint a = (uint)h.X[d->Rs1], b = (uint)h.X[d->Rs2];
        h.X[d->Rd] = (ulong)(int)(b == 0 ? uint.MaxValue : a / b);
        return Next(d);
    }

    public static DecodedInstruction* Remuw(Hart h, DecodedInstruction* d)
    {
        uint a = (uint)h.X[d->Rs1], b = (uint)h.X[d->Rs2];
        h.X[d->Rd] = (ulong)(int)(b == 0 ? a : a % b);
        return Next(d);
    }

    private static long SignedDiv(long a, long b) => b == 0 ? -1 : (a == long.MinValue && b == -1) ? a : a / b;
    private static long SignedRem(long a, long b) => b == 0 ? a : (a == long.MinValue && b == -1) ? 0 : a % b;
    private static int SignedDiv32(int a, int b) => b == 0 ? -1 : (a == int.MinValue && b == -1) ? a : a / b;
    private static int SignedRem32(int a, int b) => b == 0 ? a : (a == int.MinValue && b == -1) ? 0 : a % b;
}
