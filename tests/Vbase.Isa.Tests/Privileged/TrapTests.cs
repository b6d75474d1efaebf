using Vbase.Isa.Csrs;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Privileged;

public class TrapTests
{
    private const ulong Base = TestMachine.RamBase;

    private static ulong Mpp(ulong mstatus) => (mstatus >> 11) & 3;

    [Theory]
    [InlineData(Privilege.User, 8UL)]
    [InlineData(Privilege.Supervisor, 9UL)]
    [InlineData(Privilege.Machine, 11UL)]
    public void EcallCauseDependsOnThePrivilege(Privilege privilege, ulong cause)
    {
        using var m = new TestMachine();
        TrapInfo t = m.RunIn(privilege, p => p.Emit(Nop(), Ecall()));
        Assert.Equal(new TrapInfo(cause, Base + 4, 0), t);
        Assert.Equal(Privilege.Machine, m.Hart.Privilege);
        Assert.Equal((ulong)privilege, Mpp(m.Csr(Mstatus)));
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu, false)]       // all ones: no such instruction
    [InlineData(0x0000_0053u, false)]       // fadd.s: no F
    [InlineData(0x0000_007Fu, false)]       // a 32-bit slot no extension uses
    [InlineData(0x1020_00F3u, false)]       // sret's bits with rd = 1 are no instruction
    [InlineData(0x0200_0073u, false)]       // SYSTEM funct3 0 with an unknown funct12
    [InlineData(0x0000_202Fu | (0x0Au << 27), false)] // AMO funct5 01010: unassigned
    [InlineData(0x3020_0093u, true)]        // control: addi
    [InlineData(0x0000_900Fu, true)]        // control: fence.i ignores its other fields
    public void IllegalInstructionsReportTheirBitsInMtval(uint word, bool legal)
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(word, Ebreak()));
        TrapInfo t = m.RunToTrap();
        Assert.Equal(legal ? new TrapInfo(3, Base + 4, 0) : new TrapInfo(2, Base, word), t);
    }

    [Fact]
    public void EbreakTrapsToMachineWithBreakpoint()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(Nop(), Nop()).Emit16(CEbreak()));
        TrapInfo t = m.RunToTrap();
        Assert.Equal(3UL, t.Cause);
        Assert.Equal(Base + 8, t.Epc);
        Assert.True(t.Tval is 0 or Base + 8, $"mtval must be 0 or the pc, was {t.Tval:x}");
    }

    [Fact]
    public void TrapEntryStacksInterruptEnable()
    {
        using var m = new TestMachine();
        m.SetCsr(Mstatus, MStatus.Mie);   // MIE = 1, MPIE = 0
        m.Load(p => p.Emit(Ecall()));
        m.RunToTrap();
        ulong s = m.Csr(Mstatus);
        Assert.Equal(0UL, s & MStatus.Mie);
        Assert.Equal(MStatus.Mpie, s & MStatus.Mpie);
        Assert.Equal(3UL, Mpp(s));
    }

    [Fact]
    public void DelegatedUserEcallGoesToSupervisor()
    {
        using var m = new TestMachine();
        m.SetCsr(Medeleg, 1UL << 8);
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        m.SetCsr(Mstatus, MStatus.Sie);   // SIE = 1 before the trap
        TrapInfo t = m.RunIn(Privilege.User, p => p.Emit(Nop(), Ecall()));
        // The S handler's own ecall reaches M.
        Assert.Equal(new TrapInfo(9, TestMachine.SupervisorHandler, 0), t);
        Assert.Equal(8UL, m.Csr(Scause));
        Assert.Equal(Base + 4, m.Csr(Sepc));
        Assert.Equal(0UL, m.Csr(Stval));
        ulong s = m.Csr(Mstatus);
        Assert.Equal(0UL, s & MStatus.Spp);               // came from U
        Assert.Equal(MStatus.Spie, s & MStatus.Spie);     // old SIE
        Assert.Equal(0UL, s & MStatus.Sie);
        Assert.Equal(1UL, Mpp(s));                        // the nested trap came from S
    }

    [Fact]
    public void DelegatedIllegalInstructionFromSupervisorStaysInSupervisor()
    {
        using var m = new TestMachine();
        m.SetCsr(Medeleg, 1UL << 2);
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        uint bad = 0xFFFF_FFFF;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(bad));
        Assert.Equal(new TrapInfo(9, TestMachine.SupervisorHandler, 0), t);
        Assert.Equal((2UL, Base, (ulong)bad), (m.Csr(Scause), m.Csr(Sepc), m.Csr(Stval)));
        ulong s = m.Csr(Mstatus);
        Assert.Equal(MStatus.Spp, s & MStatus.Spp);
        Assert.Equal(0UL, s & MStatus.Spie);               // SIE was 0
    }

    [Fact]
    public void UndelegatedTrapFromUserGoesToMachine()
    {
        using var m = new TestMachine();
        m.SetCsr(Medeleg, 1UL << 2);    // illegal instructions delegated, ecalls not
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        TrapInfo t = m.RunIn(Privilege.User, p => p.Emit(Ecall()));
        Assert.Equal(new TrapInfo(8, Base, 0), t);
        Assert.Equal(0UL, Mpp(m.Csr(Mstatus)));
        Assert.Equal(0UL, m.Csr(Scause));
    }

    [Fact]
    public void TrapsInMachineModeAreNeverDelegated()
    {
        using var m = new TestMachine();
        m.SetCsr(Medeleg, ulong.MaxValue);
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        m.Load(p => p.Emit(0xFFFF_FFFFu));
        Assert.Equal(new TrapInfo(2, Base, 0xFFFF_FFFF), m.RunToTrap());
        Assert.Equal(0UL, m.Csr(Scause));
    }

    [Fact]
    public void NestedTrapFromSupervisorHandlerGoesToMachine()
    {
        using var m = new TestMachine();
        m.SetCsr(Medeleg, 1UL << 8);
        var p = TestMachine.Program();
        p.Emit(Ecall());                        // U: delegated to S
        p.Align(4).Label("shandler");
        p.Emit(Csrr(S2, Scause), 0xFFFF_FFFFu); // S: not delegated → M
        m.Load(p);
        m.SetCsr(Stvec, p.AddressOf("shandler"));
        m.StartIn(Privilege.User, Base);
        TrapInfo t = m.RunToTrap();
        Assert.Equal(new TrapInfo(2, p.AddressOf("shandler") + 4, 0xFFFF_FFFF), t);
        Assert.Equal(8UL, m[S2]);
        Assert.Equal(1UL, Mpp(m.Csr(Mstatus)));
        Assert.Equal((8UL, Base), (m.Csr(Scause), m.Csr(Sepc)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MretRestoresInterruptEnableAndSetsMppToUser(bool mpie)
    {
        using var m = new TestMachine();
        // MPP = M so mret stays in M, where mstatus can be read afterwards.
        m.SetCsr(Mstatus, (3UL << 11) | MStatus.Mie | (mpie ? MStatus.Mpie : 0));
        m.Load(p =>
        {
            p.La(T0, "after").Emit(Csrw(Mepc, T0), Mret());
            p.Label("after");
            p.Emit(Csrr(A0, Mstatus), Csrrci(Zero, Mstatus, 8), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(mpie ? MStatus.Mie : 0, m[A0] & MStatus.Mie);
        Assert.Equal(MStatus.Mpie, m[A0] & MStatus.Mpie);
        Assert.Equal(0UL, Mpp(m[A0]));
    }

    [Fact]
    public void MretToSupervisorClearsMprv()
    {
        using var m = new TestMachine();
        m.SetCsr(Mstatus, MStatus.Mprv);
        m.RunIn(Privilege.Supervisor, p => p.Emit(Ecall()));
        Assert.Equal(9UL, m.Csr(Mcause));
        Assert.Equal(0UL, m.Csr(Mstatus) & MStatus.Mprv);
    }

    [Fact]
    public void MretToMachineKeepsMprv()
    {
        using var m = new TestMachine();
        m.SetCsr(Mstatus, MStatus.Mprv | (3UL << 11));
        m.Load(p =>
        {
            p.La(T0, "after").Emit(Csrw(Mepc, T0), Mret());
            p.Label("after");
            p.Emit(Csrr(A0, Mstatus), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(MStatus.Mprv, m[A0] & MStatus.Mprv);
    }

    [Fact]
    public void SretRestoresSieAndReturnsToSpp()
    {
        using var m = new TestMachine();
        // From M: SPP = S, SPIE = 1, SIE = 0; sret lands in S at sepc.
        m.SetCsr(Mstatus, MStatus.Spp | MStatus.Spie | MStatus.Mprv);
        m.Load(p =>
        {
            p.La(T0, "s").Emit(Csrw(Sepc, T0), Sret());
            p.Label("s");
            p.Emit(Csrr(A0, Sstatus), Ecall());
        });
        TrapInfo t = m.RunToTrap();
        Assert.Equal(9UL, t.Cause);
        Assert.Equal(MStatus.Sie, m[A0] & MStatus.Sie);
        Assert.Equal(MStatus.Spie, m[A0] & MStatus.Spie);
        Assert.Equal(0UL, m[A0] & MStatus.Spp);
        Assert.Equal(0UL, m.Csr(Mstatus) & MStatus.Mprv);
    }

    [Fact]
    public void SretToUser()
    {
        using var m = new TestMachine();
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.La(T0, "u").Emit(Csrw(Sepc, T0), Csrrci(Zero, Sstatus, 0), Sret());
            p.Label("u");
            p.Emit(Ecall());
        });
        Assert.Equal(8UL, t.Cause);
    }

    [Theory]
    [InlineData(Privilege.User, "mret")]
    [InlineData(Privilege.Supervisor, "mret")]
    [InlineData(Privilege.User, "sret")]
    [InlineData(Privilege.User, "wfi")]
    [InlineData(Privilege.User, "sfence.vma")]
    public void PrivilegedInstructionsFromLowerModesAreIllegal(Privilege privilege, string op)
    {
        using var m = new TestMachine();
        uint insn = Encode(op);
        TrapInfo t = m.RunIn(privilege, p => p.Emit(insn, Ecall()));
        Assert.Equal(new TrapInfo(2, Base, insn), t);
    }

    [Theory]
    [InlineData(MStatus.Tsr, "sret")]
    [InlineData(MStatus.Tw, "wfi")]
    [InlineData(MStatus.Tvm, "sfence.vma")]
    [InlineData(MStatus.Tvm, "csrr satp")]
    [InlineData(MStatus.Tvm, "csrw satp")]
    public void TrapVirtualizationBitsMakeSupervisorInstructionsIllegal(ulong bit, string what)
    {
        uint insn = what switch
        {
            "csrr satp" => Csrr(A0, Satp),
            "csrw satp" => Csrw(Satp, Zero),
            _ => Encode(what),
        };
        using (var m = new TestMachine())
        {
            m.SetCsr(Mstatus, bit);
            TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(insn, Ecall()));
            Assert.Equal(new TrapInfo(2, Base, insn), t);
        }
        // Without the bit the same instruction is legal in S (wfi is left out: it would wait).
        if (what != "wfi" && what != "sret")
        {
            using var m = new TestMachine();
            TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(insn, Ecall()));
            Assert.Equal(9UL, t.Cause);
        }
    }

    [Fact]
    public void TvmDoesNotAffectMachineMode()
    {
        using var m = new TestMachine();
        m.SetCsr(Mstatus, MStatus.Tvm | MStatus.Tsr | MStatus.Tw);
        m.Load(p => p.Emit(Csrr(A0, Satp), SfenceVma(), Ebreak()));
        m.RunToBreak();
    }

    [Fact]
    public void VectoredModeSendsExceptionsToTheBase()
    {
        using var m = new TestMachine();
        m.SetCsr(Mtvec, TestMachine.MachineHandler | 1);
        m.Load(p => p.Emit(Ecall()));
        Assert.Equal(11UL, m.RunToTrap().Cause);
        Assert.Equal(TestMachine.MachineHandler + 4, m.Hart.Pc);
    }
}
