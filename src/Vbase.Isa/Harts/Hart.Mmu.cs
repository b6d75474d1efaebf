using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vbase.Isa.Csrs;
using Vbase.Isa.Decoding;
using Vbase.Isa.Execution;
using Vbase.Isa.Memory;
using Vbase.Isa.Traps;
using Vbase.Isa.Translation;

namespace Vbase.Isa.Harts;

/// <summary>A software TLB entry: virtual page number → host address of the page (RAM only).</summary>
internal unsafe struct TlbEntry
{
    public ulong Tag;
    public byte* Host;
}

/// <summary>
/// Decoded instructions of one physical page, one slot per 2-byte parcel, in native memory so the hot loop
/// can chain slot pointers. Two extra slots past the end (reached by falling off the page, also after a
/// 4-byte instruction straddling into the next page) send the hart to fetch the next page.
/// </summary>
internal sealed unsafe class DecodedPage
{
    public const int SlotCount = 2048;
    public readonly ulong PhysicalPage;
    public readonly byte* Host;
    /// <summary>
    /// For a line-checked page (a protected frame's on-chip plaintext): the mask of lines whose bytes may be decoded
    /// (bit set: on chip, untainted). Null for plain RAM. The memory tells the hart (<see cref="Hart.ForgetCode"/>)
    /// when a line whose decodes it may hold leaves the chip.
    /// </summary>
    public readonly ulong* Lines;
    public readonly DecodedInstruction* Slots;
    /// <summary>One bit per 64-byte chunk that holds decoded slots: stores elsewhere in the page skip invalidation.</summary>
    public ulong DecodedChunks;

    public DecodedPage(ulong physicalPage, byte* host, ulong* lines = null)
    {
        PhysicalPage = physicalPage;
        Host = host;
        Lines = lines;
        Slots = (DecodedInstruction*)NativeMemory.AllocZeroed(SlotCount + 2, (nuint)sizeof(DecodedInstruction));
        ResetSlots(0, SlotCount - 1);
        Slots[SlotCount].Execute = &Hart.FallOffPage;
        Slots[SlotCount + 1].Execute = &Hart.FallOffPage;
    }

    public void MarkDecoded(uint offset, int length) =>
        DecodedChunks |= (1UL << (int)(offset >> 6)) | (1UL << (int)(Math.Min(offset + (uint)length - 1, 0xFFF) >> 6));

    /// <summary>Whether a write of [offset, offset+length) may overwrite decoded instructions.</summary>
    public bool MayHoldCode(uint offset, int length)
    {
        // Also look one parcel back: a 4-byte instruction may start 2 bytes before the write.
        uint first = offset >= 2 ? offset - 2 : 0, last = Math.Min(offset + (uint)length - 1, 0xFFF);
        return ((DecodedChunks >> (int)(first >> 6)) & 1) != 0 || ((DecodedChunks >> (int)(last >> 6)) & 1) != 0;
    }

    /// <summary>
    /// A page the hart may not read directly (its memory answered null to a fetch: a frame a secure architecture
    /// interposes on). Nothing is kept decoded: every slot fetches its parcels through the slow path, each time.
    /// </summary>
    public bool Uncached => Host is null;

    /// <summary>
    /// The code of [firstSlot, lastSlot] changed (<paramref name="written"/>) or left the chip unchanged: forget its
    /// decodes, and the translations that cover it. Only a change counts against translating the page again.
    /// </summary>
    public void Invalidate(int firstSlot, int lastSlot, bool written = true)
    {
        if (RegionCount != 0)
        {
            for (int r = 0; r < Regions.Length; r++)
            {
                if (Regions[r] is { } region && region.Covers(firstSlot, lastSlot))
                {
                    DropRegion(r);
                    if (written)
                    {
                        RegionDrops++;
                        MarkWritten(firstSlot + 1, lastSlot); // callers start one slot before the bytes written
                    }
                }
            }
        }
        ResetSlots(firstSlot, lastSlot);
    }

