using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Execution;

/// <summary>The run loop itself: budgets, single-stepping, the traced loop, reset and external invalidation.</summary>
public class RunLoopTests
{
    /// <summary>
    /// A program that touches every path of the run loop: compressed and full instructions, branches and jumps
    /// within and across pages, a 4-byte instruction straddling two pages, a trap and its return, CSR writes.
    /// </summary>
    private static ProgramBuilder Workout()
    {
        var p = TestMachine.Program();
        p.La(T0, "handler").Emit(Csrw(Mtvec, T0));
        p.Li(S1, 40).Li(A0, 0).Li(A1, 0);
        p.Label("loop");
        p.Emit16(CAddi(A0, 3), CMv(A2, A0));
        p.Emit(Add(A1, A1, A2));
        p.Jal(Ra, "far");
        p.Emit(Ecall());                               // the handler skips it
        p.Emit16(CAddi(S1, -1));
        p.CBnez(S1, "loop");
        p.Emit(Csrr(A3, Minstret), Ebreak());
        p.Align(4).Label("handler");
        p.Emit(Csrr(T1, Mcause), Addi(T2, Zero, 3));
        p.Beq(T1, T2, "exit");                        // ebreak ends the program; ecalls are skipped
        p.Emit(Csrr(T1, Mepc), Addi(T1, T1, 4), Csrw(Mepc, T1), Addi(A4, A4, 1), Mret());
        p.Label("exit");
        p.Emit(Sb(Zero, Zero, 0));
        p.SkipTo(TestMachine.RamBase + 0x1FFE);
        p.Label("far");
        p.Emit(Addi(A5, A5, 7));                       // straddles 0x...1FFE–0x...2001
        p.Emit16(CAddi(A5, -1));
        p.Emit(Ret());
        return p;
    }

    /// <summary>The architectural end state as text, so a mismatch shows which register differs.</summary>
    private static string Finish(TestMachine m)
    {
        var parts = new List<string>();
        for (int r = 1; r < 32; r++)
        {
            parts.Add($"x{r}={m[r]:x}");
        }
        parts.Add($"instret={m.Hart.Instret} pc={m.Hart.Pc:x}");
        return string.Join(' ', parts);
    }

    [Fact]
    public void WorkoutGivesTheExpectedResult()
    {
        using var m = new TestMachine();
        m.Load(Workout());
        m.RunToBreak();
        Assert.Equal(120UL, m[A0]);
        Assert.Equal(3UL * 40 * 41 / 2, m[A1]);
        Assert.Equal(40UL, m[A4]);
        Assert.Equal(240UL, m[A5]);
    }

    [Fact]
    public void SteppingOneInstructionAtATimeMatchesRunning()
    {
        using var run = new TestMachine();
        run.Load(Workout());
        run.RunToBreak();

        using var step = new TestMachine();
        step.Load(Workout());
        int steps = 0;
        while (step.Hart.Step() != HartExit.Stopped)
        {
            Assert.True(++steps < 10_000);
        }
        Assert.Equal(Finish(run), Finish(step));
        Assert.Equal(run.LastTrap, step.LastTrap);
    }

    [Theory]
    [InlineData(3UL)]
    [InlineData(7UL)]
    [InlineData(64UL)]
    public void RunningInSmallBudgetsMatchesOneRun(ulong budget)
    {
        using var run = new TestMachine();
        run.Load(Workout());
        run.RunToBreak();

        using var chunks = new TestMachine();
        chunks.Load(Workout());
        while (chunks.Hart.Run(budget) != HartExit.Stopped)
        {
        }
        Assert.Equal(Finish(run), Finish(chunks));
    }

