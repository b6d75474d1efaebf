using Vbase.Isa.Csrs;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Privileged;

public class InterruptTests
{
    private const ulong Base = TestMachine.RamBase;
    private const ulong InterruptBit = 1UL << 63;
    private const ulong Ssip = 1 << 1, Msip = 1 << 3, Stip = 1 << 5, Mtip = 1 << 7, Seip = 1 << 9, Meip = 1 << 11;

    private static TrapInfo Interrupt(ulong code, ulong epc) => new(InterruptBit | code, epc, 0);

    [Fact]
    public void PendingInterruptsAreTakenInPriorityOrder()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(J(0)));                       // spin
        m.SetCsr(Mie, Meip | Msip | Mtip | Seip | Ssip | Stip);
        m.SetCsr(Mip, Seip | Ssip | Stip);
        m.Hart.SetInterruptLine(InterruptCause.MachineExternal, true);
        m.Hart.SetInterruptLine(InterruptCause.MachineSoftware, true);
        m.Hart.TimerCompare = 0;
        m.StartIn(Privilege.User, Base);                  // below M every M interrupt is enabled

        var order = new List<ulong>();
        for (int i = 0; i < 6; i++)
        {
            TrapInfo t = m.RunToTrap();
            Assert.Equal(Base, t.Epc);
            Assert.Equal(0UL, t.Tval);
            Assert.True(t.IsInterrupt, t.ToString());
            ulong code = t.Cause & 63;
            order.Add(code);
            switch (code)
            {
                case 11: m.Hart.SetInterruptLine(InterruptCause.MachineExternal, false); break;
                case 3: m.Hart.SetInterruptLine(InterruptCause.MachineSoftware, false); break;
                case 7: m.Hart.TimerCompare = ulong.MaxValue; break;
                default: m.SetCsr(Mip, m.Csr(Mip) & ~(1UL << (int)code)); break;
            }
            m.Hart.Pc = TestMachine.MretStub;             // back to the spin loop in U
        }
        Assert.Equal([11UL, 3, 7, 9, 1, 5], order);
        Assert.Equal(HartExit.InstructionLimit, m.Run(1000));
    }

    [Fact]
    public void MachineInterruptsWaitForMieInMachineMode()
    {
        using var m = new TestMachine();
        m.SetCsr(Mie, Msip);
        m.Hart.SetInterruptLine(InterruptCause.MachineSoftware, true);
        m.Load(p => p.Emit(Nop(), Nop(), Csrrsi(Zero, Mstatus, 8), Nop(), Ebreak()));
        TrapInfo t = m.RunToTrap();
        Assert.Equal(Interrupt(3, Base + 12), t);      // taken right after the csrsi that set MIE
        Assert.Equal(MStatus.Mpie, m.Csr(Mstatus) & MStatus.Mpie);
        Assert.Equal(3UL, (m.Csr(Mstatus) >> 11) & 3);
    }

    [Fact]
    public void MachineInterruptsWithMieClearNeverFireInMachineMode()
    {
        using var m = new TestMachine();
        m.SetCsr(Mie, Msip | Mtip);
        m.Hart.SetInterruptLine(InterruptCause.MachineSoftware, true);
        m.Hart.TimerCompare = 0;
        m.Load(p => p.Li(A0, 200).Label("loop").Emit(Addi(A0, A0, -1)).Bne(A0, Zero, "loop").Emit(Ebreak()));
        m.RunToBreak();
    }

    [Theory]
    [InlineData(Privilege.Supervisor)]
    [InlineData(Privilege.User)]
    public void MachineInterruptsPreemptLowerModesWhateverMie(Privilege privilege)
    {
        using var m = new TestMachine();
        m.SetCsr(Mie, Msip);
        m.Hart.SetInterruptLine(InterruptCause.MachineSoftware, true);
        TrapInfo t = m.RunIn(privilege, p => p.Emit(Nop(), Ecall()));
        Assert.Equal(Interrupt(3, Base), t);
        Assert.Equal((ulong)privilege, (m.Csr(Mstatus) >> 11) & 3);
    }

    [Fact]
    public void SupervisorSoftwareInterruptRaisedByMachineAndDelegated()
    {
        using var m = new TestMachine();
        var p = TestMachine.Program();
        // M: delegate SSI, enable it in sie, set sstatus.SIE, raise mip.SSIP, and drop to S.
        p.Li(T0, (long)Ssip);
        p.Emit(Csrw(Mideleg, T0), Csrw(Sie, T0), Csrrsi(Zero, Sstatus, 2), Csrrs(Zero, Mip, T0));
        p.Emit(Nop());                                      // still in M: a delegated interrupt never fires here
        p.Li(T1, 1L << 11).Emit(Csrrs(Zero, Mstatus, T1));  // MPP = S
        p.La(T1, "s").Emit(Csrw(Mepc, T1), Mret());
        p.Label("s");
        p.Emit(Nop(), Ecall());
        m.Load(p);
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        TrapInfo t = m.RunToTrap();
        Assert.Equal(new TrapInfo(9, TestMachine.SupervisorHandler, 0), t);
        Assert.Equal(InterruptBit | 1, m.Csr(Scause));
        Assert.Equal(p.AddressOf("s"), m.Csr(Sepc));
        Assert.Equal(MStatus.Spp, m.Csr(Mstatus) & MStatus.Spp);
        Assert.Equal(MStatus.Spie, m.Csr(Mstatus) & MStatus.Spie);
    }

    [Theory]
    [InlineData(Privilege.Supervisor, false, false)]
    [InlineData(Privilege.Supervisor, true, true)]
    [InlineData(Privilege.User, false, true)]
    [InlineData(Privilege.User, true, true)]
    public void DelegatedInterruptsFollowSie(Privilege privilege, bool sie, bool taken)
    {
        using var m = new TestMachine();
        m.SetCsr(Mideleg, Stip);
        m.SetCsr(Mie, Stip);
        m.SetCsr(Mip, Stip);
        m.SetCsr(Mstatus, sie ? MStatus.Sie : 0);
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        TrapInfo t = m.RunIn(privilege, p => p.Emit(Nop(), Ecall()));
        if (taken)
        {
            Assert.Equal(new TrapInfo(9, TestMachine.SupervisorHandler, 0), t);
            Assert.Equal((InterruptBit | 5, Base), (m.Csr(Scause), m.Csr(Sepc)));
        }
        else
        {
            Assert.Equal(new TrapInfo((ulong)PrivilegeRuns.EcallFrom(privilege), Base + 4, 0), t);
        }
    }

    [Fact]
    public void DelegatedInterruptsAreMaskedInMachineModeEvenWithSie()
    {
        using var m = new TestMachine();
        m.SetCsr(Mideleg, Ssip);
        m.SetCsr(Mie, Ssip);
        m.SetCsr(Mip, Ssip);
        m.SetCsr(Mstatus, MStatus.Sie | MStatus.Mie);
        m.Load(p => p.Emit(Nop(), Nop(), Ebreak()));
        m.RunToBreak();
    }

    [Fact]
    public void UndelegatedSupervisorInterruptGoesToMachine()
    {
        using var m = new TestMachine();
        m.SetCsr(Mie, Seip);
        m.Hart.SetInterruptLine(InterruptCause.SupervisorExternal, true);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Nop(), Ecall()));
        Assert.Equal(Interrupt(9, Base), t);
    }

    [Fact]
    public void ExternalSupervisorLineDelegatedToSupervisor()
    {
        using var m = new TestMachine();
        m.SetCsr(Mideleg, Seip);
        m.SetCsr(Mie, Seip);
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        m.Hart.SetInterruptLine(InterruptCause.SupervisorExternal, true);
        m.RunIn(Privilege.User, p => p.Emit(Nop(), Ecall()));
        Assert.Equal(InterruptBit | 9, m.Csr(Scause));
        Assert.Equal(Seip, m.Csr(Mip) & Seip);
        Assert.Equal(Seip, m.Csr(Sip) & Seip);
    }

    [Fact]
    public void MachineTimerFiresWhenTimeReachesTheCompareValue()
    {
        using var m = new TestMachine();
        m.SetCsr(Mie, Mtip);
        m.SetCsr(Mstatus, MStatus.Mie);
        m.Hart.TimerCompare = m.Hart.Time + 500;
        m.Load(p => p.Emit(Addi(A0, A0, 1), J(-4)));
        m[A0] = 0;
        TrapInfo t = m.RunToTrap();
        Assert.Equal(InterruptBit | 7, t.Cause);
        Assert.True(m.Hart.Time >= m.Hart.TimerCompare);
        Assert.InRange(m[A0], 200UL, 260UL);             // ~500 instructions of a two-instruction loop
        Assert.Equal(Mtip, m.Csr(Mip) & Mtip);
    }

    [Fact]
    public void VectoredInterruptsGoToBasePlusFourTimesCause()
    {
        using var m = new TestMachine();
        const ulong table = Base + 0x8000;
        for (int i = 0; i < 16; i++)
        {
            m.Write32(table + (ulong)(4 * i), J(0));
        }
        m.Write32(table + 4 * 7, Sb(Zero, Zero, 0));     // the MTI slot ends the test
        m.SetCsr(Mtvec, table | 1);
        m.SetCsr(Mie, Mtip);
        m.Hart.TimerCompare = 0;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(J(0)));
        Assert.Equal(Interrupt(7, Base), t);
        Assert.Equal(table + 4 * 7 + 4, m.Hart.Pc);
    }

    [Fact]
    public void VectoredStvecForDelegatedInterrupts()
    {
        using var m = new TestMachine();
        const ulong table = Base + 0x9000;
        for (int i = 0; i < 16; i++)
        {
            m.Write32(table + (ulong)(4 * i), J(0));
        }
        m.Write32(table + 4 * 1, Ecall());               // SSI slot: hand over to M
        m.SetCsr(Stvec, table | 1);
        m.SetCsr(Mideleg, Ssip);
        m.SetCsr(Mie, Ssip);
        m.SetCsr(Mip, Ssip);
        TrapInfo t = m.RunIn(Privilege.User, p => p.Emit(J(0)));
        Assert.Equal(new TrapInfo(9, table + 4, 0), t);
        Assert.Equal(InterruptBit | 1, m.Csr(Scause));
    }

    [Fact]
    public void WfiWakesOnTheTimerEvenWithInterruptsDisabled()
    {
        using var m = new TestMachine();
        m.SetCsr(Mie, Mtip);                              // enabled in mie, but mstatus.MIE = 0
        m.Hart.TimerCompare = m.Hart.Time + 10_000;
        m.Load(p => p.Emit(Wfi(), Addi(A0, Zero, 1), Ebreak()));
        m.RunToBreak();
        Assert.Equal(1UL, m[A0]);
        Assert.True(m.Hart.Time >= m.Hart.TimerCompare);
    }

    [Fact]
    public void WfiWithNothingToWakeItIdlesUntilALineRises()
    {
        using var m = new TestMachine();
        m.SetCsr(Mie, Msip);
        m.Load(p => p.Emit(Wfi(), Addi(A0, Zero, 1), Ebreak()));
        Assert.Equal(HartExit.Idle, m.Run(1000));
        Assert.True(m.Hart.IsWaitingForInterrupt);
        Assert.Equal(0UL, m[A0]);
        m.Hart.SetInterruptLine(InterruptCause.MachineSoftware, true);
        m.RunToBreak();
        Assert.Equal(1UL, m[A0]);
    }

    [Fact]
    public void WfiWithInterruptsEnabledTakesTheInterruptAfterTheWfi()
    {
        using var m = new TestMachine();
        m.SetCsr(Mie, Mtip);
        m.SetCsr(Mstatus, MStatus.Mie);
        m.Hart.TimerCompare = m.Hart.Time + 5000;
        m.Load(p => p.Emit(Nop(), Wfi(), Addi(A0, Zero, 1), Ebreak()));
        Assert.Equal(Interrupt(7, Base + 8), m.RunToTrap());
        Assert.Equal(0UL, m[A0]);
    }
}
