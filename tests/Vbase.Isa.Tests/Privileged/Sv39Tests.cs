using Vbase.Isa.Csrs;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;
using static Vbase.Isa.Tests.Infrastructure.PageTables;

namespace Vbase.Isa.Tests.Privileged;

public class Sv39Tests
{
    private const ulong Base = TestMachine.RamBase;
    private const ulong Data = TestMachine.DataBase;
    /// <summary>A virtual page outside the identity-mapped RAM gigapage.</summary>
    private const ulong Va = 0x1_0000_0000;

    private static readonly ulong LoadPageFault = (ulong)ExceptionCause.LoadPageFault;
    private static readonly ulong StorePageFault = (ulong)ExceptionCause.StorePageFault;
    private static readonly ulong FetchPageFault = (ulong)ExceptionCause.InstructionPageFault;

    /// <summary>A machine whose RAM is identity-mapped by one gigapage (S-only unless <paramref name="ramFlags"/> says U).</summary>
    private static (TestMachine Machine, PageTables Tables) Paged(ulong ramFlags = Rwx | AccessedDirty)
    {
        var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, ramFlags, level: 2);
        m.SetCsr(Satp, pt.Satp);
        return (m, pt);
    }

    [Fact]
    public void FourKilobytePagesTranslate()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W | AccessedDirty);
        pt.Map(Va + 0x1000, Data + 0x5000, R | W | AccessedDirty);
        m.Write64(Data + 0x5010, 0xABCD);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Li(S0, (long)Va).Li(S1, (long)Va + 0x1000).Li(T0, 0x1234_5678);
            p.Emit(Sd(T0, S0, 8), Ld(A0, S0, 8), Ld(A1, S1, 0x10), Ecall());
        });
        Assert.Equal(9UL, t.Cause);
        Assert.Equal(0x1234_5678UL, m[A0]);
        Assert.Equal(0xABCDUL, m[A1]);
        Assert.Equal(0x1234_5678UL, m.Read64(Data + 8));
    }

    [Fact]
    public void TwoMegabyteSuperpageTranslates()
    {
        var (m, pt) = Paged();
        using var _ = m;
        const ulong va = 0x1_4020_0000, pa = Base + 0x20_0000;
        pt.Map(va, pa, R | W | AccessedDirty, level: 1);
        m.Write64(pa + 0x1F_F008, 0x77);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Li(S0, (long)va + 0x1F_F000).Li(T0, 0x99);
            p.Emit(Ld(A0, S0, 8), Sd(T0, S0, 16), Ecall());
        });
        Assert.Equal(9UL, t.Cause);
        Assert.Equal(0x77UL, m[A0]);
        Assert.Equal(0x99UL, m.Read64(pa + 0x1F_F010));
    }

    [Fact]
    public void GigapageTranslates()
    {
        var (m, pt) = Paged();
        using var _ = m;
        const ulong va = 0x3F_C000_0000;
        pt.Map(va, Base, R | W | AccessedDirty, level: 2);
        m.Write64(Data, 0x5555);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)(va + (Data - Base))).Emit(Ld(A0, S0, 0), Ecall()));
        Assert.Equal(9UL, t.Cause);
        Assert.Equal(0x5555UL, m[A0]);
    }

    [Theory]
    [InlineData(1, 0x1000UL)]          // a 2 MiB leaf whose PPN is only 4 KiB-aligned
    [InlineData(2, 0x20_0000UL)]       // a 1 GiB leaf whose PPN is only 2 MiB-aligned
    public void MisalignedSuperpagesFault(int level, ulong misalignment)
    {
        var (m, pt) = Paged();
        using var _ = m;
        ulong va = level == 1 ? 0x1_4000_0000UL : 0x3F_C000_0000UL;
        pt.Map(va, Base + misalignment, R | W | AccessedDirty, level);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)va + 8).Emit(Ld(A0, S0, 0), Ecall()));
        Assert.Equal(LoadPageFault, t.Cause);
        Assert.Equal(va + 8, t.Tval);
    }

    [Fact]
    public void PageFaultKindsAndTval()
    {
        // Load from an unmapped page.
        var (m1, _) = Paged();
        using (m1)
        {
            TrapInfo t = m1.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Lw(A0, S0, 0x44), Ecall()));
            Assert.Equal(LoadPageFault, t.Cause);
            Assert.Equal(Va + 0x44, t.Tval);
        }
        // Store.
        var (m2, _) = Paged();
        using (m2)
        {
            TrapInfo t = m2.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Sb(Zero, S0, 3), Ecall()));
            Assert.Equal(StorePageFault, t.Cause);
            Assert.Equal(Va + 3, t.Tval);
        }
        // Fetch: a jump to an unmapped page faults with mepc = mtval = the target.
        var (m3, _) = Paged();
        using (m3)
        {
            TrapInfo t = m3.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va + 0x20).Emit(Jalr(Ra, S0, 0), Ecall()));
            Assert.Equal(new TrapInfo(FetchPageFault, Va + 0x20, Va + 0x20), t);
            Assert.Equal(Base, m3[Ra] & ~0xFFFUL); // the jalr retired and linked before the fetch faulted
        }
    }

    [Fact]
    public void AmoAndScOnReadOnlyPageRaiseStorePageFaultsLrOnNoReadRaisesLoad()
    {
        foreach (var (insn, flags, cause) in new[]
        {
            (AmoaddW(A0, A1, S0), R | A, StorePageFault),
            (ScD(A0, A1, S0), R | A, StorePageFault),
            (LrD(A0, S0), X | A, LoadPageFault),
        })
        {
            var (m, pt) = Paged();
            using var _ = m;
            pt.Map(Va, Data, flags);
            TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va + 8).Emit(insn, Ecall()));
            Assert.Equal(cause, t.Cause);
            Assert.Equal(Va + 8, t.Tval);
        }
    }

    public static TheoryData<string, ulong> BadPtes() => new()
    {
        { "invalid", Leaf(Data, R | W | AccessedDirty) & ~V },
        { "write without read", Leaf(Data, W | AccessedDirty) },
        { "write+execute without read", Leaf(Data, W | X | AccessedDirty) },
        { "reserved bit 60", Leaf(Data, R | W | AccessedDirty) | (1UL << 60) },
        { "PBMT without Svpbmt", Leaf(Data, R | W | AccessedDirty) | (1UL << 61) },
        { "N without Svnapot", Leaf(Data, R | W | AccessedDirty) | (1UL << 63) },
    };

    [Theory]
    [MemberData(nameof(BadPtes))]
    public void ReservedOrInvalidPtesFault(string what, ulong pte)
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.SetPte(Va, 0, pte);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Ld(A0, S0, 0), Ecall()));
        Assert.True(t.Cause == LoadPageFault, $"{what}: {t}");
        Assert.Equal(Va, t.Tval);
    }

    [Fact]
    public void PointerAtTheLastLevelFaults()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.SetPte(Va, 0, ((Data >> 12) << 10) | V);   // R = W = X = 0 at level 0: no further level
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Ld(A0, S0, 0), Ecall()));
        Assert.Equal(LoadPageFault, t.Cause);
    }

    [Theory]
    [InlineData(0x40_0000_0000UL)]          // bit 38 set, upper bits clear
    [InlineData(0x8000_0000_0000_0000UL)]
    [InlineData(0xFFFF_FF80_0000_0000UL - 0x1000)] // bit 38 clear, upper bits set
    public void NonCanonicalAddressesFault(ulong va)
    {
        var (m, _) = Paged();
        using var __ = m;
        m[S0] = va;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Ld(A0, S0, 0), Ecall()));
        Assert.True(t.Cause is 13 or 5, t.ToString());
        Assert.Equal(va, t.Tval);
    }

    [Fact]
    public void CanonicalNegativeAddressesTranslate()
    {
        var (m, pt) = Paged();
        using var _ = m;
        const ulong va = 0xFFFF_FFC0_0000_0000; // VPN[2] = 256, sign-extended
        pt.Map(va, Data, R | A);
        m.Write64(Data, 0x4242);
        m[S0] = va;
        m.RunIn(Privilege.Supervisor, p => p.Emit(Ld(A0, S0, 0), Ecall()));
        Assert.Equal(0x4242UL, m[A0]);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void SupervisorAccessToUserPagesNeedsSum(bool sum, bool allowed)
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W | U | AccessedDirty);
        m.Write64(Data, 0x1111);
        if (sum)
        {
            m.SetCsr(Mstatus, MStatus.Sum);
        }
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Ld(A0, S0, 0), Sd(A0, S0, 8), Ecall()));
        if (allowed)
        {
            Assert.Equal(9UL, t.Cause);
            Assert.Equal(0x1111UL, m.Read64(Data + 8));
        }
        else
        {
            Assert.Equal(LoadPageFault, t.Cause);
            Assert.Equal(Va, t.Tval);
        }
    }

    [Fact]
    public void SumTakesEffectWhenSetFromSupervisor()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | U | A);
        m.Write64(Data, 0x2222);
        m.Load(p =>
        {
            p.Li(S0, (long)Va).Li(T0, (long)MStatus.Sum);
            p.Emit(Csrrs(Zero, Sstatus, T0), Ld(A0, S0, 0));
            p.Emit(Csrrc(Zero, Sstatus, T0), Ld(A1, S0, 0), Ecall());
        });
        m.StartIn(Privilege.Supervisor, Base);
        TrapInfo t = m.RunToTrap();
        Assert.Equal(0x2222UL, m[A0]);
        Assert.Equal(LoadPageFault, t.Cause);   // the second load, after SUM was cleared again
    }

    [Fact]
    public void SupervisorNeverExecutesUserPagesEvenWithSum()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | X | U | A);
        m.Write32(Data, Ecall());
        m.SetCsr(Mstatus, MStatus.Sum);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Jr(S0)));
        Assert.Equal(new TrapInfo(FetchPageFault, Va, Va), t);
    }

    [Fact]
    public void UserCannotTouchSupervisorPages()
    {
        // RAM (and so the code) is a user gigapage; the data page is supervisor-only.
        var (m, pt) = Paged(Rwx | U | AccessedDirty);
        using var _ = m;
        pt.Map(Va, Data, Rwx | AccessedDirty);
        TrapInfo load = m.RunIn(Privilege.User, p => p.Li(S0, (long)Va).Emit(Ld(A0, S0, 0), Ecall()));
        Assert.Equal(LoadPageFault, load.Cause);

        var (m2, pt2) = Paged(Rwx | U | AccessedDirty);
        using var __ = m2;
        pt2.Map(Va, Data, Rwx | AccessedDirty);
        m2.Write32(Data, Ecall());
        TrapInfo fetch = m2.RunIn(Privilege.User, p => p.Li(S0, (long)Va).Emit(Jr(S0)));
        Assert.Equal(new TrapInfo(FetchPageFault, Va, Va), fetch);
    }

    [Fact]
    public void UserRunsFromUserPages()
    {
        var (m, pt) = Paged(Rwx | U | AccessedDirty);
        using var _ = m;
        pt.Map(Va, Data, R | W | U | AccessedDirty);
        TrapInfo t = m.RunIn(Privilege.User, p => p.Li(S0, (long)Va).Li(T0, 5).Emit(Sd(T0, S0, 0), Ld(A0, S0, 0), Ecall()));
        Assert.Equal(8UL, t.Cause);
        Assert.Equal(5UL, m[A0]);
        Assert.Equal(5UL, m.Read64(Data));
    }

    [Fact]
    public void MxrMakesExecuteOnlyPagesReadable()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, X | A);
        m.Write64(Data, 0x3333);
        TrapInfo without = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Ld(A0, S0, 0), Ecall()));
        Assert.Equal(LoadPageFault, without.Cause);

        var (m2, pt2) = Paged();
        using var __ = m2;
        pt2.Map(Va, Data, X | A);
        m2.Write64(Data, 0x3333);
        m2.SetCsr(Mstatus, MStatus.Mxr);
        TrapInfo with = m2.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Ld(A0, S0, 0), Sd(A0, S0, 0), Ecall()));
        Assert.Equal(0x3333UL, m2[A0]);
        Assert.Equal(StorePageFault, with.Cause);      // MXR does not grant writes
    }

    [Fact]
    public void HardwareSetsAccessedAndDirty()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W);                 // A = D = 0
        pt.Map(Va + 0x1000, Data + 0x1000, R | W);
        ulong pte0 = pt.PteAddress(Va, 0), pte1 = pt.PteAddress(Va + 0x1000, 0);
        m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Li(S1, (long)Va + 0x1000).Emit(Ld(A0, S0, 0), Sd(A0, S1, 0), Ecall()));
        Assert.Equal(A, m.Read64(pte0) & (A | D));            // loaded: accessed, not dirty
        Assert.Equal(A | D, m.Read64(pte1) & (A | D));        // stored: both
        Assert.Equal(Leaf(Data, R | W), m.Read64(pte0) & ~(A | D)); // nothing else changed
    }

    [Fact]
    public void StoreAfterLoadSetsDirtyOnAnAlreadyAccessedPage()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W);
        ulong pte = pt.PteAddress(Va, 0);
        m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Ld(A0, S0, 0), Ld(A1, S0, 8), Sd(A0, S0, 16), Ecall()));
        Assert.Equal(A | D, m.Read64(pte) & (A | D));
    }

    [Fact]
    public void SfenceVmaMakesPteChangesVisible()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W | AccessedDirty);
        m.Write64(Data, 1);
        m.Write64(Data + 0x1000, 2);
        ulong pteAddress = pt.PteAddress(Va, 0);
        m[S1] = pteAddress;
        m[S2] = Leaf(Data + 0x1000, R | W | AccessedDirty);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Li(S0, (long)Va);
            p.Emit(Ld(A0, S0, 0));                 // fills the TLB
            p.Emit(Sd(S2, S1, 0), SfenceVma());    // remap through the identity-mapped page table
            p.Emit(Ld(A1, S0, 0), Ecall());
        });
        Assert.Equal(9UL, t.Cause);
        Assert.Equal(1UL, m[A0]);
        Assert.Equal(2UL, m[A1]);
    }

    [Fact]
    public void SfenceVmaMakesUnmappingVisible()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W | AccessedDirty);
        m[S1] = pt.PteAddress(Va, 0);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Li(S0, (long)Va);
            p.Emit(Ld(A0, S0, 0), Sd(Zero, S1, 0), SfenceVma(S0, Zero), Ld(A1, S0, 0), Ecall());
        });
        Assert.Equal(new TrapInfo(LoadPageFault, t.Epc, Va), t);
    }

    [Fact]
    public void SatpWriteSwitchesAddressSpaces()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | A);
        var other = new PageTablesAt(m, pt);
        m.Write64(Data, 10);
        m.Write64(Data + 0x2000, 20);
        m[S1] = other.Satp;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Li(S0, (long)Va);
            p.Emit(Ld(A0, S0, 0), Csrw(Satp, S1), SfenceVma(), Ld(A1, S0, 0), Ecall());
        });
        Assert.Equal(9UL, t.Cause);
        Assert.Equal((10UL, 20UL), (m[A0], m[A1]));
    }

    /// <summary>A second address space: the same RAM gigapage, but Va maps to Data + 0x2000.</summary>
    private sealed class PageTablesAt
    {
        public PageTablesAt(TestMachine m, PageTables first)
        {
            // Build the second root by hand in the page after the first pool's tables.
            ulong root = PoolEnd - 0x4000, mid = PoolEnd - 0x3000, leaf = PoolEnd - 0x2000;
            m.WriteBytes(root, new byte[0x3000]);
            m.Write64(root + 2 * 8, m.Read64(first.Root + 2 * 8));             // the RAM gigapage
            m.Write64(root + ((Va >> 30) & 511) * 8, ((mid >> 12) << 10) | V);
            m.Write64(mid + ((Va >> 21) & 511) * 8, ((leaf >> 12) << 10) | V);
            m.Write64(leaf + ((Va >> 12) & 511) * 8, Leaf(Data + 0x2000, R | A));
            Satp = (8UL << 60) | (root >> 12);
        }

        public ulong Satp { get; }
    }

    [Fact]
    public void MprvTranslatesMachineLoadsAndStoresAsMpp()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W | AccessedDirty);
        m.Write64(Data, 0x6060);
        m.Load(p =>
        {
            p.Li(S0, (long)Va).Li(T0, (long)(MStatus.Mprv | (1UL << 11)));  // MPRV, MPP = S
            p.Emit(Csrrs(Zero, Mstatus, T0), Ld(A0, S0, 0), Sd(A0, S0, 8));
            p.Emit(Csrrc(Zero, Mstatus, T0));
            p.Li(S1, (long)Data).Emit(Ld(A1, S1, 8), Ebreak());                // physical again
        });
        m.RunToBreak();
        Assert.Equal(0x6060UL, m[A0]);
        Assert.Equal(0x6060UL, m[A1]);
    }

    [Fact]
    public void MprvWithMppUserHonoursUserPermissions()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W | AccessedDirty);   // supervisor page: U-mode may not touch it
        m.Load(p =>
        {
            p.Li(S0, (long)Va).Li(T0, (long)MStatus.Mprv);    // MPRV, MPP = U
            p.Emit(Csrrs(Zero, Mstatus, T0), Ld(A0, S0, 0), Ebreak());
        });
        TrapInfo t = m.RunToTrap();
        Assert.Equal(LoadPageFault, t.Cause);
        Assert.Equal(Va, t.Tval);
    }

    [Fact]
    public void MachineModeIgnoresSatp()
    {
        var (m, _) = Paged();
        using var __ = m;
        m.Write64(Data, 0x7070);
        m.Load(p => p.Li(S0, (long)Data).Emit(Ld(A0, S0, 0), Ebreak()));
        m.RunToBreak();
        Assert.Equal(0x7070UL, m[A0]);
    }

    [Fact]
    public void DelegatedPageFaultsReachSupervisor()
    {
        var (m, pt) = Paged();
        using var _ = m;
        m.SetCsr(Medeleg, (1UL << 12) | (1UL << 13) | (1UL << 15));
        m.SetCsr(Stvec, TestMachine.SupervisorHandler);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Li(S0, (long)Va).Emit(Sw(Zero, S0, 0x10)));
        Assert.Equal(new TrapInfo(9, TestMachine.SupervisorHandler, 0), t);
        Assert.Equal((StorePageFault, Va + 0x10), (m.Csr(Scause), m.Csr(Stval)));
        Assert.Equal(0UL, m.Csr(Mtval));
    }

    [Fact]
    public void StraddlingInstructionIntoAnUnmappedPageFaultsAtTheSecondPage()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | X | A);                  // Va + 0x1000 stays unmapped
        m.Write16(Data + 0xFFE, (ushort)Addi(A0, A0, 1));
        m[S0] = Va + 0xFFE;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Jr(S0)));
        Assert.Equal(new TrapInfo(FetchPageFault, Va + 0xFFE, Va + 0x1000), t);
    }

    [Fact]
    public void MisalignedStoreAcrossIntoAnUnmappedPageWritesNothing()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | W | AccessedDirty);
        m.Write64(Data + 0xFF8, 0xAAAA_AAAA_AAAA_AAAA);
        m[S0] = Va + 0xFFC;
        m[T0] = 0x1122_3344_5566_7788;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Sd(T0, S0, 0), Ecall()));
        Assert.Equal(StorePageFault, t.Cause);
        Assert.True(t.Tval is Va + 0xFFC or Va + 0x1000, t.ToString());
        Assert.Equal(0xAAAA_AAAA_AAAA_AAAAUL, m.Read64(Data + 0xFF8));
    }

    [Fact]
    public void PageTableOutsideRamRaisesAccessFaults()
    {
        using var m = new TestMachine();
        m.SetCsr(Satp, (8UL << 60) | (0x4000_0000UL >> 12));
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Ecall()));
        Assert.Equal(new TrapInfo((ulong)ExceptionCause.InstructionAccessFault, Base, Base), t);
    }

    [Fact]
    public void CodeRemappedAfterSfenceRunsTheNewCode()
    {
        var (m, pt) = Paged();
        using var _ = m;
        pt.Map(Va, Data, R | X | A);
        m.WriteWords(Data, Addi(A0, Zero, 1), Ret());
        m.WriteWords(Data + 0x1000, Addi(A0, Zero, 2), Ret());
        m[S1] = pt.PteAddress(Va, 0);
        m[S2] = Leaf(Data + 0x1000, R | X | A);
        TrapInfo t = m.RunIn(Privilege.Supervisor, p =>
        {
            p.Li(S0, (long)Va);
            p.Emit(Jalr(Ra, S0, 0), Mv(S3, A0));
            p.Emit(Sd(S2, S1, 0), SfenceVma());
            p.Emit(Jalr(Ra, S0, 0), Mv(S4, A0), Ecall());
        });
        Assert.Equal(9UL, t.Cause);
        Assert.Equal((1UL, 2UL), (m[S3], m[S4]));
    }
}

