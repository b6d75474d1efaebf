using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Dom0;

public class PopulatePhysmapTests
{
    // A 4 MiB domain's RAM is GFNs 0x80000..0x803ff: 0x80400 is the first hole above it.
    private static readonly Gfn Hole = new(0x80400);

    private static ulong FreeFrames(Rig rig)
    {
        ulong n = 0;
        for (ulong i = 0; i < rig.Hv.Machine.FrameCount; i++)
        {
            n += rig.Hv.Machine.OwnerOf(new Mfn(i)) is null ? 1UL : 0;
        }
        return n;
    }

    /// <summary>Refuses every change Dom0 asks for at one GFN.</summary>
    private sealed class RefusesAt(Gfn refused) : SecureArchitectureBase
    {
        public override string Name => "refuses-at";

        public override bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester) =>
            gfn != refused || requester != Accessor.Dom0;
    }

    [Fact]
    public void AHoleGetsAFreshZeroedFrameOfTheDomainThatTheGuestReads()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Li(T0, (long)Hole.Address.Value).Emit(Ld(S2, T0, 8)).Shutdown();
        DomainId d = rig.Add(p, unpause: false);
        ulong free = FreeFrames(rig);
        Mfn mfn = rig.Hv.Dom0.PopulatePhysmap(d, Hole);
        Assert.Equal(free - 1, FreeFrames(rig));
        Assert.Equal(d, rig.Hv.Machine.OwnerOf(mfn));
        Assert.Equal(new P2mEntry(mfn, P2mType.RamRw), rig.Hv.Dom0.GetP2mEntry(d, Hole));
        Assert.DoesNotContain(rig.Hv.Dom0.GetP2m(d), kv => kv.Key != Hole && kv.Value.Mfn == mfn);
        Assert.Contains(rig.Events, e => e.Domain == d && e.Data is P2mChangeData { Old.Type: P2mType.Invalid } c && c.Gfn == Hole && c.New.Mfn == mfn);
        Assert.Equal(0UL, rig.ReadU64(d, Hole.Address.Value + 8));
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(d, new GuestPhysicalAddress(Hole.Address.Value + 8), BitConverter.GetBytes(0x1234_5678_9abc_def0UL)));
        rig.Hv.Dom0.Unpause(d);
        rig.Run();
        Assert.Equal(0x1234_5678_9abc_def0UL, rig.Reg(d, S2));
    }

    [Fact]
    public void AGfnThatIsNotAHoleIsRefusedAndNothingIsAllocated()
    {
        using var rig = new Rig();
        DomainId d = rig.Add(GuestCode.New().Shutdown(), unpause: false);
        Mfn ram = rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x80300)).Mfn;
        rig.Hv.Dom0.SetP2mEntry(d, new Gfn(0x90000), new P2mEntry(ram, P2mType.GrantMapRo));
        ulong free = FreeFrames(rig);
        foreach (Gfn g in new[] { new Gfn(0x80300), new Gfn(0x90000), new Gfn(Vbase.Hypervisor.Grants.GrantTable.MaxGfn) })
        {
            ArgumentException e = Assert.Throws<ArgumentException>(() => rig.Hv.Dom0.PopulatePhysmap(d, g));
            Assert.Contains("not a hole", e.Message);
        }
        Assert.Equal(free, FreeFrames(rig));
        Assert.Equal(new P2mEntry(ram, P2mType.RamRw), rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x80300)));
        Assert.Throws<ArgumentException>(() => rig.Hv.Dom0.PopulatePhysmap(new DomainId(77), Hole));
    }

    [Fact]
    public void WithNoFreeFrameItFailsAndTheP2mIsUnchanged()
    {
        using var rig = new Rig(machineMemory: 4UL << 20);
        DomainId d = rig.Add(GuestCode.New().Shutdown(), unpause: false);
        Assert.Equal(0UL, FreeFrames(rig));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => rig.Hv.Dom0.PopulatePhysmap(d, Hole));
        Assert.Contains("no free frame", e.Message);
        Assert.Equal(P2mType.Invalid, rig.Hv.Dom0.GetP2mEntry(d, Hole).Type);
    }

    [Fact]
    public void ARefusalByTheArchitectureLeavesTheFrameFree()
    {
        using var rig = new Rig();
        rig.Hv.Plug(new RefusesAt(Hole));
        DomainId d = rig.Add(GuestCode.New().Shutdown(), unpause: false);
        ulong free = FreeFrames(rig);
        Assert.Throws<UnauthorizedAccessException>(() => rig.Hv.Dom0.PopulatePhysmap(d, Hole));
        Assert.Equal(free, FreeFrames(rig));
        Assert.Equal(P2mType.Invalid, rig.Hv.Dom0.GetP2mEntry(d, Hole).Type);
        P2mChangeRefusedData refused = Assert.Single(rig.Events.Select(e => e.Data).OfType<P2mChangeRefusedData>());
        Assert.Equal((Hole, P2mType.Invalid, P2mType.RamRw, Accessor.Dom0), (refused.Gfn, refused.Current.Type, refused.Proposed.Type, refused.By));
        // The frame offered and refused is the one the next populate gets: nothing was kept back.
        Mfn next = rig.Hv.Dom0.PopulatePhysmap(d, new Gfn(Hole.Value + 1));
        Assert.Equal(refused.Proposed.Mfn, next);
        Assert.Equal(free - 1, FreeFrames(rig));
        Assert.False(rig.Hv.Machine.Free(new DomainId(7), next));   // one frame goes back only from its owner
        Assert.Equal(d, rig.Hv.Machine.OwnerOf(next));
    }

    [Fact]
    public void DestroyFreesAndScrubsTheAddedFrameWithTheDomainsOwn()
    {
        using var rig = new Rig(machineMemory: (4UL << 20) + PageSize.Bytes);
        DomainId a = rig.Add(GuestCode.New().Shutdown(), unpause: false);
        Mfn added = rig.Hv.Dom0.PopulatePhysmap(a, Hole);
        Assert.Equal(0UL, FreeFrames(rig));
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(a, Hole.Address, [0xAA]));
        rig.Hv.Dom0.Destroy(a);
        Assert.Equal(rig.Hv.Machine.FrameCount, FreeFrames(rig));
        Assert.Null(rig.Hv.Machine.OwnerOf(added));
        Assert.Equal(0, rig.Hv.Machine.Frame(added)[0]);
        // The whole machine is there again: a domain of the same size and its added frame fit.
        DomainId b = rig.Add(GuestCode.New().Shutdown(), unpause: false);
        Assert.Equal(added, rig.Hv.Dom0.PopulatePhysmap(b, Hole));
        Assert.Equal(0UL, rig.ReadU64(b, Hole.Address.Value));
    }
}
