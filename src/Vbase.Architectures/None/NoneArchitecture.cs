using Vbase.Hypervisor.Abi;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.None;

/// <summary>
/// The baseline: regions are registered (so the Monitor sees them and the Oracle keeps their golden shadow) but
/// nothing is protected. Every access passes; DRAM holds plaintext.
/// </summary>
[Architecture("none", "no protection: regions are registered and watched, every access passes",
    Principal.Application | Principal.GuestKernel | Principal.OtherProcesses | Principal.OtherVms | Principal.Dom0 | Principal.Physical)]
public sealed class NoneArchitecture(ArchitectureOptions options) : RegionArchitectureBase
{
    public override string Name => "none";

    public ArchitectureOptions Options { get; } = options;

    /// <summary>Any frames the hypervisor will protect: no check of its own.</summary>
    protected override long Admit(VbaseOpCall call, RegionRequest request) => 0;

    protected override long ProtectRefusedErrno => Errno.EINVAL;

    public override AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data)
    {
        protectedAccesses += access.Accessor == Accessor.Inspection ? 0 : 1;
        return AccessVerdict.Pass;
    }

    public override AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        protectedAccesses++;
        return AccessVerdict.Pass;
    }

    /// <summary>No metadata: only the accesses it saw.</summary>
    public override MetadataTraffic Traffic => new(protectedAccesses, 0, 0, 0, 0);

    private long protectedAccesses;

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region) =>
        [new("protection", "none"), new("dram", "plaintext")];
}
