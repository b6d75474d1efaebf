using Vbase.Isa.Csrs;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;
using static Vbase.Isa.Tests.Infrastructure.PageTables;

namespace Vbase.Isa.Tests.Privileged;

/// <summary>Several privileged features together, the way a small kernel uses them.</summary>
public class ScenarioTests
{
    private const ulong Base = TestMachine.RamBase;
    private const ulong Data = TestMachine.DataBase;
    private const ulong UserVa = 0x1_0000_0000;

    /// <summary>
    /// A supervisor "kernel" under Sv39 runs a user program that makes ten system calls; the kernel counts
    /// them, steps sepc over each ecall and srets back. The user program finally executes an illegal
    /// instruction, which is not delegated and so reaches M.
    /// </summary>
    [Fact]
    public void UserSystemCallsHandledBySupervisorKernel()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, Rwx | AccessedDirty, level: 2);             // kernel: identity, S only
        pt.Map(UserVa, Data, R | X | U | A);                            // user code
        pt.Map(UserVa + 0x1000, Data + 0x1000, R | W | U | A | D);      // user data

        var user = TestMachine.Program(Data);
        user.Li(S0, 10).Li(S1, (long)UserVa + 0x1000);
        user.Label("loop");
        user.Emit(Addi(A7, Zero, 64), Mv(A0, S0), Ecall());             // "write(a0)"; the kernel returns a0 * 2
        user.Emit(Sd(A0, S1, 0), Addi(S1, S1, 8), Addi(S0, S0, -1));
        user.Bne(S0, Zero, "loop");
        user.Label("bad");
        user.Emit(0xFFFF_FFFFu);
        m.Load(user);

        var kernel = TestMachine.Program();
        kernel.La(T0, "trap").Emit(Csrw(Stvec, T0));
        kernel.Li(T0, (long)UserVa).Emit(Csrw(Sepc, T0));
        kernel.Li(T0, (long)MStatus.Spp).Emit(Csrrc(Zero, Sstatus, T0)); // SPP = U
        kernel.Emit(Sret());
        kernel.Align(4).Label("trap");
        kernel.Emit(Csrr(T1, Scause), Addi(T2, Zero, 8));
        kernel.Bne(T1, T2, "unexpected");
        kernel.Emit(Addi(S11, S11, 1), Add(A0, A0, A0));
        kernel.Emit(Csrr(T1, Sepc), Addi(T1, T1, 4), Csrw(Sepc, T1), Sret());
        kernel.Label("unexpected");
        kernel.Emit(Ebreak());
        m.Load(kernel);

        m.SetCsr(Satp, pt.Satp);
        m.SetCsr(Medeleg, 1UL << 8);
        m.StartIn(Privilege.Supervisor, Base);
        TrapInfo t = m.RunToTrap();
        Assert.Equal(new TrapInfo(2, UserVa + user.AddressOf("bad") - Data, 0xFFFF_FFFF), t);
        Assert.Equal(0UL, (m.Csr(Mstatus) >> 11) & 3);
        Assert.Equal(10UL, m[S11]);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal((ulong)(10 - i) * 2, m.Read64(Data + 0x1000 + (ulong)(8 * i)));
        }
    }

    [Fact]
    public void SupervisorTimerInterruptInjectedByMachine()
    {
        // M forwards a timer tick to S by setting mip.STIP (as SBI firmware does); S sees scause = 5.
        using var m = new TestMachine();
        m.SetCsr(Mideleg, 1UL << 5);
        m.SetCsr(Mie, 1UL << 5);
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        m.SetCsr(Mstatus, MStatus.Sie);
        var p = TestMachine.Program();
        p.Li(T0, 1L << 5).Emit(Csrrs(Zero, Mip, T0));
        p.Li(T0, 1L << 11).Emit(Csrrs(Zero, Mstatus, T0));
        p.La(T0, "s").Emit(Csrw(Mepc, T0), Mret());
        p.Label("s");
        p.Emit(Nop(), Ecall());
        m.Load(p);
        m.RunToTrap();
        Assert.Equal((1UL << 63) | 5, m.Csr(Scause));
        Assert.Equal(p.AddressOf("s"), m.Csr(Sepc));
    }

    [Fact]
    public void SoftwareCannotSetMachineLevelPendingBits()
    {
        using var m = new TestMachine();
        m.Load(p => p.Li(T0, (1L << 3) | (1L << 7) | (1L << 11)).Emit(Csrrs(Zero, Mip, T0), Csrr(A0, Mip), Ebreak()));
        m.RunToBreak();
        Assert.Equal(0UL, m[A0]);
    }

    [Fact]
    public void DelegatedEbreakAndSupervisorEcall()
    {
        using var m = new TestMachine();
        m.SetCsr(Medeleg, (1UL << 3) | (1UL << 9));
        var p = TestMachine.Program();
        p.Emit(Ebreak());
        p.Label("after");
        p.Emit(Ecall());
        p.Label("end");
        p.Emit(Sb(Zero, Zero, 0));      // only reachable if S could not handle it: never
        p.Align(4).Label("strap");
        p.Emit(Csrr(T1, Scause), Slli(T2, S2, 3), Add(T2, T2, S3), Sd(T1, T2, 0), Addi(S2, S2, 1));
        p.Emit(Csrr(T1, Sepc), Addi(T1, T1, 4), Csrw(Sepc, T1));
        p.Emit(Addi(T3, Zero, 2));
        p.Beq(S2, T3, "done");
        p.Emit(Sret());
        p.Label("done");
        p.Emit(0xFFFF_FFFFu);           // not delegated: back to M
        m.Load(p);
        m.SetCsr(Stvec, p.AddressOf("strap"));
        m[S3] = Data;
        m.StartIn(Privilege.Supervisor, Base);
        TrapInfo t = m.RunToTrap();
        Assert.Equal(2UL, t.Cause);
        Assert.Equal(3UL, m.Read64(Data));
        Assert.Equal(9UL, m.Read64(Data + 8));
    }

    [Fact]
    public void FetchNeedsExecutePermissionButNotRead()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, Rwx | AccessedDirty, level: 2);
        pt.Map(UserVa, Data, X | A);                 // execute-only
        pt.Map(UserVa + 0x1000, Data + 0x1000, R | W | A | D); // no execute
        m.WriteWords(Data, Addi(A0, Zero, 5), Jr(S1));
        m.SetCsr(Satp, pt.Satp);
        m[S0] = UserVa;
        m[S1] = UserVa + 0x1000;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Jr(S0)));
        Assert.Equal(5UL, m[A0]);
        Assert.Equal(new TrapInfo(12, UserVa + 0x1000, UserVa + 0x1000), t);
    }

    [Fact]
    public void UserStoreToReadOnlyUserPageFaults()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, Rwx | U | AccessedDirty, level: 2);
        pt.Map(UserVa, Data, R | U | A);
        m.SetCsr(Satp, pt.Satp);
        m[S0] = UserVa;
        TrapInfo t = m.RunIn(Privilege.User, p => p.Emit(Ld(A0, S0, 0), Sd(A0, S0, 0), Ecall()));
        Assert.Equal(new TrapInfo(15, Base + 4, UserVa), t);
    }

    [Fact]
    public void AccessedBitIsSetOnSuperpages()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, Rwx | AccessedDirty, level: 2);
        const ulong va = 0x1_4000_0000;
        pt.Map(va, Base + 0x20_0000, R | W, level: 1);
        m.SetCsr(Satp, pt.Satp);
        m[S0] = va + 0x100;
        m.RunIn(Privilege.Supervisor, p => p.Emit(Ld(A0, S0, 0), Ecall()));
        Assert.Equal(A, pt.GetPte(va, 1) & (A | D));
    }

    [Fact]
    public void ChangingMppUnderMprvChangesTheTranslation()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, Rwx | AccessedDirty, level: 2);
        pt.Map(UserVa, Data, R | A);
        m.Write64(Data, 0xD00D);
        m.SetCsr(Satp, pt.Satp);
        m.SetCsr(Mstatus, MStatus.Mprv | (3UL << 11));   // MPRV with MPP = M: no translation
        m[S0] = Data;
        m[S1] = UserVa;
        m.Load(p =>
        {
            p.Emit(Ld(A0, S0, 0));                        // physical
            p.Li(T0, 2L << 11).Emit(Csrrc(Zero, Mstatus, T0)); // MPP: M → S
            p.Emit(Ld(A1, S1, 0), Ebreak());              // translated
        });
        m.RunToBreak();
        Assert.Equal((0xD00DUL, 0xD00DUL), (m[A0], m[A1]));
    }

    [Fact]
    public void WfiInSupervisorWakesForAMaskedSupervisorInterrupt()
    {
        using var m = new TestMachine();
        m.SetCsr(Mideleg, 1UL << 1);
        m.SetCsr(Mie, 1UL << 1);
        m.SetCsr(Mip, 1UL << 1);          // pending, enabled in sie, but sstatus.SIE = 0
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Wfi(), Addi(A0, Zero, 1), Ecall()));
        Assert.Equal(9UL, t.Cause);
        Assert.Equal(1UL, m[A0]);
    }
}
