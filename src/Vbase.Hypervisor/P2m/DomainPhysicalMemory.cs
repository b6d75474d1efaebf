using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Isa.Memory;

namespace Vbase.Hypervisor.P2m;

/// <summary>
/// A domain's guest-physical space as its harts see it: the G-stage. Plain RAM is handed to the hart's TLB as
/// a host pointer; read-only frames refuse only stores (which come back here, are dropped and reported);
/// the shared-info frame takes stores on the slow path so that the event line follows every guest write.
/// </summary>
internal sealed unsafe class DomainPhysicalMemory(Domain domain) : IPhysicalMemory
{
    public byte* TryGetPage(ulong pageAddress, MemoryAccess access)
    {
        var gfn = new Gfn(pageAddress >> PageSize.Shift);
        P2mEntry e = domain.P2m.Lookup(gfn);
        if (access == MemoryAccess.Store)
        {
            return e.Type.IsWritable() && gfn != domain.SharedInfoGfn ? domain.Machine.HostPointer(e.Mfn) : null;
        }
        return e.Type.IsReadable() ? domain.Machine.HostPointer(e.Mfn) : null;
    }

    public bool Read(ulong address, int size, MemoryAccess access, out ulong value)
    {
        P2mEntry e = domain.P2m.Lookup(new Gfn(address >> PageSize.Shift));
        if (!e.Type.IsReadable())
        {
            value = 0;
            return false;
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
        if (e.Type.IsReadOnly())
        {
            // Xen drops the write and logs "p2m write to read-only gfn"; the guest carries on.
            domain.Hypervisor.Record(EventKind.P2mReadOnlyWrite, domain.Id, domain.Hypervisor.CurrentVcpuId,
                $"gpa=0x{address:x} size={size} type={e.Type.ToXenName()}");
            return true;
        }
        if (!e.Type.IsWritable())
        {
            return false;
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
}
