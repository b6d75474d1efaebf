using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.None;

/// <summary>
/// The baseline: regions are registered (so the Monitor sees them and the Oracle keeps their golden shadow) but
/// nothing is protected. Every accessor sees the plaintext; DRAM holds plaintext.
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

    /// <summary>
    /// Everyone sees the on-chip plaintext, and lines cross the boundary as they are (the default fill and
    /// write-back): the baseline of the cost model, with the same data traffic as every design and no work.
    /// </summary>
    public override PageView DecideView(in MemoryAccessContext access) => PageView.Plaintext;

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region) =>
        [new("protection", "none"), new("dram", "plaintext")];
}
