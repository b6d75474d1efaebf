using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Translation;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;
using static Vbase.Isa.Tests.Infrastructure.PageTables;

namespace Vbase.Isa.Tests.Translation;

/// <summary>
/// The translator checked against the interpreter: each program runs on two identical machines, one translating
/// (threshold 1, so nearly everything runs translated) and one interpreting, under <see cref="Lockstep"/>, which
/// compares the architectural state after every translated block. Each test also checks that translation really
/// happened and what the program computed, so a test cannot pass by running nothing.
/// </summary>
public class LockstepTests
{
    private const ulong Base = TestMachine.RamBase, DataBase = TestMachine.DataBase;
    private const ulong Ssip = 1 << 1, Msip = 1 << 3, Mtip = 1 << 7, Seip = 1 << 9, Meip = 1 << 11;
    /// <summary>Physical addresses nothing answers (TestMemory gives an access fault).</summary>
    private const ulong Hole = 0x2000_0000, Hole2 = 0x3000_0040;

    // ---- Random programs ----

    /// <summary>
    /// Seeded random programs (<see cref="RandomProgram"/>) under lockstep to their final ebreak: in M, in S
    /// through a superpage and in U through 4 KiB pages.
    /// </summary>
    [Theory]
    [InlineData(1, Privilege.Machine)]
    [InlineData(2, Privilege.Machine)]
    [InlineData(3, Privilege.Machine)]
    [InlineData(4, Privilege.Machine)]
    [InlineData(5, Privilege.Supervisor)]
    [InlineData(6, Privilege.Supervisor)]
    [InlineData(7, Privilege.User)]
    [InlineData(8, Privilege.User)]
    public void RandomProgramsRunIdentically(int seed, Privilege privilege)
    {
        var program = new RandomProgram(seed);
        using var pair = new LockstepPair();
        pair.Both(m => Start(program, m, privilege));
        Lockstep lockstep = pair.CreateLockstep();

        Assert.Equal(HartExit.Stopped, LockstepPair.RunToEnd(lockstep));

        pair.AssertTranslated(lockstep);
        TrapInfo end = pair.Subject.LastTrap;
        Assert.Equal(new TrapInfo((ulong)ExceptionCause.Breakpoint, program.Program.AddressOf("end"), 0), end);
        Assert.Equal(privilege, (Privilege)((pair.Subject.Csr(Mstatus) >> MStatus.MppShift) & 3));
        Assert.Equal(0UL, pair.Subject[Gp]); // the main loop ran all its iterations
        Assert.True(program.Program.AddressOf("end") > Base + 0x1000, "the main loop does not reach the second page");
        Assert.InRange(pair.Subject.Hart.Instret, 3_000UL, 1_000_000UL);
    }

    /// <summary>
    /// The same programs run freely: without lockstep's one-block budgets the subject chains blocks inside its
    /// regions as it does in production, so only the state at the end can be compared (and the counters the
    /// programs read along the way, which would show a miscounted block).
    /// </summary>
    [Theory]
    [InlineData(1, Privilege.Machine)]
    [InlineData(4, Privilege.Supervisor)]
    [InlineData(7, Privilege.User)]
    public void RandomProgramsRunFreelyToTheSameEnd(int seed, Privilege privilege)
    {
        var program = new RandomProgram(seed);
        using var pair = new LockstepPair();
        pair.Both(m => Start(program, m, privilege));

        Assert.Equal(1, pair.RunInChunks(() => 2_000_000));

        Assert.True(pair.Subject.Hart.TranslatedRegions > 0);
        Assert.Equal(program.Program.AddressOf("end"), pair.Subject.LastTrap.Epc);
    }

    /// <summary>
    /// Installs a random program and enters it in <paramref name="privilege"/>: S through one 2 MiB superpage over
    /// code, data and page tables; U through 4 KiB pages without A/D bits, which the walks then set (and memory
    /// comparison checks that both harts set the same ones).
    /// </summary>
    private static void Start(RandomProgram program, TestMachine m, Privilege privilege)
    {
        program.Install(m);
        if (privilege == Privilege.Machine)
        {
            return;
        }
        var pt = new PageTables(m);
        if (privilege == Privilege.Supervisor)
        {
            pt.Map(Base, Base, Rwx | AccessedDirty, level: 1);
        }
        else
        {
            pt.MapRange(Base, Base, 0xA000, U | R | X);
            pt.MapRange(RandomProgram.DataBase, RandomProgram.DataBase, RandomProgram.DataSize, U | R | W);
        }
        m.SetCsr(Satp, pt.Satp);
        m.SetCsr(Mcounteren, 7); // cycle, time and instret readable below M
        m.SetCsr(Scounteren, 7);
        m.StartIn(privilege, Base);
    }