    /// <summary>Whether the bytes [offset, offset+length) may be decoded: plain RAM, or lines on chip.</summary>
    public bool MayDecode(uint offset, int length) =>
        Lines is null || ((*Lines >> (int)(offset >> 6)) & (*Lines >> (int)((offset + (uint)length - 1) >> 6)) & 1) != 0;

    /// <summary>Puts the decode sentinel back in [firstSlot, lastSlot] (code unchanged: a straddling or uncached slot).</summary>
    public void ResetSlots(int firstSlot, int lastSlot)
    {
        for (int i = Math.Max(0, firstSlot); i <= Math.Min(SlotCount - 1, lastSlot); i++)
        {
            Slots[i] = default;
            Slots[i].Execute = Uncached ? &Hart.FetchSlowAndExecute : &Hart.DecodeAndExecute;
        }
    }

    // ---- Translation (Translation/RegionTranslator.cs) ----

    /// <summary>
    /// The translations of this page, each grown from one hot entry; a block head's slot names its region
    /// (<see cref="DecodedInstruction.RegionIndex"/>). Null entries are free.
    /// </summary>
    public readonly TranslatedRegion?[] Regions = new TranslatedRegion?[RegionTranslator.MaxRegionsPerPage];
    public int RegionCount;
    /// <summary>Counts down on backward jumps within the page and on entries into it; at zero the page is translated.</summary>
    public int Heat;
    /// <summary>
    /// Translations and invalidations so far: a page whose code keeps changing stops being translated. They
    /// outlive the page object (the hart carries them over when fence.i makes it decode the page afresh).
    /// </summary>
    public int Translations, RegionDrops;
    /// <summary>Slots found hot whose first instruction cannot be translated (a CSR access…): not tried again.</summary>
    public HashSet<int>? UntranslatableSeeds;

    /// <summary>
    /// 16-byte chunks written while a translation covered them: data next to code that exploration took for
    /// code, or code that rewrites itself. Later translations leave them to the interpreter, so stores there do
    /// not drop translations again and again.
    /// </summary>
    private readonly ulong[] writtenChunks = new ulong[4];

    private void MarkWritten(int firstSlot, int lastSlot)
    {
        for (int chunk = Math.Max(0, firstSlot) >> 3; chunk <= Math.Min(SlotCount - 1, lastSlot) >> 3; chunk++)
        {
            writtenChunks[chunk >> 6] |= 1UL << (chunk & 63);
        }
    }

    /// <summary>Whether bytes [offset, offset+length) were written under a translation (see <see cref="writtenChunks"/>).</summary>
    public bool WasWritten(uint offset, int length)
    {
        uint first = offset >> 4, last = Math.Min(offset + (uint)length - 1, 0xFFF) >> 4;
        return ((writtenChunks[first >> 6] >> (int)(first & 63)) & 1) != 0 || ((writtenChunks[last >> 6] >> (int)(last & 63)) & 1) != 0;
    }

    /// <summary>Installs a translation in a free place; false if the page has no room left.</summary>
    public bool TryAddRegion(TranslatedRegion region, out int index)
    {
        for (index = 0; index < Regions.Length; index++)
        {
            if (Regions[index] is null)
            {
                Regions[index] = region;
                RegionCount++;
                return true;
            }
        }
        return false;
    }

    /// <summary>Forgets a translation: its heads go back to their interpreter handlers, and code running in it leaves.</summary>
    public void DropRegion(int index)
    {
        TranslatedRegion region = Regions[index]!;
        Regions[index] = null;
        RegionCount--;
        region.Valid = false;
        foreach (int slot in region.HeadSlots)
        {
            if (Slots[slot].RegionEntry != 0 && Slots[slot].RegionIndex == index)
            {
                Slots[slot].Execute = Slots[slot].Handler;
                Slots[slot].RegionEntry = 0;
            }
        }
    }

    // Pages are dropped by fence.i or remapping while the hart may still hold the current one, so the
    // slots live as long as the object does.
    ~DecodedPage() => NativeMemory.Free(Slots);
}

