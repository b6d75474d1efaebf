using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Execution;

/// <summary>RV64I register-register and register-immediate arithmetic. Expected values are worked out by hand.</summary>
public class Rv64iAluTests
{
    [Theory]
    [InlineData("add", 3UL, 4UL, 7UL)]
    [InlineData("add", 0xFFFF_FFFF_FFFF_FFFFUL, 1UL, 0UL)]
    [InlineData("add", 0x7FFF_FFFF_FFFF_FFFFUL, 1UL, 0x8000_0000_0000_0000UL)]
    [InlineData("add", 0x0000_0000_FFFF_FFFFUL, 1UL, 0x0000_0001_0000_0000UL)] // no 32-bit wrap in RV64
    [InlineData("sub", 3UL, 4UL, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("sub", 0x8000_0000_0000_0000UL, 1UL, 0x7FFF_FFFF_FFFF_FFFFUL)]
    [InlineData("sub", 0UL, 0x8000_0000_0000_0000UL, 0x8000_0000_0000_0000UL)]
    [InlineData("xor", 0xFF00_FF00_FF00_FF00UL, 0x0F0F_0F0F_0F0F_0F0FUL, 0xF00F_F00F_F00F_F00FUL)]
    [InlineData("or", 0xFF00_FF00_0000_0000UL, 0x0F0F_0F0F_0000_0001UL, 0xFF0F_FF0F_0000_0001UL)]
    [InlineData("and", 0xFF00_FF00_1234_5678UL, 0x0F0F_0F0F_FFFF_0000UL, 0x0F00_0F00_1234_0000UL)]
    [InlineData("slt", 0xFFFF_FFFF_FFFF_FFFFUL, 1UL, 1UL)]                        // -1 < 1
    [InlineData("slt", 1UL, 0xFFFF_FFFF_FFFF_FFFFUL, 0UL)]
    [InlineData("slt", 0x8000_0000_0000_0000UL, 0x7FFF_FFFF_FFFF_FFFFUL, 1UL)]  // MIN < MAX
    [InlineData("slt", 5UL, 5UL, 0UL)]
    [InlineData("slt", 0xFFFF_FFFF_FFFF_FFFEUL, 0xFFFF_FFFF_FFFF_FFFFUL, 1UL)]  // -2 < -1
    [InlineData("sltu", 0xFFFF_FFFF_FFFF_FFFFUL, 1UL, 0UL)]
    [InlineData("sltu", 1UL, 0xFFFF_FFFF_FFFF_FFFFUL, 1UL)]
    [InlineData("sltu", 0UL, 0UL, 0UL)]
    [InlineData("sltu", 0x7FFF_FFFF_FFFF_FFFFUL, 0x8000_0000_0000_0000UL, 1UL)]
    public void RegisterRegister(string op, ulong a, ulong b, ulong expected) =>
        Assert.Equal(expected, Exec.RegReg(op, a, b));

    // RV64 register shifts use rs2[5:0]; the W forms use rs2[4:0].
    [Theory]
    [InlineData("sll", 1UL, 63UL, 0x8000_0000_0000_0000UL)]
    [InlineData("sll", 1UL, 64UL, 1UL)]                       // 64 & 63 = 0
    [InlineData("sll", 1UL, 67UL, 8UL)]
    [InlineData("sll", 0x8000_0000_0000_0001UL, 0xFFFF_FFFF_FFFF_FFC1UL, 2UL)] // shamt 1
    [InlineData("sll", 0xFFFF_FFFFUL, 32UL, 0xFFFF_FFFF_0000_0000UL)]
    [InlineData("srl", 0x8000_0000_0000_0000UL, 63UL, 1UL)]
    [InlineData("srl", 0x8000_0000_0000_0000UL, 127UL, 1UL)] // 127 & 63 = 63
    [InlineData("srl", 0xFFFF_FFFF_0000_0000UL, 32UL, 0xFFFF_FFFFUL)]
    [InlineData("srl", 0x1234UL, 0x40UL, 0x1234UL)]
    [InlineData("sra", 0x8000_0000_0000_0000UL, 63UL, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("sra", 0x8000_0000_0000_0000UL, 4UL, 0xF800_0000_0000_0000UL)]
    [InlineData("sra", 0x8000_0000_0000_0000UL, 68UL, 0xF800_0000_0000_0000UL)]
    [InlineData("sra", 0x7000_0000_0000_0000UL, 60UL, 7UL)]
    [InlineData("sra", 0xFFFF_FFFF_8000_0000UL, 31UL, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("sllw", 1UL, 31UL, 0xFFFF_FFFF_8000_0000UL)]  // the result is sign-extended from bit 31
    [InlineData("sllw", 1UL, 32UL, 1UL)]                      // 32 & 31 = 0
    [InlineData("sllw", 1UL, 33UL, 2UL)]
    [InlineData("sllw", 0xFFFF_FFFF_0000_0003UL, 30UL, 0xFFFF_FFFF_C000_0000UL)] // upper input bits ignored
    [InlineData("srlw", 0xFFFF_FFFF_8000_0000UL, 0UL, 0xFFFF_FFFF_8000_0000UL)] // shift 0 still sign-extends
    [InlineData("srlw", 0x0000_0000_8000_0000UL, 0UL, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData("srlw", 0xFFFF_FFFF_8000_0000UL, 1UL, 0x4000_0000UL)]
    [InlineData("srlw", 0x1234_5678_8000_0000UL, 63UL, 1UL)]  // 63 & 31 = 31; upper bits ignored
    [InlineData("sraw", 0x0000_0000_8000_0000UL, 4UL, 0xFFFF_FFFF_F800_0000UL)]
    [InlineData("sraw", 0x0000_0000_8000_0000UL, 36UL, 0xFFFF_FFFF_F800_0000UL)]
    [InlineData("sraw", 0xFFFF_FFFF_7FFF_FFFFUL, 30UL, 1UL)]  // bit 63 of the input does not matter
    public void RegisterShifts(string op, ulong a, ulong shamt, ulong expected) =>
        Assert.Equal(expected, Exec.RegReg(op, a, shamt));

    [Theory]
    [InlineData("addw", 0x7FFF_FFFFUL, 1UL, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData("addw", 0xFFFF_FFFFUL, 1UL, 0UL)]
    [InlineData("addw", 0x1_0000_0005UL, 0x2_0000_0007UL, 12UL)]
    [InlineData("addw", 0x8000_0000UL, 0x8000_0000UL, 0UL)]
    [InlineData("subw", 0UL, 1UL, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("subw", 0x8000_0000UL, 1UL, 0x7FFF_FFFFUL)]
    [InlineData("subw", 0x7FFF_FFFFUL, 0xFFFF_FFFF_FFFF_FFFFUL, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData("subw", 0x5_0000_0000UL, 0UL, 0UL)]
    public void WordArithmeticSignExtends(string op, ulong a, ulong b, ulong expected) =>
        Assert.Equal(expected, Exec.RegReg(op, a, b));

    [Theory]
    [InlineData("addi", 5UL, -6L, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("addi", 0x7FFF_FFFF_FFFF_FFFFUL, 1L, 0x8000_0000_0000_0000UL)]
    [InlineData("addi", 0UL, -2048L, 0xFFFF_FFFF_FFFF_F800UL)]
    [InlineData("addi", 0UL, 2047L, 0x7FFUL)]
    [InlineData("slti", 0xFFFF_FFFF_FFFF_FFFFUL, 0L, 1UL)]
    [InlineData("slti", 0UL, -1L, 0UL)]
    [InlineData("slti", 0xFFFF_FFFF_FFFF_F800UL, -2047L, 1UL)]
    [InlineData("sltiu", 0UL, -1L, 1UL)]                  // the immediate is sign-extended, then compared unsigned
    [InlineData("sltiu", 0xFFFF_FFFF_FFFF_FFFEUL, -1L, 1UL)]
    [InlineData("sltiu", 0xFFFF_FFFF_FFFF_FFFFUL, -1L, 0UL)]
    [InlineData("sltiu", 0UL, 1L, 1UL)]                   // seqz
    [InlineData("sltiu", 5UL, 1L, 0UL)]
    [InlineData("xori", 0x00FF_00FFUL, -1L, 0xFFFF_FFFF_FF00_FF00UL)] // not
    [InlineData("xori", 0x1234UL, 0x7FFL, 0x15CBUL)]
    [InlineData("ori", 0x8000_0000_0000_0000UL, -2048L, 0xFFFF_FFFF_FFFF_F800UL)]
    [InlineData("ori", 0x10UL, 0x01L, 0x11UL)]
    [InlineData("andi", 0xFFFF_FFFF_FFFF_FFFFUL, -16L, 0xFFFF_FFFF_FFFF_FFF0UL)]
    [InlineData("andi", 0x1234_5678_9ABC_DEF0UL, 0x7FFL, 0x6F0UL)]
    [InlineData("addiw", 0x7FFF_FFFFUL, 1L, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData("addiw", 0xFFFF_FFFF_0000_0000UL, -1L, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("addiw", 0x1234_5678_0000_0001UL, 0L, 1UL)]  // sext.w drops the upper half
    [InlineData("addiw", 0x0000_0000_8000_0000UL, 0L, 0xFFFF_FFFF_8000_0000UL)]
    public void RegisterImmediate(string op, ulong a, long imm, ulong expected) =>
        Assert.Equal(expected, Exec.RegImm(op, a, imm));

    [Theory]
    [InlineData("slli", 1UL, 63, 0x8000_0000_0000_0000UL)]
    [InlineData("slli", 0xFFUL, 32, 0xFF_0000_0000UL)]
    [InlineData("slli", 0x1234UL, 0, 0x1234UL)]
    [InlineData("srli", 0x8000_0000_0000_0000UL, 63, 1UL)]
    [InlineData("srli", 0xFFFF_FFFF_FFFF_FFFFUL, 32, 0xFFFF_FFFFUL)]
    [InlineData("srai", 0x8000_0000_0000_0000UL, 63, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("srai", 0x8000_0000_0000_0000UL, 32, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData("srai", 0x4000_0000_0000_0000UL, 62, 1UL)]
    [InlineData("slliw", 1UL, 31, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData("slliw", 0xFFFF_FFFF_FFFF_FFFFUL, 4, 0xFFFF_FFFF_FFFF_FFF0UL)]
    [InlineData("slliw", 0x0000_0001_4000_0000UL, 1, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData("slliw", 0x0000_0001_0000_0001UL, 0, 1UL)]
    [InlineData("srliw", 0xFFFF_FFFF_8000_0000UL, 31, 1UL)]
    [InlineData("srliw", 0x0000_0000_8000_0000UL, 0, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData("srliw", 0xFFFF_FFFF_FFFF_FFFFUL, 4, 0x0FFF_FFFFUL)]
    [InlineData("sraiw", 0x0000_0000_8000_0000UL, 31, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("sraiw", 0x0000_0000_8000_0000UL, 4, 0xFFFF_FFFF_F800_0000UL)]
    [InlineData("sraiw", 0xFFFF_FFFF_7FFF_FFFFUL, 4, 0x07FF_FFFFUL)]
    public void ImmediateShifts(string op, ulong a, int shamt, ulong expected) =>
        Assert.Equal(expected, Exec.RegImm(op, a, shamt));

    [Theory]
    [InlineData(0x80000L, 0xFFFF_FFFF_8000_0000UL)]
    [InlineData(0x7FFFFL, 0x7FFF_F000UL)]
    [InlineData(0xFFFFFL, 0xFFFF_FFFF_FFFF_F000UL)]
    [InlineData(0x00001L, 0x1000UL)]
    public void LuiSignExtendsBit31(long imm20, ulong expected)
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(Lui(T0, imm20), Ebreak()));
        m.RunToBreak();
        Assert.Equal(expected, m[T0]);
    }

    [Theory]
    [InlineData(0L, 0x8000_0000UL)]
    [InlineData(0x80000L, 0UL)]                  // 0x8000_0000 + 0xFFFF_FFFF_8000_0000 wraps to 0
    [InlineData(0x7FFFFL, 0xFFFF_F000UL)]        // no sign extension of the sum at bit 31
    [InlineData(0xFFFFFL, 0x7FFF_F000UL)]        // −4096
    public void AuipcAddsTheSignExtendedImmediateToPc(long imm20, ulong expected)
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(Auipc(T0, imm20), Ebreak()));
        m.RunToBreak();
        Assert.Equal(expected, m[T0]);
    }

    [Fact]
    public void X0IsNeverWritten()
    {
        using var m = new TestMachine();
        m.Write64(TestMachine.DataBase, 0x1111_2222_3333_4444);
        m.Load(p =>
        {
            p.Li(A0, (long)TestMachine.DataBase);
            p.Emit(Addi(Zero, Zero, 5), Lui(Zero, 0x12345), Auipc(Zero, 1), Ld(Zero, A0, 0), Add(Zero, A0, A0));
            p.Emit(Jal(Zero, 4), Csrrs(Zero, 0xF14, Zero), Mul(Zero, A0, A0), AmoaddD(Zero, A0, A0));
            p.Emit16(CLi(Zero, 7), CMv(Zero, A0), CAdd(Zero, A0), CSlli(Zero, 3), CLui(Zero, 1), CAddi(Zero, 1));
            p.Emit(Add(A1, Zero, Zero), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0UL, m[Zero]);
        Assert.Equal(0UL, m[A1]);
        // The AMO with rd = x0 still updated memory.
        Assert.Equal(0x1111_2222_3333_4444UL + TestMachine.DataBase, m.Read64(TestMachine.DataBase));
    }
}
