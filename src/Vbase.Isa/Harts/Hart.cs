using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vbase.Isa.Csrs;
using Vbase.Isa.Decoding;
using Vbase.Isa.Memory;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Harts;

/// <summary>Why <see cref="Hart.Run"/> returned.</summary>
public enum HartExit
{
    /// <summary>The instruction budget given to <see cref="Hart.Run"/> ran out.</summary>
    InstructionLimit,
    /// <summary>Someone called <see cref="Hart.RequestStop"/> (a device ending the program, the host).</summary>
    Stopped,
    /// <summary>The hart sits in WFI and nothing the hart itself knows (its timer) can wake it.</summary>
    Idle,
}

/// <summary>Static configuration of a hart.</summary>
public sealed record HartOptions
{
    public ulong HartId { get; init; }
    public ulong ResetPc { get; init; } = 0x8000_0000;
    /// <summary>How instructions run: the translator (the default) or the reference interpreter alone.</summary>
    public ExecutionEngine Engine { get; init; } = ExecutionEngine.Translator;
    /// <summary>
    /// How hot a code page must get before it is translated: a backward jump within the page counts 64, an
    /// entry into it 1 (the default, 65,536, is about a thousand loop iterations or 65,536 entries). Lower
    /// translates sooner; 1 translates at the first touch (tests use it so that nearly everything runs translated).
    /// </summary>
    public int TranslationThreshold { get; init; } = 65536;
}

/// <summary>
/// One observed retired (or trapping) instruction, for tracing. <see cref="WrittenRegister"/> is the destination
/// written: 1..31 for x1..x31, 32..63 for f0..f31, -1 for none.
/// </summary>
public readonly record struct RetiredInstruction(ulong Pc, uint Raw, int Length, string Disassembly,
    int WrittenRegister, ulong WrittenValue, ulong? TrapCause);

/// <summary>
/// One RV64IMAFDC (RV64GC) hart with Zicsr, Zifencei and the M/S/U privilege levels, Sv39 translation and a TLB.
/// The hot loop runs pre-decoded instructions from a per-physical-page cache through function pointers;
/// everything that can change what an instruction does (satp, privilege, code writes) invalidates the
/// relevant cache. Time is virtual: <see cref="Cycle"/> counts executed instructions and drives mtime.
/// </summary>
public sealed unsafe partial class Hart : IDisposable
{
    /// <summary>
    /// What the run loop, the handlers and translated code touch on every instruction: the register file
    /// (<c>Hot.X</c>), <c>Hot.Cycle</c>, <c>Hot.NextPc</c> (where the hart goes when a handler returns null)…
    /// Accessed as fields, not through properties, so that even code the JIT has not optimised yet reads them directly.
    /// </summary>
    internal HartState Hot;

    /// <summary>
    /// The pc at instruction boundaries outside the hot loop. Inside it the pc is implied by the slot being
    /// executed (<see cref="PcOf"/>), so straight-line code never stores it.
    /// </summary>
    private ulong pc;
    /// <summary>The slot being executed, or null while the hart is between instructions (fetching).</summary>
    private DecodedInstruction* current;

    public ulong Pc
    {
        get => current is null ? pc : PcOf(current);
        set
        {
            pc = value;
            current = null;
        }
    }
    public Privilege Privilege { get; private set; } = Privilege.Machine;

    private readonly IPhysicalMemory memory;
    private readonly HartOptions options;
    private bool disposed;

    /// <summary>Executed instructions plus cycles skipped while waiting in WFI; mtime and mcycle derive from it.</summary>
    public ulong Cycle
    {
        get => Hot.Cycle;
        set => Hot.Cycle = value;
    }
    /// <summary>Instructions that trapped (did not retire) plus WFI-skipped cycles: instret = Cycle − this.</summary>
    private ulong notRetired;
    private bool stopRequested;
    private bool waitingForInterrupt;
    /// <summary>Set by every trap; lets tracing and tests see that the last instruction did not retire.</summary>
    internal bool TrapTaken;
    internal ulong LastTrapCause;

    public Hart(IPhysicalMemory memory, HartOptions? options = null)
    {
        this.memory = memory;
        this.options = options ?? new HartOptions();
        // One block for both register files: x0..x31, the sink, then f0..f31.
        Hot.X = (ulong*)NativeMemory.AllocZeroed(33 + 32, sizeof(ulong));
        Hot.F = Hot.X + 33;
        tlb = (TlbEntry*)NativeMemory.AllocZeroed((nuint)(TlbSets * TlbEntries), (nuint)sizeof(TlbEntry));
        Reset();
    }

    public ulong HartId => options.HartId;