public sealed unsafe partial class Hart
{
    // Load and store TLBs, one pair per effective privilege (U, S, M) so a privilege change only re-points
    // them. 256 direct-mapped entries each: enough for the working set of the programs we run, and cheap to
    // flush on satp writes and sfence.vma.
    internal const int TlbEntries = 256;
    private const int TlbSets = 6;
    private readonly TlbEntry* tlb;
    private Privilege dataPrivilege;

    // Fetch: the page the hot loop is executing from, and a direct-mapped cache of recent pages per privilege.
    private ulong fetchVpn = ulong.MaxValue;
    // Its virtual base is Hot.FetchVirtualBase.
    private DecodedPage? fetchPage; // keeps fetchSlots alive
    private DecodedInstruction* fetchSlots;
    private byte* fetchHost;
    private readonly (ulong Tag, DecodedPage? Page)[] fetchCache = new (ulong, DecodedPage?)[3 * 64];
    private readonly Dictionary<ulong, DecodedPage> decodedPages = [];

    private static int PrivilegeIndex(Privilege p) => p == Privilege.Machine ? 2 : (int)p;

    /// <summary>Points the TLBs at the sets for the current privilege (and MPRV) after a mode change.</summary>
    private void SelectTranslationContext()
    {
        dataPrivilege = Privilege == Privilege.Machine && (mstatus & MStatus.Mprv) != 0
            ? (Privilege)((mstatus & MStatus.Mpp) >> MStatus.MppShift)
            : Privilege;
        int d = PrivilegeIndex(dataPrivilege);
        codeStoreVpn = ulong.MaxValue;
        Hot.LoadTlb = tlb + (d * 2) * TlbEntries;
        Hot.StoreTlb = tlb + (d * 2 + 1) * TlbEntries;
        SelectLineMasks(d);
        fetchVpn = ulong.MaxValue;
        parcelVpn = ulong.MaxValue;
    }

    /// <summary>Drops every cached translation (satp writes, sfence.vma, SUM/MXR/MPRV changes).</summary>
    public void FlushTranslationCaches()
    {
        for (int i = 0; i < TlbSets * TlbEntries; i++)
        {
            tlb[i].Tag = ulong.MaxValue;
        }
        Array.Clear(fetchCache);
        SelectTranslationContext();
    }

    // Stores to a page that also holds code cannot use the store TLB; this one-entry cache keeps the most
    // recent such page cheap (data sharing a page with code is common in small bare-metal images).
    private ulong codeStoreVpn = ulong.MaxValue;
    private byte* codeStoreHost;
    private DecodedPage? codeStorePage;
    private ulong* codeStoreLines;   // its store line mask if it is line-checked (a protected page), else null

    /// <summary>Drops every decoded instruction (fence.i, or memory rewritten behind the hart's back).</summary>
    public void FlushDecodeCache()
    {
        foreach (DecodedPage page in decodedPages.Values)
        {
            ForgetTranslations(page);
        }
        decodedPages.Clear();
        codeStoreVpn = ulong.MaxValue;
        Array.Clear(fetchCache);
        fetchVpn = ulong.MaxValue;
    }

    /// <summary>Tells the hart that [paddr, paddr+length) was written by someone else (a device, Dom0).</summary>
    public void InvalidateCode(ulong physicalAddress, ulong length)
    {
        if (decodedPages.Count == 0 || length == 0)
        {
            return;
        }
        ulong end = physicalAddress + length;
        for (ulong page = physicalAddress >> 12; page <= (end - 1) >> 12; page++)
        {
            InvalidateDecoded(Math.Max(physicalAddress, page << 12), Math.Min(end, (page + 1) << 12) - Math.Max(physicalAddress, page << 12));
        }
    }

    /// <summary>
    /// Tells the hart that the protected lines [paddr, paddr+length) of a line-checked page left the chip (or may no
    /// longer be read directly): their bytes did not change, but their decodes and translations must go, so that
    /// the next fetch fills them again through the memory (which decrypts and verifies what DRAM then holds).
    /// </summary>
    public void ForgetCode(ulong physicalAddress, ulong length)
    {
        if (decodedPages.Count != 0 && length != 0 && ((physicalAddress + length - 1) >> 12) == physicalAddress >> 12)
        {
            InvalidateDecoded(physicalAddress, length, written: false);
        }
    }

