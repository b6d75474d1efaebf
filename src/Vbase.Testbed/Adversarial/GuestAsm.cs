using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Testbed.Adversarial;

/// <summary>Hypercalls and a PRNG for the fuzzers' inline-assembled S-mode guests (kernel base, GPA = VA).</summary>
internal static class GuestAsm
{
    public static ProgramBuilder New() => new(GuestLayout.KernelBase);

    /// <summary>a0.. = args, a7 = number, ecall.</summary>
    public static ProgramBuilder Call(this ProgramBuilder p, ulong number, params long[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            p.Li(A0 + i, args[i]);
        }
        p.Li(A7, (long)number);
        return p.Emit(Ecall());
    }

    /// <summary>sched_op shutdown(poweroff, <paramref name="code"/>).</summary>
    public static ProgramBuilder Shutdown(this ProgramBuilder p, long code) =>
        p.Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Shutdown, 0, code);

    /// <summary>A subroutine at <paramref name="label"/>: <paramref name="state"/> = xorshift64(state), copied to <paramref name="result"/>; clobbers <paramref name="temp"/>.</summary>
    public static ProgramBuilder XorShiftRoutine(this ProgramBuilder p, string label, int state, int result, int temp) =>
        p.Label(label).Emit(Slli(temp, state, 13), Xor(state, state, temp), Srli(temp, state, 7), Xor(state, state, temp),
            Slli(temp, state, 17), Xor(state, state, temp), Mv(result, state), Ret());

    /// <summary>The same xorshift64 on the host (a zero state would stay zero: callers never seed with 0).</summary>
    public static ulong XorShift(ref ulong state)
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }

    /// <summary>A non-zero 64-bit value derived from a seed and a purpose (splitmix64).</summary>
    public static ulong Mix(ulong seed, ulong salt)
    {
        ulong z = seed + (salt * 0x9E37_79B9_7F4A_7C15UL) + 0x9E37_79B9_7F4A_7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        z ^= z >> 31;
        return z == 0 ? 1 : z;
    }
}
