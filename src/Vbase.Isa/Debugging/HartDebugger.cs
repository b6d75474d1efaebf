using Vbase.Isa.Harts;

namespace Vbase.Isa.Debugging;

/// <summary>What a watchpoint watches: gdb's <c>watch</c>, <c>rwatch</c> and <c>awatch</c>.</summary>
public enum WatchKind
{
    Write,
    Read,
    Access,
}

/// <summary>A watched range of guest-virtual addresses.</summary>
public readonly record struct Watchpoint(ulong Address, ulong Length, WatchKind Kind)
{
    public bool Overlaps(ulong address, ulong length) => address < Address + Length && Address < address + length;
}

/// <summary>Why a debugged hart stopped.</summary>
public enum DebugStopKind
{
    /// <summary>Attached: before the next instruction (the first one, for a debugger waiting at reset).</summary>
    Attached,
    /// <summary>The pc reached a software breakpoint; the instruction there has not run.</summary>
    Breakpoint,
    /// <summary>One instruction ran (or trapped) after a single-step request.</summary>
    Step,
    /// <summary>An instruction that accessed a watched range retired; the pc is after it.</summary>
    Watchpoint,
    /// <summary><see cref="HartDebugger.Interrupt"/> (gdb's Ctrl-C).</summary>
    Interrupt,
}

/// <summary>One stop, as the debugger is told about it.</summary>
/// <param name="WatchAddress">For a watchpoint: the first byte of the access that hit it.</param>
public readonly record struct DebugStop(DebugStopKind Kind, ulong Pc, ulong WatchAddress = 0, WatchKind Watch = WatchKind.Write);

/// <summary>What the hart does when the debugger lets it go.</summary>
public enum DebugResume
{
    Continue,
    Step,
    /// <summary>The run ends: the hart stops (<see cref="HartExit.Stopped"/>) and the owner of the run ends it.</summary>
    Kill,
}

/// <summary>
/// A debugger's hold on one hart: software breakpoints by virtual pc, watchpoints on virtual ranges, single step
/// and an asynchronous stop request. While it is attached (<see cref="Hart.Debugger"/>) the hart runs a checking
/// loop; on a stop it calls <see cref="Stopped"/> on its own thread, inside <see cref="Hart.Run"/>, before the
/// instruction at the pc runs, and waits for it to return: stopping takes no virtual time and cuts no scheduler
/// slice, so a debugged run replays an undebugged one exactly (unless the debugger changes state).
/// </summary>
/// <remarks>
/// Translated code behaves as the interpreter: the translator ends its blocks before every slot whose page offset
/// is a breakpoint's (conservatively, on every page: a physical page may be mapped at several virtual addresses),
/// translations covering such a slot are dropped when the breakpoint is inserted or removed, and a single step or
/// an active watchpoint runs the interpreter one instruction at a time. Watchpoints see the harts' own loads,
/// stores, atomics and FP loads and stores (by effective virtual address), not accesses the hypervisor or a device
/// makes on the guest's behalf.
/// </remarks>
public sealed class HartDebugger
{
    private readonly HashSet<ulong> breakpoints = [];
    /// <summary>Breakpoints per page slot (page offset / 2), for the translator.</summary>
    private readonly Dictionary<int, int> breakpointSlots = [];
    private readonly List<Watchpoint> watchpoints = [];
    private volatile bool interruptRequested;
    internal Hart? Hart;

    /// <summary>Called on the hart's thread at each stop; returns what the hart does next.</summary>
    public Func<Hart, DebugStop, DebugResume> Stopped { get; set; } = (_, _) => DebugResume.Continue;

    /// <summary>Stop before the next instruction (set at attach: a debugger that waits before the first instruction).</summary>
    public bool StopPending { get; set; }

    /// <summary>The last stop reported (the answer to gdb's <c>?</c>).</summary>
    public DebugStop? LastStop { get; internal set; }

    public IReadOnlyCollection<ulong> Breakpoints => breakpoints;
    public IReadOnlyList<Watchpoint> Watchpoints => watchpoints;

    internal bool HasBreakpoints => breakpoints.Count != 0;
    internal bool HasWatchpoints => watchpoints.Count != 0;
    internal bool IsBreakpoint(ulong pc) => breakpoints.Contains(pc);
    internal bool IsBreakpointSlot(int slot) => breakpointSlots.ContainsKey(slot);
    /// <summary>The pc the hart resumes from: its breakpoint does not fire again before one instruction runs.</summary>
    internal ulong? ResumeFrom;
    internal bool StepRequested;

    /// <summary>Makes the hart stop after its next instruction (gdb's vCont step of a thread that is not the one stopped).</summary>
    public void RequestStep() => StepRequested = true;

    /// <summary>Adds a software breakpoint at virtual address <paramref name="pc"/>; false if there already is one.</summary>
    public bool InsertBreakpoint(ulong pc)
    {
        if (!breakpoints.Add(pc))
        {
            return false;
        }
        int slot = SlotOf(pc);
        breakpointSlots[slot] = breakpointSlots.GetValueOrDefault(slot) + 1;
        Hart?.DropTranslationsAtSlot(slot);
        return true;
    }

    /// <summary>Removes the breakpoint at <paramref name="pc"/>; false if there was none.</summary>
    public bool RemoveBreakpoint(ulong pc)
    {
        if (!breakpoints.Remove(pc))
        {
            return false;
        }
        int slot = SlotOf(pc);
        if (--breakpointSlots[slot] == 0)
        {
            breakpointSlots.Remove(slot);
        }
        // Translations made around the breakpoint end early: grow them again without it.
        Hart?.DropTranslationsAtSlot(slot);
        return true;
    }

    public void InsertWatchpoint(Watchpoint w)
    {
        if (!watchpoints.Contains(w))
        {
            watchpoints.Add(w);
        }
    }

    public bool RemoveWatchpoint(Watchpoint w) => watchpoints.Remove(w);

    /// <summary>Removes every breakpoint and watchpoint (a detach).</summary>
    public void Clear()
    {
        foreach (ulong pc in breakpoints.ToArray())
        {
            RemoveBreakpoint(pc);
        }
        watchpoints.Clear();
        StepRequested = false;
        StopPending = false;
    }

    /// <summary>Asks the hart to stop at the next instruction boundary. Safe from any thread (gdb's Ctrl-C).</summary>
    public void Interrupt()
    {
        interruptRequested = true;
        Hart?.BreakOutOfLoopFromAnyThread();
    }

    internal bool TakeInterrupt()
    {
        if (!interruptRequested)
        {
            return false;
        }
        interruptRequested = false;
        return true;
    }

    internal static int SlotOf(ulong pc) => (int)((pc & 0xFFF) >> 1);
}
