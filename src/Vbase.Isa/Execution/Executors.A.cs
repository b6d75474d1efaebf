using System.Runtime.CompilerServices;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

// A: LR/SC and AMOs. One hart executes them indivisibly by construction; the W forms sign-extend the old
// 32-bit value into rd.
internal static unsafe partial class Executors
{
    public static DecodedInstruction* LrW(Hart h, DecodedInstruction* d) => LoadReserved(h, d, 4);
    public static DecodedInstruction* LrD(Hart h, DecodedInstruction* d) => LoadReserved(h, d, 8);
    public static DecodedInstruction* ScW(Hart h, DecodedInstruction* d) => StoreConditional(h, d, 4);
    public static DecodedInstruction* ScD(Hart h, DecodedInstruction* d) => StoreConditional(h, d, 8);

    private static DecodedInstruction* LoadReserved(Hart h, DecodedInstruction* d, int size)
    {
        // Read before the access: its page walk may write A/D bits over this very instruction (see the loads).
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        byte* p = h.TranslateAtomic(h.Hot.X[d->Rs1], size, isLoadReserved: true, out ulong physical);
        if (p is null)
        {
            return null;
        }
        h.SetReservation(physical);
        h.Hot.X[rd] = size == 4 ? (ulong)*(int*)p : *(ulong*)p;
        return next;
    }

    private static DecodedInstruction* StoreConditional(Hart h, DecodedInstruction* d, int size)
    {
        // Everything the slot holds is read before the access: translating a store invalidates the decodes it
        // will overwrite, and an SC may store over its own instruction.
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        ulong value = h.Hot.X[d->Rs2];
        byte* p = h.TranslateAtomic(h.Hot.X[d->Rs1], size, isLoadReserved: false, out ulong physical);
        if (p is null)
        {
            return null;
        }
        bool ok = h.ConsumeReservation(physical);
        if (ok)
        {
            if (size == 4)
            {
                *(uint*)p = (uint)value;
            }
            else
            {
                *(ulong*)p = value;
            }
            if (!h.CommitAtomic(p))
            {
                return null;
            }
        }
        h.Hot.X[rd] = ok ? 0UL : 1UL;
        return next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodedInstruction* AmoW(Hart h, DecodedInstruction* d, delegate*<uint, uint, uint> op)
    {
        // The slot is read before the access, which invalidates it if the AMO overwrites its own instruction.
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        uint operand = (uint)h.Hot.X[d->Rs2];
        byte* p = h.TranslateAtomic(h.Hot.X[d->Rs1], 4, isLoadReserved: false, out _);
        if (p is null)
        {
            return null;
        }
        uint old = *(uint*)p;
        *(uint*)p = op(old, operand);
        if (!h.CommitAtomic(p))
        {
            return null;
        }
        h.Hot.X[rd] = (ulong)(int)old;
        return next;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodedInstruction* AmoD(Hart h, DecodedInstruction* d, delegate*<ulong, ulong, ulong> op)
    {
        // The slot is read before the access, which invalidates it if the AMO overwrites its own instruction.
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        ulong operand = h.Hot.X[d->Rs2];
        byte* p = h.TranslateAtomic(h.Hot.X[d->Rs1], 8, isLoadReserved: false, out _);
        if (p is null)
        {
            return null;
        }
        ulong old = *(ulong*)p;
        *(ulong*)p = op(old, operand);
        if (!h.CommitAtomic(p))
        {
            return null;
        }
        h.Hot.X[rd] = old;
        return next;
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

    public static DecodedInstruction* AmoSwapW(Hart h, DecodedInstruction* d) => AmoW(h, d, &SwapW);
    public static DecodedInstruction* AmoAddW(Hart h, DecodedInstruction* d) => AmoW(h, d, &AddW);
    public static DecodedInstruction* AmoXorW(Hart h, DecodedInstruction* d) => AmoW(h, d, &XorW);
    public static DecodedInstruction* AmoAndW(Hart h, DecodedInstruction* d) => AmoW(h, d, &AndW);
    public static DecodedInstruction* AmoOrW(Hart h, DecodedInstruction* d) => AmoW(h, d, &OrW);
    public static DecodedInstruction* AmoMinW(Hart h, DecodedInstruction* d) => AmoW(h, d, &MinW);
    public static DecodedInstruction* AmoMaxW(Hart h, DecodedInstruction* d) => AmoW(h, d, &MaxW);
    public static DecodedInstruction* AmoMinuW(Hart h, DecodedInstruction* d) => AmoW(h, d, &MinuW);
    public static DecodedInstruction* AmoMaxuW(Hart h, DecodedInstruction* d) => AmoW(h, d, &MaxuW);
    public static DecodedInstruction* AmoSwapD(Hart h, DecodedInstruction* d) => AmoD(h, d, &SwapD);
    public static DecodedInstruction* AmoAddD(Hart h, DecodedInstruction* d) => AmoD(h, d, &AddD);
    public static DecodedInstruction* AmoXorD(Hart h, DecodedInstruction* d) => AmoD(h, d, &XorD);
    public static DecodedInstruction* AmoAndD(Hart h, DecodedInstruction* d) => AmoD(h, d, &AndD);
    public static DecodedInstruction* AmoOrD(Hart h, DecodedInstruction* d) => AmoD(h, d, &OrD);
    public static DecodedInstruction* AmoMinD(Hart h, DecodedInstruction* d) => AmoD(h, d, &MinD);
    public static DecodedInstruction* AmoMaxD(Hart h, DecodedInstruction* d) => AmoD(h, d, &MaxD);
    public static DecodedInstruction* AmoMinuD(Hart h, DecodedInstruction* d) => AmoD(h, d, &MinuD);
    public static DecodedInstruction* AmoMaxuD(Hart h, DecodedInstruction* d) => AmoD(h, d, &MaxuD);
}
