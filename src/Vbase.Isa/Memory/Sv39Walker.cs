using System.Runtime.CompilerServices;
using Vbase.Isa.Csrs;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Memory;

/// <summary>Reads page-table entries for <see cref="Sv39Walker"/>.</summary>
/// <remarks>
/// Implement it with a struct: the walker's methods are generic over the reader, so the JIT specialises them and
/// every PTE read is a direct (inlinable) call, with no delegate or interface dispatch on the hart's TLB fill.
/// </remarks>
public interface IPteReader
{
    /// <summary>The 8-byte PTE at physical address <paramref name="address"/>; false if it cannot be read (PMA/PMP).</summary>
    bool TryReadPte(ulong address, out ulong pte);
}

/// <summary>
/// A PTE reader that remembers the entries it has read, for a batch of <see cref="Sv39Walker.Lookup"/>s over page tables
/// that do not change meanwhile (a plug-in re-walking a region's pages at a secure transition): neighbouring pages share
/// their upper-level entries, so a region of N pages costs about N + 2 reads instead of 3N. Make one per batch (it
/// allocates its few entries).
/// </summary>
public readonly struct CachedPteReader<TReader>(TReader inner) : IPteReader where TReader : struct, IPteReader
{
    private readonly Entries entries = new();

    public bool TryReadPte(ulong address, out ulong pte)
    {
        Entries e = entries;
        for (int i = 0; i < Entries.Count; i++)
        {
            if (e.Addresses[i] == address)
            {
                pte = e.Ptes[i];
                return true;
            }
        }
        if (!inner.TryReadPte(address, out pte))
        {
            return false;
        }
        // One entry per table: a later entry of the same table (the next page's leaf) replaces it, so the upper
        // levels' entries stay while the walks move along a leaf table.
        int slot = -1;
        for (int i = 0; i < Entries.Count && slot < 0; i++)
        {
            slot = e.Addresses[i] >> 12 == address >> 12 ? i : -1;
        }
        if (slot < 0)
        {
            slot = e.Next;
            e.Next = (e.Next + 1) % Entries.Count;
        }
        e.Addresses[slot] = address;
        e.Ptes[slot] = pte;
        return true;
    }

    private sealed class Entries
    {
        public const int Count = 3;   // the three levels of Sv39
        public readonly ulong[] Addresses = [ulong.MaxValue, ulong.MaxValue, ulong.MaxValue];
        public readonly ulong[] Ptes = new ulong[Count];
        public int Next;
    }
}

/// <summary>A PTE reader that can also write a PTE back: the hart's A/D update.</summary>
public interface IPteMemory : IPteReader
{
    /// <summary>Stores <paramref name="pte"/> at <paramref name="address"/>; false if the store is refused (PMA/PMP).</summary>
    bool TryWritePte(ulong address, ulong pte);
}

/// <summary>How an Sv39 walk ended. Every value but <see cref="Translated"/> is a fault (see <see cref="Sv39Walker.FaultCause"/>).</summary>
public enum Sv39Status : byte
{
    Translated = 0,
    /// <summary>satp.MODE is neither Sv39 nor (for <see cref="Sv39Walker.Translate"/>) Bare: nothing to walk.</summary>
    NotSv39,
    /// <summary>VA bits 63:39 differ from bit 38 (§4.4.1): a page fault before any PTE is read.</summary>
    NonCanonical,
    /// <summary>A PTE could not be read, or its A/D update not stored (§4.3.2 steps 2 and 9): an access fault.</summary>
    AccessFault,
    /// <summary>V = 0.</summary>
    Invalid,
    /// <summary>
    /// R = 0 with W = 1; any of bits 63:54 set (Svnapot and Svpbmt are not implemented, so all are reserved); or
    /// D, A or U set in a non-leaf PTE (reserved for future standard use, §4.3.1).
    /// </summary>
    Reserved,
    /// <summary>A pointer (R = W = X = 0) at level 0: no level left to walk.</summary>
    NoLeaf,
    /// <summary>A 2 MiB or 1 GiB leaf whose PPN is not aligned to its size.</summary>
    MisalignedSuperpage,
    /// <summary>The leaf does not allow the access: R/W/X (with MXR) or U (with SUM and the privilege).</summary>
    PermissionDenied,
}

