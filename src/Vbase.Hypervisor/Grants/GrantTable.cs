using System.Buffers.Binary;
using Vbase.Hypervisor.Domains;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Grants;

/// <summary>A grant mapping this domain holds (Xen's maptrack entry).</summary>
internal readonly record struct GrantMapping(DomainId Granter, uint Ref, Gfn At, bool ReadOnly);

/// <summary>
/// A domain's grant table (the entries live in a page of its own RAM, as the guest writes them) and the
/// mappings it holds of other domains' grants. Every check that decides whether a frame crosses a domain
/// boundary is here.
/// </summary>
internal sealed class GrantTable(Domain domain)
{
    public const int MaxMappings = 256;

    private readonly GrantMapping?[] mappings = new GrantMapping?[MaxMappings];

    /// <summary>GPA of the table page, or null before setup_table.</summary>
    public ulong? TableGpa { get; private set; }
    public int Entries { get; private set; }

    public long Setup(ulong gpa, ulong entries)
    {
        if (entries > GrantTableCommand.MaxEntries || (gpa & PageSize.Mask) != 0)
        {
            return Errno.EINVAL;
        }
        // The page must be the domain's own RAM: a table in a granted or foreign frame would let another
        // domain forge this domain's grants.
        P2mEntry e = domain.P2m.Lookup(new Gfn(gpa >> PageSize.Shift));
        if (e.Type != P2mType.RamRw || domain.Machine.OwnerOf(e.Mfn) != domain.Id || gpa == GuestLayout.SharedInfo)
        {
            return Errno.EFAULT;
        }
        TableGpa = gpa;
        Entries = (int)entries;
        return 0;
    }

    /// <summary>Reads grant <paramref name="reference"/> and checks that <paramref name="grantee"/> may use it.</summary>
    public long Check(uint reference, DomainId grantee, bool write, out Mfn mfn, out bool readOnly)
    {
        mfn = default;
        readOnly = true;
        if (TableGpa is not ulong table || reference >= (uint)Entries)
        {
            return Errno.ENOENT;
        }
        Span<byte> entry = stackalloc byte[GrantEntryLayout.Size];
        if (!domain.TryRead(table + (reference * (ulong)GrantEntryLayout.Size), entry))
        {
            return Errno.EFAULT;
        }
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(entry);
        ushort who = BinaryPrimitives.ReadUInt16LittleEndian(entry[GrantEntryLayout.DomId..]);
        uint gfn = BinaryPrimitives.ReadUInt32LittleEndian(entry[GrantEntryLayout.Gfn..]);
        if ((flags & GrantEntryLayout.PermitAccess) == 0 || who != grantee.Value)
        {
            return Errno.EPERM;
        }
        readOnly = (flags & GrantEntryLayout.ReadOnly) != 0;
        if (write && readOnly)
        {
            return Errno.EPERM;
        }
        // A domain can only grant what it owns: not a frame granted or foreign-mapped to it.
        P2mEntry e = domain.P2m.Lookup(new Gfn(gfn));
        if (e.Type is not (P2mType.RamRw or P2mType.RamRo) || domain.Machine.OwnerOf(e.Mfn) != domain.Id)
        {
            return Errno.EINVAL;
        }
        mfn = e.Mfn;
        return 0;
    }

    /// <summary>map_grant_ref: maps <paramref name="granter"/>'s grant at <paramref name="at"/> in this domain.</summary>
    public long Map(Domain granter, uint reference, Gfn at, bool readOnlyRequested)
    {
        if (granter == domain)
        {
            return Errno.EINVAL;
        }
        long rc = granter.Grants.Check(reference, domain.Id, !readOnlyRequested, out Mfn mfn, out bool grantReadOnly);
        if (rc < 0)
        {
            domain.Hypervisor.Record(domain.Id, domain.Hypervisor.CurrentVcpuId, new GrantRefusedData(granter.Id, reference, rc));
            return rc;
        }
        // Only a hole in the guest-physical space: mapping over RAM would hide (and leak) a frame of our own.
        if (domain.P2m.Lookup(at).Type != P2mType.Invalid || at.Value >= MaxGfn)
        {
            return Errno.EINVAL;
        }
        int handle = Array.FindIndex(mappings, m => m is null);
        if (handle < 0)
        {
            return Errno.ENOMEM;
        }
        bool ro = readOnlyRequested || grantReadOnly;
        var entry = new P2mEntry(mfn, ro ? P2mType.GrantMapRo : P2mType.GrantMapRw);
        if (!domain.Hypervisor.Sapi.AllowP2mChange(domain.Id, at, P2mEntry.Invalid, entry, Accessor.Hypervisor))
        {
            return Errno.EPERM;
        }
        mappings[handle] = new GrantMapping(granter.Id, reference, at, ro);
        domain.P2m.Set(at, entry);
        domain.Hypervisor.Sapi.ShareVmFrame(mfn);   // granted and mapped: a page the guest shares
        domain.Hypervisor.Record(domain.Id, domain.Hypervisor.CurrentVcpuId, new GrantMappedData(granter.Id, reference, at, ro));
        return handle;
    }

    public long Unmap(ulong handle)
    {
        if (handle >= MaxMappings || mappings[handle] is not GrantMapping m)
        {
            return Errno.EINVAL;
        }
        mappings[handle] = null;
        domain.P2m.Remove(m.At);
        domain.Hypervisor.Record(domain.Id, domain.Hypervisor.CurrentVcpuId, new GrantUnmappedData(handle, m.At));
        return 0;
    }

    /// <summary>GFNs beyond Sv39's 56-bit physical space are not addressable by a hart.</summary>
    public const ulong MaxGfn = 1UL << 44;

    public IEnumerable<GrantMapping> Mappings => mappings.Where(m => m is not null).Select(m => m!.Value);
}