    /// <summary>Puts the hart in its reset state: M-mode at the reset vector, caches empty.</summary>
    public void Reset()
    {
        new Span<ulong>(Hot.X, 33 + 32).Clear();
        Hot.Fflags = Hot.Frm = 0;
        pc = options.ResetPc;
        Privilege = Privilege.Machine;
        ResetCsrs();
        reservationValid = false;
        waitingForInterrupt = false;
        FlushTranslationCaches();
        FlushDecodeCache();
        Hot.X[10] = options.HartId; // a0 = hartid, as QEMU's reset vector leaves it
    }

    /// <summary>Reads integer register x<paramref name="index"/>.</summary>
    public ulong GetRegister(int index) => index == 0 ? 0 : Hot.X[(uint)index & 31];

    /// <summary>Writes integer register x<paramref name="index"/> (writes to x0 are ignored).</summary>
    public void SetRegister(int index, ulong value)
    {
        if (index != 0)
        {
            Hot.X[(uint)index & 31] = value;
            registerWritesFromOutside++;
        }
    }

    /// <summary>
    /// Counts <see cref="SetRegister"/> calls: translated code, which keeps registers in locals, leaves when a
    /// slow path it called (a device, the hypervisor) changed the register file behind it.
    /// </summary>
    private ulong registerWritesFromOutside;

    public ulong Instret => Cycle - notRetired + instretOffset;

    /// <summary>mtime: virtual time, one tick per executed instruction (and skipped ahead while in WFI).</summary>
    public ulong Time
    {
        get => Cycle + timeOffset;
        set { timeOffset = value - Cycle; Hot.EventCycle = 0; }
    }

    /// <summary>mtimecmp, owned by the CLINT: MTIP is pending while <see cref="Time"/> ≥ this.</summary>
    public ulong TimerCompare
    {
        get => timerCompare;
        set { timerCompare = value; Hot.EventCycle = 0; }
    }
    private ulong timerCompare = ulong.MaxValue;
    private ulong timeOffset;

    /// <summary>Drives an interrupt line from a device (MSIP from the CLINT, MEIP/SEIP from the PLIC).</summary>
    public void SetInterruptLine(InterruptCause line, bool level)
    {
        ulong bit = 1UL << (int)line;
        mipLines = level ? mipLines | bit : mipLines & ~bit;
        Hot.EventCycle = 0;
    }

    /// <summary>Asks the hart to return from <see cref="Run"/> after the current instruction.</summary>
    /// <remarks>Safe to call from another thread (a Ctrl-C handler): the hart stops within one time slice.</remarks>
    public void RequestStop()
    {
        Volatile.Write(ref stopRequested, true);
        Volatile.Write(ref Hot.EventCycle, 0);
    }

    /// <summary>Called for every executed instruction while set; runs a slower loop.</summary>
    public Action<RetiredInstruction>? Tracer { get; set; }

