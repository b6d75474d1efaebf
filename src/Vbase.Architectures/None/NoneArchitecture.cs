using Vbase.Hypervisor;
using Vbase.Hypervisor.Abi;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Calls;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.None;

/// <summary>
/// The baseline: regions are registered (so the Monitor sees them and the Oracle keeps their golden shadow) but
/// nothing is protected. Every access passes; DRAM holds plaintext.
/// </summary>
[Architecture("none", "no protection: regions are registered and watched, every access passes",
    Principal.Application | Principal.GuestKernel | Principal.OtherProcesses | Principal.OtherVms | Principal.Dom0 | Principal.Physical)]
public sealed class NoneArchitecture(ArchitectureOptions options) : SecureArchitectureBase
{
    public override string Name => "none";

    public ArchitectureOptions Options { get; } = options;

    protected override void OnAttached() => Host.ClaimVirq(Virq.Vbase);

    public override long OnVbaseOp(VbaseOpCall call)
    {
        if (call.Command == VbaseOpCommand.Enter)
        {
            long rc = FrameList.TryRead(call, out RegionRequest? request);
            if (rc < 0)
            {
                return rc;
            }
            if (Host.Protect(request!) is not ProtectedRegion region)
            {
                return Errno.EINVAL;
            }
            Host.SendVirq(DomainId.Dom0, Virq.Vbase);
            return region.Id;
        }
        if (call.Command == VbaseOpCommand.Exit)
        {
            IReadOnlyList<ProtectedRegion> mine = Host.RegionsOf(call.Caller, call.VcpuId, call.Satp);
            if (mine.Count == 0)
            {
                return Errno.ENOENT;
            }
            foreach (ProtectedRegion r in mine.ToList())
            {
                Host.Release(r);
            }
            return 0;
        }
        return Errno.ENOSYS;
    }

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
