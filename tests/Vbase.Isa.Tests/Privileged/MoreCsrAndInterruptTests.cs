using Vbase.Isa.Csrs;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Privileged;

public class MoreCsrAndInterruptTests
{
    private const ulong Base = TestMachine.RamBase;

    [Fact]
    public void FsIsWritableAndSdMirrorsDirtyWhileVsAndXsStayOff()
    {
        using var m = new TestMachine();
        m.Load(p => p.Li(T0, (3L << 13) | (3L << 9) | (3L << 15)).Emit(Csrrs(Zero, Mstatus, T0), Csrr(A0, Mstatus), Csrr(A1, Sstatus), Ebreak()));
        m.RunToBreak();
        Assert.Equal((3UL << 13) | (1UL << 63), m[A0] & ((3UL << 13) | (3UL << 9) | (3UL << 15) | (1UL << 63))); // FS Dirty, SD; VS, XS 0
        Assert.Equal((3UL << 13) | (1UL << 63), m[A1] & ((3UL << 13) | (1UL << 63)));
    }

    [Fact]
    public void FloatingPointCsrsAreIllegalWhileFsIsOff()
    {
        foreach (ushort csr in new ushort[] { 0x001, 0x002, 0x003 }) // fflags, frm, fcsr
        {
            using var m = new TestMachine(); // FS is Off at reset
            uint insn = Csrr(A0, csr);
            m.Load(p => p.Emit(insn, Ebreak()));
            Assert.Equal(new TrapInfo(2, Base, insn), m.RunToTrap());
        }
    }

    [Fact]
    public void HardwarePerformanceCountersReadZeroAndFollowTheEnables()
    {
        using var m = new TestMachine();
        m.SetCsr(Mcounteren, 1UL << 3);
        m.SetCsr(Scounteren, 1UL << 3);
        TrapInfo t = m.RunIn(Privilege.User, p => p.Emit(Csrr(A0, HpmCounter3), Ecall()));
        Assert.Equal(8UL, t.Cause);
        Assert.Equal(0UL, m[A0]);

        using var m2 = new TestMachine();
        m2.SetCsr(Mcounteren, 1UL << 3);
        uint insn = Csrr(A0, 0xC04);                     // hpmcounter4: not enabled
        Assert.Equal(new TrapInfo(2, Base, insn), m2.RunIn(Privilege.Supervisor, p => p.Emit(insn, Ecall())));
    }

    [Fact]
    public void MachineDestinedInterruptsGoBeforeSupervisorOnesWhateverTheirNumber()
    {
        // In S with SIE = 1: SEI (delegated, to S) and STI (not delegated, to M) are both pending. STI has the
        // lower priority number, but interrupts for the more privileged mode are taken first.
        using var m = new TestMachine();
        m.SetCsr(Mideleg, 1UL << 9);
        m.SetCsr(Mie, (1UL << 9) | (1UL << 5));
        m.SetCsr(Mip, (1UL << 9) | (1UL << 5));
        m.SetCsr(Mstatus, MStatus.Sie);
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Nop(), Ecall()));
        Assert.Equal(new TrapInfo((1UL << 63) | 5, Base, 0), t);
        Assert.Equal(0UL, m.Csr(Scause));
    }

    [Fact]
    public void SupervisorInterruptsAreTakenInPriorityOrderToo()
    {
        using var m = new TestMachine();
        m.SetCsr(Mideleg, 0x222);
        m.SetCsr(Mie, 0x222);
        m.SetCsr(Mip, 0x222);
        var p = TestMachine.Program();
        p.Emit(J(0));                                        // U spins here
        p.Align(4).Label("strap");
        // S records scause and hands over to M (ecall), which clears that pending bit and resumes S at the sret.
        p.Emit(Csrr(T1, Scause), Sd(T1, S2, 0), Addi(S2, S2, 8), Ecall(), Sret());
        m.Load(p);
        m.SetCsr(Stvec, p.AddressOf("strap"));
        m[S2] = TestMachine.DataBase;
        m.StartIn(Privilege.User, Base);
        for (int i = 0; i < 3; i++)
        {
            TrapInfo t = m.RunToTrap();
            Assert.Equal(9UL, t.Cause);
            m.SetCsr(Mip, m.Csr(Mip) & ~(1UL << (int)(m.Csr(Scause) & 63)));
            m.SetCsr(Mepc, t.Epc + 4);                      // the sret, in S (MPP = S from the ecall)
            m.Hart.Pc = TestMachine.MretStub;
        }
        Assert.Equal(new ulong[] { (1UL << 63) | 9, (1UL << 63) | 1, (1UL << 63) | 5 },
            new[] { m.Read64(TestMachine.DataBase), m.Read64(TestMachine.DataBase + 8), m.Read64(TestMachine.DataBase + 16) });
    }
}
