using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Isa.Traps;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.P2m;

public class P2mTests
{
    private const ulong Probe = 0x9000_0000; // a GFN outside RAM that tests map with Dom0

    /// <summary>Installs a trap handler that saves scause/stval in s2/s3 and shuts down with 99.</summary>
    internal static ProgramBuilder WithTrapHandler(ProgramBuilder p)
    {
        p.La(T0, "trap").Emit(Csrw(Stvec, T0)).J("main");
        p.Align(4).Label("trap").Emit(Csrr(S2, Scause), Csrr(S3, Stval)).Shutdown(99);
        return p.Label("main");
    }

    [Fact]
    public void GuestRamIsTheDomainsOwnFrames()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Li(T0, 0x8030_0000).Li(T1, 0x1122_3344_5566_7788).Emit(Sd(T1, T0, 0), Ld(S2, T0, 0)).Shutdown();
        DomainId d = rig.Add(p);
        rig.Run();
        Assert.Equal(0x1122_3344_5566_7788UL, rig.Reg(d, S2));
        Assert.Equal(0x1122_3344_5566_7788UL, rig.ReadU64(d, 0x8030_0000));
        P2mEntry e = rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x80300));
        Assert.Equal(P2mType.RamRw, e.Type);
        Assert.Equal(d, rig.Hv.Machine.OwnerOf(e.Mfn));
        Assert.Equal(0x88, rig.Hv.Machine.Frame(e.Mfn)[0]);
    }

    [Fact]
    public void StoresAndAmosToTheReadOnlyStartInfoAreDroppedAndReported()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Li(T0, (long)GuestLayout.StartInfo).Li(T1, -1).Emit(Sd(T1, T0, 0), Sb(T1, T0, 9), AmoorD(S4, T1, T0), Ld(S2, T0, 0)).Shutdown();
        DomainId d = rig.Add(p);
        rig.Run();
        Assert.Equal(BitConverter.ToUInt64("VBASEST1"u8), rig.Reg(d, S2));
        Assert.Equal(BitConverter.ToUInt64("VBASEST1"u8), rig.Reg(d, S4)); // the AMO read the old value
        Assert.Equal(3, rig.Events.Count(e => e.Kind == EventKind.P2mReadOnlyWrite && e.Domain == d && e.Vcpu == 0));
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run().Stop);
    }

    public static TheoryData<P2mType, bool> ReadableTypes() => new()
    {
        { P2mType.RamRw, true },
        { P2mType.RamRo, false },
        { P2mType.GrantMapRw, true },
        { P2mType.GrantMapRo, false },
        { P2mType.MapForeignRw, true },
        { P2mType.MapForeignRo, false },
    };

    [Theory]
    [MemberData(nameof(ReadableTypes))]
    public void EachReadableTypeReadsTheFrameAndOnlyWritableOnesTakeStores(P2mType type, bool writable)
    {
        using var rig = new Rig();
        var p = WithTrapHandler(GuestCode.New());
        p.Li(T0, (long)Probe).Li(T1, 0x55).Emit(Ld(S4, T0, 0), Sd(T1, T0, 0), Ld(S2, T0, 0)).Shutdown();
        DomainId d = rig.Add(p, unpause: false);
        Mfn backing = rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x80300)).Mfn;
        rig.Hv.Machine.Frame(backing)[0] = 0x11;
        rig.Hv.Dom0.SetP2mEntry(d, new GuestPhysicalAddress(Probe).Gfn, new P2mEntry(backing, type));
        rig.Hv.Dom0.Unpause(d);
        rig.Run();
        Assert.Equal(0L, rig.Info(d).ExitCode);
        Assert.Equal(0x11UL, rig.Reg(d, S4));
        Assert.Equal(writable ? 0x55UL : 0x11UL, rig.Reg(d, S2));
        Assert.Equal(writable ? 0 : 1, rig.Events.Count(e => e.Kind == EventKind.P2mReadOnlyWrite));
    }

    public static TheoryData<int, ExceptionCause> Faults() => new()
    {
        { 0, ExceptionCause.LoadAccessFault },
        { 1, ExceptionCause.StoreAccessFault },
        { 2, ExceptionCause.InstructionAccessFault },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void AnInvalidGfnIsAnAccessFaultInTheGuest(int kind, ExceptionCause cause)
    {
        using var rig = new Rig();
        var p = WithTrapHandler(GuestCode.New());
        p.Li(T0, (long)Probe);
        p.Emit(kind switch { 0 => Ld(T1, T0, 8), 1 => Sd(T1, T0, 8), _ => Jalr(Zero, T0, 8) });
        p.Shutdown(0);
        DomainId d = rig.Add(p);
        rig.Run();
        Assert.Equal(99L, rig.Info(d).ExitCode);
        Assert.Equal((ulong)cause, rig.Reg(d, S2));
        Assert.Equal(Probe + 8, rig.Reg(d, S3));
    }

    [Fact]
    public void MmioWithoutADeviceIsAnAccessFault()
    {
        using var rig = new Rig();
        var p = WithTrapHandler(GuestCode.New());
        p.Li(T0, (long)Probe).Emit(Ld(T1, T0, 0)).Shutdown(0);
        DomainId d = rig.Add(p, unpause: false);
        rig.Hv.Dom0.SetP2mEntry(d, new GuestPhysicalAddress(Probe).Gfn, new P2mEntry(new Mfn(0), P2mType.Mmio));
        rig.Hv.Dom0.Unpause(d);
        rig.Run();
        Assert.Equal(99L, rig.Info(d).ExitCode);
        Assert.Equal((ulong)ExceptionCause.LoadAccessFault, rig.Reg(d, S2));
    }

    [Fact]
    public void RemovingACachedEntryTakesEffectAtOnce()
    {
        using var rig = new Rig();
        var p = WithTrapHandler(GuestCode.New());
        // The load fills the TLB; the guest spins until Dom0 has removed the page and raised a flag.
        p.Li(T0, 0x8030_0000).Li(T2, 0x8031_0000).Label("spin").Emit(Ld(S4, T0, 0), Ld(T1, T2, 0)).Beq(T1, Zero, "spin");
        p.Emit(Ld(S4, T0, 0)).Shutdown(0);
        DomainId d = rig.Add(p);
        var gfn = new Gfn(0x80300);
        Assert.Equal(HypervisorStop.InstructionLimit, rig.Hv.Run(5_000).Stop);
        rig.Hv.Dom0.SetP2mEntry(d, gfn, P2mEntry.Invalid);
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(d, new GuestPhysicalAddress(0x8031_0000), [1]));
        rig.Run();
        Assert.Equal(99L, rig.Info(d).ExitCode);
        Assert.Equal((ulong)ExceptionCause.LoadAccessFault, rig.Reg(d, S2));
        Assert.Contains(rig.Events, e => e.Data is P2mChangeData { Old.Type: P2mType.RamRw, New.Type: P2mType.Invalid } c && c.Gfn == gfn);
    }
}