    /// <summary>
    /// Budgets ending anywhere, including inside blocks: Run(n) for many small n must stop on exactly the
    /// instruction the interpreter stops on, whatever the translator had compiled there.
    /// </summary>
    [Theory]
    [InlineData(2, 40)]
    [InlineData(3, 200)]
    [InlineData(5, 7)]
    public void SmallBudgetsStopWhereTheInterpreterStops(int seed, int maxChunk)
    {
        var program = new RandomProgram(seed, iterations: 6);
        using var pair = new LockstepPair();
        pair.Both(program.Install);
        var rng = new Random(seed);

        int chunks = pair.RunInChunks(() => (ulong)rng.Next(1, maxChunk + 1));

        Assert.True(pair.Subject.Hart.TranslatedRegions > 0);
        Assert.True(chunks > 10, $"only {chunks} chunks");
        Assert.Equal(program.Program.AddressOf("end"), pair.Subject.LastTrap.Epc);
    }

    // ---- Slow-path loads that end a block ----

    /// <summary>
    /// A load that misses the TLB (so takes the slow path) as the last instruction of a translated block that
    /// ends exactly at the hart's next event, here the budget: the interpreter writes the loaded value, so the
    /// translated block must too. Checked under lockstep (which budgets one block at a time) and in a free run
    /// whose first budget ends right after the load.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SlowPathLoadEndingABlockAtTheBudgetKeepsItsValue(bool underLockstep)
    {
        const ulong Value = 0x1122_3344_5566_7788;
        var p = TestMachine.Program();
        p.Li(S0, (long)DataBase).Li(A3, 0x20);
        p.Beq(A3, Zero, "after"); // never taken: it makes "after" a block head, so the load ends its block
        p.Emit(Addi(A4, A4, 1));
        p.Label("load").Emit(Ld(A3, S0, 0)); // the first access to the data page: a TLB miss
        p.Label("after").Emit(Addi(A5, A5, 1));
        p.Label("end").Emit(Ebreak());

        using var pair = new LockstepPair();
        pair.Both(m => m.Write64(DataBase, Value));
        pair.Load(p);
        if (underLockstep)
        {
            Lockstep lockstep = pair.CreateLockstep();
            Assert.Equal(HartExit.Stopped, LockstepPair.RunToEnd(lockstep));
            pair.AssertTranslated(lockstep);
        }
        else
        {
            // li s0 (3 instructions), li a3, beq, addi, ld: the first budget ends right after the load.
            ulong budget = 7;
            Assert.Equal(p.AddressOf("load"), p.BaseAddress + 4 * (budget - 1));
            pair.RunInChunks(() =>
            {
                ulong n = budget;
                budget = 1000;
                return n;
            });
            Assert.True(pair.Subject.Hart.TranslatedRegions > 0);
        }
        Assert.Equal(p.AddressOf("end"), pair.Subject.LastTrap.Epc);
        Assert.Equal(Value, pair.Subject[A3]);
    }

    /// <summary>
    /// A slow-path access whose device changes the hart's registers (as a Dom0 handler may through
    /// <c>SetRegister</c>): the change must survive, though translated code holds that register in a local.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RegisterWrittenByADeviceDuringASlowPathIsKept(bool underLockstep)
    {
        var p = TestMachine.Program();
        p.Li(T0, 0).Li(T1, 100);
        p.Label("loop").Emit(Addi(T0, T0, 1)); // t0 is now in a local of the translated block
        p.Emit(Sb(Zero, Zero, 0)); // the exit page: its device adds 1000 to t0
        p.Emit(Addi(T0, T0, 1));
        p.Emit(Addi(T1, T1, -1));
        p.Bne(T1, Zero, "loop");
        p.Label("end").Emit(Ebreak());

        using var pair = new LockstepPair();
        // The M handler ends the test with the same store: past the loop (t1 = 0) it stops the hart.
        pair.Both(m => m.Memory.OnExit = _ =>
        {
            if (m.Hart.GetRegister(T1) == 0)
            {
                m.Hart.RequestStop();
            }
            else
            {
                m.Hart.SetRegister(T0, m.Hart.GetRegister(T0) + 1000);
            }
        });
        pair.Load(p);
        if (underLockstep)
        {
            Lockstep lockstep = pair.CreateLockstep();
            Assert.Equal(HartExit.Stopped, LockstepPair.RunToEnd(lockstep));
            pair.AssertTranslated(lockstep);
        }
        else
        {
            pair.Both(m => Assert.Equal(HartExit.Stopped, m.Run(5000)));
            Assert.True(pair.Subject.Hart.TranslatedRegions > 0);
        }
        Assert.Equal(p.AddressOf("end"), pair.Subject.LastTrap.Epc);
        Assert.Equal(100UL * (2 + 1000), pair.Subject[T0]);
        Assert.Equal(pair.Reference[T0], pair.Subject[T0]);
    }

