using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;
using static Vbase.Isa.Tests.Infrastructure.PageTables;

namespace Vbase.Isa.Tests.Harts;

/// <summary>
/// A 4-byte instruction that straddles two virtual pages takes its upper half from the second page's
/// translation, which the hart keeps like a fetch TLB entry: it must be dropped with the other translations.
/// </summary>
public class StraddlingFetchTests
{
    private const ulong Base = TestMachine.RamBase;
    private const ulong Edge = Base + 0x2000; // g straddles into the page at Edge
    private const ulong Alt = Base + 0x3000;  // another frame for that page, with a different upper half

    [Fact]
    public void ARemapOfTheUpperPageIsSeenAfterTheTranslationsAreFlushed()
    {
        uint addOne = Addi(A0, A0, 1), addSixteen = Addi(A0, A0, 16);
        Assert.Equal((ushort)addOne, (ushort)addSixteen); // the low halves agree: only the upper page decides
        var p = TestMachine.Program();
        p.Li(S1, 1000);
        p.Label("loop").Jal(Ra, "g");
        p.Emit(Addi(S1, S1, -1));
        p.Bne(S1, Zero, "loop");
        p.Emit(Ebreak());
        p.SkipTo(Edge - 2);
        p.Label("g").Emit(addOne); // straddles Edge
        p.Emit(Ret());
        p.SkipTo(Alt);
        p.Emit16((ushort)(addSixteen >> 16));
        p.Emit(Ret());

        using var m = new TestMachine();
        m.Load(p);
        var pt = new PageTables(m);
        pt.MapRange(Base, Base, Edge + 0x1000 - Base, U | R | X | AccessedDirty);
        m.SetCsr(Satp, pt.Satp);
        m.StartIn(Privilege.User, Base);

        // Stop in the middle of the loop, still in U-mode (a trap would change privilege, which flushes anyway).
        Assert.Equal(HartExit.InstructionLimit, m.Run(1500));
        Assert.Equal(Privilege.User, m.Hart.Privilege);
        ulong before = m[A0], remaining = m[S1];
        Assert.InRange(before, 100UL, 900UL);

        pt.Map(Edge, Alt, U | R | X | AccessedDirty);
        m.Hart.FlushTranslationCaches(); // what sfence.vma does
        m.RunToBreak();

        // Every call after the flush adds 16: one per remaining iteration (one fewer if the stop fell inside g).
        ulong added = m[A0] - before;
        Assert.True(added == 16 * remaining || added == 16 * (remaining - 1), $"a0 grew by {added} over {remaining} remaining calls");
    }
}