    [Fact]
    public void TracedRunMatchesTheFastLoopAndReportsEveryInstruction()
    {
        using var run = new TestMachine();
        run.Load(Workout());
        run.RunToBreak();

        using var traced = new TestMachine();
        traced.Load(Workout());
        var trace = new List<RetiredInstruction>();
        traced.Hart.Tracer = trace.Add;
        traced.RunToBreak();
        Assert.Equal(Finish(run), Finish(traced));

        ulong far = TestMachine.RamBase + 0x1FFE;
        RetiredInstruction compressed = trace.First(t => t.Pc == far + 4);
        Assert.Equal(2, compressed.Length);
        Assert.Equal(CAddi(A5, -1), compressed.Raw);

        var ecalls = trace.Where(t => t.Raw == Ecall()).ToList();
        Assert.Equal(40, ecalls.Count);
        Assert.All(ecalls, e => Assert.Equal(11UL, e.TrapCause));
        Assert.All(ecalls, e => Assert.Equal(-1, e.WrittenRegister));
        Assert.Equal(3UL, trace.Single(t => t.Raw == Ebreak()).TrapCause);
        Assert.Equal(Sb(Zero, Zero, 0), trace[^1].Raw);  // the handler's exit store ends the trace
        Assert.Null(trace[^1].TrapCause);
        // Consecutive entries follow the control flow: each pc is the previous one's successor or a jump target.
        for (int i = 1; i < trace.Count; i++)
        {
            RetiredInstruction prev = trace[i - 1];
            bool sequential = trace[i].Pc == prev.Pc + (ulong)prev.Length;
            bool jumpOrTrap = prev.TrapCause is not null || prev.Disassembly.StartsWith('j') || prev.Disassembly.Contains("ret", StringComparison.Ordinal)
                || prev.Disassembly.StartsWith('b') || prev.Disassembly.StartsWith("c.b", StringComparison.Ordinal)
                || prev.Disassembly.StartsWith("c.j", StringComparison.Ordinal) || prev.Disassembly.StartsWith("mret", StringComparison.Ordinal);
            Assert.True(sequential || jumpOrTrap, $"{prev.Pc:x} {prev.Disassembly} → {trace[i].Pc:x}");
        }
    }

    [Fact]
    public void TraceReportsAStraddlingInstructionWhole()
    {
        using var m = new TestMachine();
        m.Load(Workout());
        var trace = new List<RetiredInstruction>();
        m.Hart.Tracer = trace.Add;
        m.RunToBreak();
        ulong far = TestMachine.RamBase + 0x1FFE;
        RetiredInstruction straddling = trace.First(t => t.Pc == far);
        Assert.Equal(Addi(A5, A5, 7).ToString("x8"), straddling.Raw.ToString("x8"));
        Assert.Equal(4, straddling.Length);
        Assert.Equal(A5, straddling.WrittenRegister);
        Assert.Equal(7UL, straddling.WrittenValue);
        Assert.Equal("addi a5, a5, 7", straddling.Disassembly);
    }

    [Fact]
    public void TraceReportsAStoreThatOverwritesItselfAsTheStore()
    {
        using var m = new TestMachine();
        var trace = new List<RetiredInstruction>();
        m.Hart.Tracer = trace.Add;
        // sw a1, 0(s2) with s2 = its own address and a1 = a nop: the store rewrites itself, then ebreak.
        m.Load(p => p.La(S2, "self").Li(A1, (long)Nop()).Label("self").Emit(Sw(A1, S2, 0), Ebreak()));
        m.RunToBreak();
        RetiredInstruction store = trace.Single(t => t.Raw == Sw(A1, S2, 0));
        Assert.StartsWith("sw ", store.Disassembly, StringComparison.Ordinal);
        Assert.DoesNotContain(trace, t => t.Pc == store.Pc && t.Raw == Nop());
    }

    [Fact]
    public void TracerSeesFetchFaults()
    {
        using var m = new TestMachine();
        var trace = new List<RetiredInstruction>();
        m.Hart.Tracer = trace.Add;
        m.Load(p => p.Li(T0, 0x4000_0000).Emit(Jr(T0)));
        TrapInfo t = m.RunToTrap();
        Assert.Equal(new TrapInfo(1, 0x4000_0000, 0x4000_0000), t);
        Assert.Contains(trace, r => r.Pc == 0x4000_0000 && r.TrapCause == 1);
    }

