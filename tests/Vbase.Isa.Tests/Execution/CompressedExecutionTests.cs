using Vbase.Isa.Tests.Encoding;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Execution;

public class CompressedExecutionTests
{
    private const ulong Data = TestMachine.DataBase;

    /// <summary>Runs <paramref name="code"/> (then ebreak) with every register pointing into the data area.</summary>
    private static (ulong[] Registers, byte[] Memory) RunFromKnownState(Action<Infrastructure.TestMachine> load)
    {
        using var m = new TestMachine();
        var rng = new Random(11);
        byte[] init = new byte[0x1000];
        rng.NextBytes(init);
        m.WriteBytes(Data, init);
        for (int r = 1; r < 32; r++)
        {
            m[r] = Data + 0x400 + (ulong)(8 * r);
        }
        load(m);
        m.RunToBreak();
        ulong[] regs = new ulong[32];
        for (int r = 0; r < 32; r++)
        {
            regs[r] = m[r];
        }
        return (regs, m.Memory.Ram.Slice((int)(Data - TestMachine.RamBase), 0x1000).ToArray());
    }

    [Fact]
    public void EveryNonControlFlowFormExecutesLikeItsExpansion()
    {
        string[] controlFlow = ["c.j", "c.beqz", "c.bnez", "c.jr", "c.jalr", "c.ebreak"];
        int compared = 0;
        foreach (var (form, parcel, expected) in CompressedEncodingTests.Cases())
        {
            if (controlFlow.Contains(form))
            {
                continue;
            }
            var compressed = RunFromKnownState(m => m.Load(p => p.Emit16(parcel).Emit(Ebreak())));
            var full = RunFromKnownState(m => m.Load(p => p.Emit(expected, Ebreak())));
            Assert.True(compressed.Registers.SequenceEqual(full.Registers), $"{form} 0x{parcel:x4}: registers differ");
            Assert.True(compressed.Memory.SequenceEqual(full.Memory), $"{form} 0x{parcel:x4}: memory differs");
            compared++;
        }
        Assert.True(compared > 500);
    }

    // The cases of riscv-tests rv64uc/rvc.S, with its values.
    [Fact]
    public void RvcCornerCases()
    {
        using var m = new TestMachine();
        m.Write64(Data, 0xFEDC_BA98_7654_3210);
        m.Write64(Data + 8, 0xFEDC_BA98_7654_3210);
        m.Load(p =>
        {
            p.Li(Sp, 0x1234);
            p.Emit16(CAddi4spn(A0, 1020));                 // a0 = 0x1234 + 1020
            p.Emit(Mv(S2, A0));
            p.Emit16(CAddi16sp(496));                        // sp = 0x1234 + 496
            p.Emit(Mv(S3, Sp));
            p.Emit16(CAddi16sp(-512));                       // sp = 0x1234 + 496 - 512
            p.Emit(Mv(S4, Sp));
            p.Li(A1, (long)Data);
            p.Emit16(CLw(A0, A1, 4)).Emit(Addi(A0, A0, 1)).Emit16(CSw(A0, A1, 4), CLw(A2, A1, 4));
            p.Emit(Mv(S5, A2));
            p.Emit16(CLd(A0, A1, 0)).Emit(Addi(A0, A0, 1)).Emit16(CSd(A0, A1, 0), CLd(A2, A1, 0));
            p.Emit(Mv(S6, A2));
            p.Emit(Ori(A0, Zero, 1)).Emit16(CAddi(A0, -16));  // -15
            p.Emit(Mv(S7, A0));
            p.Emit(Ori(A5, Zero, 1)).Emit16(CLi(A5, -16));    // -16
            p.Emit(Ld(A0, A1, 8)).Emit16(CAddiw(A0, -1));     // 0x76543210 - 1 = 0x7654320f, sign-extended
            p.Emit(Mv(S8, A0));
            p.Emit16(CLui(S0, -31), CSrai(S0, 12));          // c.lui s0, 0xfffe1
            p.Emit(Mv(S9, S0));
            p.Emit16(CLui(S0, -31), CSrli(S0, 12));
            p.Emit(Mv(S10, S0));
            p.Emit16(CLi(S0, -2), CAndi(S0, ~0x10));
            p.Emit(Mv(S11, S0));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0x1234UL + 1020, m[S2]);
        Assert.Equal(0x1234UL + 496, m[S3]);
        Assert.Equal(0x1234UL + 496 - 512, m[S4]);
        Assert.Equal(0xFFFF_FFFF_FEDC_BA99UL, m[S5]);
        Assert.Equal(0xFEDC_BA99_7654_3211UL, m[S6]);
        Assert.Equal(unchecked((ulong)-15L), m[S7]);
        Assert.Equal(unchecked((ulong)-16L), m[A5]);
        Assert.Equal(0x7654_320FUL, m[S8]);
        Assert.Equal(0xFFFF_FFFF_FFFF_FFE1UL, m[S9]);
        Assert.Equal(0x000F_FFFF_FFFF_FFE1UL, m[S10]);
        Assert.Equal(unchecked((ulong)~0x11L), m[S11]);
    }

    [Fact]
    public void RvcArithmetic()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(S1, 20).Li(A0, 6).Emit16(CSub(S1, A0)).Emit(Mv(T0, S1));
            p.Li(S1, 20).Emit16(CXor(S1, A0)).Emit(Mv(T1, S1));
            p.Li(S1, 20).Emit16(COr(S1, A0)).Emit(Mv(T2, S1));
            p.Li(S1, 20).Emit16(CAnd(S1, A0)).Emit(Mv(T3, S1));
            p.Li(S1, 0x7FFF_FFFF).Li(A0, -1).Emit16(CSubw(S1, A0)).Emit(Mv(T4, S1));
            p.Li(S1, 0x7FFF_FFFF).Li(A0, 1).Emit16(CAddw(S1, A0)).Emit(Mv(T5, S1));
            p.Li(S0, 0x1234).Emit16(CSlli(S0, 4));
            p.Li(A0, 0x123).Emit16(CMv(T6, A0), CAdd(T6, A0));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal((14UL, 18UL, 22UL, 4UL), (m[T0], m[T1], m[T2], m[T3]));
        Assert.Equal(0xFFFF_FFFF_8000_0000UL, m[T4]);
        Assert.Equal(0xFFFF_FFFF_8000_0000UL, m[T5]);
        Assert.Equal(0x12340UL, m[S0]);
        Assert.Equal(0x246UL, m[T6]);
    }