/// <summary>What <see cref="Sv39Walker.Lookup"/> found for one virtual address: its leaf, or where and why the walk stopped.</summary>
public readonly struct Sv39Mapping(Sv39Status status, ulong physicalAddress, ulong pte, ulong pteAddress, int level)
{
    public Sv39Status Status { get; } = status;
    /// <summary>The physical address the virtual address maps to (0 unless <see cref="IsMapped"/>).</summary>
    public ulong PhysicalAddress { get; } = physicalAddress;
    /// <summary>The last PTE read: the leaf, or the entry that ended the walk (0 if none was read).</summary>
    public ulong Pte { get; } = pte;
    /// <summary>The physical address of <see cref="Pte"/>.</summary>
    public ulong PteAddress { get; } = pteAddress;
    /// <summary>The level of <see cref="Pte"/>: 0 for a 4 KiB page, 1 for 2 MiB, 2 for 1 GiB (-1 if no PTE was read).</summary>
    public int Level { get; } = level;

    public bool IsMapped => Status == Sv39Status.Translated;
    public bool Readable => IsMapped && (Pte & Sv39Walker.PteR) != 0;
    public bool Writable => IsMapped && (Pte & Sv39Walker.PteW) != 0;
    public bool Executable => IsMapped && (Pte & Sv39Walker.PteX) != 0;
    public bool User => IsMapped && (Pte & Sv39Walker.PteU) != 0;

    /// <summary>Whether the leaf allows <paramref name="access"/> from <paramref name="privilege"/> (A/D aside: the hart sets them).</summary>
    public bool Allows(MemoryAccess access, Privilege privilege, ulong mstatus = 0) =>
        IsMapped && Sv39Walker.Allows(Pte, access, privilege, mstatus);
}

/// <summary>
/// The one Sv39 page-table walker (privileged spec §4.3.2 "Virtual Address Translation Process", §4.4 Sv39): the
/// hart's MMU translates with <see cref="Translate"/>, and plug-ins that inspect a process's mapping use
/// <see cref="Lookup"/>, so both refuse exactly the same tables.
/// </summary>
/// <remarks>
/// The rules, in the spec's order: the VA must be sign-extended from bit 38; each PTE is read at
/// a + vpn[i]×8 (unreadable: access fault); V = 0, R = 0 with W = 1, or a reserved bit set (63:54 in every PTE,
/// as Svnapot and Svpbmt are absent; D, A, U in a pointer) is a page fault; a pointer at level 0 is a page fault;
/// a superpage leaf with nonzero low PPN bits is a page fault; then the leaf's U bit (SUM, and S never executes
/// user pages) and R/W/X (MXR makes X readable) decide; A, and D for a store, are set by the walk itself (no
/// Svade: the spec's hardware-update scheme), and a refused write-back is an access fault. RSW and G are ignored.
/// </remarks>
public static class Sv39Walker
{
    /// <summary>satp.MODE values.</summary>
    public const ulong ModeBare = 0, ModeSv39 = 8;
    /// <summary>PTE bits.</summary>
    public const ulong PteV = 1, PteR = 2, PteW = 4, PteX = 8, PteU = 16, PteG = 32, PteA = 64, PteD = 128;
    /// <summary>Bits 63:54: N (Svnapot), PBMT (Svpbmt) and 60:54, all reserved here.</summary>
    public const ulong PteReserved = 0x3FFUL << 54;
    /// <summary>The 44-bit PPN, of a PTE (after shifting out the 10 flag bits) and of satp.</summary>
    public const ulong PpnMask = (1UL << 44) - 1;

    /// <summary>
    /// The side-effect-free walk of <paramref name="va"/> under <paramref name="satp"/> (no permission check, no A/D
    /// write): the leaf and where it maps the address, or why the walk failed. Any satp mode but Sv39 gives
    /// <see cref="Sv39Status.NotSv39"/>; what Bare means for the caller is the caller's to decide.
    /// </summary>
    public static Sv39Mapping Lookup<TReader>(TReader reader, ulong satp, ulong va) where TReader : struct, IPteReader
    {
        if (satp >> 60 != ModeSv39)
        {
            return new Sv39Mapping(Sv39Status.NotSv39, 0, 0, 0, -1);
        }
        Sv39Status status = Walk(ref reader, satp, va, out ulong pte, out ulong pteAddress, out int level);
        return new Sv39Mapping(status, status == Sv39Status.Translated ? LeafAddress(pte, level, va) : 0, pte, pteAddress, level);
    }

    /// <summary>
    /// The hart's translation of <paramref name="va"/> for <paramref name="access"/> (Fetch, Load or Store) from the
    /// effective <paramref name="privilege"/>, with SUM and MXR from <paramref name="mstatus"/>: M-mode and a Bare
    /// satp use the address as it is; Sv39 walks, checks the leaf's permissions and sets A (and D for a store)
    /// through <paramref name="memory"/>. On anything but <see cref="Sv39Status.Translated"/>,
    /// <paramref name="physical"/> is 0 and <see cref="FaultCause"/> gives the exception to raise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Sv39Status Translate<TMemory>(TMemory memory, ulong satp, ulong va, MemoryAccess access, Privilege privilege, ulong mstatus, out ulong physical)
        where TMemory : struct, IPteMemory
    {
        if (privilege == Privilege.Machine || satp >> 60 == ModeBare)
        {
            physical = va;
            return Sv39Status.Translated;
        }
        return TranslateSv39(ref memory, satp, va, access, privilege, mstatus, out physical);
    }

