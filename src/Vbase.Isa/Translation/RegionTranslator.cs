using System.Diagnostics.CodeAnalysis;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Translation;

/// <summary>
/// Translates the hot code of a page into one IL method (a <c>DynamicMethod</c> the .NET JIT compiles to
/// machine code). Hand-written rather than a library because it is the hot path: each guest instruction becomes
/// a few IL operations on the register file, loads and stores inline the TLB lookup, and jumps between blocks
/// of the page are IL branches, so a loop runs without returning to the interpreter. This class finds the
/// blocks, following each row's <see cref="TranslationClass"/>; <see cref="RegionEmitter"/> writes the method.
/// </summary>
/// <remarks>
/// Exactness. The translation keeps the interpreter's contract to the instruction:
/// <list type="bullet">
/// <item>Within a block, registers live in IL locals; they are written back to the hart's register file before
/// the block ends and before every slow-path call (a device, the hypervisor, a secure architecture), which so
/// sees exactly the interpreter's state.</item>
/// <item>A block runs only if all of it fits before the hart's next event (<c>HartState.EventCycle</c>: the budget, the
/// timer, a pending interrupt check); otherwise the region returns and the interpreter runs up to the event,
/// so interrupts are taken on exactly the instruction they would be without translation.</item>
/// <item>Before a slow-path access the region writes <c>Cycle</c> and the current slot, so the access sees the
/// right time and a fault the right pc; after it, the region leaves if the access trapped, raised an event,
/// changed the page's code (<see cref="TranslatedRegion.Valid"/>) or changed the register file.</item>
/// <item>The F and D rows (class call) run their interpreter handler on their own slot, between the
/// translated instructions around them, with the registers written back first.</item>
/// <item>Only instructions that cannot change privilege, translation or interrupt state are translated; CSR
/// accesses, fence.i, sfence.vma, xRETs, ecall/ebreak, WFI, atomics and illegal words end a block and are
/// interpreted.</item>
/// </list>
/// </remarks>
internal static unsafe class RegionTranslator
{
    /// <summary>A page is translated at most this many times before it is left to the interpreter.</summary>
    public const int MaxTranslationsPerPage = 64;
    /// <summary>Translations one page holds at once (each grown from one hot entry).</summary>
    public const int MaxRegionsPerPage = 32;
    /// <summary>A page whose code changed under its translations this many times is left to the interpreter.</summary>
    public const int MaxDropsPerPage = 8;
    private const int MaxBlockLength = 64;
    // A region's size budget. The JIT compiles very large methods without optimisation (MinOpts, at about
    // 60 KB of IL or 2000 basic blocks), which would cost more than it saves; a load or store is the largest
    // translation (about 150 bytes of IL and 6 basic blocks).
    private const int MaxRegionInstructions = 240;
    private const int MaxRegionMemoryAccesses = 72;

    /// <summary>One translated block: straight-line code from a head slot to a jump or a fall-through.</summary>
    internal sealed class Block(int head)
    {
        public readonly int Head = head;
        public readonly List<(int Slot, DecodedInstruction D)> Body = [];
        /// <summary>Where control goes after the last instruction when it is not a jump.</summary>
        public int FallThrough = -1;
    }

    /// <summary>
    /// Translates the code reachable from <paramref name="seed"/> along fall-throughs and direct jumps within
    /// the page, stopping at the heads of the page's other translations, and installs it. False if nothing
    /// could be translated (an untranslatable first instruction, or no room left in the page).
    /// </summary>
    /// <param name="stopBefore">Slots no block may contain (a debugger's breakpoints): blocks end before them,
    /// so the hart reaches them in its run loop, where it checks for a stop.</param>
    internal static bool Translate(DecodedPage page, int seed, [NotNullWhen(true)] out TranslatedRegion? translated,
        Func<int, bool>? stopBefore = null)
    {
        translated = null;
        List<Block> blocks = Explore(page, seed, stopBefore);
        if (blocks.Count == 0)
        {
            return false;
        }
        var heads = new int[blocks.Count];
        var lengths = new int[blocks.Count];
        for (int b = 0; b < blocks.Count; b++)
        {
            heads[b] = blocks[b].Head;
            lengths[b] = blocks[b].Body.Count;
        }
        var region = new TranslatedRegion(page, heads, lengths);
        foreach (Block block in blocks)
        {
            foreach (var (slot, d) in block.Body)
            {
                uint offset = (uint)slot * 2;
                region.Cover(offset, d.Length);
                page.MarkDecoded(offset, d.Length); // stores into translated code must invalidate it
                if (ClassOf(in d) == TranslationClass.Call)
                {
                    // Its handler runs on its slot (the pc, the next slot and a fault come from it), which the
                    // interpreter may not have decoded yet.
                    page.Slots[slot] = d;
                }
            }
        }
        if (!page.TryAddRegion(region, out int index))
        {
            return false;
        }
        var emitter = new RegionEmitter(page, blocks);
        region.Code = emitter.Compile(region);
        region.Instructions = [.. emitter.Emitted];
        for (int b = 0; b < blocks.Count; b++)
        {
            DecodedInstruction* slot = page.Slots + heads[b];
            *slot = blocks[b].Body[0].D;
            slot->RegionEntry = (ushort)(b + 1);
            slot->RegionIndex = (byte)index;
            slot->Execute = Hart.EnterRegionHandler;
        }
        translated = region;
        return true;
    }

