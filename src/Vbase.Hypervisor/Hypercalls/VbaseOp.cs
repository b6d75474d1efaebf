using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>vbase_op (64): answered by the plugged-in architecture, -ENOSYS while there is none.</summary>
internal static class VbaseOp
{
    public static long Handle(in HypercallContext c) =>
        c.Hypervisor.Extensions.VbaseOp is HypercallHandler h ? h(c) : Errno.ENOSYS;
}
