using Vbase.Isa.Csrs;
using Vbase.Isa.Traps;
using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.FloatingPoint;

/// <summary>
/// mstatus.FS as the privileged specification defines it: Off makes every FP instruction and FP CSR access illegal;
/// Initial and Clean become Dirty on the first write of FP state (f registers or fcsr) and not on reads; SD mirrors
/// Dirty. And NaN-boxing: a single operand whose upper 32 bits are not all ones reads as the canonical NaN.
/// </summary>
public class FpStateTests
{
    private static (TestMachine Machine, TrapInfo Trap) Run(ulong fs, params uint[] code)
    {
        var m = new TestMachine();
        var p = TestMachine.Program();
        p.Li(A0, 0x3F800000);   // 1.0f
        p.Emit(code);
        p.Emit(Ecall());
        m.Load(p);
        m.SetCsr(CsrAddress.Mstatus, fs);
        return (m, m.RunToTrap());
    }

    [Theory]
    [InlineData("fmv.w.x")]
    [InlineData("fadd.s")]
    [InlineData("fcvt.w.s")]
    [InlineData("fsgnj.d")]
    public void WithFsOffAnFpInstructionIsIllegal(string op)
    {
        (TestMachine m, TrapInfo trap) = Run(0, Encode(op, 1, A0, 2));
        using (m)
        {
            Assert.Equal(2UL, trap.Cause);   // illegal instruction, before the ecall
            Assert.Equal(0UL, m.Csr(CsrAddress.Mstatus) & MStatus.Fs);
        }
    }

    [Theory]
    [InlineData(CsrAddress.Fflags)]
    [InlineData(CsrAddress.Frm)]
    [InlineData(CsrAddress.Fcsr)]
    public void WithFsOffTheFpCsrsAreIllegal(ushort csr)
    {
        (TestMachine m, TrapInfo trap) = Run(0, Csrr(A1, csr));
        using (m)
        {
            Assert.Equal(2UL, trap.Cause);
        }
    }

    [Theory]
    [InlineData(MStatus.FsInitial)]
    [InlineData(MStatus.FsClean)]
    public void AWriteOfFpStateMakesFsDirtyAndSdFollows(ulong fs)
    {
        (TestMachine m, TrapInfo trap) = Run(fs, Encode("fmv.w.x", 1, A0));
        using (m)
        {
            Assert.Equal(11UL, trap.Cause);   // the ecall
            Assert.Equal(MStatus.FsDirty, m.Csr(CsrAddress.Mstatus) & MStatus.Fs);
            Assert.NotEqual(0UL, m.Csr(CsrAddress.Mstatus) & (1UL << 63));
        }
    }

    [Theory]
    [InlineData(MStatus.FsInitial)]
    [InlineData(MStatus.FsClean)]
    public void ReadingFpStateLeavesFsAsItWas(ulong fs)
    {
        (TestMachine m, TrapInfo trap) = Run(fs, Encode("fmv.x.w", A1, 1), Csrr(A2, CsrAddress.Frm));
        using (m)
        {
            Assert.Equal(11UL, trap.Cause);
            Assert.Equal(fs, m.Csr(CsrAddress.Mstatus) & MStatus.Fs);
            Assert.Equal(0UL, m.Csr(CsrAddress.Mstatus) & (1UL << 63));
        }
    }

    [Fact]
    public void AnImproperlyBoxedSingleReadsAsTheCanonicalNaN()
    {
        // f1 = 0x00000000_3f800000 (1.0f without its box), f2 = boxed 1.0f: f1 + f2 is NaN + 1 = the canonical NaN,
        // quietly (a canonical NaN operand raises nothing).
        (TestMachine m, TrapInfo trap) = Run(MStatus.FsInitial,
            Encode("fmv.d.x", 1, A0), Encode("fmv.w.x", 2, A0), Encode("fadd.s", 3, 1, 2, rm: 0), Encode("fmv.x.d", A1, 3),
            Csrr(A2, CsrAddress.Fflags), Encode("fsgnj.s", 4, 1, 1), Encode("fmv.x.d", A3, 4));
        using (m)
        {
            Assert.Equal(11UL, trap.Cause);
            Assert.Equal(0xFFFFFFFF_7FC00000UL, m[A1]);
            Assert.Equal(0UL, m[A2]);
            Assert.Equal(0xFFFFFFFF_7FC00000UL, m[A3]);   // sign injection too sees the canonical NaN
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    public void AReservedStaticRoundingModeIsIllegal(int rm)
    {
        (TestMachine m, TrapInfo trap) = Run(MStatus.FsInitial, Encode("fmv.w.x", 1, A0), Encode("fadd.s", 2, 1, 1, rm: rm));
        using (m)
        {
            Assert.Equal(2UL, trap.Cause);
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void ADynamicRoundingModeWithAReservedFrmIsIllegal(int frm)
    {
        (TestMachine m, TrapInfo trap) = Run(MStatus.FsInitial, Encode("fmv.w.x", 1, A0), Csrwi(CsrAddress.Frm, frm), Encode("fadd.s", 2, 1, 1, rm: 7));
        using (m)
        {
            Assert.Equal(2UL, trap.Cause);
        }
    }
}
