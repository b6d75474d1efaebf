namespace Vbase.Architectures.SgxMee;

/// <summary>
/// A software walk of a guest's Sv39 page table (RISC-V privileged spec §4.3.2/4.4), as the hart's MMU does it on a
/// TLB fill: used to look at the translations an enclave's virtual pages have when the enclave resumes.
/// </summary>
public static class Sv39Walk
{
    private const ulong ModeSv39 = 8;
    private const ulong Valid = 1, Read = 1 << 1, Write = 1 << 2, Execute = 1 << 3;
    private const int Levels = 3, PageShift = 12, VpnBits = 9;

    /// <summary>
    /// The guest-physical address <paramref name="va"/> translates to under <paramref name="satp"/>, or null if the
    /// walk ends without a valid leaf (unmapped, malformed, a table that cannot be read, not Sv39).
    /// </summary>
    /// <param name="readPte">Reads the 8-byte PTE at a guest-physical address; false if it cannot.</param>
    public static ulong? Translate(ulong satp, ulong va, Func<ulong, ulong?> readPte)
    {
        ArgumentNullException.ThrowIfNull(readPte);
        if (satp >> 60 != ModeSv39)
        {
            return null;
        }
        ulong table = (satp & ((1UL << 44) - 1)) << PageShift;
        for (int level = Levels - 1; level >= 0; level--)
        {
            ulong vpn = (va >> (PageShift + (level * VpnBits))) & ((1UL << VpnBits) - 1);
            if (readPte(table + (vpn * 8)) is not ulong pte || (pte & Valid) == 0 || ((pte & Write) != 0 && (pte & Read) == 0))
            {
                return null;
            }
            ulong ppn = (pte >> 10) & ((1UL << 44) - 1);
            if ((pte & (Read | Execute)) != 0)
            {
                // A leaf; at level > 0 a superpage, whose low PPN bits come from the VA (and must be zero in the PTE).
                ulong superpageMask = (1UL << (level * VpnBits)) - 1;
                if ((ppn & superpageMask) != 0)
                {
                    return null;
                }
                ulong pageNumber = ppn | ((va >> PageShift) & superpageMask);
                return (pageNumber << PageShift) | (va & ((1UL << PageShift) - 1));
            }
            table = ppn << PageShift;
        }
        return null;
    }
}
