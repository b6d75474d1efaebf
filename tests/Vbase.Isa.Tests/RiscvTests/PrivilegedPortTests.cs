using Vbase.Isa.Csrs;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;
using static Vbase.Isa.Tests.Infrastructure.PageTables;

namespace Vbase.Isa.Tests.RiscvTests;

/// <summary>The checks of riscv-tests rv64si/rv64mi (csr, mcsr, ma_fetch, illegal, dirty), rebuilt on the test harness.</summary>
public class PrivilegedPortTests
{
    private const ulong Base = TestMachine.RamBase;

    // rv64si/csr.S: the CSRRx/CSRRxI sequence, on sscratch from S and on mscratch from M.
    [Theory]
    [InlineData(Privilege.Supervisor, Sscratch)]
    [InlineData(Privilege.Machine, Mscratch)]
    public void CsrSequence(Privilege privilege, ushort scratch)
    {
        using var m = new TestMachine();
        m.RunIn(privilege, p =>
        {
            p.Emit(Csrrwi(Zero, scratch, 3));
            p.Emit(Csrr(S2, scratch));             // 3
            p.Emit(Csrrci(S3, scratch, 1));        // 3, then 2
            p.Emit(Csrrsi(S4, scratch, 4));        // 2, then 6
            p.Emit(Csrrwi(S5, scratch, 2));        // 6, then 2
            p.Li(A0, 0xbad1dea).Emit(Csrrw(S6, scratch, A0));  // 2
            p.Li(A0, 0x0001dea).Emit(Csrrc(S7, scratch, A0));  // 0xbad1dea
            p.Li(A0, 0x000beef).Emit(Csrrs(S8, scratch, A0));  // 0xbad0000
            p.Emit(Csrr(S9, scratch));                           // 0xbadbeef
            p.Emit(Ecall());
        });
        Assert.Equal(new ulong[] { 3, 3, 2, 6, 2, 0xbad1dea, 0xbad0000, 0xbadbeef },
            new[] { m[S2], m[S3], m[S4], m[S5], m[S6], m[S7], m[S8], m[S9] });
    }

    // rv64si/csr.S, user part: writing cycle and reading sstatus trap; a0 keeps its value.
    [Fact]
    public void UserCannotWriteCycleOrReadSstatus()
    {
        foreach (uint insn in new[] { Csrrw(A0, Cycle, Zero), Csrr(A0, Sstatus) })
        {
            using var m = new TestMachine();
            TrapInfo t = m.RunIn(Privilege.User, p => p.Li(A0, 255).Emit(insn, Ecall()));
            Assert.Equal(new TrapInfo(2, Base + 4, insn), t);
            Assert.Equal(255UL, m[A0]);
        }
    }

    // rv64mi/mcsr.S
    [Fact]
    public void MachineCsrBasics()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Emit(Csrr(A0, Misa), Srli(A0, A0, 62), Csrr(A1, Mhartid));
            p.Emit(Csrr(A2, Mimpid), Csrr(A2, Marchid), Csrr(A2, Mvendorid));
            p.Emit(Addi(T0, Zero, 0), Csrrs(Zero, Mtvec, T0), Csrrs(Zero, Mepc, T0), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal((2UL, 0UL), (m[A0], m[A1]));
    }

    // rv64si/ma_fetch.S: with C, jalr to +2 does not trap, jalr ignores bit 0, and +3 behaves as +2.
    [Theory]
    [InlineData(2, true)]
    [InlineData(1, false)]
    [InlineData(3, true)]
    public void JalrTargetsWithCompressed(int offset, bool landsOnSecondParcel)
    {
        using var m = new TestMachine();
        var p = TestMachine.Program();
        p.La(T0, "target");
        p.Emit(Addi(T1, Zero, 0), Jalr(T1, T0, offset));
        p.Label("jalrNext");
        p.Label("target");
        p.Emit16(CLi(A0, 1), CLi(A1, 2));   // landing on the second parcel skips a0 = 1
        p.Emit(Ebreak());
        m.Load(p);
        m.RunToBreak();
        Assert.Equal(p.AddressOf("jalrNext"), m[T1]);     // the link was written: no trap
        Assert.Equal(landsOnSecondParcel ? 0UL : 1UL, m[A0]);
        Assert.Equal(2UL, m[A1]);
    }

