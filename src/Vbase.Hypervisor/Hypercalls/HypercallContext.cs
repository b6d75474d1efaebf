using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Scheduling;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>One hypercall as a handler sees it: who called, and the raw (untrusted) argument registers.</summary>
public readonly struct HypercallContext
{
    internal HypercallContext(Hypervisor hypervisor, Vcpu vcpu)
    {
        Hypervisor = hypervisor;
        Vcpu = vcpu;
    }

    public Hypervisor Hypervisor { get; }
    internal Vcpu Vcpu { get; }
    internal Domain Domain => Vcpu.Domain;

    public DomainId Caller => Vcpu.Domain.Id;
    public int VcpuId => Vcpu.Id;

    /// <summary>Argument register a<paramref name="index"/> (0..6); a7 is the call number.</summary>
    public ulong Arg(int index) => Vcpu.Hart.GetRegister(10 + index);

    /// <summary>Copies guest memory of the caller; false = -EFAULT.</summary>
    public bool TryRead(ulong gpa, Span<byte> dest) => Domain.TryRead(gpa, dest);

    /// <summary>Writes guest memory of the caller; false = -EFAULT (nothing written).</summary>
    public bool TryWrite(ulong gpa, ReadOnlySpan<byte> source) => Domain.TryWrite(gpa, source);

    /// <summary>Guest virtual time now, as the calling vCPU sees it.</summary>
    public ulong Now => Math.Min(Vcpu.Hart.Time, Vcpu.MaxTime);
}

/// <summary>A hypercall handler: returns a0 (≥ 0 success, or a negative <see cref="Errno"/>).</summary>
public delegate long HypercallHandler(in HypercallContext context);

/// <summary>One row of the hypercall table.</summary>
/// <param name="PrivilegedOnly">Unprivileged callers get -EPERM without the handler running.</param>
public sealed record HypercallDefinition(ulong Number, string Name, bool PrivilegedOnly, HypercallHandler Handler);
