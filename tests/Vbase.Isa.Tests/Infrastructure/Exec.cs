using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Infrastructure;

/// <summary>Runs one instruction on fresh registers and returns its result: the shape of riscv-tests' TEST_*_OP.</summary>
public static class Exec
{
    /// <summary><c>op a2, a0, a1</c> with a0 = <paramref name="rs1"/>, a1 = <paramref name="rs2"/>.</summary>
    public static ulong RegReg(string op, ulong rs1, ulong rs2)
    {
        using var m = new TestMachine();
        m[A0] = rs1;
        m[A1] = rs2;
        m.Load(p => p.Emit(Encode(op, A2, A0, A1)).Emit(Ebreak()));
        m.RunToBreak();
        return m[A2];
    }

    /// <summary><c>op a2, a0, imm</c> (for shifts the immediate is the shift amount).</summary>
    public static ulong RegImm(string op, ulong rs1, long imm)
    {
        using var m = new TestMachine();
        m[A0] = rs1;
        m.Load(p => p.Emit(Encode(op, A2, A0, imm: imm)).Emit(Ebreak()));
        m.RunToBreak();
        return m[A2];
    }
}