    private void InvalidateDecoded(ulong physicalAddress, ulong length, bool written = true)
    {
        if (decodedPages.TryGetValue(physicalAddress >> 12, out DecodedPage? page))
        {
            int offset = (int)(physicalAddress & 0xFFF);
            if (page.MayHoldCode((uint)offset, (int)length))
            {
                // A 4-byte instruction starting 2 bytes earlier also covers these bytes.
                page.Invalidate((offset - 2) >> 1, (offset + (int)length - 1) >> 1, written);
            }
        }
    }

    /// <summary>Makes <paramref name="pc"/>'s page the current fetch page; false (and a trap) if it cannot be fetched.</summary>
    private bool RefillFetchPage(ulong pc)
    {
        ulong vpn = pc >> 12;
        int index = PrivilegeIndex(Privilege) * 64 + (int)(vpn & 63);
        ref var cached = ref fetchCache[index];
        DecodedPage? page = cached.Page;
        if (page is null || cached.Tag != vpn)
        {
            if (!Translate(pc, MemoryAccess.Fetch, Privilege, out ulong physical))
            {
                return false;
            }
            // A protected frame's on-chip plaintext comes line-checked: decoded only where its lines are on chip.
            // The memory's decision (and any violation it reports) names the fetch's address, as a load's does.
            slowPathVirtualAddress = pc;
            byte* host = memory.TryGetLinePage(physical & ~0xFFFUL, MemoryAccess.Fetch, out ulong* lines);
            if (host is null)
            {
                // No direct access: every instruction of the page is fetched through the slow path (which
                // may still refuse it, with an access fault, when the instruction runs).
                if (!uncachedPages.TryGetValue(physical >> 12, out page))
                {
                    page = new DecodedPage(physical >> 12, null) { Heat = int.MaxValue };
                    uncachedPages[physical >> 12] = page;
                }
            }
            else if (!decodedPages.TryGetValue(physical >> 12, out page) || page.Host != host || page.Lines != lines)
            {
                if (page is not null)
                {
                    ForgetTranslations(page); // the frame behind the page changed
                }
                page = NewDecodedPage(physical >> 12, host, lines);
                decodedPages[physical >> 12] = page;
                // Stores to a page that now holds code must take the slow path, which invalidates decodes.
                for (int i = 0; i < 3; i++)
                {
                    FlushStoreTlb(tlb + (i * 2 + 1) * TlbEntries);
                }
            }
            cached = (vpn, page);
        }
        fetchVpn = vpn;
        Hot.FetchVirtualBase = vpn << 12;
        fetchPage = page;
        fetchSlots = page.Slots;
        fetchHost = page.Host;
        return true;
    }

    /// <summary>The virtual address of a slot of the current fetch page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong PcOf(DecodedInstruction* d) => Hot.FetchVirtualBase + (ulong)(d - fetchSlots) * 2;

    /// <summary>The slot at <see cref="pc"/>, refilling the fetch page if needed; null if the fetch trapped.</summary>
    private DecodedInstruction* LookupFetch()
    {
        if ((pc >> 12) != fetchVpn && !RefillFetchPage(pc))
        {
            pc = Hot.NextPc;
            return null;
        }
        DecodedInstruction* slot = fetchSlots + ((pc & 0xFFF) >> 1);
        return --fetchPage!.Heat <= 0 ? BecameHot(slot) : slot;
    }

    /// <summary>
    /// A taken jump or branch from <paramref name="d"/> at <paramref name="from"/>: within the page it chains
    /// straight to the target slot; elsewhere it goes through a fetch lookup.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal DecodedInstruction* JumpTo(DecodedInstruction* d, ulong from, ulong target)
    {
        if (((target ^ from) >> 12) == 0)
        {
            DecodedInstruction* slot = fetchSlots + ((target & 0xFFF) >> 1);
            // A backward jump within the page (a loop) heats it towards translation, much more than an entry.
            return target <= from && (fetchPage!.Heat -= LoopHeat) <= 0 ? BecameHot(slot) : slot;
        }
        Hot.NextPc = target;
        return null;
    }

