using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Privileged;

public class CsrTests
{
    private static readonly ulong Illegal = (ulong)ExceptionCause.IllegalInstruction;

    [Fact]
    public void ReadWriteSetClearAndTheirImmediateForms()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(A1, unchecked((long)0xF0F0_0000_0000_00F0));
            p.Emit(Csrw(Mscratch, A1));
            p.Li(A2, 0x0F);
            p.Emit(Csrrs(A3, Mscratch, A2));            // a3 = old; set 0x0F
            p.Emit(Csrr(A4, Mscratch));
            p.Li(A2, 0xF0);
            p.Emit(Csrrc(A5, Mscratch, A2));            // clear 0xF0
            p.Emit(Csrr(A6, Mscratch));
            p.Emit(Csrrwi(A7, Mscratch, 0x15));         // uimm zero-extended
            p.Emit(Csrrsi(S2, Mscratch, 0x0A));
            p.Emit(Csrrci(S3, Mscratch, 0x01));
            p.Emit(Csrr(S4, Mscratch));
            p.Emit(Csrrw(S5, Mscratch, S5));            // rd == rs1: swap
            p.Emit(Csrr(S6, Mscratch));
            p.Emit(Ebreak());
        });
        m[S5] = 0x1234;
        m.RunToBreak();
        Assert.Equal(0xF0F0_0000_0000_00F0UL, m[A3]);
        Assert.Equal(0xF0F0_0000_0000_00FFUL, m[A4]);
        Assert.Equal(0xF0F0_0000_0000_00FFUL, m[A5]);
        Assert.Equal(0xF0F0_0000_0000_000FUL, m[A6]);
        Assert.Equal(0xF0F0_0000_0000_000FUL, m[A7]);
        Assert.Equal(0x15UL, m[S2]);
        Assert.Equal(0x1FUL, m[S3]);
        Assert.Equal(0x1EUL, m[S4]);
        Assert.Equal(0x1EUL, m[S5]);
        Assert.Equal(0x1234UL, m[S6]);
    }

    public static TheoryData<ushort> ReadOnlyCsrs() => [Mvendorid, Marchid, Mimpid, Mhartid, Mconfigptr, Cycle, Time, Instret, 0xC03];

    [Theory]
    [MemberData(nameof(ReadOnlyCsrs))]
    public void ReadOnlyCsrsCanBeReadButNotWritten(ushort csr)
    {
        // Reads: csrrs/csrrc with rs1 = x0 and csrrsi/csrrci with uimm 0 do not write, so they are legal.
        using (var m = new TestMachine())
        {
            m.Load(p => p.Emit(Csrrs(A0, csr, Zero), Csrrc(A1, csr, Zero), Csrrsi(A2, csr, 0), Csrrci(A3, csr, 0), Ebreak()));
            m.RunToBreak();
        }
        // Writes: csrrw (even with rd = x0 or rs1 = x0), csrrwi with uimm 0, and csrrs with a register that holds 0.
        foreach (uint insn in new[] { Csrrw(Zero, csr, Zero), Csrrw(A0, csr, A1), Csrrwi(Zero, csr, 0), Csrrs(A0, csr, A1), Csrrci(A0, csr, 1) })
        {
            using var m = new TestMachine();
            m[A1] = 0;
            m[A0] = 0x77;
            m.Load(p => p.Emit(insn, Ebreak()));
            Assert.Equal(new TrapInfo(Illegal, TestMachine.RamBase, insn), m.RunToTrap());
            Assert.Equal(0x77UL, m[A0]);
        }
    }

    [Fact]
    public void MachineInformationRegisters()
    {
        using var m = new TestMachine(new HartOptions { HartId = 5 });
        m.Load(p => p.Emit(Csrr(A0, Misa), Csrr(A1, Mhartid), Csrr(A2, Mvendorid), Csrr(A3, Mstatus), Ebreak()));
        m.RunToBreak();
        // MXL = 2 (64-bit); extensions A (bit 0), C (2), D (3), F (5), I (8), M (12), S (18), U (20).
        Assert.Equal(0x8000_0000_0014_112DUL, m[A0]);
        Assert.Equal(5UL, m[A1]);
        Assert.Equal(0UL, m[A2]);
        Assert.Equal(0xAUL, (m[A3] >> 32) & 0xF); // UXL = SXL = 2
    }

    [Fact]
    public void MisaWritesAreIgnored()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(Csrw(Misa, Zero), Csrr(A0, Misa), Ebreak()));
        m.RunToBreak();
        Assert.Equal(0x8000_0000_0014_112DUL, m[A0]);
    }

    [Theory]
    [InlineData(Privilege.Supervisor, Mstatus)]
    [InlineData(Privilege.Supervisor, Mscratch)]
    [InlineData(Privilege.Supervisor, Mhartid)]
    [InlineData(Privilege.Supervisor, Mcycle)]
    [InlineData(Privilege.Supervisor, PmpAddr0)]
    [InlineData(Privilege.User, Sstatus)]
    [InlineData(Privilege.User, Sscratch)]
    [InlineData(Privilege.User, Satp)]
    [InlineData(Privilege.User, Mstatus)]
    [InlineData(Privilege.Supervisor, 0x200)] // hypervisor-level CSRs are above S
    public void HigherPrivilegeCsrsAreIllegalFromLowerModes(Privilege privilege, ushort csr)
    {
        using var m = new TestMachine();
        uint insn = Csrr(A0, csr);
        TrapInfo t = m.RunIn(privilege, p => p.Emit(insn, Ecall()));
        Assert.Equal(new TrapInfo(Illegal, TestMachine.RamBase, insn), t);
        Assert.Equal((ulong)privilege, (m.Csr(Mstatus) >> 11) & 3);
    }

    [Fact]
    public void SupervisorCsrsWorkFromSupervisor()
    {
        using var m = new TestMachine();
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Li(A0, 0x1234);
            p.Emit(Csrw(Sscratch, A0), Csrr(A1, Sscratch), Csrr(A2, Sstatus), Ecall());
        });
        Assert.Equal((ulong)ExceptionCause.EcallFromS, t.Cause);
        Assert.Equal(0x1234UL, m[A1]);
        Assert.Equal(0x1234UL, m.Csr(Sscratch));
    }

    [Fact]
    public void UnknownCsrsAreIllegal()
    {
        using var m = new TestMachine();
        uint insn = Csrr(A0, 0x7FF);
        m.Load(p => p.Emit(insn, Ebreak()));
        Assert.Equal(new TrapInfo(Illegal, TestMachine.RamBase, insn), m.RunToTrap());
    }

    [Fact]
    public void WarlFieldsKeepLegalValues()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(T0, -1);
            p.Emit(Csrw(Medeleg, T0), Csrr(A0, Medeleg));
            p.Emit(Csrw(Mideleg, T0), Csrr(A1, Mideleg));
            p.Emit(Csrw(Mie, T0), Csrr(A2, Mie));
            p.Li(T1, unchecked((long)(TestMachine.RamBase + 0x100 + 2)));  // mode 2 is reserved
            p.Emit(Csrw(Mtvec, T1), Csrr(A3, Mtvec));
            p.Li(T1, unchecked((long)(TestMachine.RamBase + 0x100 + 1)));
            p.Emit(Csrw(Mtvec, T1), Csrr(A4, Mtvec));
            p.Li(T1, 2L << 11);                                                 // MPP = 2 is reserved
            p.Emit(Csrrs(Zero, Mstatus, T1), Csrr(A5, Mstatus));
            p.Li(T1, 3);
            p.Emit(Csrw(Mepc, T1), Csrr(A6, Mepc), Csrw(Sepc, T1), Csrr(A7, Sepc));
            p.Li(T1, MachineHandlerAddress());
            p.Emit(Csrw(Mtvec, T1));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0UL, m[A0] & (1UL << 11));               // ecall from M cannot be delegated
        Assert.True((m[A0] & 0x1FF) == 0x1FF, $"the usual delegable exceptions 0-8 must stick: 0x{m[A0]:x}");
        Assert.True((m[A0] & ((1UL << 12) | (1UL << 13) | (1UL << 15))) == ((1UL << 12) | (1UL << 13) | (1UL << 15)),
            $"page faults must be delegable: 0x{m[A0]:x}");
        Assert.Equal(0x222UL, m[A1]);                        // only SSIP, STIP, SEIP
        Assert.Equal(0xAAAUL, m[A2]);
        Assert.NotEqual(2UL, m[A3] & 3);
        Assert.Equal(TestMachine.RamBase + 0x101, m[A4]);
        Assert.NotEqual(2UL, (m[A5] >> 11) & 3);
        Assert.Equal(2UL, m[A6]);                              // IALIGN = 16: only bit 0 is cleared
        Assert.Equal(2UL, m[A7]);
    }

    private static long MachineHandlerAddress() => (long)TestMachine.MachineHandler;

    [Fact]
    public void MipOnlySupervisorBitsAreWritable()
    {
        using var m = new TestMachine();
        m.Load(p => p.Li(T0, -1).Emit(Csrw(Mip, T0), Csrr(A0, Mip), Csrw(Mip, Zero), Csrr(A1, Mip), Ebreak()));
        m.RunToBreak();
        Assert.Equal(0x222UL, m[A0]);
        Assert.Equal(0UL, m[A1]);
    }

    [Fact]
    public void SstatusIsARestrictedViewOfMstatus()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(T0, -1);
            p.Emit(Csrw(Sstatus, T0), Csrr(A0, Mstatus), Csrr(A1, Sstatus));
            p.Emit(Csrw(Sstatus, Zero), Csrr(A2, Mstatus));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        // SIE(1) SPIE(5) SPP(8) FS(14:13) SUM(18) MXR(19) become set; M-only bits (MIE 3, MPIE 7, MPP 12:11, MPRV 17, TVM..TSR) do not.
        const ulong sBits = (1UL << 1) | (1UL << 5) | (1UL << 8) | (3UL << 13) | (1UL << 18) | (1UL << 19);
        Assert.Equal(sBits, m[A0] & 0x7F_FFFF);
        Assert.Equal(sBits, m[A1] & 0x7F_FFFF);
        Assert.Equal(0UL, m[A2] & 0x7F_FFFF);
        Assert.Equal(0UL, m[A1] & ((1UL << 3) | (1UL << 7) | (3UL << 11) | (1UL << 17)));
    }

    [Fact]
    public void SieAndSipAreMaskedByMideleg()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(T0, -1);
            p.Emit(Csrw(Mie, T0), Csrr(A0, Sie));                // nothing delegated: sie reads 0
            p.Li(T1, 1 << 5);
            p.Emit(Csrw(Mideleg, T1), Csrr(A1, Sie));           // STIE visible
            p.Emit(Csrw(Sie, Zero), Csrr(A2, Mie));             // clears only the delegated STIE
            p.Li(T1, 1 << 1);
            p.Emit(Csrw(Sip, T1), Csrr(A3, Mip));               // SSIP not delegated: not writable through sip
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0UL, m[A0]);
        Assert.Equal(0x20UL, m[A1]);
        Assert.Equal(0xAAAUL & ~0x20UL, m[A2]);
        Assert.Equal(0UL, m[A3] & 2);
    }

    [Fact]
    public void SatpIgnoresUnsupportedModes()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(T0, unchecked((long)((8UL << 60) | (5UL << 44) | 0x80123)));
            p.Emit(Csrw(Satp, T0), Csrr(A0, Satp));
            p.Li(T1, unchecked((long)((9UL << 60) | 0x80456)));   // Sv48: not supported
            p.Emit(Csrw(Satp, T1), Csrr(A1, Satp));
            p.Li(T1, unchecked((long)((1UL << 60) | 0x80456)));   // mode 1 is reserved
            p.Emit(Csrw(Satp, T1), Csrr(A2, Satp));
            p.Emit(Csrw(Satp, Zero), Csrr(A3, Satp));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        ulong sv39 = (8UL << 60) | (5UL << 44) | 0x80123;
        Assert.Equal(sv39, m[A0]);
        Assert.Equal(sv39, m[A1]);
        Assert.Equal(sv39, m[A2]);
        Assert.Equal(0UL, m[A3]);
    }

    [Fact]
    public void PmpRegistersReadBack()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(T0, 0x2000_0000);
            p.Emit(Csrw(PmpAddr0, T0), Csrr(A0, PmpAddr0));
            p.Li(T0, -1);
            p.Emit(Csrw((ushort)(PmpAddr0 + 1), T0), Csrr(A1, (ushort)(PmpAddr0 + 1)));
            p.Li(T0, 0x0F1F);                                  // entry 0: NAPOT RWX; entry 1: NAPOT RWX (0x1F) with 0x0F = TOR RWX
            p.Emit(Csrw(PmpCfg0, T0), Csrr(A2, PmpCfg0));
            p.Li(T0, 0x0A);                                    // R=0 W=1 is reserved
            p.Emit(Csrw((ushort)(PmpCfg0 + 2), T0), Csrr(A3, (ushort)(PmpCfg0 + 2)));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0x2000_0000UL, m[A0]);
        Assert.Equal((1UL << 54) - 1, m[A1]);                   // pmpaddr holds bits 55:2 of the address
        Assert.Equal(0x0F1FUL, m[A2]);
        Assert.NotEqual(0x0AUL, m[A3] & 0xFF);                  // W without R may not stick
    }

    [Fact]
    public void LockedPmpEntriesIgnoreWrites()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(T0, 0x1234);
            p.Emit(Csrw(PmpAddr0, T0));
            p.Li(T0, 0x99);                                    // L | NAPOT... (0x80 | 0x18 | 0x01)
            p.Emit(Csrw(PmpCfg0, T0));
            p.Li(T0, 0x5678);
            p.Emit(Csrw(PmpAddr0, T0), Csrr(A0, PmpAddr0));
            p.Emit(Csrw(PmpCfg0, Zero), Csrr(A1, PmpCfg0));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0x1234UL, m[A0]);
        Assert.Equal(0x99UL, m[A1] & 0xFF);
    }

    [Fact]
    public void OddPmpcfgRegistersDoNotExistOnRv64()
    {
        using var m = new TestMachine();
        uint insn = Csrr(A0, (ushort)(PmpCfg0 + 1));
        m.Load(p => p.Emit(insn, Ebreak()));
        Assert.Equal(new TrapInfo(Illegal, TestMachine.RamBase, insn), m.RunToTrap());
    }

    [Fact]
    public void TriggersReadAsAbsent()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(T0, -1);
            p.Emit(Csrw(Tselect, T0), Csrr(A0, Tselect), Csrr(A1, Tdata1), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0UL, m[A0]);
        Assert.Equal(0UL, m[A1] >> 60); // type 0: no trigger
    }

    [Fact]
    public void CountersAdvanceOnePerInstruction()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(Csrr(A0, Instret), Csrr(A1, Instret), Nop(), Nop(), Csrr(A2, Instret), Csrr(A3, Cycle), Csrr(A4, Cycle),
            Csrr(A5, Minstret), Csrr(A6, Mcycle), Csrr(A7, Time), Ebreak()));
        m.RunToBreak();
        Assert.Equal(1UL, m[A1] - m[A0]);
        Assert.Equal(3UL, m[A2] - m[A1]);
        Assert.True(m[A4] > m[A3]);
        Assert.Equal(m[A2] + 3, m[A5]);
        Assert.True(m[A6] > m[A4]);
        Assert.True(m[A7] >= m[A3]);
    }

    [Fact]
    public void CounterWritesTakePrecedenceOverTheIncrement()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(T0, 1000);
            p.Emit(Csrw(Minstret, T0), Csrr(A0, Minstret), Csrr(A1, Instret));
            p.Li(T0, 5000);
            p.Emit(Csrw(Mcycle, T0), Csrr(A2, Mcycle));
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(1000UL, m[A0]);
        Assert.Equal(1001UL, m[A1]);
        Assert.Equal(5000UL, m[A2]);
    }

    [Fact]
    public void InstretDoesNotCountTrappingInstructions()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.La(T0, "handler").Emit(Csrw(Mtvec, T0));
            p.Emit(Csrr(A0, Instret), Ecall(), Csrr(A1, Instret), Ebreak());
            p.Align(4).Label("handler");
            p.Emit(Csrr(T1, Mepc), Addi(T1, T1, 4), Csrw(Mepc, T1));
            p.Emit(Csrw(Mtvec, T2), Mret());
        });
        m[T2] = TestMachine.MachineHandler;
        m.RunToBreak();
        // Between the two reads retire: the first csrr itself and the handler's csrr, addi, csrw, csrw, mret.
        Assert.Equal(6UL, m[A1] - m[A0]);
    }

    [Theory]
    [InlineData(Privilege.Supervisor, 0UL, 0UL, false)]
    [InlineData(Privilege.Supervisor, 1UL, 0UL, true)]
    [InlineData(Privilege.User, 1UL, 0UL, false)]
    [InlineData(Privilege.User, 0UL, 1UL, false)]
    [InlineData(Privilege.User, 1UL, 1UL, true)]
    public void CounterEnablesGateLowerModes(Privilege privilege, ulong mcounteren, ulong scounteren, bool allowed)
    {
        using var m = new TestMachine();
        // Enable only the bit for cycle (bit 0); time (bit 1) stays off and so always traps below M.
        m.SetCsr(Mcounteren, mcounteren);
        m.SetCsr(Scounteren, scounteren);
        uint insn = Csrr(A0, Cycle);
        TrapInfo t = m.RunIn(privilege, p => p.Emit(insn, Ecall()));
        Assert.Equal(allowed ? new TrapInfo((ulong)PrivilegeRuns.EcallFrom(privilege), TestMachine.RamBase + 4, 0)
                             : new TrapInfo(Illegal, TestMachine.RamBase, insn), t);

        using var m2 = new TestMachine();
        m2.SetCsr(Mcounteren, mcounteren);
        m2.SetCsr(Scounteren, scounteren);
        uint time = Csrr(A0, Time);
        Assert.Equal(new TrapInfo(Illegal, TestMachine.RamBase, time), m2.RunIn(privilege, p => p.Emit(time, Ecall())));
    }
}
