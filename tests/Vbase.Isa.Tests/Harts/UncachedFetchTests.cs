using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Harts;

/// <summary>
/// Code in a page the memory will not hand out as a host pointer (a frame a secure architecture interposes on)
/// runs through the slow path: every execution fetches again, nothing stays decoded, and a refused fetch is an
/// instruction access fault.
/// </summary>
public sealed class UncachedFetchTests
{
    private const ulong SlowPage = TestMachine.RamBase + 0x2000;

    private static TestMachine LoopInSlowPage(int iterations)
    {
        var m = new TestMachine();
        m.Memory.ForceSlowPath(SlowPage);
        m.Load(p => p.Li(A1, iterations).Label("loop").Emit(Addi(A0, A0, 1)).Emit16(CAddi(A1, -1), CAddi(A2, 1)).Bne(A1, Zero, "loop").Emit(Ebreak()), SlowPage);
        return m;
    }

    [Fact]
    public void ALoopInAnUncachedPageRunsAndFetchesEveryInstructionEveryTime()
    {
        using TestMachine m = LoopInSlowPage(10);
        m.RunToBreak();
        Assert.Equal(10UL, m[A0]);
        Assert.Equal(10UL, m[A2]);
        // 10 × (addi, c.addi, c.addi, bne): 4-byte instructions are two parcel reads, compressed ones one.
        Assert.True(m.Memory.SlowFetches >= 10 * 6, $"only {m.Memory.SlowFetches} slow fetches");
    }

    [Fact]
    public void AStoreIntoAnUncachedPageIsSeenByTheNextFetchWithoutFenceI()
    {
        using var m = new TestMachine();
        m.Memory.ForceSlowPath(SlowPage);
        // Overwrite the instruction at "patch" (addi a0, a0, 1) with addi a0, a0, 100, then run it.
        m.Load(p => p.La(T0, "patch").Li(T1, Addi(A0, A0, 100)).Emit(Sw(T1, T0, 0)).Label("patch").Emit(Addi(A0, A0, 1), Ebreak()), SlowPage);
        m.RunToBreak();
        Assert.Equal(100UL, m[A0]);
    }

    [Fact]
    public void ARefusedFetchIsAnInstructionAccessFault()
    {
        using TestMachine m = LoopInSlowPage(3);
        m.Memory.RefuseSlowFetches = true;
        TrapInfo t = m.RunToTrap();
        Assert.Equal((ulong)ExceptionCause.InstructionAccessFault, t.Cause);
        Assert.Equal(SlowPage, t.Epc);
    }

    [Fact]
    public void TheTracerShowsInstructionsOfAnUncachedPage()
    {
        using TestMachine m = LoopInSlowPage(2);
        var trace = new List<RetiredInstruction>();
        m.Hart.Tracer = trace.Add;
        m.RunToBreak();
        Assert.Contains(trace, r => r.Disassembly.StartsWith("addi a0, a0, 1", StringComparison.Ordinal) && r.Length == 4);
        Assert.Contains(trace, r => r.Disassembly.StartsWith("c.addi a1, a1, -1", StringComparison.Ordinal) && r.Length == 2);
        Assert.All(trace.Where(r => r.Pc >= SlowPage && r.Pc < SlowPage + 0x1000), r => Assert.NotEqual(0U, r.Raw));
    }
}
