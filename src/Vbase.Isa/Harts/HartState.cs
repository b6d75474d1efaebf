using Vbase.Isa.Decoding;

namespace Vbase.Isa.Harts;

/// <summary>
/// The hart's hot state: what the run loop, the interpreter's handlers and translated code read and write on
/// every instruction, as one explicit struct embedded in the <see cref="Hart"/> (so an access costs what a field
/// of the hart costs). Translated code addresses it through <c>Hart.Hot</c> and these fields' tokens, which
/// the translator resolves with <c>nameof</c>: a renamed field breaks the build, not the translation.
/// </summary>
internal unsafe struct HartState
{
    /// <summary>Integer registers x0..x31 plus the sink register 32 that absorbs writes to x0 (native memory).</summary>
    public ulong* X;
    /// <summary>
    /// Floating-point registers f0..f31 (native memory, after X's 33): 64 bits each; a single-precision value is
    /// NaN-boxed (its upper 32 bits all ones).
    /// </summary>
    public ulong* F;
    /// <summary>fcsr's accrued exception flags (fflags, 5 bits) and dynamic rounding mode (frm, 3 bits).</summary>
    public uint Fflags, Frm;
    /// <summary>Executed instructions plus cycles skipped while waiting in WFI; mtime and mcycle derive from it.</summary>
    public ulong Cycle;
    /// <summary>Cycle at which the inner loop must come out to look at interrupts, the timer or the budget.</summary>
    public ulong EventCycle;
    /// <summary>Where the hart goes when a handler returns null (a jump out of the page, a trap, a mode change).</summary>
    public ulong NextPc;
    /// <summary>Virtual base of the current fetch page; unlike the fetch VPN, flushes do not clear it (PcOf needs it).</summary>
    public ulong FetchVirtualBase;
    /// <summary>The load and store TLBs of the current effective privilege.</summary>
    public TlbEntry* LoadTlb, StoreTlb;
    /// <summary>Per TLB entry, the line mask of a line-checked page (Hart.Lines.cs), for the current privilege.</summary>
    public ulong** LoadLineMasks, StoreLineMasks;
    /// <summary>Where translated code continues after a slow path told it to leave (null: NextPc).</summary>
    public DecodedInstruction* TranslatedExit;
    /// <summary>Accesses served on chip from line-checked pages.</summary>
    public long LineHits;
}
