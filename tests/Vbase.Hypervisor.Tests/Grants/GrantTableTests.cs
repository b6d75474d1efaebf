using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Grants;

public class GrantTableTests
{
    private const long Table = 0x8040_0000, RoPage = 0x8050_0000, RwPage = 0x8050_1000;
    private const ulong GrantOp = HypercallNumber.GrantTableOp;

    private static long Entry(int flags, ushort domid, long gfn) => (long)(ushort)flags | ((long)domid << 16) | (gfn << 32);

    /// <summary>d1: grants RoPage read-only to d2 (ref 0), RwPage to d2 (ref 1), an unpermitted ref 2, ref 3 to d3; then blocks.</summary>
    internal static ProgramBuilder Granter()
    {
        var p = GuestCode.New();
        p.Li(T0, Table);
        p.Li(T1, Entry(GrantEntryLayout.PermitAccess | GrantEntryLayout.ReadOnly, 2, RoPage >> 12)).Emit(Sd(T1, T0, 0));
        p.Li(T1, Entry(GrantEntryLayout.PermitAccess, 2, RwPage >> 12)).Emit(Sd(T1, T0, 8));
        p.Li(T1, Entry(0, 2, RoPage >> 12)).Emit(Sd(T1, T0, 16));
        p.Li(T1, Entry(GrantEntryLayout.PermitAccess, 3, RoPage >> 12)).Emit(Sd(T1, T0, 24));
        p.Li(T0, RoPage).Li(T1, 0xABCD).Emit(Sd(T1, T0, 0));
        p.Li(T0, RwPage).Li(T1, 0x1111).Emit(Sd(T1, T0, 0));
        p.Call(GrantOp, (long)GrantTableCommand.SetupTable, Table, 4);
        p.Label("sleep").Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block).J("sleep");
        return p;
    }

    private static ProgramBuilder CopyOp(ProgramBuilder p, long at, uint flags, ushort srcDom, ushort dstDom, long src, long dst,
        uint srcOff, uint dstOff, uint length)
    {
        p.Li(T0, at);
        p.Li(T1, flags | ((long)srcDom << 32) | ((long)dstDom << 48)).Emit(Sd(T1, T0, 0));
        p.Li(T1, src).Emit(Sd(T1, T0, 8));
        p.Li(T1, dst).Emit(Sd(T1, T0, 16));
        p.Li(T1, srcOff | ((long)dstOff << 32)).Emit(Sd(T1, T0, 24));
        p.Li(T1, length).Emit(Sd(T1, T0, 32));
        return p.Call(GrantOp, (long)GrantTableCommand.Copy, at);
    }

    [Fact]
    public void MapUnmapAndCopyHonourEveryAccessCheck()
    {
        using var rig = new Rig();
        var b = GuestCode.New().WithResults();
        b.Call(GrantOp, 0, 1, 0, 0x90000, 0).Save(0);                 // write map of a read-only grant
        b.Call(GrantOp, 0, 1, 0, 0x90000, 1).Save(1);                 // read-only map → handle 0
        b.Li(T0, 0x9000_0000).Li(T1, 0x5555).Emit(Sd(T1, T0, 0), Ld(A0, T0, 0)).Save(2);
        b.Call(GrantOp, 0, 1, 1, 0x90001, 0).Save(3);                 // rw map → handle 1
        b.Li(T0, 0x9000_1000).Li(T1, 0x2222).Emit(Sd(T1, T0, 0));
        b.Call(GrantOp, 0, 1, 2, 0x90002, 1).Save(4);                 // not permitted
        b.Call(GrantOp, 0, 1, 3, 0x90002, 1).Save(5);                 // granted to d3
        b.Call(GrantOp, 0, 1, 99, 0x90002, 1).Save(6);                // beyond the table
        b.Call(GrantOp, 0, 1, 1, 0x80300, 0).Save(7);                 // over my own RAM
        b.Call(GrantOp, 0, 2, 0, 0x90002, 1).Save(8);                 // myself
        b.Call(GrantOp, 0, 7, 0, 0x90002, 1).Save(9);                 // no such domain
        b.Call(GrantOp, 1, 0).Save(10);                               // unmap handle 0
        b.Call(GrantOp, 1, 0).Save(11);                               // twice
        CopyOp(b, 0x8060_0000, GrantCopyLayout.SourceIsGrant, 1, 2, 1, 0x80700, 0, 8, 8).Save(12);
        b.Li(T0, 0x8060_0000).Emit(Lw(A0, T0, GrantCopyLayout.Status)).Save(13);
        b.Li(T0, 0x8070_0008).Emit(Ld(A0, T0, 0)).Save(14);
        CopyOp(b, 0x8060_0000, GrantCopyLayout.DestIsGrant, 2, 1, 0x80700, 0, 0, 0, 8);
        b.Li(T0, 0x8060_0000).Emit(Lw(A0, T0, GrantCopyLayout.Status)).Save(15); // into a read-only grant
        CopyOp(b, 0x8060_0000, 0, 2, 1, 0x80700, RoPage >> 12, 0, 0, 8);
        b.Li(T0, 0x8060_0000).Emit(Lw(A0, T0, GrantCopyLayout.Status)).Save(16); // into d1's GFN directly
        CopyOp(b, 0x8060_0000, GrantCopyLayout.SourceIsGrant, 1, 2, 1, 0x80700, 8, 0, 4096);
        b.Li(T0, 0x8060_0000).Emit(Lw(A0, T0, GrantCopyLayout.Status)).Save(17); // past the page
        b.Call(GrantOp, (long)GrantTableCommand.Copy, 0x1000).Save(18); // the op itself is unreadable
        b.Call(GrantOp, (long)GrantTableCommand.QuerySize).Save(19);
        b.Call(GrantOp, (long)GrantTableCommand.SetupTable, 0x9000_1000, 4).Save(20); // a table in a granted frame
        b.Call(GrantOp, 77).Save(21);
        b.Shutdown();
        DomainId a = rig.Add(Granter(), "a", memory: 16UL << 20), d = rig.Add(b, "b", memory: 16UL << 20);
        rig.Run();
        long[] r = [.. Enumerable.Range(0, 22).Select(i => (long)rig.ReadU64(d, GuestCode.Results + (ulong)(i * 8)))];
        Assert.Equal(Errno.EPERM, r[0]);
        Assert.Equal(0, r[1]);
        Assert.Equal(0xABCD, r[2]);
        Assert.Equal(1, r[3]);
        Assert.Equal([Errno.EPERM, Errno.EPERM, Errno.ENOENT, Errno.EINVAL, Errno.EINVAL, Errno.ESRCH], r[4..10]);
        Assert.Equal([0, Errno.EINVAL], r[10..12]);
        Assert.Equal([0, 0, 0x2222], r[12..15]);
        Assert.Equal([Errno.EPERM, Errno.EPERM, Errno.EINVAL, Errno.EFAULT, 0, Errno.EFAULT, Errno.EINVAL], r[15..22].Select(v => (long)(int)v));

        Assert.Equal(0xABCDUL, rig.ReadU64(a, (ulong)RoPage));
        Assert.Equal(0x2222UL, rig.ReadU64(a, (ulong)RwPage));
        Assert.Equal(P2mType.Invalid, rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x90000)).Type);
        P2mEntry rw = rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x90001));
        Assert.Equal(P2mType.GrantMapRw, rw.Type);
        Assert.Equal(rig.Hv.Dom0.GetP2mEntry(a, new Gfn(RwPage >> 12)).Mfn, rw.Mfn);
        Assert.Contains(rig.Events, e => e.Data is P2mReadOnlyWriteData { Type: P2mType.GrantMapRo });
        Assert.Equal(4, rig.Events.Count(e => e.Kind == EventKind.GrantRefused));
    }

    [Fact]
    public void DestroyingTheGranterRevokesItsFramesFromMappers()
    {
        using var rig = new Rig();
        var b = GuestCode.New();
        b.Call(GrantOp, 0, 1, 1, 0x90001, 0);
        b.Label("sleep").Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block).J("sleep");
        DomainId a = rig.Add(Granter(), "a", memory: 16UL << 20), d = rig.Add(b, "b", memory: 16UL << 20);
        Assert.Equal(HypervisorStop.Idle, rig.Run().Stop);
        Assert.Equal(P2mType.GrantMapRw, rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x90001)).Type);
        rig.Hv.Dom0.Destroy(a);
        Assert.Equal(P2mType.Invalid, rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x90001)).Type);
    }
}
