using Vbase.Isa.Debugging;
using Vbase.Isa.Decoding;

namespace Vbase.Isa.Harts;

// The hart's side of a debugger (Debugging/HartDebugger.cs): the checking run loop, used only while one is
// attached, so an undebugged hart pays one null test per time slice.
public sealed unsafe partial class Hart
{
    private HartDebugger? debugger;
    /// <summary>A stop found after an instruction (a step, a watchpoint), reported before the next one.</summary>
    private DebugStop? pendingDebugStop;

    /// <summary>
    /// The debugger holding this hart, or null. Attaching drops the translations around its breakpoints; a
    /// debugger may be attached to one hart at a time.
    /// </summary>
    public HartDebugger? Debugger
    {
        get => debugger;
        set
        {
            if (debugger is not null)
            {
                debugger.Hart = null;
            }
            debugger = value;
            pendingDebugStop = null;
            if (value is not null)
            {
                value.Hart = this;
                foreach (ulong pc in value.Breakpoints)
                {
                    DropTranslationsAtSlot(HartDebugger.SlotOf(pc));
                }
            }
            Hot.EventCycle = 0; // re-enter the run loop through the right inner loop
        }
    }

    /// <summary>
    /// Drops every translation covering page slot <paramref name="slot"/>, on every page: breakpoints are virtual
    /// addresses and a physical page may be mapped at several. Not counted as a code change (no penalty).
    /// </summary>
    internal void DropTranslationsAtSlot(int slot)
    {
        foreach (DecodedPage page in decodedPages.Values)
        {
            for (int r = 0; r < page.Regions.Length && page.RegionCount != 0; r++)
            {
                if (page.Regions[r] is { } region && region.Covers(slot, slot))
                {
                    page.DropRegion(r);
                }
            }
        }
    }

    internal void BreakOutOfLoopFromAnyThread() => Volatile.Write(ref Hot.EventCycle, 0);

    /// <summary>For the translator: the slots it must not translate (a breakpoint's), or null when there are none.</summary>
    private Func<int, bool>? TranslationStops => debugger is { HasBreakpoints: true } d ? d.IsBreakpointSlot : null;

    /// <summary>
    /// The inner loop while a debugger is attached: before each instruction (or translated region, which never
    /// holds a breakpoint's slot) it checks for a stop; single steps, watchpoints and tracing run the
    /// interpreter one instruction at a time.
    /// </summary>
    private void RunDebugged(HartDebugger dbg)
    {
        while (Hot.Cycle < Hot.EventCycle)
        {
            if (NextDebugStop(dbg) is DebugStop stop)
            {
                dbg.LastStop = stop;
                DebugResume resume = dbg.Stopped(this, stop);
                if (resume == DebugResume.Kill)
                {
                    RequestStop();
                    return;
                }
                dbg.StepRequested = resume == DebugResume.Step;
                dbg.ResumeFrom = pc;
                if (debugger != dbg)
                {
                    return; // detached: the run loop goes on without it
                }
                continue; // the debugger may have changed the pc, or zeroed EventCycle (a CSR write)
            }
            if (dbg.StepRequested || dbg.HasWatchpoints || Tracer is not null)
            {
                StepOneDebugged(dbg);
            }
            else
            {
                DecodedInstruction* d = LookupFetch();
                if (d is null)
                {
                    Hot.Cycle++; // the fetch trapped; pc is now the trap vector
                }
                else
                {
                    current = d;
                    DecodedInstruction* next = d->Execute(this, d);
                    Hot.Cycle++;
                    current = null;
                    pc = next is null ? Hot.NextPc : PcOf(next);
                }
            }
            dbg.ResumeFrom = null;
        }
    }

    private DebugStop? NextDebugStop(HartDebugger dbg)
    {
        if (pendingDebugStop is DebugStop pending)
        {
            pendingDebugStop = null;
            return pending;
        }
        if (dbg.TakeInterrupt())
        {
            return new DebugStop(DebugStopKind.Interrupt, pc);
        }
        if (dbg.StopPending)
        {
            dbg.StopPending = false;
            return new DebugStop(DebugStopKind.Attached, pc);
        }
        if (dbg.HasBreakpoints && dbg.ResumeFrom != pc && dbg.IsBreakpoint(pc))
        {
            return new DebugStop(DebugStopKind.Breakpoint, pc);
        }
        return null;
    }

