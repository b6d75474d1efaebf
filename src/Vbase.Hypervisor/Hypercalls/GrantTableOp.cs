using System.Buffers.Binary;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>grant_table_op (20): setup_table, map/unmap_grant_ref, copy, query_size.</summary>
internal static class GrantTableOp
{
    public static long Handle(in HypercallContext c)
    {
        switch (c.Arg(0))
        {
            case GrantTableCommand.SetupTable:
                return c.Domain.Grants.Setup(c.Arg(1), c.Arg(2));
            case GrantTableCommand.MapGrantRef:
                if (c.Arg(1) > ushort.MaxValue || c.Hypervisor.FindDomain(new DomainId((ushort)c.Arg(1))) is not Domain granter)
                {
                    return Errno.ESRCH;
                }
                if (c.Arg(2) > uint.MaxValue)
                {
                    return Errno.ENOENT;
                }
                return c.Domain.Grants.Map(granter, (uint)c.Arg(2), new Gfn(c.Arg(3)), (c.Arg(4) & GrantEntryLayout.MapFlagReadOnly) != 0);
            case GrantTableCommand.UnmapGrantRef:
                return c.Domain.Grants.Unmap(c.Arg(1));
            case GrantTableCommand.Copy:
                return Copy(c, c.Arg(1));
            case GrantTableCommand.QuerySize:
                return c.Domain.Grants.Entries;
            default:
                return Errno.EINVAL;
        }
    }

    private static long Copy(in HypercallContext c, ulong gpa)
    {
        Span<byte> op = stackalloc byte[GrantCopyLayout.Size];
        if (!c.TryRead(gpa, op))
        {
            return Errno.EFAULT;
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(op);
        var sourceDom = new DomainId(BinaryPrimitives.ReadUInt16LittleEndian(op[GrantCopyLayout.SourceDomId..]));
        var destDom = new DomainId(BinaryPrimitives.ReadUInt16LittleEndian(op[GrantCopyLayout.DestDomId..]));
        ulong source = BinaryPrimitives.ReadUInt64LittleEndian(op[GrantCopyLayout.Source..]);
        ulong dest = BinaryPrimitives.ReadUInt64LittleEndian(op[GrantCopyLayout.Dest..]);
        uint sourceOffset = BinaryPrimitives.ReadUInt32LittleEndian(op[GrantCopyLayout.SourceOffset..]);
        uint destOffset = BinaryPrimitives.ReadUInt32LittleEndian(op[GrantCopyLayout.DestOffset..]);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(op[GrantCopyLayout.Length..]);

        long status = Resolve(c, (flags & GrantCopyLayout.SourceIsGrant) != 0, sourceDom, source, write: false, out Mfn from);
        if (status == 0)
        {
            status = Resolve(c, (flags & GrantCopyLayout.DestIsGrant) != 0, destDom, dest, write: true, out Mfn to);
            if (status == 0)
            {
                if ((ulong)sourceOffset + length > PageSize.Bytes || (ulong)destOffset + length > PageSize.Bytes)
                {
                    status = Errno.EINVAL;
                }
                else
                {
                    status = CopyFrames(c, from, (int)sourceOffset, to, (int)destOffset, (int)length);
                }
            }
        }
        Span<byte> s = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(s, (int)status);
        return c.TryWrite(gpa + GrantCopyLayout.Status, s) ? 0 : Errno.EFAULT;
    }

    /// <summary>
    /// The copy itself, on the device path: protected frames at either end are read or written through the
    /// plugged-in architecture, which may refuse (-EPERM) or drop the write.
    /// </summary>
    private static long CopyFrames(in HypercallContext c, Mfn from, int fromOffset, Mfn to, int toOffset, int length)
    {
        HypervisorSapiHost sapi = c.Hypervisor.Sapi;
        MachineMemory machine = c.Hypervisor.Machine;
        if (!sapi.IsInterposed(from) && !sapi.IsInterposed(to))
        {
            machine.Frame(from).Slice(fromOffset, length).CopyTo(machine.Frame(to).Slice(toOffset, length));
        }
        else
        {
            byte[] buffer = new byte[length];
            if (sapi.IsInterposed(from))
            {
                if (!sapi.Read(Accessor.Device, AccessKind.Load, c.Caller, c.Vcpu, from, fromOffset, buffer))
                {
                    return Errno.EPERM;
                }
            }
            else
            {
                machine.Frame(from).Slice(fromOffset, length).CopyTo(buffer);
            }
            if (sapi.IsInterposed(to))
            {
                if (!sapi.Write(Accessor.Device, AccessKind.Store, c.Caller, c.Vcpu, to, toOffset, buffer))
                {
                    return Errno.EPERM;
                }
            }
            else
            {
                buffer.CopyTo(machine.Frame(to).Slice(toOffset, length));
            }
        }
        c.Hypervisor.NotifyMachineWrite(to, (uint)toOffset, (uint)length);
        return 0;
    }

    /// <summary>A copy end: a grant of another domain, or a GFN of the caller's own (never another's GFN).</summary>
    private static long Resolve(in HypercallContext c, bool isGrant, DomainId dom, ulong value, bool write, out Mfn mfn)
    {
        mfn = default;
        if (isGrant)
        {
            if (c.Hypervisor.FindDomain(dom) is not Domain granter || granter == c.Domain)
            {
                return Errno.ESRCH;
            }
            return value > uint.MaxValue ? Errno.ENOENT : granter.Grants.Check((uint)value, c.Caller, write, out mfn, out _);
        }
        if (dom != c.Caller)
        {
            return Errno.EPERM;
        }
        P2mEntry e = c.Domain.P2m.Lookup(new Gfn(value));
        if (write ? !e.Type.IsWritable() : !e.Type.IsReadable())
        {
            return Errno.EFAULT;
        }
        mfn = e.Mfn;
        return 0;
    }
}
