using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>vcpu_op (24): who am I, how many vCPUs, what time is it.</summary>
internal static class VcpuOp
{
    public static long Handle(in HypercallContext c) => c.Arg(0) switch
    {
        VcpuOpCommand.MyId => c.VcpuId,
        VcpuOpCommand.Count => c.Domain.Vcpus.Count,
        VcpuOpCommand.CurrentTime => (long)c.Now,
        _ => Errno.EINVAL,
    };
}
