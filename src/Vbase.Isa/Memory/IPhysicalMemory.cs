namespace Vbase.Isa.Memory;

/// <summary>The kind of access a hart makes.</summary>
public enum MemoryAccess : byte
{
    Fetch = 0,
    Load = 1,
    /// <summary>Stores, AMOs and SC (the spec's "store/AMO"); also the MMU's A/D-bit updates.</summary>
    Store = 2,
    /// <summary>
    /// A page-table read by the MMU. Only <see cref="IPhysicalMemory"/> sees it (so that a layer below can tell
    /// walks from loads); faults it causes are reported as the access that needed the walk.
    /// </summary>
    PageWalk = 3,
}

/// <summary>
/// Physical memory as one hart sees it. On bare metal it is the platform's bus; under the hypervisor it is
/// the domain's guest-physical space behind its p2m. The hart never touches memory except through this.
/// </summary>
/// <remarks>
/// Hot path: the hart asks <see cref="TryGetPage"/> once per page and caches the host pointer in its TLB;
/// only pages that answer null (devices, write-protected or plug-in–interposed frames) take the
/// <see cref="Read"/>/<see cref="Write"/> slow path on every access.
/// </remarks>
public unsafe interface IPhysicalMemory
{
    /// <summary>
    /// Host address of the 4 KiB page that starts at <paramref name="pageAddress"/> if the hart may access it
    /// directly for <paramref name="access"/> (plain RAM); null if every access must take the slow path.
    /// </summary>
    byte* TryGetPage(ulong pageAddress, MemoryAccess access);

    /// <summary>
    /// As <see cref="TryGetPage"/> for a load or a store, but the page may be line-checked: if
    /// <paramref name="lines"/> is set, the hart may access a 64-byte line of the returned page directly only while
    /// bit (offset / 64) of <c>*lines</c> is set, and takes the slow path otherwise (which may set it). This is how
    /// the on-chip copies of protected lines keep the fast path (a secure architecture's DRAM boundary). The mask
    /// must stay valid until the hart's translation caches are next flushed.
    /// </summary>
    byte* TryGetLinePage(ulong pageAddress, MemoryAccess access, out ulong* lines)
    {
        lines = null;
        return TryGetPage(pageAddress, access);
    }

    /// <summary>
    /// For a page whose stores the memory drops (a read-only frame that reports what it refuses): a counter the hart
    /// may increment for each further store to the page instead of calling <see cref="Write"/>, which it does only
    /// after <see cref="Write"/> has taken one store there; null if every store must come to <see cref="Write"/>. The
    /// counter must stay valid until the hart's translation caches are next flushed.
    /// </summary>
    ulong* TryGetDropCounter(ulong pageAddress) => null;

    /// <summary>Slow-path read of 1, 2, 4 or 8 bytes (never crossing a page). False = access fault.</summary>
    bool Read(ulong address, int size, MemoryAccess access, out ulong value);

    /// <summary>Slow-path write of 1, 2, 4 or 8 bytes (never crossing a page). False = access fault.</summary>
    bool Write(ulong address, int size, ulong value);
}
