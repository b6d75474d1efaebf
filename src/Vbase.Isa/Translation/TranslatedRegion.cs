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
    public TranslatedRegion(DecodedPage page, int[] headSlots, int[] blockLengths)
    {
        Page = page;
        HeadSlots = headSlots;
        BlockLengths = blockLengths;
    }

    /// <summary>The page whose slots the code returns; keeps them alive while the code can run.</summary>
    public DecodedPage Page { get; }
    /// <summary>Slot of each block's first instruction, by block index (the slot's <c>RegionEntry</c>).</summary>
    public int[] HeadSlots { get; }
    /// <summary>Instructions in each block, by block index.</summary>
    public int[] BlockLengths { get; }
    /// <summary>
    /// One bit per 16-byte chunk of the page that holds translated instructions: the same grain as the page's
    /// record of chunks written under a translation, so a store next to code drops a region at most once.
    /// </summary>
    private readonly ulong[] coveredChunks = new ulong[4];
    public RegionCode Code { get; set; } = null!;
    /// <summary>The instructions compiled into the region, in emission order (tests check the table against it).</summary>
    public InstructionId[] Instructions { get; set; } = [];
    /// <summary>Cleared when the page's code changes: translated code still running leaves after its current instruction.</summary>
    public bool Valid = true;

    /// <summary>Marks bytes [offset, offset+length) as translated.</summary>
    public void Cover(uint offset, int length)
    {
        for (uint chunk = offset >> 4; chunk <= Math.Min(offset + (uint)length - 1, 0xFFF) >> 4; chunk++)
        {
            coveredChunks[chunk >> 6] |= 1UL << (int)(chunk & 63);
        }
    }

    /// <summary>
    /// Whether slots [first, last] hold translated instructions (callers pass one slot more at the front: a
    /// 4-byte instruction may start there).
    /// </summary>
    public bool Covers(int firstSlot, int lastSlot)
    {
        int first = Math.Max(0, firstSlot) >> 3, last = Math.Min(DecodedPage.SlotCount - 1, lastSlot) >> 3;
        for (int chunk = first; chunk <= last; chunk++)
        {
            if (((coveredChunks[chunk >> 6] >> (chunk & 63)) & 1) != 0)
            {
                return true;
            }
        }
        return false;
    }
}