    [Fact]
    public void ZeroBudgetExecutesNothing()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(Addi(A0, Zero, 1), Ebreak()));
        Assert.Equal(HartExit.InstructionLimit, m.Hart.Run(0));
        Assert.Equal(0UL, m[A0]);
        Assert.Equal(TestMachine.RamBase, m.Hart.Pc);
    }

    [Fact]
    public void ResetRestoresTheInitialState()
    {
        using var m = new TestMachine(new HartOptions { HartId = 3 });
        m.Load(p =>
        {
            p.Li(T0, 1L << 11).Emit(Csrw(Mscratch, T0), Csrw(Mstatus, T0), Csrw(Medeleg, T0), Addi(A0, Zero, 9), Ebreak());
        });
        m.RunToBreak();
        m.Hart.Reset();
        Assert.Equal(TestMachine.RamBase, m.Hart.Pc);
        Assert.Equal(Privilege.Machine, m.Hart.Privilege);
        Assert.Equal(3UL, m[A0]);                      // a0 = hartid after reset
        Assert.Equal(0UL, m[T0]);
        Assert.Equal(0UL, m.Csr(Mscratch));
        Assert.Equal(0UL, m.Csr(Medeleg));
        Assert.Equal(0UL, m.Csr(Mtvec));
        // The program runs again from scratch (re-decoded), with a handler set up again.
        m.SetCsr(Mtvec, TestMachine.MachineHandler);
        m.RunToBreak();
        Assert.Equal(9UL, m[A0]);
    }

    [Fact]
    public void CompressedInstructionInTheLastParcelOfAPageFallsThroughToTheNextPage()
    {
        using var m = new TestMachine();
        const ulong start = TestMachine.RamBase + 0xFFA;
        var p = TestMachine.Program(start);
        p.Emit(Addi(A0, Zero, 1));
        p.Emit16(CAddi(A0, 2));                          // at 0x...FFE
        p.Emit(Addi(A0, A0, 4), Ebreak());               // next page
        m.Load(p);
        m.Hart.Pc = start;
        m.RunToBreak();
        Assert.Equal(7UL, m[A0]);
    }

    [Fact]
    public void ReservationIsLostWhenAnotherAgentWritesIt()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(LrD(T0, A0), Ebreak(), ScD(T1, A1, A0), Ebreak()));
        m[A0] = TestMachine.DataBase;
        m[A1] = 5;
        m.RunToBreak();
        m.Hart.InvalidateReservation(TestMachine.DataBase + 4, 1);
        m.Hart.Pc = TestMachine.RamBase + 8;
        m.RunToBreak();
        Assert.Equal(1UL, m[T1]);
        Assert.Equal(0UL, m.Read64(TestMachine.DataBase));
    }

    [Fact]
    public void ReservationSurvivesWritesElsewhere()
    {
        using var m = new TestMachine();
        m.Load(p => p.Emit(LrD(T0, A0), Ebreak(), ScD(T1, A1, A0), Ebreak()));
        m[A0] = TestMachine.DataBase;
        m[A1] = 5;
        m.RunToBreak();
        m.Hart.InvalidateReservation(TestMachine.DataBase + 64, 8);
        m.Hart.Pc = TestMachine.RamBase + 8;
        m.RunToBreak();
        // The ebreak trap in between also cleared the reservation (traps do): the SC may not succeed either way.
        Assert.Equal(1UL, m[T1]);
    }

    [Fact]
    public void CountInhibitStopsTheCounters()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Emit(Csrrwi(Zero, Mcountinhibit, 5));      // CY and IR
            p.Emit(Csrr(A0, Mcycle), Csrr(A1, Minstret), Nop(), Nop(), Nop(), Csrr(A2, Mcycle), Csrr(A3, Minstret));
            p.Emit(Csrrwi(Zero, Mcountinhibit, 0), Nop(), Csrr(A4, Minstret), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(m[A0], m[A2]);
        Assert.Equal(m[A1], m[A3]);
        Assert.True(m[A4] > m[A3]);
    }
}