    /// <summary>The slots past the end of a page: continue at the next page through a fetch lookup.</summary>
    internal static DecodedInstruction* FallOffPage(Hart h, DecodedInstruction* d)
    {
        h.Hot.Cycle--; // not an instruction
        h.Hot.NextPc = h.PcOf(d);
        return null;
    }

    private static void FlushStoreTlb(TlbEntry* set)
    {
        for (int i = 0; i < TlbEntries; i++)
        {
            set[i].Tag = ulong.MaxValue;
        }
    }

    /// <summary>The sentinel in every undecoded slot: decode the parcel(s) at its pc in place, then run it.</summary>
    internal static DecodedInstruction* DecodeAndExecute(Hart h, DecodedInstruction* slot)
    {
        uint offset = (uint)((slot - h.fetchSlots) * 2);
        uint low = *(ushort*)(h.fetchHost + offset);
        if (!h.fetchPage!.MayDecode(offset, (low & 3) != 3 || offset > 0xFFC ? 2 : 4))
        {
            // A protected line not on chip (or tainted): fetched through the memory, which fills it, this once.
            return FetchSlowAndExecute(h, slot);
        }
        if ((low & 3) != 3 || offset <= 0xFFC)
        {
            InstructionDecoder.Decode((low & 3) != 3 ? low : *(uint*)(h.fetchHost + offset), out *slot);
            h.fetchPage!.MarkDecoded(offset, slot->Length);
            return slot->Execute(h, slot);
        }
        // A 4-byte instruction straddling two pages: fetch the upper parcel through translation every time,
        // run it from the slot, and put the sentinel back, since the next page's mapping may change alone.
        if (!h.FetchParcel(h.PcOf(slot) + 2, out uint high))
        {
            return null;
        }
        InstructionDecoder.Decode(low | (high << 16), out *slot);
        h.lastStraddling = *slot;
        h.lastStraddlingPc = h.PcOf(slot);
        DecodedInstruction* next = slot->Execute(h, slot);
        h.fetchPage!.ResetSlots(DecodedPage.SlotCount - 1, DecodedPage.SlotCount - 1);
        return next;
    }

    /// <summary>The last instruction executed without keeping its slot (straddling or uncached), for the tracer.</summary>
    private DecodedInstruction lastStraddling;
    private ulong lastStraddlingPc = ulong.MaxValue;

    private bool FetchParcel(ulong va, out uint parcel)
    {
        parcel = 0;
        slowPathVirtualAddress = va;
        if ((va >> 12) == parcelVpn)
        {
            // A straddling instruction in a loop: its upper page stays translated, like any fetch page.
            parcel = *(ushort*)(parcelHost + (va & 0xFFF));
            return true;
        }
        if (!Translate(va, MemoryAccess.Fetch, Privilege, out ulong physical))
        {
            return false;
        }
        byte* host = memory.TryGetPage(physical & ~0xFFFUL, MemoryAccess.Fetch);
        if (host is not null)
        {
            parcelVpn = va >> 12;
            parcelHost = host;
            parcel = *(ushort*)(host + (physical & 0xFFF));
            return true;
        }
        if (!memory.Read(physical, 2, MemoryAccess.Fetch, out ulong value))
        {
            RaiseException(ExceptionCause.InstructionAccessFault, va);
            return false;
        }
        parcel = (uint)value;
        return true;
    }

    /// <summary>
    /// The page holding the upper halves of straddling instructions, as a one-entry fetch TLB: dropped with the
    /// other translations (satp, sfence.vma, privilege changes).
    /// </summary>
    private ulong parcelVpn = ulong.MaxValue;
    private byte* parcelHost;

    /// <summary>Pages fetched through the slow path, by physical page: their slot arrays are reused, never filled.</summary>
    private readonly Dictionary<ulong, DecodedPage> uncachedPages = [];