    /// <summary>Runs exactly one instruction in the interpreter (traced if a tracer is set) and notes a step or watch stop.</summary>
    private void StepOneDebugged(HartDebugger dbg)
    {
        ulong at = pc;
        TrapTaken = false;
        DecodedInstruction* d = LookupFetch();
        if (d is null)
        {
            Tracer?.Invoke(new RetiredInstruction(at, 0, 0, "(instruction fetch fault)", -1, 0, LastTrapCause));
            Hot.Cycle++;
        }
        else
        {
            (ulong Address, ulong Length, bool Reads, bool Writes)? access = dbg.HasWatchpoints ? AccessOf(d, at) : null;
            ulong eventCycle = Hot.EventCycle;
            Hot.EventCycle = Hot.Cycle + 1; // a translated block at the pc does not fit: its first instruction is interpreted
            if (Tracer is { } tracer)
            {
                RunTraced(tracer);
            }
            else
            {
                current = d;
                DecodedInstruction* next = d->Execute(this, d);
                Hot.Cycle++;
                current = null;
                pc = next is null ? Hot.NextPc : PcOf(next);
            }
            if (Hot.EventCycle != 0)
            {
                Hot.EventCycle = eventCycle;
            }
            if (access is var (address, length, reads, writes) && !TrapTaken)
            {
                foreach (Watchpoint w in dbg.Watchpoints)
                {
                    bool kindMatches = w.Kind switch
                    {
                        WatchKind.Write => writes,
                        WatchKind.Read => reads,
                        _ => true,
                    };
                    if (kindMatches && w.Overlaps(address, length))
                    {
                        pendingDebugStop = new DebugStop(DebugStopKind.Watchpoint, pc, Math.Max(address, w.Address), w.Kind);
                        break;
                    }
                }
            }
        }
        if (dbg.StepRequested)
        {
            dbg.StepRequested = false;
            pendingDebugStop ??= new DebugStop(DebugStopKind.Step, pc);
        }
    }

    /// <summary>The memory access the instruction in slot <paramref name="d"/> at <paramref name="at"/> will make, from the registers before it runs.</summary>
    private (ulong Address, ulong Length, bool Reads, bool Writes)? AccessOf(DecodedInstruction* d, ulong at)
    {
        DecodedInstruction ins = *d;
        if (ins.Length == 0)
        {
            InstructionDecoder.Decode(FetchRawForTrace(at), out ins); // not decoded yet (or straddling)
        }
        if (ins.IsIllegal)
        {
            return null;
        }
        ref readonly InstructionSpec row = ref InstructionTable.Row(ins.Id);
        (bool reads, bool writes) = row.Format switch
        {
            OperandFormat.Load or OperandFormat.FLoad or OperandFormat.Lr => (true, false),
            OperandFormat.S or OperandFormat.FStore => (false, true),
            OperandFormat.Amo => (!row.Name.StartsWith("sc.", StringComparison.Ordinal), true),
            _ => (false, false),
        };
        if (!reads && !writes)
        {
            return null;
        }
        ulong address = GetRegister(ins.Rs1);
        if (row.Format is OperandFormat.Load or OperandFormat.FLoad or OperandFormat.S or OperandFormat.FStore)
        {
            address += (ulong)ins.Imm;
        }
        return (address, AccessSize(row.Name), reads, writes);
    }

    /// <summary>Bytes accessed, from the mnemonic (lb…ld, sb…sd, flw/fsd, amo*.w/.d, lr/sc).</summary>
    private static ulong AccessSize(string name)
    {
        if (name.EndsWith(".d", StringComparison.Ordinal) || name.Contains(".d.", StringComparison.Ordinal))
        {
            return 8;
        }
        if (name.EndsWith(".w", StringComparison.Ordinal) || name.Contains(".w.", StringComparison.Ordinal))
        {
            return 4;
        }
        string bare = name.StartsWith("c.", StringComparison.Ordinal) ? name[2..] : name;
        char width = bare.Length > 1 ? bare[bare[0] == 'f' ? 2 : 1] : 'd';
        return width switch { 'b' => 1, 'h' => 2, 'w' => 4, _ => 8 };
    }
}
