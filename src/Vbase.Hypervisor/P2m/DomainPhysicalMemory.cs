using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Harts;
using Vbase.Isa.Memory;
using Vbase.Isa.Traps;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.P2m;

/// <summary>
/// A domain's guest-physical space as its harts see it: the G-stage. Plain RAM is handed to the hart's TLB as
/// a host pointer; read-only frames refuse only stores (which come back here, are dropped and reported);
/// the shared-info frame takes stores on the slow path so that the event line follows every guest write.
/// Frames inside a protected region (SAPI) never get a host pointer: every access the p2m allows goes to the
/// plug-in; a store the p2m forbids never reaches it. Where the p2m has no entry, an emulated-MMIO window
/// (<see cref="Domain.Mmio"/>) may answer loads and stores; everything else there is an access fault.
/// </summary>
internal sealed unsafe class DomainPhysicalMemory(Domain domain) : IPhysicalMemory
{
    public byte* TryGetPage(ulong pageAddress, MemoryAccess access)
    {
        var gfn = new Gfn(pageAddress >> PageSize.Shift);
        P2mEntry e = domain.P2m.Lookup(gfn);
        if (e.Type.IsReadable() && domain.Hypervisor.Sapi.IsInterposed(e.Mfn))
        {
            return null;
        }
        if (access == MemoryAccess.Store)
        {
            return e.Type.IsWritable() && gfn != domain.SharedInfoGfn ? domain.Machine.HostPointer(e.Mfn) : null;
        }
        return e.Type.IsReadable() ? domain.Machine.HostPointer(e.Mfn) : null;
    }

    public byte* TryGetLinePage(ulong pageAddress, MemoryAccess access, out ulong* lines)
    {
        lines = null;
        var gfn = new Gfn(pageAddress >> PageSize.Shift);
        P2mEntry e = domain.P2m.Lookup(gfn);
        if (!e.Type.IsReadable() || !domain.Hypervisor.Sapi.IsInterposed(e.Mfn))
        {
            return TryGetPage(pageAddress, access);
        }
        if (access == MemoryAccess.Store && !e.Type.IsWritable())
        {
            return null;   // the p2m refuses the store first (Write drops it)
        }
        Vcpu? v = domain.Hypervisor.Current;
        return domain.Hypervisor.Sapi.PageFor(AccessorOf(v, KindOf(access)), domain.Id, v, e.Mfn, access, out lines);
    }

    /// <summary>
    /// A protected frame the p2m maps read-only (vbase's <c>ram_ro</c>): after the first store there was dropped and
    /// reported, the hart drops the next ones itself and counts them in the region (<c>sapi.writes_dropped</c>).
    /// Other read-only frames (grants, foreign mappings) keep every store on the slow path.
    /// </summary>
    public ulong* TryGetDropCounter(ulong pageAddress)
    {
        P2mEntry e = domain.P2m.Lookup(new Gfn(pageAddress >> PageSize.Shift));
        if (!e.Type.IsReadOnly() || !domain.Hypervisor.Sapi.IsInterposed(e.Mfn))
        {
            return null;
        }
        Vcpu? v = domain.Hypervisor.Current;
        return domain.Hypervisor.Sapi.DropCounterFor(AccessorOf(v, AccessKind.Store), domain.Id, v, e.Mfn);
    }

    public bool Read(ulong address, int size, MemoryAccess access, out ulong value)
    {
        P2mEntry e = domain.P2m.Lookup(new Gfn(address >> PageSize.Shift));
        if (!e.Type.IsReadable())
        {
            value = 0;
            // Emulated MMIO answers loads; code is never fetched from a device.
            return e.Type == P2mType.Invalid && access is MemoryAccess.Load && domain.TryFindMmio(address, size, out MmioWindow w)
                && w.Device.Read(address - w.Base, size, out value);
        }
        if (domain.Hypervisor.Sapi.IsInterposed(e.Mfn))
        {
            Span<byte> bytes = stackalloc byte[8];
            bytes.Clear();
            Vcpu? v = domain.Hypervisor.Current;
            AccessKind kind = KindOf(access);
            bool ok = domain.Hypervisor.Sapi.Read(AccessorOf(v, kind), kind, domain.Id, v, e.Mfn, (int)(address & PageSize.Mask), bytes[..size]);
            value = ok ? BitConverter.ToUInt64(bytes) : 0;
            return ok;
        }
        byte* p = domain.Machine.HostPointer(e.Mfn) + (address & PageSize.Mask);
        value = size switch
        {
            1 => *p,
            2 => *(ushort*)p,
            4 => *(uint*)p,
            _ => *(ulong*)p,
        };
        return true;
    }

    public bool Write(ulong address, int size, ulong value)
    {
        var gfn = new Gfn(address >> PageSize.Shift);
        P2mEntry e = domain.P2m.Lookup(gfn);
        // The p2m type (and so a grant's or a foreign mapping's permission) is the hypervisor's to enforce: it is
        // checked before any plug-in sees the store, so no plug-in answer can make a read-only mapping writable.
        if (e.Type.IsReadOnly())
        {
            if (domain.Hypervisor.Sapi.IsInterposed(e.Mfn))
            {
                domain.Hypervisor.Sapi.ReadOnlyWriteDropped(AccessorOf(domain.Hypervisor.Current, AccessKind.Store), domain.Id,
                    domain.Hypervisor.Current, e.Mfn, (int)(address & PageSize.Mask), size, value);
                return true;
            }
            // Xen drops the write and logs "p2m write to read-only gfn"; the guest carries on.
            domain.Hypervisor.Record(domain.Id, domain.Hypervisor.CurrentVcpuId,
                new P2mReadOnlyWriteData(new GuestPhysicalAddress(address), size, e.Type));
            return true;
        }
        if (!e.Type.IsWritable())
        {
            return e.Type == P2mType.Invalid && domain.TryFindMmio(address, size, out MmioWindow w)
                && w.Device.Write(address - w.Base, size, value);
        }
        if (domain.Hypervisor.Sapi.IsInterposed(e.Mfn))
        {
            Span<byte> bytes = stackalloc byte[8];
            BitConverter.TryWriteBytes(bytes, value);
            Vcpu? v = domain.Hypervisor.Current;
            return domain.Hypervisor.Sapi.Write(AccessorOf(v, AccessKind.Store), AccessKind.Store, domain.Id, v, e.Mfn,
                (int)(address & PageSize.Mask), bytes[..size]);
        }
        byte* p = domain.Machine.HostPointer(e.Mfn) + (address & PageSize.Mask);
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: *(ushort*)p = (ushort)value; break;
            case 4: *(uint*)p = (uint)value; break;
            default: *(ulong*)p = value; break;
        }
        if (gfn == domain.SharedInfoGfn)
        {
            domain.Events.UpdateUpcallLines();
        }
        return true;
    }

    /// <summary>Guest code in U-mode is the user; S-mode code and the MMU's walks are the kernel.</summary>
    /// <summary>The SAPI's kind of a hart's access.</summary>
    internal static AccessKind KindOf(MemoryAccess access) => access switch
    {
        MemoryAccess.Store => AccessKind.Store,
        MemoryAccess.Fetch => AccessKind.Fetch,
        MemoryAccess.PageWalk => AccessKind.PageWalk,
        _ => AccessKind.Load,
    };

    private static Accessor AccessorOf(Vcpu? v, AccessKind kind) =>
        v is not null && v.Hart.Privilege == Privilege.User && kind != AccessKind.PageWalk ? Accessor.GuestUser : Accessor.GuestKernel;
}
