using Vbase.Isa.Debugging;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Tests.Translation;

namespace Vbase.Isa.Tests.Debugging;

/// <summary>
/// Breakpoints, single steps and watchpoints on a translating hart (threshold 1: nearly everything runs translated)
/// and on the reference interpreter, in lockstep: the same stops at the same pcs and cycles with the same registers,
/// the same end, and the same end as a run without a debugger (stopping takes no virtual time).
/// </summary>
public class HartDebuggerTests
{
    private sealed record Stop(DebugStopKind Kind, ulong Pc, ulong Cycle, ulong Registers);

    /// <summary>The pcs the interpreter executes for the program, and its final cycle, with no debugger.</summary>
    private static (List<ulong> Pcs, ulong Cycle) Undebugged(RandomProgram program)
    {
        using var m = new TestMachine(new HartOptions { Engine = ExecutionEngine.Interpreter });
        program.Install(m);
        var pcs = new List<ulong>();
        m.Hart.Tracer = r => pcs.Add(r.Pc);
        Assert.Equal(HartExit.Stopped, m.Hart.Run(2_000_000));
        return (pcs, m.Hart.Cycle);
    }

    private static ulong RegisterHash(Hart h)
    {
        ulong hash = 14695981039346656037UL;
        for (int i = 1; i < 32; i++)
        {
            hash = (hash ^ h.GetRegister(i)) * 1099511628211UL;
        }
        return hash;
    }

