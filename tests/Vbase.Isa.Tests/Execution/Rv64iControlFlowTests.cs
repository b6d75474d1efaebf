using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Execution;

public class Rv64iControlFlowTests
{
    private const ulong Minus1 = 0xFFFF_FFFF_FFFF_FFFF, Min = 0x8000_0000_0000_0000, Max = 0x7FFF_FFFF_FFFF_FFFF;

    [Theory]
    [InlineData("beq", 5UL, 5UL, true)]
    [InlineData("beq", 5UL, 6UL, false)]
    [InlineData("beq", Minus1, 0xFFFF_FFFFUL, false)]
    [InlineData("bne", 5UL, 6UL, true)]
    [InlineData("bne", Min, Min, false)]
    [InlineData("blt", Minus1, 1UL, true)]
    [InlineData("blt", 1UL, Minus1, false)]
    [InlineData("blt", Min, Max, true)]
    [InlineData("blt", 3UL, 3UL, false)]
    [InlineData("bge", 3UL, 3UL, true)]
    [InlineData("bge", Minus1, 0UL, false)]
    [InlineData("bge", Max, Min, true)]
    [InlineData("bltu", 1UL, Minus1, true)]
    [InlineData("bltu", Minus1, 1UL, false)]
    [InlineData("bltu", 0UL, 0UL, false)]
    [InlineData("bgeu", Minus1, 1UL, true)]
    [InlineData("bgeu", 0UL, 0UL, true)]
    [InlineData("bgeu", Max, Min, false)]
    public void BranchesForwardAndBackward(string op, ulong a, ulong b, bool taken)
    {
        // Forward: "bxx a0, a1, +8; li a2, 1 (skipped if taken); ebreak".
        using (var m = new TestMachine())
        {
            m[A0] = a;
            m[A1] = b;
            m.Load(p => p.Emit(Encode(op, rs1: A0, rs2: A1, imm: 8), Addi(A2, Zero, 1), Ebreak()));
            m.RunToBreak();
            Assert.Equal(taken ? 0UL : 1UL, m[A2]);
        }
        // Backward: jump over a landing pad, then branch back to it.
        using (var m = new TestMachine())
        {
            m[A0] = a;
            m[A1] = b;
            m.Load(p =>
            {
                p.J("test");
                p.Label("back");
                p.Emit(Addi(A3, Zero, 7), Ebreak());
                p.Label("test");
                p.Emit(Encode(op, rs1: A0, rs2: A1, imm: -8));
                p.Emit(Addi(A3, Zero, 9), Ebreak());
            });
            m.RunToBreak();
            Assert.Equal(taken ? 7UL : 9UL, m[A3]);
        }
    }

    [Fact]
    public void JalLinksAndJumpsBothWays()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Jal(Ra, "forward");                           // 0x00
            p.Emit(Ebreak());                                // 0x04 (returned to)
            p.Label("back");
            p.Emit(Addi(A1, Zero, 2), Ret());                // 0x08
            p.Label("forward");
            p.Emit(Mv(S1, Ra), Addi(A0, Zero, 1));           // 0x10
            p.Jal(Ra, "back");                               // 0x18
            p.Emit(Jalr(Zero, S1, 0));                       // 0x1c
        });
        m.RunToBreak();
        Assert.Equal(1UL, m[A0]);
        Assert.Equal(2UL, m[A1]);
        Assert.Equal(TestMachine.RamBase + 4, m[S1]);
        Assert.Equal(TestMachine.RamBase + 0x1c, m[Ra]);
        Assert.Equal(TestMachine.RamBase + 4, m.LastTrap.Epc);
    }

    [Fact]
    public void JalrWithRdEqualRs1UsesTheOldValueAndClearsBitZero()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.La(T1, "target");
            p.Emit(Addi(T1, T1, -3));        // target − 3
            p.Emit(Jalr(T1, T1, 4));         // (target + 1) & ~1 = target; t1 = return address
            p.Label("after");
            p.Emit(Ebreak());
            p.Label("target");
            p.Emit(Addi(A0, Zero, 42), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(42UL, m[A0]);
        Assert.Equal(TestMachine.RamBase + 16, m[T1]); // la (8) + addi (4) + jalr (4)
    }

    [Fact]
    public void JalrNegativeOffsetAndJumpsAcrossPages()
    {
        using var m = new TestMachine();
        const ulong far = TestMachine.RamBase + 0x3000;
        m.Load(p =>
        {
            p.Li(T0, (long)far + 16);
            p.Emit(Jalr(Ra, T0, -16));
            p.Emit(Addi(A1, Zero, 5), Ebreak());
        });
        var q = TestMachine.Program(far);
        q.Emit(Addi(A0, Zero, 3), Ret());
        m.Load(q);
        m.RunToBreak();
        Assert.Equal(3UL, m[A0]);
        Assert.Equal(5UL, m[A1]);
    }

    [Fact]
    public void ExecutionFallsThroughFromOnePageIntoTheNext()
    {
        using var m = new TestMachine();
        const ulong start = TestMachine.RamBase + 0xFF8;
        var p = TestMachine.Program(start);
        p.Emit(Addi(A0, Zero, 1), Addi(A1, Zero, 2)); // last two words of the page
        p.Emit(Addi(A2, Zero, 3), Ebreak());          // first words of the next page
        m.Load(p);
        m.Hart.Pc = start;
        m.RunToBreak();
        Assert.Equal((1UL, 2UL, 3UL), (m[A0], m[A1], m[A2]));
    }

    [Fact]
    public void LoopCountsDown()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(A0, 1000).Li(A1, 0);
            p.Label("loop");
            p.Emit(Add(A1, A1, A0), Addi(A0, A0, -1));
            p.Bne(A0, Zero, "loop");
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(500500UL, m[A1]);
    }
}

public class FenceTests
{
    [Fact]
    public void FenceVariantsAreNoOps()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(Fence(), Fence(1, 1), 0x8330_000Fu /* fence.tso */, 0x0100_000Fu /* pause */, Addi(A0, Zero, 1), Ebreak()));
        m.RunToBreak();
        Assert.Equal(1UL, m[A0]);
        Assert.Equal(0x0110_000FU, Fence(1, 1));
    }
}
