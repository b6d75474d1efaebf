using Vbase.Isa.Decoding;
using Vbase.Isa.Translation;

namespace Vbase.Isa.Harts;

/// <summary>How a hart runs instructions.</summary>
public enum ExecutionEngine
{
    /// <summary>The threaded interpreter alone: the reference the translator is checked against.</summary>
    Interpreter,
    /// <summary>Hot code pages are translated to IL (<see cref="RegionTranslator"/>); the interpreter runs the rest.</summary>
    Translator,
}

// The hart's side of translation: when a page gets hot, when its translation runs, and what lockstep sees.
// The translated code keeps the interpreter's contract exactly (same instruction counts, trap points and
// interrupt points), so the engine never changes what a program does, only how fast.
public sealed unsafe partial class Hart
{
    /// <summary>
    /// What a backward jump within a page adds to its heat; an entry into the page adds 1. Loops are what
    /// translation pays off on: code entered often but run briefly each time (a trap handler) costs more to
    /// compile than it would ever save.
    /// </summary>
    private const int LoopHeat = 64;

    private int InitialHeat => options.Engine == ExecutionEngine.Translator ? Math.Max(1, options.TranslationThreshold) : int.MaxValue;

    /// <summary>Regions translated so far.</summary>
    public int TranslatedRegions { get; private set; }

    /// <summary>Called with each region the translator compiles (tests check what it translated).</summary>
    internal Action<TranslatedRegion>? RegionTranslated { get; set; }

    /// <summary>Per physical page, the translation counters of decoded pages that were dropped (fence.i, a remap).</summary>
    private readonly Dictionary<ulong, (int Translations, int Drops)> translationHistory = [];

    private DecodedPage NewDecodedPage(ulong physicalPage, byte* host, ulong* lines)
    {
        var page = new DecodedPage(physicalPage, host, lines) { Heat = InitialHeat };
        if (translationHistory.TryGetValue(physicalPage, out var history))
        {
            (page.Translations, page.RegionDrops) = history;
        }
        return page;
    }

    /// <summary>
    /// The page is being dropped: stop its translated code (it leaves after its current instruction if it is
    /// running, as when a device rewrote it) and remember how often it was translated and dropped, so code
    /// that keeps running fence.i does not get translated again and again.
    /// </summary>
    private void ForgetTranslations(DecodedPage page)
    {
        if (page.Translations == 0)
        {
            return;
        }
        int drops = page.RegionDrops;
        for (int r = 0; r < page.Regions.Length; r++)
        {
            if (page.Regions[r] is not null)
            {
                page.DropRegion(r);
                drops++;
            }
        }
        translationHistory[page.PhysicalPage] = (page.Translations, drops);
    }

    /// <summary>
    /// The page's heat ran out at <paramref name="slot"/>: translate the code reachable from it (within the
    /// page, up to other translations' heads). Returns the slot, which now enters the translation if it could
    /// be translated.
    /// </summary>
    private DecodedInstruction* BecameHot(DecodedInstruction* slot)
    {
        DecodedPage page = fetchPage!;
        page.Heat = InitialHeat;
        if (slot->RegionEntry != 0)
        {
            return slot;
        }
        int index = (int)(slot - page.Slots);
        if (options.Engine != ExecutionEngine.Translator || page.Uncached || index >= DecodedPage.SlotCount
            || page.Translations >= RegionTranslator.MaxTranslationsPerPage || page.RegionDrops >= RegionTranslator.MaxDropsPerPage)
        {
            if (index < DecodedPage.SlotCount)
            {
                page.Heat = int.MaxValue; // never again: the interpreter keeps this page
            }
            return slot;
        }
        Func<int, bool>? stops = TranslationStops;
        if (page.UntranslatableSeeds?.Contains(index) == true || stops?.Invoke(index) == true)
        {
            return slot; // a breakpoint's slot is never translated (Debugging/HartDebugger.cs), nor marked untranslatable
        }
        if (page.RegionCount == RegionTranslator.MaxRegionsPerPage)
        {
            page.Heat = int.MaxValue; // full: the rest of this page stays interpreted
            return slot;
        }
        if (RegionTranslator.Translate(page, index, out TranslatedRegion? region, stops))
        {
            page.Translations++;
            TranslatedRegions++;
            RegionTranslated?.Invoke(region);
        }
        else
        {
            (page.UntranslatableSeeds ??= []).Add(index);
        }
        return slot;
    }