    [Fact]
    public void RvcStackPointerLoadsAndStores()
    {
        using var m = new TestMachine();
        m.Write64(Data, 0xFEDC_BA98_7654_3210);
        m.Write64(Data + 8, 0xFEDC_BA98_7654_3210);
        m.Load(p =>
        {
            p.Li(Sp, (long)Data);
            p.Emit16(CLwsp(A0, 12)).Emit(Addi(A0, A0, 1)).Emit16(CSwsp(A0, 12), CLwsp(A2, 12));
            p.Emit(Mv(S2, A2));
            p.Emit16(CLdsp(A0, 8)).Emit(Addi(A0, A0, 1)).Emit16(CSdsp(A0, 8), CLdsp(A2, 8));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0xFFFF_FFFF_FEDC_BA99UL, m[S2]);
        Assert.Equal(0xFEDC_BA99_7654_3211UL, m[A2]);
    }

    [Theory]
    [InlineData(0UL, true)]
    [InlineData(1UL, false)]
    [InlineData(0x8000_0000_0000_0000UL, false)]
    public void RvcBranches(ulong value, bool isZero)
    {
        using var m = new TestMachine();
        m[A0] = value;
        m.Load(p =>
        {
            p.CBeqz(A0, "zero");
            p.Emit(Addi(A1, Zero, 1));
            p.CBnez(A0, "joined");
            p.Emit(Ebreak()); // not reached
            p.Label("zero");
            p.Emit(Addi(A1, Zero, 2));
            p.CBnez(A0, "never");
            p.CJ("joined");
            p.Label("never");
            p.Emit(Ebreak());
            p.Label("joined");
            p.Emit(Addi(A2, Zero, 3), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(isZero ? 2UL : 1UL, m[A1]);
        Assert.Equal(3UL, m[A2]);
    }

    [Fact]
    public void RvcJumpsAndLinks()
    {
        using var m = new TestMachine();
        var p = TestMachine.Program();
        p.La(T0, "target").Emit(Addi(Ra, Zero, 0));
        p.Label("call");
        p.Emit16(CJalr(T0));                    // ra = call + 2 (not + 4)
        p.Emit(Mv(S3, Ra));
        p.La(T1, "end");
        p.Emit16(CJr(T1));
        p.Emit(Ebreak());                       // skipped
        p.Label("target");
        p.Emit16(CMv(S2, Ra), CJr(Ra));         // return through ra
        p.Label("end");
        p.Emit16(CJ(4), CEbreak());             // c.j over the c.ebreak
        p.Label("last");
        p.Emit(Ebreak());
        m.Load(p);
        m.RunToBreak();
        ulong call = p.AddressOf("call");
        Assert.Equal(call + 2, m[Ra]);
        Assert.Equal(call + 2, m[S2]);
        Assert.Equal(call + 2, m[S3]);
        Assert.Equal(p.AddressOf("last"), m.LastTrap.Epc);
    }

    [Fact]
    public void CJalrWithRaAsTargetReadsItBeforeLinking()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.La(Ra, "target");
            p.Emit16(CJalr(Ra));            // jumps to the old ra, then ra = pc + 2
            p.Emit(Ebreak());
            p.Label("target");
            p.Emit(Addi(A0, Zero, 9), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(9UL, m[A0]);
        Assert.Equal(TestMachine.RamBase + 10, m[Ra]);
    }

    public static TheoryData<int, string> ReservedParcels() => new()
    {
        { 0x0000, "all zeros" },
        { 0x0004, "c.addi4spn with nzuimm 0 (rd' = x9)" },
        { 0x4002, "c.lwsp rd = x0" },
        { 0x6002, "c.ldsp rd = x0" },
        { 0x8002, "c.jr rs1 = x0" },
        { 0x2005, "c.addiw rd = x0" },
        { 0x6101, "c.addi16sp nzimm 0" },
        { 0x6501, "c.lui a0, 0" },
        { 0x9C41, "reserved CA slot bit12=1 funct2=10" },
        { 0x9C61, "reserved CA slot bit12=1 funct2=11" },
        { 0x8004, "quadrant 0 funct3 100" },
        { 0x2008, "c.fld (no D)" },
        { 0xA008, "c.fsd (no D)" },
        { 0x2002, "c.fldsp (no D)" },
        { 0xA002, "c.fsdsp (no D)" },
        { 0x6000, "c.flw slot is c.ld on RV64, but c.ld is legal: control" },
    };

    [Theory]
    [MemberData(nameof(ReservedParcels))]
    public void ReservedEncodingsRaiseIllegalInstructionWithTheParcelInMtval(int parcel, string what)
    {
        using var m = new TestMachine();
        m[S0] = Data; // for the control case (c.ld s0, 0(s0))
        m.Load(p => p.Emit16((ushort)parcel).Emit(Ebreak()));
        TrapInfo t = m.RunToTrap();
        if (what.EndsWith("control", StringComparison.Ordinal))
        {
            Assert.Equal((ulong)ExceptionCause.Breakpoint, t.Cause);
            return;
        }
        Assert.Equal(new TrapInfo((ulong)ExceptionCause.IllegalInstruction, TestMachine.RamBase, (ulong)parcel), t);
    }

    [Fact]
    public void HintsChangeNothing()
    {
        using var m = new TestMachine();
        for (int r = 1; r < 32; r++)
        {
            m[r] = 0x1000UL * (ulong)r + 0x55;
        }
        m.Load(p =>
        {
            p.Emit16(CAddi(Zero, 5), CLi(Zero, -3), CLui(Zero, 7), CMv(Zero, A0), CAdd(Zero, A1), CSlli(Zero, 9));
            p.Emit16(CAddi(A2, 0), CSlli(A3, 0), CSrli(A4, 0), CSrai(A5, 0), CNop());
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        for (int r = 1; r < 32; r++)
        {
            Assert.Equal(0x1000UL * (ulong)r + 0x55, m[r]);
        }
        Assert.Equal(0UL, m[Zero]);
    }

    [Fact]
    public void FourByteInstructionStraddlingAPageBoundaryExecutes()
    {
        using var m = new TestMachine();
        const ulong start = TestMachine.RamBase + 0x1FFA;
        var p = TestMachine.Program(start);
        p.Emit(Addi(A1, Zero, 666));
        p.Emit(Addi(A1, A1, 1));            // at 0x...1FFE: straddles into the next page
        p.Emit16(CAddi(A1, 1));
        p.Emit(Ebreak());
        m.Load(p);
        m.Hart.Pc = start;
        m.RunToBreak();
        Assert.Equal(668UL, m[A1]);
        Assert.Equal(start + 10, m.LastTrap.Epc);

        // Rewriting the upper half (in the second page) takes effect on the next run.
        m.Write16(TestMachine.RamBase + 0x2000, (ushort)(Addi(A1, A1, 100) >> 16));
        m.Hart.Pc = start;
        m.RunToBreak();
        Assert.Equal(666UL + 100 + 1, m[A1]);
    }

    [Fact]
    public void StraddlingIntoUnmappedPhysicalMemoryRaisesAFetchAccessFaultAtTheSecondHalf()
    {
        using var m = new TestMachine();
        const ulong end = TestMachine.RamBase + TestMemory.RamSize;
        m.Write16(end - 2, (ushort)Addi(A0, A0, 1)); // the low half of a 32-bit instruction
        m.Hart.Pc = end - 2;
        TrapInfo t = m.RunToTrap();
        Assert.Equal(new TrapInfo((ulong)ExceptionCause.InstructionAccessFault, end - 2, end), t);
    }
}