    // ---- Faults in the middle of a hot loop ----

    /// <summary>
    /// A loop loads through a pointer table and stores back; some entries point where the access faults, and
    /// every iteration makes an ecall. The M handler counts each trap, sums mcause, mtval and mepc, and skips the
    /// instruction, so the loop keeps running translated and traps again on later iterations. M: access faults
    /// on physical holes. U (Sv39): load and store page faults on an unmapped page, a store page fault on a
    /// read-only page, and access faults on a mapped page with no memory behind it.
    /// </summary>
    [Theory]
    [InlineData(Privilege.Machine)]
    [InlineData(Privilege.User)]
    public void TrapsInAHotLoopAreTakenPrecisely(Privilege privilege)
    {
        const ulong Table = DataBase, Good = DataBase + 0x1000, ReadOnly = DataBase + 0x3000, DeviceHole = DataBase + 0x4000;
        const ulong Unmapped = 0x4000_0000, Handler = Base + 0x2000;
        bool user = privilege == Privilege.User;

        var p = TestMachine.Program();
        p.Li(S0, (long)Table).Li(S1, 24);
        p.Label("loop");
        p.Emit(Andi(T0, S1, 7), Slli(T0, T0, 3), Add(T0, T0, S0), Ld(T1, T0, 0), Addi(A0, A0, 1));
        p.Label("load").Emit(Ld(T2, T1, 0));
        p.Emit(Add(A1, A1, T2), Xor(A2, A2, A1));
        p.Label("store").Emit(Sd(A2, T1, 8));
        p.Emit(Addi(A3, A3, 2));
        p.Label("ecall").Emit(Ecall());
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Label("end").Emit(Ebreak());
        p.SkipTo(Handler);
        p.Emit(Csrr(T6, Mcause), Addi(T5, Zero, 3));
        p.Beq(T6, T5, "stop");
        p.Emit(Add(S8, S8, T6), Csrr(T5, Mtval), Add(S9, S9, T5), Csrr(T5, Mepc), Add(S7, S7, T5), Addi(T5, T5, 4), Csrw(Mepc, T5));
        p.Emit(Addi(S10, S10, 1), Mret());
        p.Label("stop").Emit(Sb(Zero, Zero, 0));

        // Entry index → pointer, and the traps (cause, mtval, mepc) its load and store raise.
        ulong load = p.AddressOf("load"), store = p.AddressOf("store");
        var pointers = new ulong[8];
        var faults = new Dictionary<int, (ulong Cause, ulong Tval, ulong Epc)[]>();
        for (int i = 0; i < 8; i++)
        {
            pointers[i] = Good + (ulong)i * 0x100;
        }
        if (user)
        {
            pointers[3] = Unmapped + 0x10;
            faults[3] = [(13, Unmapped + 0x10, load), (15, Unmapped + 0x18, store)];
            pointers[5] = ReadOnly + 0x20;
            faults[5] = [(15, ReadOnly + 0x28, store)];
            pointers[6] = DeviceHole + 0x30;
            faults[6] = [(5, DeviceHole + 0x30, load), (7, DeviceHole + 0x38, store)];
        }
        else
        {
            pointers[3] = Hole;
            faults[3] = [(5, Hole, load), (7, Hole + 8, store)];
            pointers[6] = Hole2;
            faults[6] = [(5, Hole2, load), (7, Hole2 + 8, store)];
        }
        (ulong Cause, ulong Tval, ulong Epc) ecall = ((ulong)PrivilegeRuns.EcallFrom(privilege), 0, p.AddressOf("ecall"));

        using var pair = new LockstepPair();
        pair.Both(m =>
        {
            m.Load(p);
            for (int i = 0; i < 8; i++)
            {
                m.Write64(Table + (ulong)(8 * i), pointers[i]);
            }
            m.SetCsr(Mtvec, Handler);
            if (user)
            {
                // Data pages without A/D: the walks set them, and the PTEs they write back are compared too.
                var pt = new PageTables(m);
                pt.MapRange(Base, Base, 0x2000, U | R | X | AccessedDirty);
                pt.MapRange(Table, Table, 0x3000, U | R | W);
                pt.Map(ReadOnly, ReadOnly, U | R);
                pt.Map(DeviceHole, Hole, U | R | W | AccessedDirty);
                m.SetCsr(Satp, pt.Satp);
                m.StartIn(Privilege.User, Base);
            }
            else
            {
                m.Hart.Pc = Base;
            }
        });
        Lockstep lockstep = pair.CreateLockstep(memoryCheckInterval: 16);

        Assert.Equal(HartExit.Stopped, LockstepPair.RunToEnd(lockstep));

        pair.AssertTranslated(lockstep);
        TestMachine s = pair.Subject;
        Assert.Equal(new TrapInfo((ulong)ExceptionCause.Breakpoint, p.AddressOf("end"), 0), s.LastTrap);
        var taken = Enumerable.Range(1, 24).SelectMany(i => faults.GetValueOrDefault(i & 7, []).Append(ecall)).ToList();
        Assert.Equal((ulong)taken.Count, s[S10]);
        Assert.Equal(taken.Aggregate(0UL, (sum, t) => sum + t.Cause), s[S8]);
        Assert.Equal(taken.Aggregate(0UL, (sum, t) => sum + t.Tval), s[S9]);
        Assert.Equal(taken.Aggregate(0UL, (sum, t) => sum + t.Epc), s[S7]);
        Assert.Equal(24UL, s[A0]);
        Assert.Equal(48UL, s[A3]);
        // Trapping instructions (and the final ebreak) do not retire.
        Assert.Equal((ulong)taken.Count + 1, s.Hart.Cycle - s.Hart.Instret);
    }

