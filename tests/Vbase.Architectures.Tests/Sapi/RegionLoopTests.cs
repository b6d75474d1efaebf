using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Registry;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// A guest that registers and releases a region in a loop must not grow the host: each release frees the golden
/// shadow and the secure context, and past a short history the region is forgotten, by the plug-in too.
/// </summary>
public sealed class RegionLoopTests
{
    private const ulong FrameList = 0x8030_0000, Region = 0x8031_0000;
    private const int Pages = 8, Turns = 300;

    [Theory]
    [MemberData(nameof(ReadOnlyMappingTests.Architectures), MemberType = typeof(ReadOnlyMappingTests))]
    public void EnterAndExitInALoopKeepABoundedHistory(string arch)
    {
        using var rig = new Rig();
        rig.Hv.Plug(BuiltInArchitectures.CreateRegistry().Find(arch)!.Create(new ArchitectureOptions { Seed = 9 }));
        ProgramBuilder p = GuestCode.New().WithResults();
        p.Li(T0, (long)FrameList);
        for (int i = 0; i < Pages; i++)
        {
            p.Li(T1, (long)(Region >> 12) + i).Emit(Sd(T1, T0, i * 8));
        }
        p.Li(S2, Turns).Li(S3, 0).Label("loop");
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)FrameList, Pages, 0, (long)Region);
        p.Bge(A0, Zero, "entered").Emit(Addi(S3, S3, 1)).Label("entered");       // s3 counts refused enters
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Exit, (long)FrameList, Pages, 0, (long)Region);
        p.Emit(Addi(S2, S2, -1)).Bne(S2, Zero, "loop");
        p.Emit(Mv(A0, S3)).Save(0).Shutdown();
        DomainId d = rig.Add(p);
        rig.Run(100_000_000);

        Assert.Equal(0, rig.Info(d).ExitCode);
        Assert.Equal(0UL, rig.ReadU64(d, GuestCode.Results));
        IReadOnlyList<ProtectedRegion> kept = rig.Hv.Sapi.Regions;
        Assert.Equal(SapiHost.ReleasedRegionHistory, kept.Count);
        Assert.All(kept, r => Assert.False(r.IsActive));
        Assert.Equal(Turns, kept[^1].Id);
        Assert.Equal(Turns - SapiHost.ReleasedRegionHistory + 1, kept[0].Id);
        Assert.Empty(rig.Hv.Sapi.Contexts);
        byte[] b = new byte[8];
        Assert.Equal(Errno.EINVAL, rig.Hv.Dom0.ReadRegion(kept[^1].Id, 0, b, MemoryView.Shadow));   // freed at release
        Assert.Equal(Errno.ENOENT, rig.Hv.Dom0.ReadRegion(1, 0, b, MemoryView.Dram));              // forgotten
        Assert.Equal(kept.Count, rig.Hv.Dom0.QueryRegions().Count);
    }
}