    private static Sv39Status TranslateSv39<TMemory>(ref TMemory memory, ulong satp, ulong va, MemoryAccess access, Privilege privilege, ulong mstatus, out ulong physical)
        where TMemory : struct, IPteMemory
    {
        physical = 0;
        if (satp >> 60 != ModeSv39)
        {
            return Sv39Status.NotSv39;
        }
        Sv39Status status = Walk(ref memory, satp, va, out ulong pte, out ulong pteAddress, out int level);
        if (status != Sv39Status.Translated)
        {
            return status;
        }
        if (!Allows(pte, access, privilege, mstatus))
        {
            return Sv39Status.PermissionDenied;
        }
        ulong wanted = PteA | (access == MemoryAccess.Store ? PteD : 0);
        if ((pte & wanted) != wanted && !memory.TryWritePte(pteAddress, pte | wanted))
        {
            return Sv39Status.AccessFault;
        }
        physical = LeafAddress(pte, level, va);
        return Sv39Status.Translated;
    }

    /// <summary>
    /// Whether a leaf PTE allows <paramref name="access"/> from <paramref name="privilege"/> (S or U) with SUM and MXR
    /// from <paramref name="mstatus"/> (§4.3.2 steps 6 and 8; §4.3.1 for SUM and MXR).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Allows(ulong pte, MemoryAccess access, Privilege privilege, ulong mstatus)
    {
        if ((pte & PteU) != 0)
        {
            // S-mode never executes user pages, and touches their data only with SUM.
            if (privilege == Privilege.Supervisor && (access == MemoryAccess.Fetch || (mstatus & MStatus.Sum) == 0))
            {
                return false;
            }
        }
        else if (privilege == Privilege.User)
        {
            return false;
        }
        return access switch
        {
            MemoryAccess.Fetch => (pte & PteX) != 0,
            MemoryAccess.Load => (pte & PteR) != 0 || ((mstatus & MStatus.Mxr) != 0 && (pte & PteX) != 0),
            _ => (pte & PteW) != 0,
        };
    }

    /// <summary>The exception a failed walk raises for <paramref name="access"/>: an access fault or a page fault.</summary>
    public static ExceptionCause FaultCause(Sv39Status status, MemoryAccess access) => status switch
    {
        Sv39Status.Translated => throw new ArgumentOutOfRangeException(nameof(status), "a successful walk raises nothing"),
        Sv39Status.AccessFault => access switch
        {
            MemoryAccess.Fetch => ExceptionCause.InstructionAccessFault,
            MemoryAccess.Load => ExceptionCause.LoadAccessFault,
            _ => ExceptionCause.StoreAccessFault,
        },
        _ => access switch
        {
            MemoryAccess.Fetch => ExceptionCause.InstructionPageFault,
            MemoryAccess.Load => ExceptionCause.LoadPageFault,
            _ => ExceptionCause.StorePageFault,
        },
    };

    /// <summary>Steps 1–5 of §4.3.2: from the root to a well-formed, aligned leaf, or the reason there is none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Sv39Status Walk<TReader>(ref TReader reader, ulong satp, ulong va, out ulong pte, out ulong pteAddress, out int level)
        where TReader : struct, IPteReader
    {
        pte = pteAddress = 0;
        level = -1;
        if (((long)va << 25 >> 25) != (long)va)
        {
            return Sv39Status.NonCanonical;
        }
        ulong table = (satp & PpnMask) << 12;
        for (level = 2; ; level--)
        {
            pteAddress = table + (((va >> (12 + (9 * level))) & 511) << 3);
            if (!reader.TryReadPte(pteAddress, out pte))
            {
                return Sv39Status.AccessFault;
            }
            if ((pte & PteV) == 0)
            {
                return Sv39Status.Invalid;
            }
            if ((pte & (PteR | PteW)) == PteW || (pte & PteReserved) != 0)
            {
                return Sv39Status.Reserved;
            }
            if ((pte & (PteR | PteX)) != 0)
            {
                break;
            }
            if ((pte & (PteD | PteA | PteU)) != 0)
            {
                return Sv39Status.Reserved; // in a pointer these are reserved for future standard use
            }
            if (level == 0)
            {
                return Sv39Status.NoLeaf;
            }
            table = ((pte >> 10) & PpnMask) << 12;
        }
        // A superpage's low PPN bits come from the VA, so the PTE's must be zero.
        return ((pte >> 10) & ((1UL << (9 * level)) - 1)) != 0 ? Sv39Status.MisalignedSuperpage : Sv39Status.Translated;
    }

    /// <summary>The physical address of <paramref name="va"/> through an aligned leaf at <paramref name="level"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LeafAddress(ulong pte, int level, ulong va) =>
        (((pte >> 10) & PpnMask) << 12) | (va & ((1UL << (12 + (9 * level))) - 1));
}