    /// <summary>
    /// A function at the end of a code page whose next page is not mapped: it returns early while hot, and on its
    /// last call runs on to the end of its page (its translated tail, or a 4-byte instruction straddling the
    /// boundary), where the fetch page-faults.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FetchFaultAtTheEndOfATranslatedPage(bool straddle)
    {
        const ulong Edge = Base + 0x2000; // the first unmapped page
        var p = TestMachine.Program();
        p.Li(S1, 40);
        p.Label("loop").Jal(Ra, "g");
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Emit(Addi(A1, Zero, 1));
        p.Jal(Ra, "g");
        p.Emit(Ebreak());
        p.SkipTo(Edge - 0x40);
        p.Label("g").Emit(Addi(A0, A0, 1));
        p.Bne(A1, Zero, "tail");
        p.Emit(Ret());
        p.Label("tail");
        while (p.Here < Edge - 4)
        {
            p.Emit(Addi(A2, A2, 1));
        }
        if (straddle)
        {
            p.Emit16(CAddi(A2, 1)).Emit16((ushort)Addi(A3, A3, 1)); // the low half of a 4-byte instruction at Edge − 2
        }
        else
        {
            p.Emit(Addi(A3, A3, 1)); // the last instruction of the page
        }

        using var pair = new LockstepPair();
        pair.Both(m =>
        {
            m.Load(p);
            var pt = new PageTables(m);
            pt.MapRange(Base, Base, Edge - Base, U | R | X | AccessedDirty);
            m.SetCsr(Satp, pt.Satp);
            m.StartIn(Privilege.User, Base);
        });
        Lockstep lockstep = pair.CreateLockstep(memoryCheckInterval: 16);

        Assert.Equal(HartExit.Stopped, LockstepPair.RunToEnd(lockstep));

        pair.AssertTranslated(lockstep);
        TestMachine s = pair.Subject;
        TrapInfo fault = s.LastTrap;
        Assert.Equal((ulong)ExceptionCause.InstructionPageFault, fault.Cause);
        Assert.Equal(straddle ? Edge - 2 : Edge, fault.Epc);
        Assert.Equal(Edge, fault.Tval);
        Assert.Equal(41UL, s[A0]);
        Assert.Equal(straddle ? 0UL : 1UL, s[A3]);
    }

    // ---- One physical page at two virtual addresses ----