    // rv64mi/illegal.S: a zero word is illegal (mtval 0 or the word), vectored mtvec for a pending SSIP.
    [Fact]
    public void ZeroWordIsIllegal()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(0u));
        TrapInfo t = m.RunToTrap();
        Assert.Equal((2UL, Base), (t.Cause, t.Epc));
        Assert.Equal(0UL, t.Tval);
    }

    [Fact]
    public void VectoredMtvecTakesSupervisorSoftwareInterruptAtSlotOne()
    {
        using var m = new TestMachine();
        const ulong table = Base + 0x8000;
        m.WriteWords(table, J(0), Sb(Zero, Zero, 0), J(0), J(0));
        m.Load(p =>
        {
            p.Emit(Csrrwi(Zero, Mip, 2), Csrrwi(Zero, Mie, 2));
            p.Li(T0, (long)table + 1).Emit(Csrrw(S0, Mtvec, T0), Csrr(A0, Mtvec));
            p.Emit(Csrrsi(Zero, Mstatus, 8));
            p.Emit(J(0));
        });
        TrapInfo t = m.RunToTrap();
        Assert.Equal((1UL << 63) | 1, t.Cause);
        Assert.Equal(table + 1, m[A0]);
        Assert.Equal(table + 8, m.Hart.Pc);
    }

    [Fact]
    public void SupervisorInstructionsWithAndWithoutTrapBits()
    {
        using var m = new TestMachine();
        // WFI must not stall: SSIP is pending, enabled and delegated (taken only with SIE).
        m.SetCsr(Mip, 2);
        m.SetCsr(Mie, 2);
        m.SetCsr(Mideleg, 2);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Emit(Wfi(), SfenceVma(), Csrr(T0, Satp));
            p.La(T0, "s2").Emit(Csrw(Sepc, T0));
            p.Li(T0, (long)MStatus.Spp).Emit(Csrrs(Zero, Sstatus, T0));
            p.Li(T0, (long)MStatus.Spie).Emit(Csrrc(Zero, Sstatus, T0));
            p.Emit(Sret());
            p.Label("s2");
            p.Emit(Ecall());
        });
        Assert.Equal(9UL, t.Cause);
    }

    // rv64si/dirty.S: a faulting store leaves D clear; a successful one sets A and D.
    [Fact]
    public void FaultingStoreDoesNotSetDirty()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, Rwx | AccessedDirty, level: 2);
        const ulong va = 0x1_0000_0000;
        pt.Map(va, TestMachine.DataBase, R | U | A);                 // not writable
        pt.Map(va + 0x1000, TestMachine.DataBase + 0x1000, R | W | U | A);
        m.SetCsr(Satp, pt.Satp);
        m.SetCsr(Mstatus, MStatus.Sum);
        m[S0] = va;
        m[S1] = va + 0x1000;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Addi(T0, Zero, 1), Sw(T0, S0, 0), Ecall()));
        Assert.Equal(15UL, t.Cause);
        Assert.Equal(0UL, pt.GetPte(va, 0) & D);

        using var m2 = new TestMachine();
        var pt2 = new PageTables(m2);
        pt2.Map(Base, Base, Rwx | AccessedDirty, level: 2);
        pt2.Map(va + 0x1000, TestMachine.DataBase + 0x1000, R | W | U | A);
        m2.SetCsr(Satp, pt2.Satp);
        m2.SetCsr(Mstatus, MStatus.Sum);
        m2[S1] = va + 0x1000;
        m2.RunIn(Privilege.Supervisor, p => p.Emit(Addi(T0, Zero, 1), Sw(T0, S1, 0), Ecall()));
        Assert.Equal(A | D, pt2.GetPte(va + 0x1000, 0) & (A | D));
    }
}
