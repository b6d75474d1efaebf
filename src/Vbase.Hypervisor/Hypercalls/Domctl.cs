using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>domctl (36): privileged control. Dom0 is C# and uses <see cref="Dom0.Dom0Api"/>, so no guest command exists yet.</summary>
internal static class Domctl
{
    public static long Handle(in HypercallContext c) => Errno.ENOSYS;
}
