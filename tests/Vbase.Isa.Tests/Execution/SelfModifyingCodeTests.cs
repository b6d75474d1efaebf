using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Encoding.Assembler;
using static Vbase.Isa.Tests.Infrastructure.PageTables;

namespace Vbase.Isa.Tests.Execution;

/// <summary>
/// Stores into code the hart has already executed (and so decoded). The unprivileged spec only promises the
/// new instruction after fence.i; this hart keeps its decode cache coherent, so it must also work without.
/// </summary>
public class SelfModifyingCodeTests
{
    /// <summary>
    /// A loop that runs "patch" twice: the first pass executes the original instruction and then overwrites
    /// it with <c>addi a0, a0, 100</c>; the second pass must execute the new one.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StoreOverAnExecutedInstructionTakesEffect(bool fenceI)
    {
        using var m = new TestMachine();
        var p = TestMachine.Program();
        p.Li(A0, 0).Li(S1, 2);
        p.La(S2, "patch");
        m[T0] = Addi(A0, A0, 100);
        p.Label("loop");
        p.Label("patch");
        p.Emit(Addi(A0, A0, 1));
        p.Emit(Sw(T0, S2, 0));
        if (fenceI)
        {
            p.Emit(FenceI());
        }
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Emit(Ebreak());
        m.Load(p);
        m.RunToBreak();
        Assert.Equal(101UL, m[A0]);
    }

    [Fact]
    public void StoreOverTheNextInstructionTakesEffect()
    {
        using var m = new TestMachine();
        // The loop body runs twice; on the second pass the store rewrites the instruction right after it.
        var p = TestMachine.Program();
        p.Li(S1, 2).La(S2, "next");
        m[T0] = Addi(A1, A1, 10);
        p.Label("loop");
        p.Emit(Sw(T0, S2, 0));
        p.Label("next");
        p.Emit(Addi(A1, A1, 1));
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Emit(Ebreak());
        m.Load(p);
        m.RunToBreak();
        Assert.Equal(20UL, m[A1]);   // the first pass already ran the rewritten instruction
    }

    [Fact]
    public void StoreOverItselfDoesNotRunTheNewInstructionInItsPlace()
    {
        using var m = new TestMachine();
        var p = TestMachine.Program();
        p.La(S2, "self");
        m[T0] = Addi(A0, A0, 100);
        p.Label("self");
        p.Emit(Sw(T0, S2, 0));          // overwrites itself; execution continues with the next instruction
        p.Emit(Addi(A1, A1, 1), Ebreak());
        m.Load(p);
        m.RunToBreak();
        Assert.Equal(0UL, m[A0]);
        Assert.Equal(1UL, m[A1]);
        Assert.Equal(p.AddressOf("self") + 8, m.LastTrap.Epc);
        Assert.Equal(Addi(A0, A0, 100), m.Read32(p.AddressOf("self")));
    }

    [Fact]
    public void CompressedStoreOverItselfContinuesAfterIt()
    {
        using var m = new TestMachine();
        var p = TestMachine.Program();
        p.La(S0, "self");
        m[A5] = CLi(A0, 7);
        p.Label("self");
        p.Emit16(CSw(A5, S0, 0));       // rewrites its own parcel (and the next one, a c.nop, with zeros)
        p.Emit16(CNop());
        p.Emit(Addi(A1, A1, 1), Ebreak());
        m.Load(p);
        TrapInfo t = m.RunToTrap();
        // The parcel after it is now 0x0000 (illegal): executing it is correct, re-running "self" is not.
        Assert.Equal(0UL, m[A0]);
        Assert.Equal(new TrapInfo(2, p.AddressOf("self") + 2, 0), t);
    }

    [Fact]
    public void AmoOverAnExecutedInstructionTakesEffect()
    {
        using var m = new TestMachine();
        var p = TestMachine.Program();
        p.Li(S1, 2).La(S2, "patch");
        m[T0] = Addi(A0, A0, 100);
        p.Label("loop");
        p.Label("patch");
        p.Emit(Addi(A0, A0, 1));
        p.Emit(AmoswapW(Zero, T0, S2));
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Emit(Ebreak());
        m.Load(p);
        m.RunToBreak();
        Assert.Equal(101UL, m[A0]);
    }

