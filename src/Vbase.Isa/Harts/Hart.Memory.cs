using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vbase.Isa.Memory;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Harts;

// Data accesses. Misaligned loads and stores are performed, not trapped (the privileged spec allows either;
// QEMU's virt does the same, so programs behave alike on both): within a page they use the fast path, across
// a page boundary both pages are translated before any byte moves, so a page fault leaves memory untouched
// (an access fault from a device behind the second page may follow a partial write, as the spec allows).
// LR/SC and AMOs must be naturally aligned and raise address-misaligned otherwise.
public sealed unsafe partial class Hart
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Load(ulong va, int size, out ulong value)
    {
        ulong vpn = va >> 12;
        TlbEntry* e = Hot.LoadTlb + (vpn & (TlbEntries - 1));
        if (e->Tag == vpn && (va & 0xFFF) <= (ulong)(4096 - size))
        {
            value = ReadHost(e->Host + (va & 0xFFF), size);
            return true;
        }
        return LoadSlow(va, size, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Store(ulong va, int size, ulong value)
    {
        ulong vpn = va >> 12;
        TlbEntry* e = Hot.StoreTlb + (vpn & (TlbEntries - 1));
        if (e->Tag == vpn && (va & 0xFFF) <= (ulong)(4096 - size))
        {
            WriteHost(e->Host + (va & 0xFFF), size, value);
            return true;
        }
        return StoreSlow(va, size, value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool LoadSlow(ulong va, int size, out ulong value)
    {
        if (LineLoad(this, va, size, out value))
        {
            return true;
        }
        slowPathVirtualAddress = va;
        if ((va & 0xFFF) + (ulong)size > 4096)
        {
            return LoadAcrossPages(va, size, out value);
        }
        if (!Translate(va, MemoryAccess.Load, dataPrivilege, out ulong physical))
        {
            return false;
        }
        byte* host = PageFor(physical, MemoryAccess.Load, out ulong* lines);
        if (host is not null)
        {
            FillTlb(Hot.LoadTlb, Hot.LoadLineMasks, va, host, lines);
            if (lines is null)
            {
                value = ReadHost(host + (va & 0xFFF), size);
                return true;
            }
            if (LineLoad(this, va, size, out value))
            {
                return true;
            }
        }
        if (!memory.Read(physical, size, MemoryAccess.Load, out value))
        {
            RaiseException(ExceptionCause.LoadAccessFault, va);
            return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool StoreSlow(ulong va, int size, ulong value)
    {
        if (LineStore(this, va, size, value) || DropStore(this, va, size))
        {
            return true;
        }
        slowPathVirtualAddress = va;
        uint offset = (uint)(va & 0xFFF);
        if ((va >> 12) == codeStoreVpn && offset + (uint)size <= 4096 && CodeStoreLineAllows(va, size))
        {
            StoreIntoCode(offset, size, value);
            return true;
        }
        if ((va & 0xFFF) + (ulong)size > 4096)
        {
            return StoreAcrossPages(va, size, value);
        }
        if (!Translate(va, MemoryAccess.Store, dataPrivilege, out ulong physical))
        {
            return false;
        }
        byte* host = PageFor(physical, MemoryAccess.Store, out ulong* lines);
        if (host is not null && decodedPages.TryGetValue(physical >> 12, out DecodedPage? codePage))
        {
            // The page also holds decoded code (plain RAM, or a protected page's on-chip plaintext): no store TLB
            // entry, so that every store here checks for decodes; a one-entry cache keeps it cheap.
            codeStoreVpn = va >> 12;
            codeStoreHost = host;
            codeStorePage = codePage;
            codeStoreLines = lines;
            if (CodeStoreLineAllows(va, size))
            {
                StoreIntoCode(offset, size, value);
                return true;
            }
        }
        else if (host is not null && lines is not null)
        {
            FillTlb(Hot.StoreTlb, Hot.StoreLineMasks, va, host, lines);
            if (LineStore(this, va, size, value))
            {
                return true;
            }
        }
        else if (host is not null)
        {
            FillTlb(Hot.StoreTlb, Hot.StoreLineMasks, va, host, null);
            WriteHost(host + offset, size, value);
            return true;
        }
        if (!WritePhysical(physical, size, value))
        {
            RaiseException(ExceptionCause.StoreAccessFault, va);
            return false;
        }
        // The memory has seen (and reported) one store here; if it drops every store to the page, the next ones are
        // the hart's to drop and count, without the slow path.
        ulong* dropped = memory.TryGetDropCounter(physical & ~0xFFFUL);
        if (dropped is not null)
        {
            FillDropTlb(va, dropped);
        }
        return true;
    }

    /// <summary>A store to the code-store page may go to its host bytes: plain RAM, or a line on chip and dirty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CodeStoreLineAllows(ulong va, int size) =>
        codeStoreLines is null || (OneLine(va, size) && ((*codeStoreLines >> (int)((va >> 6) & 63)) & 1) != 0);

    /// <summary>Writes the code-store page's host bytes and forgets the decodes the store overwrote.</summary>
    private void StoreIntoCode(uint offset, int size, ulong value)
    {
        WriteHost(codeStoreHost + offset, size, value);
        if (codeStoreLines is not null)
        {
            Hot.LineHits++;
        }
        if (codeStorePage!.MayHoldCode(offset, size))
        {
            codeStorePage.Invalidate(((int)offset - 2) >> 1, ((int)offset + size - 1) >> 1);
        }
    }

    private bool LoadAcrossPages(ulong va, int size, out ulong value)
    {
        value = 0;
        ulong last = va + (ulong)size - 1;
        if (!Translate(va, MemoryAccess.Load, dataPrivilege, out ulong first)
            || !Translate(last & ~0xFFFUL, MemoryAccess.Load, dataPrivilege, out ulong second))
        {
            return false;
        }
        for (int i = size - 1; i >= 0; i--)
        {
            ulong byteVa = va + (ulong)i;
            ulong physical = (byteVa >> 12) == (va >> 12) ? first + (ulong)i : second + (byteVa & 0xFFF);
            slowPathVirtualAddress = byteVa;
            if (!ReadPhysical(physical, 1, out ulong b))
            {
                RaiseException(ExceptionCause.LoadAccessFault, va);
                return false;
            }
            value = (value << 8) | b;
        }
        return true;
    }

    private bool StoreAcrossPages(ulong va, int size, ulong value)
    {
        ulong last = va + (ulong)size - 1;
        if (!Translate(va, MemoryAccess.Store, dataPrivilege, out ulong first)
            || !Translate(last & ~0xFFFUL, MemoryAccess.Store, dataPrivilege, out ulong second))
        {
            return false;
        }
        for (int i = 0; i < size; i++)
        {
            ulong byteVa = va + (ulong)i;
            ulong physical = (byteVa >> 12) == (va >> 12) ? first + (ulong)i : second + (byteVa & 0xFFF);
            slowPathVirtualAddress = byteVa;
            if (!WritePhysical(physical, 1, value >> (8 * i)))
            {
                RaiseException(ExceptionCause.StoreAccessFault, va);
                return false;
            }
        }
        return true;
    }

    // LR/SC reservation: one naturally aligned physical address. It is lost on SC (success or not), on any
    // trap or xRET, and when someone else writes it through InvalidateReservation.
    private bool reservationValid;
    private ulong reservationAddress;

    /// <summary>
    /// Resolves an atomic access to a host pointer: checks alignment, translates (LR as a load, the rest as
    /// store/AMO) and requires RAM. Raises the exception and returns null otherwise.
    /// </summary>
    internal byte* TranslateAtomic(ulong va, int size, bool isLoadReserved, out ulong physical)
    {
        physical = 0;
        if ((va & (ulong)(size - 1)) != 0)
        {
            RaiseException(isLoadReserved ? ExceptionCause.LoadAddressMisaligned : ExceptionCause.StoreAddressMisaligned, va);
            return null;
        }
        MemoryAccess access = isLoadReserved ? MemoryAccess.Load : MemoryAccess.Store;
        slowPathVirtualAddress = va;
        if (!Translate(va, access, dataPrivilege, out physical))
        {
            return null;
        }
        byte* host = memory.TryGetPage(physical & ~0xFFFUL, access);
        if (host is null)
        {
            // A slow-path page (a device, a write-protected or interposed frame): operate on a bounce copy
            // that CommitAtomic writes back through the slow path.
            if (!memory.Read(physical, size, MemoryAccess.Load, out ulong value))
            {
                RaiseException(isLoadReserved ? ExceptionCause.LoadAccessFault : ExceptionCause.StoreAccessFault, va);
                return null;
            }
            *(ulong*)atomicBounce = value;
            (bouncePhysical, bounceSize, bounceVirtual) = (physical, size, va);
            return atomicBounce;
        }
        if (!isLoadReserved && decodedPages.Count != 0)
        {
            InvalidateDecoded(physical, (ulong)size);
        }
        return host + (physical & 0xFFF);
    }

    /// <summary>
    /// The virtual address of the access now on the slow path: valid while the hart is inside a call to its
    /// <see cref="IPhysicalMemory"/> (a secure architecture checks a mapping against it, as SGX's EPCM does).
    /// For a page walk it is the address being translated.
    /// </summary>
    public ulong SlowPathVirtualAddress => slowPathVirtualAddress;

    private ulong slowPathVirtualAddress;

    private readonly byte* atomicBounce = (byte*)NativeMemory.AllocZeroed(8);
    private ulong bouncePhysical, bounceVirtual;
    private int bounceSize;

    /// <summary>Completes the store part of an atomic on <paramref name="p"/>; false (and a trap) if it faults.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool CommitAtomic(byte* p) => p != atomicBounce || CommitBounce();

    private bool CommitBounce()
    {
        ulong value = *(ulong*)atomicBounce;
        slowPathVirtualAddress = bounceVirtual;
        if (!memory.Write(bouncePhysical, bounceSize, bounceSize == 8 ? value : value & ((1UL << (8 * bounceSize)) - 1)))
        {
            RaiseException(ExceptionCause.StoreAccessFault, bounceVirtual);
            return false;
        }
        if (decodedPages.Count != 0)
        {
            InvalidateDecoded(bouncePhysical, (ulong)bounceSize); // a frame fetched directly but stored to through the slow path
        }
        return true;
    }

    internal void SetReservation(ulong physical)
    {
        reservationValid = true;
        reservationAddress = physical;
    }

    /// <summary>Consumes the reservation: true if it was valid for <paramref name="physical"/>.</summary>
    internal bool ConsumeReservation(ulong physical)
    {
        bool ok = reservationValid && reservationAddress == physical;
        reservationValid = false;
        return ok;
    }

    /// <summary>Another agent wrote [address, address+length): a reservation there is lost.</summary>
    public void InvalidateReservation(ulong physicalAddress, ulong length)
    {
        if (reservationValid && reservationAddress + 8 > physicalAddress && reservationAddress < physicalAddress + length)
        {
            reservationValid = false;
        }
    }
}