    /// <summary>A debugger that records every stop and steps after every third one, up to a number of stops.</summary>
    private static (HartDebugger Debugger, List<Stop> Stops) Recording(IEnumerable<ulong> breakpoints, int maxStops = 3000)
    {
        var stops = new List<Stop>();
        var debugger = new HartDebugger();
        foreach (ulong pc in breakpoints)
        {
            debugger.InsertBreakpoint(pc);
        }
        debugger.Stopped = (hart, stop) =>
        {
            stops.Add(new Stop(stop.Kind, stop.Pc, hart.Cycle, RegisterHash(hart)));
            Assert.Equal(stop.Pc, hart.Pc);
            if (stops.Count == maxStops)
            {
                debugger.Clear(); // from a stop, as gdb deletes breakpoints
                return DebugResume.Continue;
            }
            return stops.Count % 3 == 0 ? DebugResume.Step : DebugResume.Continue;
        };
        return (debugger, stops);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void BreakpointsAndStepsStopAlikeTranslatedOrInterpreted(int seed)
    {
        var program = new RandomProgram(seed);
        (List<ulong> pcs, ulong endCycle) = Undebugged(program);
        // Breakpoints on pcs run often (in the main loop) and on some run once.
        ulong[] breakpoints = [.. pcs.GroupBy(pc => pc).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(3).Select(g => g.Key),
            pcs[pcs.Count / 3], pcs[pcs.Count - 5]];
        using var pair = new LockstepPair();
        pair.Both(m => program.Install(m));
        // Warm up without a debugger, so that attaching must drop translations that cover the breakpoints.
        pair.RunBoth((ulong)(pcs.Count / 4));
        Assert.True(pair.Subject.Hart.TranslatedRegions > 0);
        (HartDebugger subjectDebugger, List<Stop> subjectStops) = Recording(breakpoints);
        (HartDebugger referenceDebugger, List<Stop> referenceStops) = Recording(breakpoints);
        pair.Subject.Hart.Debugger = subjectDebugger;
        pair.Reference.Hart.Debugger = referenceDebugger;

        Assert.Equal(HartExit.Stopped, pair.RunBoth(2_000_000));

        Assert.Equal(referenceStops, subjectStops);
        Assert.Contains(subjectStops, s => s.Kind == DebugStopKind.Breakpoint);
        Assert.Contains(subjectStops, s => s.Kind == DebugStopKind.Step);
        int expectedHits = pcs.Skip(pcs.Count / 4).Count(breakpoints.Contains);
        // Each hit is one stop: a breakpoint's, or a step's that lands on it (resuming from it does not stop again).
        Assert.True(subjectStops.Count < 3000, "the debugger cleared its breakpoints early");
        Assert.Equal(expectedHits, subjectStops.Count(s => breakpoints.Contains(s.Pc)));
        Assert.Equal(endCycle, pair.Subject.Hart.Cycle); // stops took no virtual time
        Assert.True(pair.Subject.Hart.TranslatedRegions > 0);
    }

    /// <summary>Every breakpoint hit is reported once, at the pc the interpreter's trace reaches it, in order.</summary>
    [Fact]
    public void TranslatedCodeStopsAtEveryBreakpointHit()
    {
        var program = new RandomProgram(5);
        (List<ulong> pcs, _) = Undebugged(program);
        ulong hot = pcs.GroupBy(pc => pc).OrderByDescending(g => g.Count()).First().Key;
        using var m = new TestMachine(new HartOptions { TranslationThreshold = 1 });
        program.Install(m);
        var hits = new List<ulong>();
        var debugger = new HartDebugger();
        debugger.InsertBreakpoint(hot);
        debugger.Stopped = (hart, stop) =>
        {
            hits.Add(hart.Cycle);
            return DebugResume.Continue;
        };
        m.Hart.Debugger = debugger;

        Assert.Equal(HartExit.Stopped, m.Hart.Run(2_000_000));

        List<ulong> expected = [.. pcs.Select((pc, i) => (pc, i)).Where(x => x.pc == hot).Select(x => (ulong)x.i)];
        Assert.Equal(expected, hits);
        Assert.True(m.Hart.TranslatedRegions > 0);
    }

    [Fact]
    public void WatchpointsStopAfterTheAccessAlikeTranslatedOrInterpreted()
    {
        var program = new RandomProgram(3);
        using var pair = new LockstepPair();
        pair.Both(m => program.Install(m));
        var stops = new List<Stop>[2];
        var debuggers = new HartDebugger[2];
        for (int i = 0; i < 2; i++)
        {
            var list = stops[i] = [];
            var d = debuggers[i] = new HartDebugger();
            d.InsertWatchpoint(new Watchpoint(RandomProgram.DataBase, RandomProgram.DataSize, WatchKind.Write));
            d.Stopped = (hart, stop) =>
            {
                list.Add(new Stop(stop.Kind, stop.Pc, hart.Cycle, stop.WatchAddress));
                if (list.Count == 200)
                {
                    d.Clear();
                }
                return DebugResume.Continue;
            };
        }
        pair.Subject.Hart.Debugger = debuggers[0];
        pair.Reference.Hart.Debugger = debuggers[1];

        Assert.Equal(HartExit.Stopped, pair.RunBoth(2_000_000));

        Assert.InRange(stops[0].Count, 20, 200);
        Assert.All(stops[0], s => Assert.Equal(DebugStopKind.Watchpoint, s.Kind));
        Assert.All(stops[0], s => Assert.InRange(s.Registers, RandomProgram.DataBase, RandomProgram.DataBase + RandomProgram.DataSize - 1));
        Assert.Equal(stops[1], stops[0]);
    }

    [Fact]
    public void AnInterruptRequestStopsBeforeTheNextInstructionAndKillEndsTheRun()
    {
        var program = new RandomProgram(1);
        using var m = new TestMachine(new HartOptions { TranslationThreshold = 1 });
        program.Install(m);
        var debugger = new HartDebugger();
        var kinds = new List<DebugStopKind>();
        debugger.Stopped = (hart, stop) =>
        {
            kinds.Add(stop.Kind);
            return kinds.Count == 1 ? DebugResume.Step : DebugResume.Kill;
        };
        m.Hart.Debugger = debugger;
        debugger.Interrupt();

        Assert.Equal(HartExit.Stopped, m.Hart.Run(2_000_000));

        Assert.Equal([DebugStopKind.Interrupt, DebugStopKind.Step], kinds);
        Assert.Equal(1UL, m.Hart.Cycle);
    }
}
