using Vbase.Hypervisor.Domains;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>memory_op (12): the caller's RAM, and foreign mapping for privileged callers.</summary>
internal static class MemoryOp
{
    public static long Handle(in HypercallContext c) => c.Arg(0) switch
    {
        MemoryOpCommand.RamSize => (long)c.Domain.Config.MemoryBytes,
        MemoryOpCommand.RamBase => (long)GuestLayout.RamBase,
        MemoryOpCommand.MapForeign => MapForeign(c),
        _ => Errno.EINVAL,
    };

    private static long MapForeign(in HypercallContext c)
    {
        if (!c.Domain.Privileged)
        {
            c.Hypervisor.Record(c.Caller, c.VcpuId, new HypercallDeniedData("memory_op", "map_foreign"));
            return Errno.EPERM;
        }
        if (c.Arg(1) > ushort.MaxValue || c.Hypervisor.FindDomain(new DomainId((ushort)c.Arg(1))) is not Domain target || target == c.Domain)
        {
            return Errno.ESRCH;
        }
        P2mEntry e = target.P2m.Lookup(new Gfn(c.Arg(2)));
        var at = new Gfn(c.Arg(3));
        if (e.Type is not (P2mType.RamRw or P2mType.RamRo) || at.Value >= Grants.GrantTable.MaxGfn)
        {
            return Errno.EINVAL;
        }
        if (c.Domain.P2m.Lookup(at).Type != P2mType.Invalid)
        {
            return Errno.EBUSY;
        }
        var entry = new P2mEntry(e.Mfn, e.Type == P2mType.RamRw ? P2mType.MapForeignRw : P2mType.MapForeignRo);
        if (!c.Hypervisor.Sapi.AllowP2mChange(c.Caller, at, P2mEntry.Invalid, entry, Accessor.Hypervisor))
        {
            return Errno.EPERM;
        }
        c.Domain.P2m.Set(at, entry);
        return 0;
    }
}
