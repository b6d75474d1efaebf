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
    private int InitialHeat => options.Engine == ExecutionEngine.Translator ? Math.Max(1, options.TranslationThreshold) : int.MaxValue;

    /// <summary>Regions translated so far (including re-translations of pages that got new entries).</summary>
    public int TranslatedRegions { get; private set; }

    /// <summary>
    /// The page's heat ran out at <paramref name="slot"/>: translate the page from the entries seen so far plus
    /// this one. Returns the slot, which now enters the translation if it could be translated.
    /// </summary>
    private DecodedInstruction* BecameHot(DecodedInstruction* slot)
    {
        DecodedPage page = fetchPage!;
        page.Heat = InitialHeat;
        if (options.Engine != ExecutionEngine.Translator || page.Uncached
            || page.Translations >= RegionTranslator.MaxTranslationsPerPage || page.RegionDrops >= RegionTranslator.MaxDropsPerPage)
        {
            page.Heat = int.MaxValue; // never again: the interpreter keeps this page
            return slot;
        }
        if (slot->RegionEntry != 0)
        {
            return slot;
        }
        int index = (int)(slot - page.Slots);
        if (index >= DecodedPage.SlotCount)
        {
            return slot; // the sentinel past the end of the page
        }
        page.Entries.Add(index);
        if (page.Region is not null)
        {
            page.DropRegion();
            page.RegionDrops--; // a re-translation, not a code change
        }
        TranslatedRegion? region = RegionTranslator.Translate(page);
        page.Translations++;
        if (region is not null)
        {
            page.Region = region;
            TranslatedRegions++;
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
        TranslatedRegion? region = h.fetchPage!.Region;
        if (region is not null && h.Tracer is null && h.Cycle + (ulong)region.BlockLengths[d->RegionEntry - 1] <= h.eventCycle)
        {
            // The run loop counts one instruction after every handler; the region counts the rest itself.
            return region.Code(h, d->RegionEntry - 1);
        }
        return d->Handler(h, d);
    }

    /// <summary>
    /// How many instructions the next step runs as one unit: the length of the translated block at the pc, or
    /// 1 where the interpreter runs. Lockstep steps both harts by this much.
    /// </summary>
    public int NextBlockLength
    {
        get
        {
            if (current is null && (pc >> 12) == fetchVpn && fetchPage?.Region is { } region)
            {
                DecodedInstruction* d = fetchSlots + ((pc & 0xFFF) >> 1);
                if (d->RegionEntry != 0)
                {
                    return region.BlockLengths[d->RegionEntry - 1];
                }
            }
            return 1;
        }
    }
}