    [Fact]
    public void ByteStoreIntoTheMiddleOfAnInstructionTakesEffect()
    {
        using var m = new TestMachine();
        var p = TestMachine.Program();
        p.Li(S1, 2).La(S2, "patch");
        p.Li(T0, 0x06);                  // byte 3 of "addi a0, a0, 1" becomes 0x06: imm = 0x061 = 97
        p.Label("loop");
        p.Label("patch");
        p.Emit(Addi(A0, A0, 1));
        p.Emit(Sb(T0, S2, 3));
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Emit(Ebreak());
        m.Load(p);
        m.RunToBreak();
        Assert.Equal(Addi(A0, A0, 0x61), m.Read32(p.AddressOf("patch")));
        Assert.Equal(1UL + 0x61, m[A0]);
    }

    [Fact]
    public void StoreIntoAnotherCodePageTakesEffect()
    {
        using var m = new TestMachine();
        const ulong far = TestMachine.RamBase + 0x5000;
        m.WriteWords(far, Addi(A0, Zero, 1), Ret());
        m.Load(p =>
        {
            p.Li(S2, (long)far);
            p.Emit(Jalr(Ra, S2, 0), Mv(S3, A0));
            p.Li(T0, Addi(A0, Zero, 2));
            p.Emit(Sw(T0, S2, 0), Jalr(Ra, S2, 0), Mv(S4, A0), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal((1UL, 2UL), (m[S3], m[S4]));
    }

    [Fact]
    public void RewritingTheUpperHalfOfAStraddlingInstructionTakesEffect()
    {
        using var m = new TestMachine();
        const ulong at = TestMachine.RamBase + 0x2FFE;     // the 4-byte instruction spans two pages
        uint first = Addi(A0, A0, 1), second = Addi(A0, A0, 0x100);
        m.Write16(at, (ushort)first);
        m.Write16(at + 2, (ushort)(first >> 16));
        m.WriteWords(at + 4, Ret());
        m.Load(p =>
        {
            p.Li(S2, (long)at);
            p.Emit(Jalr(Ra, S2, 0));
            p.Li(T0, (long)(second >> 16));
            p.Emit(Sh(T0, S2, 2), Jalr(Ra, S2, 0), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(1UL + 0x100, m[A0]);
    }

    [Fact]
    public void StoreThroughAnAliasMappingUpdatesCodeFetchedThroughAnother()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(TestMachine.RamBase, TestMachine.RamBase, Rwx | AccessedDirty, level: 2);
        const ulong code = 0x1_0000_0000, alias = 0x1_0001_0000, pa = TestMachine.DataBase;
        pt.Map(code, pa, R | X | A);
        pt.Map(alias, pa, R | W | AccessedDirty);
        m.SetCsr(Vbase.Isa.Csrs.CsrAddress.Satp, pt.Satp);
        m.WriteWords(pa, Addi(A0, Zero, 1), Ret());
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Li(S2, (long)code).Li(S3, (long)alias);
            p.Emit(Jalr(Ra, S2, 0), Mv(S4, A0));
            p.Li(T0, Addi(A0, Zero, 2));
            p.Emit(Sw(T0, S3, 0), Jalr(Ra, S2, 0), Mv(S5, A0), Ecall());
        });
        Assert.Equal(9UL, t.Cause);
        Assert.Equal((1UL, 2UL), (m[S4], m[S5]));
    }

    [Fact]
    public void FenceIPicksUpMemoryWrittenBehindTheHartsBack()
    {
        using var m = new TestMachine();
        const ulong far = TestMachine.RamBase + 0x6000;
        m.WriteWords(far, Addi(A0, Zero, 1), Ret());
        m.Load(p =>
        {
            p.Li(S2, (long)far);
            p.Emit(Jalr(Ra, S2, 0), Mv(S3, A0), Ebreak());
            p.Label("second");
            p.Emit(FenceI(), Jalr(Ra, S2, 0), Mv(S4, A0), Ebreak());
        });
        m.RunToBreak();
        // A "device" rewrites the code without telling the hart (no InvalidateCode).
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(
            m.Memory.Ram[(int)(far - TestMachine.RamBase)..], Addi(A0, Zero, 2));
        m.Hart.Pc = m.LastTrap.Epc + 4;
        m.RunToBreak();
        Assert.Equal((1UL, 2UL), (m[S3], m[S4]));
    }
}
