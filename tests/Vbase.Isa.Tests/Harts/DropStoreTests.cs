using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Harts;

/// <summary>
/// Dropping pages (IPhysicalMemory.TryGetDropCounter): the memory sees the first store to a page whose stores it
/// drops, then the hart drops and counts the rest itself, in the interpreter and in translated code alike, until
/// its translation caches are flushed; no byte of the page changes and loads are unaffected.
/// </summary>
public sealed class DropStoreTests
{
    private const ulong Page = TestMachine.DataBase;

    private static (TestMachine Machine, TrapInfo Trap) RunStoreLoop(ExecutionEngine engine, int stores, bool fenceHalfway)
    {
        var m = new TestMachine(new HartOptions { Engine = engine, TranslationThreshold = 1 });
        m.WriteBytes(Page, BitConverter.GetBytes(0x1122_3344_5566_7788UL));
        m.Memory.DropStores(Page);
        m.Load(p =>
        {
            p.Li(T0, (long)Page).Li(T5, (long)Page + 0x800).Li(T1, 0xDEAD).Li(T2, stores).Li(T3, stores / 2);
            p.Label("loop");
            p.Emit(Sd(T1, T0, 0), Sw(T1, T0, 8), Sh(T1, T5, 0x7F0), Sb(T1, T5, 0x7FF), Addi(T2, T2, -1));
            if (fenceHalfway)
            {
                p.Bne(T2, T3, "next");
                p.Emit(SfenceVma());
                p.Label("next");
            }
            p.Bne(T2, Zero, "loop");
            p.Emit(Ld(T4, T0, 0), Ecall());
        });
        return (m, m.RunToTrap(1_000_000));
    }

    [Theory]
    [InlineData(ExecutionEngine.Interpreter)]
    [InlineData(ExecutionEngine.Translator)]
    public void TheFirstStoreReachesTheMemoryAndTheHartCountsTheRest(ExecutionEngine engine)
    {
        (TestMachine m, TrapInfo trap) = RunStoreLoop(engine, 500, fenceHalfway: false);
        using (m)
        {
            Assert.Equal(11UL, trap.Cause);                          // ecall from M: the loop ran to the end
            Assert.Equal(1, m.Memory.DroppedOnSlowPath);
            Assert.Equal(4UL * 500 - 1, m.Memory.DroppedByHart);     // every store of every width, the first one aside
            Assert.Equal(0x1122_3344_5566_7788UL, m[T4]);            // nothing landed; the load saw the page
        }
    }

    [Theory]
    [InlineData(ExecutionEngine.Interpreter)]
    [InlineData(ExecutionEngine.Translator)]
    public void AFlushSendsTheNextStoreToTheMemoryAgain(ExecutionEngine engine)
    {
        (TestMachine m, _) = RunStoreLoop(engine, 500, fenceHalfway: true);
        using (m)
        {
            Assert.Equal(2, m.Memory.DroppedOnSlowPath);
            Assert.Equal(4UL * 500 - 2, m.Memory.DroppedByHart);
        }
    }

    [Fact]
    public void AStoreAcrossThePageEdgeStaysOnTheSlowPath()
    {
        var m = new TestMachine();
        using (m)
        {
            m.Memory.DropStores(Page);
            m.Load(p =>
            {
                p.Li(T0, (long)Page).Li(T5, (long)Page + 0x800).Li(T1, 0xDEAD);
                p.Emit(Sd(T1, T0, 0), Sd(T1, T5, 0x7FC), Ecall());   // the second one straddles into the next page
            });
            m.RunToTrap();
            Assert.Equal(0UL, m.Memory.DroppedByHart);
            Assert.Equal(5, m.Memory.DroppedOnSlowPath);              // one store, then four bytes of the straddling one
        }
    }
}
