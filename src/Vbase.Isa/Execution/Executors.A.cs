using System.Runtime.CompilerServices;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

// A: LR/SC and AMOs. One hart executes them indivisibly by construction; the W forms sign-extend the old
// 32-bit value into rd.
internal static unsafe partial class Executors
{
    public static void LrW(Hart h, ref DecodedInstruction d)
    {
        byte* p = h.TranslateAtomic(h.X[d.Rs1], 4, isLoadReserved: true, out ulong physical);
        if (p is not null)
        {
            h.SetReservation(physical);
            h.X[d.Rd] = (ulong)*(int*)p;
        }
    }

    public static void LrD(Hart h, ref DecodedInstruction d)
    {
        byte* p = h.TranslateAtomic(h.X[d.Rs1], 8, isLoadReserved: true, out ulong physical);
        if (p is not null)
        {
            h.SetReservation(physical);
            h.X[d.Rd] = *(ulong*)p;
        }
    }

    public static void ScW(Hart h, ref DecodedInstruction d)
    {
        byte* p = h.TranslateAtomic(h.X[d.Rs1], 4, isLoadReserved: false, out ulong physical);
        if (p is not null)
        {
            bool ok = h.ConsumeReservation(physical);
            if (ok)
            {
                *(uint*)p = (uint)h.X[d.Rs2];
            }
            h.X[d.Rd] = ok ? 0UL : 1UL;
        }
    }

    public static void ScD(Hart h, ref DecodedInstruction d)
    {
        byte* p = h.TranslateAtomic(h.X[d.Rs1], 8, isLoadReserved: false, out ulong physical);
        if (p is not null)
        {
            bool ok = h.ConsumeReservation(physical);
            if (ok)
            {
                *(ulong*)p = h.X[d.Rs2];
            }
            h.X[d.Rd] = ok ? 0UL : 1UL;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AmoW(Hart h, ref DecodedInstruction d, delegate*<uint, uint, uint> op)
    {
        byte* p = h.TranslateAtomic(h.X[d.Rs1], 4, isLoadReserved: false, out _);
        if (p is not null)
        {
            uint old = *(uint*)p;
            *(uint*)p = op(old, (uint)h.X[d.Rs2]);
            h.X[d.Rd] = (ulong)(int)old;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AmoD(Hart h, ref DecodedInstruction d, delegate*<ulong, ulong, ulong> op)
    {
        byte* p = h.TranslateAtomic(h.X[d.Rs1], 8, isLoadReserved: false, out _);
        if (p is not null)
        {
            ulong old = *(ulong*)p;
            *(ulong*)p = op(old, h.X[d.Rs2]);
            h.X[d.Rd] = old;
        }
    }

    private static uint SwapW(uint a, uint b) => b;
    private static uint AddW(uint a, uint b) => a + b;
    private static uint XorW(uint a, uint b) => a ^ b;
    private static uint AndW(uint a, uint b) => a & b;
    private static uint OrW(uint a, uint b) => a | b;
    private static uint MinW(uint a, uint b) => (int)a < (int)b ? a : b;
    private static uint MaxW(uint a, uint b) => (int)a > (int)b ? a : b;
    private static uint MinuW(uint a, uint b) => a < b ? a : b;
    private static uint MaxuW(uint a, uint b) => a > b ? a : b;
    private static ulong SwapD(ulong a, ulong b) => b;
    private static ulong AddD(ulong a, ulong b) => a + b;
    private static ulong XorD(ulong a, ulong b) => a ^ b;
    private static ulong AndD(ulong a, ulong b) => a & b;
    private static ulong OrD(ulong a, ulong b) => a | b;
    private static ulong MinD(ulong a, ulong b) => (long)a < (long)b ? a : b;
    private static ulong MaxD(ulong a, ulong b) => (long)a > (long)b ? a : b;
    private static ulong MinuD(ulong a, ulong b) => a < b ? a : b;
    private static ulong MaxuD(ulong a, ulong b) => a > b ? a : b;

    public static void AmoSwapW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &SwapW);
    public static void AmoAddW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &AddW);
    public static void AmoXorW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &XorW);
    public static void AmoAndW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &AndW);
    public static void AmoOrW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &OrW);
    public static void AmoMinW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &MinW);
    public static void AmoMaxW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &MaxW);
    public static void AmoMinuW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &MinuW);
    public static void AmoMaxuW(Hart h, ref DecodedInstruction d) => AmoW(h, ref d, &MaxuW);
    public static void AmoSwapD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &SwapD);
    public static void AmoAddD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &AddD);
    public static void AmoXorD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &XorD);
    public static void AmoAndD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &AndD);
    public static void AmoOrD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &OrD);
    public static void AmoMinD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &MinD);
    public static void AmoMaxD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &MaxD);
    public static void AmoMinuD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &MinuD);
    public static void AmoMaxuD(Hart h, ref DecodedInstruction d) => AmoD(h, ref d, &MaxuD);
}