public class Sv39FetchTests
{
    private const ulong Base = TestMachine.RamBase;

    [Fact]
    public void MprvDoesNotTranslateInstructionFetch()
    {
        // The page table maps only a data page: with MPRV (MPP = S) M-mode code keeps running from physical
        // addresses while its loads are translated.
        using var m = new TestMachine();
        var pt = new PageTables(m);
        const ulong va = 0x1_0000_0000;
        pt.Map(va, TestMachine.DataBase, PageTables.R | PageTables.A);
        m.Write64(TestMachine.DataBase, 0xFEED);
        m.SetCsr(Satp, pt.Satp);
        m[S0] = va;
        m.Load(p =>
        {
            p.Li(T0, (long)(MStatus.Mprv | (1UL << 11))).Emit(Csrrs(Zero, Mstatus, T0));
            p.Emit(Ld(A0, S0, 0), Csrrc(Zero, Mstatus, T0), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0xFEEDUL, m[A0]);
    }

    [Fact]
    public void InstructionFetchSetsTheAccessedBit()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, PageTables.Rwx | PageTables.AccessedDirty, level: 2);
        const ulong va = 0x1_0000_0000;
        pt.Map(va, TestMachine.DataBase, PageTables.X);     // A = 0
        m.WriteWords(TestMachine.DataBase, Ecall());
        m.SetCsr(Satp, pt.Satp);
        m[S0] = va;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Jr(S0)));
        Assert.Equal(new TrapInfo(9, va, 0), t);
        Assert.Equal(PageTables.A, pt.GetPte(va, 0) & (PageTables.A | PageTables.D));
    }
}