    /// <summary>
    /// Runs until <paramref name="maxInstructions"/> instructions have executed, the hart is stopped, or it
    /// idles in WFI with nothing to wake it.
    /// </summary>
    public HartExit Run(ulong maxInstructions)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        stopRequested = false;
        ulong executed = 0;
        while (true)
        {
            if (Volatile.Read(ref stopRequested))
            {
                stopRequested = false;
                return HartExit.Stopped;
            }
            if (executed >= maxInstructions)
            {
                return HartExit.InstructionLimit;
            }
            UpdateTimerLine();
            if (waitingForInterrupt && !WakeFromWfi())
            {
                return HartExit.Idle;
            }
            ulong interruptedPc = pc;
            if (TakePendingInterrupt())
            {
                pc = Hot.NextPc;
                Tracer?.Invoke(new RetiredInstruction(interruptedPc, 0, 0, "(interrupt)", -1, 0, LastTrapCause));
            }

            // The inner loop runs until the budget ends or the next timer deadline; anything that may enable
            // or raise an interrupt (CSR writes, xRET, device lines) zeroes Hot.EventCycle to break out early.
            ulong start = Cycle;
            ulong budgetEnd = start + (maxInstructions - executed);
            ulong timerEnd = timerCompare > Time ? start + (timerCompare - Time) : ulong.MaxValue;
            Hot.EventCycle = Math.Min(budgetEnd, timerEnd);
            if (Hot.EventCycle <= start)
            {
                Hot.EventCycle = start + 1; // always make progress
            }
            if (Volatile.Read(ref stopRequested))
            {
                Hot.EventCycle = 0; // a stop from another thread raced with setting the slice
            }
            if (debugger is { } dbg)
            {
                RunDebugged(dbg);
            }
            else if (Tracer is null)
            {
                RunFast();
            }
            else
            {
                RunTraced(Tracer);
            }
            executed += Cycle - start;
        }
    }

    /// <summary>
    /// The hot loop: each handler returns the next slot of its page, so straight-line code and branches
    /// within a page chain from slot to slot; a null return goes through a fetch lookup of NextPc.
    /// </summary>
    private void RunFast()
    {
        DecodedInstruction* d = null;
        while (Hot.Cycle < Hot.EventCycle)
        {
            if (d is null)
            {
                current = null; // a fetch fault belongs to the target, not the jump
                if ((d = LookupFetch()) is null)
                {
                    Hot.Cycle++; // the fetch trapped; pc is now the trap vector
                    continue;
                }
            }
            current = d;
            d = d->Execute(this, d);
            Hot.Cycle++;
            if (d is null)
            {
                pc = Hot.NextPc;
            }
        }
        if (d is not null)
        {
            pc = PcOf(d);
        }
        current = null;
    }

    private void RunTraced(Action<RetiredInstruction> tracer)
    {
        while (Cycle < Hot.EventCycle)
        {
            TrapTaken = false;
            ulong fetchPc = pc;
            DecodedInstruction* d = LookupFetch();
            if (d is null)
            {
                tracer(new RetiredInstruction(fetchPc, 0, 0, "(instruction fetch fault)", -1, 0, LastTrapCause));
                Cycle++;
                continue;
            }
            ulong at = PcOf(d);
            // Copied before it runs: an instruction that stores over itself invalidates its slot.
            DecodedInstruction executed = *d;
            current = d;
            DecodedInstruction* next = d->Execute(this, d);
            current = null;
            pc = next is null ? Hot.NextPc : PcOf(next);
            if (executed.Length == 0)
            {
                // Not kept in its slot: a straddling instruction (decoded again for the trace).
                if (lastStraddling.Length != 0 && lastStraddlingPc == at)
                {
                    executed = lastStraddling;
                }
                else
                {
                    InstructionDecoder.Decode(FetchRawForTrace(at), out executed);
                }
            }
            int rd = TrapTaken ? -1
                : !executed.IsIllegal && InstructionDecoder.WritesFloatRegister(InstructionTable.Row(executed.Id).Format) ? 32 + executed.Rd
                : executed.Rd is > 0 and < 32 ? executed.Rd : -1;
            ulong written = rd switch { >= 32 => Hot.F[rd - 32], >= 0 => Hot.X[rd], _ => 0 };
            tracer(new RetiredInstruction(at, executed.Raw, executed.Length, Disassembler.Disassemble(in executed, at),
                rd, written, TrapTaken ? LastTrapCause : null));
            Cycle++;
        }
    }

    private uint FetchRawForTrace(ulong at)
    {
        if (fetchHost is null)
        {
            return 0; // an uncached page whose fetch was refused: nothing was read
        }
        uint low = *(ushort*)(fetchHost + (at & 0xFFF));
        return (low & 3) != 3 || (at & 0xFFF) > 0xFFC ? low : *(uint*)(fetchHost + (at & 0xFFF));
    }

    /// <summary>Single-steps one instruction (tests, debuggers). Interrupts are taken first, as in <see cref="Run"/>.</summary>
    public HartExit Step() => Run(1);

    private void UpdateTimerLine()
    {
        const ulong mtip = 1UL << (int)InterruptCause.MachineTimer;
        mipLines = Time >= timerCompare ? mipLines | mtip : mipLines & ~mtip;
    }

    /// <summary>
    /// WFI: resume as soon as any interrupt is pending, enabled or not (the spec lets WFI resume for any
    /// reason; riscv-tests' rv64si wfi test relies on it). Otherwise skip virtual time ahead to mtimecmp;
    /// with no timer armed nothing the hart knows can wake it.
    /// </summary>
    private bool WakeFromWfi()
    {
        if (ReadMip() != 0)
        {
            waitingForInterrupt = false;
            return true;
        }
        if (timerCompare != ulong.MaxValue && timerCompare > Time)
        {
            ulong skip = timerCompare - Time;
            Cycle += skip;
            notRetired += skip;
            UpdateTimerLine();
            waitingForInterrupt = false;
            return true;
        }
        return false;
    }

    internal void EnterWfi()
    {
        waitingForInterrupt = true;
        Hot.EventCycle = 0;
    }

    /// <summary>True while the hart waits in WFI.</summary>
    public bool IsWaitingForInterrupt => waitingForInterrupt;

    /// <summary>Makes the inner loop come out after this instruction to re-evaluate interrupts.</summary>
    internal void BreakOutOfLoop() => Hot.EventCycle = 0;

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            NativeMemory.Free(Hot.X);
            NativeMemory.Free(tlb);
            NativeMemory.Free(atomicBounce);
            FreeLineMasks();
        }
        GC.SuppressFinalize(this);
    }

    ~Hart()
    {
        if (!disposed)
        {
            NativeMemory.Free(Hot.X);
            NativeMemory.Free(tlb);
            NativeMemory.Free(atomicBounce);
            FreeLineMasks();
        }
    }
}