    /// <summary>
    /// The handler of a translated block's first slot: runs the translation from this block if the whole block
    /// fits before the next event (an interrupt check, the budget), else interprets the one instruction, so
    /// interrupts and budgets land on exactly the instruction they would without translation.
    /// </summary>
    internal static readonly delegate*<Hart, DecodedInstruction*, DecodedInstruction*> EnterRegionHandler = &EnterRegion;

    internal static DecodedInstruction* EnterRegion(Hart h, DecodedInstruction* d)
    {
        TranslatedRegion? region = h.fetchPage!.Regions[d->RegionIndex];
        if (region is not null && h.Tracer is null && h.Hot.Cycle + (ulong)region.BlockLengths[d->RegionEntry - 1] <= h.Hot.EventCycle)
        {
            // The run loop counts one instruction after every handler; the region counts the rest itself.
            return region.Code(h, d->RegionEntry - 1);
        }
        return d->Handler(h, d);
    }

    // Slow paths of translated loads and stores. Out of line, to keep the translated methods small (the JIT
    // stops optimising very large methods). They set what the interpreter would hold during the instruction
    // (the time, for devices; the slot, for a fault's pc) and return false when the translated code must
    // leave: the access trapped (continue at the trap vector), or it raised an event, rewrote the region's
    // code or changed the register file (continue after the instruction through the run loop; the translated
    // code's registers were written back before the call, so nothing of the callee's is overwritten).
    // Hot.TranslatedExit is where.

    internal static bool TranslatedLoad(Hart h, ulong va, int size, out ulong value, ulong cycle, DecodedInstruction* slot,
        int length, TranslatedRegion region)
    {
        h.Hot.Cycle = cycle;
        h.current = slot;
        ulong writes = h.registerWritesFromOutside;
        if (!h.LoadSlow(va, size, out value))
        {
            h.Hot.TranslatedExit = null;
            return false;
        }
        return h.ContinueAfterSlowPath(cycle, slot, length, region, writes);
    }

    internal static bool TranslatedStore(Hart h, ulong va, int size, ulong value, ulong cycle, DecodedInstruction* slot,
        int length, TranslatedRegion region)
    {
        h.Hot.Cycle = cycle;
        h.current = slot;
        ulong writes = h.registerWritesFromOutside;
        if (!h.StoreSlow(va, size, value))
        {
            h.Hot.TranslatedExit = null;
            return false;
        }
        return h.ContinueAfterSlowPath(cycle, slot, length, region, writes);
    }

    /// <summary>A class-call row (F, D) from translated code: its handler, with the interpreter's view of the instruction.</summary>
    internal static bool TranslatedCall(Hart h, ulong cycle, DecodedInstruction* slot, int length, TranslatedRegion region)
    {
        h.Hot.Cycle = cycle;
        h.current = slot;
        ulong writes = h.registerWritesFromOutside;
        if (slot->Handler(h, slot) is null)
        {
            h.Hot.TranslatedExit = null;
            return false;
        }
        return h.ContinueAfterSlowPath(cycle, slot, length, region, writes);
    }

    private bool ContinueAfterSlowPath(ulong cycle, DecodedInstruction* slot, int length, TranslatedRegion region, ulong writes)
    {
        if (region.Valid && Hot.EventCycle > cycle + 1 && registerWritesFromOutside == writes)
        {
            return true;
        }
        Hot.TranslatedExit = slot + (length >> 1);
        return false;
    }

    /// <summary>
    /// How many instructions the next step runs as one unit: the length of the translated block at the pc, or
    /// 1 where the interpreter runs. Lockstep steps both harts by this much.
    /// </summary>
    public int NextBlockLength
    {
        get
        {
            if (current is null && (pc >> 12) == fetchVpn && fetchPage is { RegionCount: > 0 } page)
            {
                DecodedInstruction* d = fetchSlots + ((pc & 0xFFF) >> 1);
                if (d->RegionEntry != 0 && page.Regions[d->RegionIndex] is { } region)
                {
                    return region.BlockLengths[d->RegionEntry - 1];
                }
            }
            return 1;
        }
    }
}
