using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Translation;

/// <summary>
/// The compiled code of one region, entered at block <paramref name="entry"/>. Returns like an instruction
/// handler: the slot to continue at in the same page, or null with <c>NextPc</c> set (a jump out, a trap).
/// </summary>
internal unsafe delegate DecodedInstruction* RegionCode(Hart hart, int entry);

/// <summary>
/// The translation of the hot code of one physical page: a set of blocks compiled into one method, in
/// which jumps between the blocks are branches of the method (so a loop inside the page never leaves it).
/// </summary>
internal sealed class TranslatedRegion
{
    public TranslatedRegion(DecodedPage page, int[] headSlots, int[] blockLengths, ulong coveredChunks)
    {
        Page = page;
        HeadSlots = headSlots;
        BlockLengths = blockLengths;
        CoveredChunks = coveredChunks;
    }

    /// <summary>The page whose slots the code returns; keeps them alive while the code can run.</summary>
    public DecodedPage Page { get; }
    /// <summary>Slot of each block's first instruction, by block index (the slot's <c>RegionEntry</c>).</summary>
    public int[] HeadSlots { get; }
    /// <summary>Instructions in each block, by block index.</summary>
    public int[] BlockLengths { get; }
    /// <summary>One bit per 64-byte chunk of the page that holds translated instructions.</summary>
    public ulong CoveredChunks { get; }
    public RegionCode Code { get; set; } = null!;
    /// <summary>Cleared when the page's code changes: translated code still running leaves after its current instruction.</summary>
    public bool Valid = true;

    /// <summary>Whether slots [first, last] hold translated instructions (a 4-byte one may start one slot earlier).</summary>
    public bool Covers(int firstSlot, int lastSlot)
    {
        int first = Math.Max(0, firstSlot - 1) * 2 >> 6, last = Math.Min(DecodedPage.SlotCount - 1, lastSlot) * 2 >> 6;
        for (int chunk = first; chunk <= last; chunk++)
        {
            if (((CoveredChunks >> chunk) & 1) != 0)
            {
                return true;
            }
        }
        return false;
    }
}