    /// <summary>
    /// Translations belong to physical pages, but pc-relative values (auipc, link registers) and jumps out of the
    /// page depend on the virtual address the page runs at. S-mode calls the same physical function through two
    /// aliases, alternately: each call must see its own alias.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CodeMappedAtTwoVirtualAddressesSeesEachAlias(bool underLockstep)
    {
        const ulong Code = Base + 0x2000, AliasA = 0x4000_0000, AliasB = 0x4000_5000;
        const int Iterations = 30;
        var p = TestMachine.Program();
        p.Li(S1, Iterations).Li(S2, (long)AliasA).Li(S3, (long)AliasB);
        p.Label("loop").Emit(Jalr(Ra, S2, 0), Jalr(Ra, S3, 0), Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Label("end").Emit(Ebreak());
        p.SkipTo(Code);
        p.Emit(Auipc(T0, 0), Add(A0, A0, T0), Addi(T1, Zero, 3));
        p.Label("inner").Emit(Addi(A1, A1, 1), Addi(T1, T1, -1));
        p.Bne(T1, Zero, "inner");
        p.Jal(T2, "next");
        p.Label("next").Emit(Add(A2, A2, T2), Ret());
        ulong next = p.AddressOf("next") - Code;

        using var pair = new LockstepPair();
        pair.Both(m =>
        {
            m.Load(p);
            var pt = new PageTables(m);
            pt.MapRange(Base, Base, 0x1000, Rwx | AccessedDirty);
            pt.Map(AliasA, Code, R | X | AccessedDirty);
            pt.Map(AliasB, Code, R | X | AccessedDirty);
            m.SetCsr(Satp, pt.Satp);
            m.StartIn(Privilege.Supervisor, Base);
        });
        Lockstep? lockstep = underLockstep ? pair.CreateLockstep() : null;

        Assert.Equal(HartExit.Stopped, lockstep is null ? pair.RunBoth(100_000) : LockstepPair.RunToEnd(lockstep));

        AssertTranslated(pair, lockstep);
        TestMachine s = pair.Subject;
        Assert.Equal(p.AddressOf("end"), s.LastTrap.Epc);
        Assert.Equal(Iterations * (AliasA + AliasB), s[A0]);
        Assert.Equal(Iterations * 6UL, s[A1]);
        Assert.Equal(Iterations * (AliasA + AliasB + 2 * next), s[A2]);
    }

    // ---- Self-modifying code ----

    /// <summary>
    /// A hot loop rewrites its own code every iteration: an instruction earlier in its block (the new one runs
    /// on the next iteration), one later in the same block (it runs in this iteration: the translated block
    /// must leave after the store), a compressed instruction through a halfword store, and the first
    /// instruction of a function in the same page. It also stores data into the code page where no code is.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelfModifyingLoopSeesItsNewCodeOnTheNextIteration(bool fenceI)
    {
        const int Iterations = 20;
        const ulong Parcels = DataBase;
        var p = TestMachine.Program();
        p.Li(S1, Iterations).La(S2, "patch").La(S3, "patch2").La(S4, "patch3").La(S5, "fpatch").La(S7, "scratch");
        p.Li(S6, (long)Parcels);
        p.Li(T0, Addi(A0, A0, 0)).Li(T3, Addi(A1, A1, 0)).Li(T4, Addi(A3, A3, 0));
        p.Label("loop");
        p.Emit(Slli(T1, S1, 20), Or(T2, T1, T3), Or(T1, T1, T0));
        p.Label("patch").Emit(Addi(A0, A0, 1000));
        p.Emit(Sw(T1, S2, 0));
        FenceI();
        p.Emit(Sw(T2, S3, 0));
        FenceI();
        p.Label("patch2").Emit(Addi(A1, A1, 1000)); // never runs as written: the store above precedes it
        p.Label("patch3").Emit16(CAddi(A2, 1));
        p.Emit(Lhu(T5, S6, 0), Addi(S6, S6, 2), Sh(T5, S4, 0));
        FenceI();
        p.Emit(Sd(S1, S7, 0)); // data in the code page, away from code
        p.Jal(Ra, "f");
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Label("end").Emit(Ebreak());
        p.Label("f").Label("fpatch").Emit(Addi(A3, A3, 7));
        p.Emit(Slli(T6, S1, 20), Or(T6, T6, T4), Sw(T6, S5, 0), Ret());
        // Its own 64-byte chunk, not even the last parcel of the one before: a store there touches no code.
        p.Align(64).Dword(0).Label("scratch").Dword(0);

        void FenceI()
        {
            if (fenceI)
            {
                p.Emit(Assembler.FenceI());
            }
        }

        // c.addi a2, k for k = 1..19: the parcel iteration i (from 0) writes, which iteration i + 1 runs.
        byte[] parcels = new byte[2 * Iterations];
        for (int i = 0; i < Iterations; i++)
        {
            BitConverter.TryWriteBytes(parcels.AsSpan(2 * i), CAddi(A2, i % 31 + 1));
        }

        using var pair = new LockstepPair();
        pair.Both(m =>
        {
            m.WriteBytes(Parcels, parcels);
            m.Load(p);
            m.Hart.Pc = Base;
        });
        Lockstep lockstep = pair.CreateLockstep(memoryCheckInterval: 8);

        Assert.Equal(HartExit.Stopped, LockstepPair.RunToEnd(lockstep));

        pair.AssertTranslated(lockstep);
        TestMachine s = pair.Subject;
        Assert.Equal(p.AddressOf("end"), s.LastTrap.Epc);
        int sumFrom2 = Enumerable.Range(2, Iterations - 1).Sum();
        Assert.Equal(1000UL + (ulong)sumFrom2, s[A0]);
        Assert.Equal((ulong)Enumerable.Range(1, Iterations).Sum(), s[A1]);
        Assert.Equal(1UL + (ulong)Enumerable.Range(0, Iterations - 1).Sum(i => i % 31 + 1), s[A2]);
        Assert.Equal(7UL + (ulong)sumFrom2, s[A3]);
        Assert.Equal(1UL, s.Read64(p.AddressOf("scratch")));
    }

    // ---- Interrupts arriving during a hot loop ----

    /// <summary>
    /// M-mode: the host arms the timer a random distance ahead and raises the software and external lines
    /// between runs of random length, under lockstep or free (where the timer fires inside chained blocks), so
    /// interrupts land anywhere, including inside translated blocks (which must then not run whole). The handler
    /// masks the source it took, counts it, and sums mepc, which moves if any interrupt lands one instruction
    /// off. The loop also sleeps in WFI now and then.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void InterruptsDuringAHotLoopInMachineMode(bool underLockstep)
    {
        var p = InterruptLoop(iterations: 1500, wfi: true);
        MachineInterruptHandler(p);
        using var pair = new LockstepPair();
        pair.Both(m =>
        {
            m.Load(p);
            m.SetCsr(Mtvec, p.AddressOf("mhandler"));
            m.SetCsr(Mstatus, MStatus.Mie);
            m.Hart.Pc = Base;
        });

        Lockstep? lockstep = underLockstep ? pair.CreateLockstep() : null;
        int interrupts = RunWithInterrupts(pair, lockstep, seed: 11, supervisor: false);

        AssertTranslated(pair, lockstep);
        TestMachine s = pair.Subject;
        Assert.Equal(p.AddressOf("end"), s.LastTrap.Epc);
        Assert.Equal(Msip | Mtip | Meip, s[S9]);
        Assert.InRange(s[S10], 20UL, (ulong)interrupts);
        Assert.Equal(1500UL, s[A0]);
        Assert.Equal(1500UL * 9, s[A4]);
    }

    /// <summary>
    /// The same under Sv39 in S and U: M-level interrupts (timer, software, external) go to the M handler, and
    /// the supervisor software and external interrupts are delegated to an S handler that returns with sret.
    /// </summary>
    [Theory]
    [InlineData(Privilege.Supervisor, true)]
    [InlineData(Privilege.User, true)]
    [InlineData(Privilege.Supervisor, false)]
    [InlineData(Privilege.User, false)]
    public void InterruptsDuringAHotLoopUnderSv39(Privilege privilege, bool underLockstep)
    {
        const ulong SupervisorHandler = TestMachine.HandlerPage + 0x400;
        var p = InterruptLoop(iterations: 1000, wfi: privilege == Privilege.Supervisor); // WFI is illegal in U
        MachineInterruptHandler(p);
        var sh = TestMachine.Program(SupervisorHandler);
        sh.Emit(Csrr(T4, Scause));
        sh.Bge(T4, Zero, "unexpected"); // nothing but interrupts is delegated
        sh.Emit(Andi(T4, T4, 63), Addi(S10, S10, 1), Addi(T3, Zero, 1), Sll(T3, T3, T4), Or(S9, S9, T3));
        sh.Emit(Csrc(Sie, T3), Csrr(T3, Sepc), Add(S8, S8, T3), Sret());
        sh.Label("unexpected").Emit(Ebreak());

        ulong user = privilege == Privilege.User ? U : 0;
        using var pair = new LockstepPair();
        pair.Both(m =>
        {
            m.Load(p);
            m.Load(sh);
            var pt = new PageTables(m);
            pt.MapRange(Base, Base, 0x3000, user | R | X | AccessedDirty);
            pt.MapRange(DataBase, DataBase, 0x1000, user | R | W);
            pt.Map(TestMachine.HandlerPage, TestMachine.HandlerPage, R | X | AccessedDirty);
            m.SetCsr(Satp, pt.Satp);
            m.SetCsr(Mtvec, p.AddressOf("mhandler"));
            m.SetCsr(Stvec, SupervisorHandler);
            m.SetCsr(Mideleg, Ssip | Seip);
            m.SetCsr(Mstatus, MStatus.Sie);
            m.StartIn(privilege, Base);
        });

        Lockstep? lockstep = underLockstep ? pair.CreateLockstep() : null;
        int interrupts = RunWithInterrupts(pair, lockstep, seed: 12 + (int)privilege, supervisor: true);

        AssertTranslated(pair, lockstep);
        TestMachine s = pair.Subject;
        Assert.Equal(p.AddressOf("end"), s.LastTrap.Epc);
        Assert.Equal(privilege, (Privilege)((s.Csr(Mstatus) >> MStatus.MppShift) & 3));
        Assert.Equal(Ssip | Msip | Mtip | Seip | Meip, s[S9]);
        Assert.InRange(s[S10], 20UL, (ulong)interrupts);
        Assert.Equal(1000UL, s[A0]);
    }

    /// <summary>
    /// The hot loop of the interrupt tests: ALU work, a store and a load, a call into another page (whose own
    /// small loop is translated too), and optionally a WFI every 64 iterations. Registers t3..t6 and s8..s10
    /// belong to the handlers.
    /// </summary>
    private static ProgramBuilder InterruptLoop(int iterations, bool wfi)
    {
        var p = TestMachine.Program();
        p.Li(S0, (long)DataBase).Li(S1, iterations);
        p.Label("loop");
        p.Emit(Addi(A0, A0, 1), Mul(A1, A0, A0), Sd(A1, S0, 0), Ld(A2, S0, 0), Add(A3, A3, A2));
        if (wfi)
        {
            p.Emit(Andi(T0, S1, 63));
            p.Bne(T0, Zero, "awake");
            p.Emit(Wfi());
            p.Label("awake");
        }
        p.Jal(Ra, "f");
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Label("end").Emit(Ebreak());
        p.SkipTo(Base + 0x2000);
        p.Label("f").Emit(Addi(T1, Zero, 3));
        p.Label("floop").Emit(Addi(A4, A4, 3), Addi(T1, T1, -1));
        p.Bne(T1, Zero, "floop");
        p.Emit(Ret());
        return p;
    }

    /// <summary>
    /// The M handler, in its own page: an exception (the program's final ebreak) ends the run; an interrupt is
    /// counted (s10), recorded by cause (s9) and where it landed (s8, the sum of mepc), and masked in mie until
    /// the host raises it again.
    /// </summary>
    private static void MachineInterruptHandler(ProgramBuilder p)
    {
        p.SkipTo(Base + 0x3000);
        p.Label("mhandler").Emit(Csrr(T6, Mcause));
        p.Bge(T6, Zero, "mstop");
        p.Emit(Andi(T6, T6, 63), Addi(S10, S10, 1), Addi(T5, Zero, 1), Sll(T5, T5, T6), Or(S9, S9, T5));
        p.Emit(Csrc(Mie, T5), Csrr(T5, Mepc), Add(S8, S8, T5), Mret());
        p.Label("mstop").Emit(Sb(Zero, Zero, 0));
    }

    /// <summary>
    /// Runs the pair for random lengths, under <paramref name="lockstep"/> or freely (then the subject chains
    /// blocks, and the timer fires inside chains); before each run the host drops the lines it raised and maybe
    /// arms the timer or raises a line (with <paramref name="supervisor"/>, also the delegated SSIP and SEIP),
    /// enabling the source in mie. Returns how many interrupts were raised.
    /// </summary>
    private static int RunWithInterrupts(LockstepPair pair, Lockstep? lockstep, int seed, bool supervisor)
    {
        var rng = new Random(seed);
        int raised = 0;
        for (int round = 0; ; round++)
        {
            Assert.True(round < 100_000, "the program did not end");
            int action = rng.Next(supervisor ? 9 : 6);
            ulong timerDelta = (ulong)rng.Next(1, 300);
            pair.Both(m =>
            {
                m.Hart.SetInterruptLine(InterruptCause.MachineSoftware, false);
                m.Hart.SetInterruptLine(InterruptCause.MachineExternal, false);
                m.Hart.SetInterruptLine(InterruptCause.SupervisorExternal, false);
                m.SetCsr(Mip, 0); // the software-writable bits: only SSIP is ever set here
                ulong enable = 0;
                switch (action)
                {
                    case 0:
                    case 1:
                        m.Hart.TimerCompare = m.Hart.Time + timerDelta;
                        enable = Mtip;
                        break;
                    case 2:
                        m.Hart.SetInterruptLine(InterruptCause.MachineSoftware, true);
                        enable = Msip;
                        break;
                    case 3:
                        m.Hart.SetInterruptLine(InterruptCause.MachineExternal, true);
                        enable = Meip;
                        break;
                    case 6:
                        m.SetCsr(Mip, Ssip);
                        enable = Ssip;
                        break;
                    case 7:
                        m.Hart.SetInterruptLine(InterruptCause.SupervisorExternal, true);
                        enable = Seip;
                        break;
                }
                m.Hart.TryGetCsr(Mie, out ulong mie);
                m.SetCsr(Mie, mie | enable);
            });
            if (action is 0 or 1 or 2 or 3 or 6 or 7)
            {
                raised++;
            }
            ulong length = (ulong)rng.Next(1, 400);
            HartExit exit = lockstep?.Run(length) ?? pair.RunBoth(length, compareMemory: round % 16 == 0);
            if (exit == HartExit.Stopped)
            {
                return raised;
            }
        }
    }

    private static void AssertTranslated(LockstepPair pair, Lockstep? lockstep)
    {
        if (lockstep is not null)
        {
            pair.AssertTranslated(lockstep);
        }
        else
        {
            Assert.True(pair.Subject.Hart.TranslatedRegions > 0, "the subject translated nothing");
        }
    }

    // ---- Devices and slow-path memory inside a loop ----

    /// <summary>
    /// MMIO stores and loads, a RAM page the memory forces onto the slow path (with misaligned accesses that cross
    /// into and out of it), and a call to code on a slow-path page (fetched through the memory every time).
    /// Partway through, the device page starts refusing accesses: the next MMIO store faults precisely.
    /// </summary>
    [Fact]
    public void DeviceAndSlowPathAccessesInALoop()
    {
        const ulong Slow = DataBase + 0x2000, SlowCode = Base + 0x5000;
        var p = TestMachine.Program();
        p.Li(S0, (long)DataBase).Li(S5, (long)TestMemory.MmioPage).Li(S6, (long)Slow).Li(S4, (long)Slow + 0x800).Li(S1, 1000);
        p.Label("loop");
        p.Label("mmio").Emit(Sw(A0, S5, 0x10));
        p.Emit(Lw(A1, S5, 0x10), Add(A2, A2, A1), Lbu(A3, S5, 0x11), Add(A2, A2, A3));
        p.Emit(Sd(A2, S6, 0), Ld(A4, S6, 0), Ld(A5, S6, -4), Sh(A0, S4, 0x7FF), Add(A6, A6, A5), Addi(A0, A0, 3));
        p.Jal(Ra, "slow");
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Emit(Ebreak());
        p.SkipTo(SlowCode);
        p.Label("slow").Emit(Addi(A7, A7, 1), Xor(A6, A6, A7), Ret());

        using var pair = new LockstepPair();
        pair.Both(m =>
        {
            m.Memory.ForceSlowPath(Slow);
            m.Memory.ForceSlowPath(SlowCode);
            m.Load(p);
            m.Hart.Pc = Base;
        });
        Lockstep lockstep = pair.CreateLockstep(memoryCheckInterval: 16);

        Assert.Equal(HartExit.InstructionLimit, lockstep.Run(6000));
        while (pair.Subject.Hart.Pc != p.AddressOf("mmio"))
        {
            Assert.Equal(HartExit.InstructionLimit, lockstep.Run(1));
        }
        pair.Both(m => m.Memory.MmioFaults = true);
        Assert.Equal(HartExit.Stopped, LockstepPair.RunToEnd(lockstep));

        pair.AssertTranslated(lockstep);
        TestMachine s = pair.Subject;
        Assert.Equal(new TrapInfo((ulong)ExceptionCause.StoreAccessFault, p.AddressOf("mmio"), TestMemory.MmioPage + 0x10), s.LastTrap);
        ulong iterations = s[A0] / 3;
        Assert.InRange(iterations, 100UL, 999UL);
        Assert.Equal(iterations, s[A7]);
        Assert.Equal((int)iterations * 3, s.Memory.DeviceAccesses.Count);
        ulong sum = 0;
        for (ulong a0 = 0; a0 < 3 * iterations; a0 += 3)
        {
            sum += a0 + ((a0 >> 8) & 0xFF);
        }
        Assert.Equal(sum, s[A2]);
        Assert.True(s.Memory.SlowFetches > 0);
    }

    // ---- Stops in the middle of a block ----

    /// <summary>
    /// A store to the exit page inside a translated block stops the hart right after it (the device calls
    /// RequestStop mid-block); each run resumes there. Every stop must land on the same instruction as the
    /// interpreter's, with the same state.
    /// </summary>
    [Fact]
    public void StopRequestedInsideABlockStopsAfterThatInstruction()
    {
        const int Iterations = 50;
        var p = TestMachine.Program();
        p.Li(S1, Iterations);
        p.Label("loop");
        p.Emit(Addi(A0, A0, 1), Slli(A1, A0, 2));
        p.Label("stop").Emit(Sb(Zero, Zero, 0));
        p.Emit(Add(A2, A2, A1), Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Emit(Ebreak());

        using var pair = new LockstepPair();
        pair.Load(p);
        Lockstep lockstep = pair.CreateLockstep(memoryCheckInterval: 1);
        int stops = 0;
        while (pair.Subject.Hart.Pc != TestMachine.MachineHandler + 4)
        {
            Assert.Equal(HartExit.Stopped, lockstep.Run(10_000));
            stops++;
            Assert.True(stops <= Iterations + 1);
            if (stops <= Iterations)
            {
                Assert.Equal(p.AddressOf("stop") + 4, pair.Subject.Hart.Pc);
                Assert.Equal((ulong)stops, pair.Subject[A0]);
            }
        }

        pair.AssertTranslated(lockstep);
        Assert.Equal(Iterations + 1, stops);
        Assert.Equal(Iterations + 1, pair.Subject.Memory.ExitWrites);
        Assert.Equal((ulong)(4 * Iterations * (Iterations + 1) / 2), pair.Subject[A2]);
    }
}