    private static List<Block> Explore(DecodedPage page, int seed, Func<int, bool>? stopBefore)
    {
        var blocks = new List<Block>();
        var leaders = new HashSet<int>();
        var work = new Queue<int>();
        void AddLeader(int slot)
        {
            // Another translation's head is entered through its slot, not copied.
            if (slot is >= 0 and < DecodedPage.SlotCount && page.Slots[slot].RegionEntry == 0 && stopBefore?.Invoke(slot) != true
                && leaders.Add(slot))
            {
                work.Enqueue(slot);
            }
        }
        AddLeader(seed);
        int instructions = 0, accesses = 0;
        while (work.Count > 0 && instructions < MaxRegionInstructions && accesses < MaxRegionMemoryAccesses)
        {
            var block = new Block(work.Dequeue());
            int slot = block.Head;
            while (true)
            {
                if (stopBefore?.Invoke(slot) == true)
                {
                    block.FallThrough = slot; // a breakpoint: the run loop stops there
                    break;
                }
                if (!TryDecode(page, slot, out DecodedInstruction d))
                {
                    block.FallThrough = slot; // straddling into the next page, or written under an earlier translation
                    break;
                }
                int next = slot + d.Length / 2;
                TranslationClass kind = ClassOf(in d);
                if (kind == TranslationClass.NotTranslated)
                {
                    // Interpreted; where it continues is worth entering again.
                    block.FallThrough = slot;
                    if (!d.IsIllegal)
                    {
                        AddLeader(next);
                    }
                    break;
                }
                block.Body.Add((slot, d));
                accesses += kind is TranslationClass.Load or TranslationClass.Store ? 1 : 0;
                if (kind is TranslationClass.Branch or TranslationClass.Jal)
                {
                    long target = slot * 2L + d.Imm;
                    if (target is >= 0 and < 4096)
                    {
                        AddLeader((int)(target >> 1));
                    }
                }
                if (kind == TranslationClass.Branch || (kind is TranslationClass.Jal or TranslationClass.Jalr && d.Rd != DecodedInstruction.SinkRegister))
                {
                    AddLeader(next); // the not-taken path, or where a call returns
                }
                if (kind is TranslationClass.Branch or TranslationClass.Jal or TranslationClass.Jalr)
                {
                    break;
                }
                if (next >= DecodedPage.SlotCount || block.Body.Count >= MaxBlockLength || leaders.Contains(next)
                    || page.Slots[next].RegionEntry != 0)
                {
                    AddLeader(next);
                    block.FallThrough = next;
                    break;
                }
                slot = next;
            }
            if (block.Body.Count > 0)
            {
                blocks.Add(block);
                instructions += block.Body.Count;
            }
        }
        return blocks;
    }

    private static bool TryDecode(DecodedPage page, int slot, out DecodedInstruction d)
    {
        uint offset = (uint)slot * 2;
        uint low = *(ushort*)(page.Host + offset);
        if ((low & 3) == 3 && offset > 0xFFC)
        {
            d = default;
            return false;
        }
        if (!page.MayDecode(offset, (low & 3) == 3 ? 4 : 2))
        {
            d = default;
            return false;   // a protected line not on chip: the interpreter fetches (fills) it
        }
        InstructionDecoder.Decode((low & 3) == 3 ? *(uint*)(page.Host + offset) : low, out d);
        return !page.WasWritten(offset, d.Length);
    }

    /// <summary>How the table says an instruction is translated (illegal words are interpreted: they trap).</summary>
    private static TranslationClass ClassOf(in DecodedInstruction d) =>
        d.IsIllegal ? TranslationClass.NotTranslated : InstructionTable.Row(d.Id).Translation;
}