    /// <summary>
    /// Every slot of an uncached page: fetch the parcel(s) through the slow path, decode into the slot, run it,
    /// and put the sentinel back, so the next execution fetches (and the plug-in sees the fetch) again.
    /// </summary>
    internal static DecodedInstruction* FetchSlowAndExecute(Hart h, DecodedInstruction* slot)
    {
        DecodedPage page = h.fetchPage!;
        ulong pc = h.PcOf(slot);
        h.slowPathVirtualAddress = pc;
        ulong physical = (page.PhysicalPage << 12) | (pc & 0xFFF);
        if (!h.memory.Read(physical, 2, MemoryAccess.Fetch, out ulong low))
        {
            h.RaiseException(ExceptionCause.InstructionAccessFault, pc);
            return null;
        }
        uint word = (uint)low;
        if ((word & 3) == 3)
        {
            uint high;
            if ((pc & 0xFFF) <= 0xFFC)
            {
                h.slowPathVirtualAddress = pc + 2;
                if (!h.memory.Read(physical + 2, 2, MemoryAccess.Fetch, out ulong upper))
                {
                    h.RaiseException(ExceptionCause.InstructionAccessFault, pc);
                    return null;
                }
                high = (uint)upper;
            }
            else if (!h.FetchParcel(pc + 2, out high))
            {
                return null;
            }
            word |= high << 16;
        }
        InstructionDecoder.Decode(word, out *slot);
        h.lastStraddling = *slot;
        h.lastStraddlingPc = pc;
        DecodedInstruction* next = slot->Execute(h, slot);
        page.ResetSlots((int)((pc & 0xFFF) >> 1), (int)((pc & 0xFFF) >> 1));
        return next;
    }

    /// <summary>
    /// Translates a virtual address with the ISA's one Sv39 walker (<see cref="Sv39Walker"/>), which also sets A and
    /// D. Raises the page or access fault itself and returns false when the access is not allowed.
    /// </summary>
    private bool Translate(ulong va, MemoryAccess access, Privilege privilege, out ulong physical)
    {
        Sv39Status status = Sv39Walker.Translate(new WalkMemory(this), satp, va, access, privilege, mstatus, out physical);
        if (status == Sv39Status.Translated)
        {
            return true;
        }
        RaiseException(Sv39Walker.FaultCause(status, access), va);
        return false;
    }

    /// <summary>
    /// Page-table memory for the walker: reads below translation, tagged as walks for the layer below; the A/D
    /// write-back is a physical store, so it keeps decoded code coherent like any other.
    /// </summary>
    private readonly struct WalkMemory(Hart hart) : IPteMemory
    {
        public bool TryReadPte(ulong address, out ulong pte) => hart.ReadPhysical(address, 8, out pte, MemoryAccess.PageWalk);

        public bool TryWritePte(ulong address, ulong pte) => hart.WritePhysical(address, 8, pte);
    }

    /// <summary>A physical read below translation (page-table walks, slow paths). False = access fault.</summary>
    private bool ReadPhysical(ulong address, int size, out ulong value, MemoryAccess access = MemoryAccess.Load)
    {
        byte* host = memory.TryGetPage(address & ~0xFFFUL, access);
        if (host is not null)
        {
            value = ReadHost(host + (address & 0xFFF), size);
            return true;
        }
        return memory.Read(address, size, access, out value);
    }

    /// <summary>A physical write below translation; keeps decoded code coherent. False = access fault.</summary>
    private bool WritePhysical(ulong address, int size, ulong value)
    {
        byte* host = memory.TryGetPage(address & ~0xFFFUL, MemoryAccess.Store);
        if (host is not null)
        {
            WriteHost(host + (address & 0xFFF), size, value);
        }
        else if (!memory.Write(address, size, size == 8 ? value : value & ((1UL << (8 * size)) - 1)))
        {
            return false;
        }
        if (decodedPages.Count != 0)
        {
            InvalidateDecoded(address, (ulong)size);
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadHost(byte* p, int size) => size switch
    {
        1 => *p,
        2 => *(ushort*)p,
        4 => *(uint*)p,
        _ => *(ulong*)p,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteHost(byte* p, int size, ulong value)
    {
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: *(ushort*)p = (ushort)value; break;
            case 4: *(uint*)p = (uint)value; break;
            default: *(ulong*)p = value; break;
        }
    }
}
