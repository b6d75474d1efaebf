using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vbase.Isa.Memory;

namespace Vbase.Isa.Harts;

// Line-checked pages: pages whose bytes a hart may reach directly only one 64-byte line at a time — the on-chip
// copies of a secure architecture's protected lines (IPhysicalMemory.TryGetLinePage). Their TLB entries carry
// the tag vpn | LineTag, which the ordinary fast path never matches (so unprotected accesses pay nothing for
// them); the slow path's first check, before any translation, takes the access if the line's bit is set in the
// page's mask. A clear bit (a line not on chip, not yet dirty for a store, or one the memory wants to see
// every access to) sends the access on to the memory's slow path, which may set it.
public sealed unsafe partial class Hart
{
    /// <summary>Marks a TLB tag as a line-checked page: a virtual page number never has bit 63 set.</summary>
    internal const ulong LineTag = 1UL << 63;

    /// <summary>
    /// Marks a store TLB tag as a dropping page: stores there are discarded by the hart itself and counted in the
    /// entry's counter (<see cref="IPhysicalMemory.TryGetDropCounter"/>). Never matched by the ordinary fast path.
    /// </summary>
    internal const ulong DropTag = 1UL << 62;

    /// <summary>The line size of the masks (a bit per 64-byte line of a page).</summary>
    public const int LineBytes = 64;

    // Per TLB entry (same layout as tlb): the page's line mask, for line-checked entries.
    private readonly ulong** lineMasks = (ulong**)NativeMemory.AllocZeroed((nuint)(TlbSets * TlbEntries), (nuint)sizeof(ulong*));

    /// <summary>Accesses served from line-checked pages without leaving the hart (a protected line's hit on chip).</summary>
    public long LineHits
    {
        get => Hot.LineHits;
        set => Hot.LineHits = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool OneLine(ulong va, int size) => ((va ^ (va + (ulong)size - 1)) & ~(ulong)(LineBytes - 1)) == 0;

    /// <summary>A load from a line-checked page whose line may be read directly; false: take the slow path.</summary>
    internal static bool LineLoad(Hart h, ulong va, int size, out ulong value)
    {
        ulong vpn = va >> 12;
        nuint index = (nuint)(vpn & (TlbEntries - 1));
        TlbEntry* e = h.Hot.LoadTlb + index;
        if (e->Tag == (vpn | LineTag) && OneLine(va, size) && ((*h.Hot.LoadLineMasks[index] >> (int)((va >> 6) & 63)) & 1) != 0)
        {
            value = ReadHost(e->Host + (va & 0xFFF), size);
            h.Hot.LineHits++;
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>A store to a line-checked page whose line may be written directly; false: take the slow path.</summary>
    internal static bool LineStore(Hart h, ulong va, int size, ulong value)
    {
        ulong vpn = va >> 12;
        nuint index = (nuint)(vpn & (TlbEntries - 1));
        TlbEntry* e = h.Hot.StoreTlb + index;
        if (e->Tag == (vpn | LineTag) && OneLine(va, size) && ((*h.Hot.StoreLineMasks[index] >> (int)((va >> 6) & 63)) & 1) != 0)
        {
            WriteHost(e->Host + (va & 0xFFF), size, value);
            h.Hot.LineHits++;
            return true;
        }
        return false;
    }

    /// <summary>
    /// A store to a dropping page (a read-only frame whose stores the memory drops and counts, once it has seen one
    /// on its slow path): counted in the page's counter, no byte written; false: take the slow path.
    /// </summary>
    internal static bool DropStore(Hart h, ulong va, int size)
    {
        ulong vpn = va >> 12;
        nuint index = (nuint)(vpn & (TlbEntries - 1));
        if (h.Hot.StoreTlb[index].Tag == (vpn | DropTag) && (va & 0xFFF) <= (ulong)(4096 - size))
        {
            (*h.Hot.StoreLineMasks[index])++;
            return true;
        }
        return false;
    }

    /// <summary>Makes <paramref name="va"/>'s page a dropping one in the store TLB, counting in <paramref name="counter"/>.</summary>
    private void FillDropTlb(ulong va, ulong* counter)
    {
        nuint index = (nuint)((va >> 12) & (TlbEntries - 1));
        Hot.StoreTlb[index].Tag = (va >> 12) | DropTag;
        Hot.StoreTlb[index].Host = null;
        Hot.StoreLineMasks[index] = counter;
    }

    /// <summary>Fills a TLB entry for <paramref name="va"/>'s page: plain (lines null) or line-checked.</summary>
    private void FillTlb(TlbEntry* set, ulong** masks, ulong va, byte* host, ulong* lines)
    {
        nuint index = (nuint)((va >> 12) & (TlbEntries - 1));
        set[index].Tag = lines is null ? va >> 12 : (va >> 12) | LineTag;
        set[index].Host = host;
        masks[index] = lines;
    }

    /// <summary>The memory's page for a load or store: a host page, with the line mask that guards it or null.</summary>
    private byte* PageFor(ulong physical, MemoryAccess access, out ulong* lines) =>
        memory.TryGetLinePage(physical & ~0xFFFUL, access, out lines);

    private void SelectLineMasks(int privilegeIndex)
    {
        Hot.LoadLineMasks = lineMasks + (privilegeIndex * 2) * TlbEntries;
        Hot.StoreLineMasks = lineMasks + (privilegeIndex * 2 + 1) * TlbEntries;
    }

    private void FreeLineMasks() => NativeMemory.Free(lineMasks);
}
