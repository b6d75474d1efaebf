using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Logging;
using Vbase.Hypervisor.Scheduling;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Isolation;

/// <summary>
/// Guests that try to exhaust the host: what the hypervisor keeps for them stays bounded, by design, and says
/// so in the event log (bench/hostile.sh runs the same attacks at length and measures the process).
/// </summary>
public class HostileGuestTests
{
    private const ulong Buffer = 0x8030_0000;

    [Fact]
    public void AConsoleFloodIsCutAtTheLimitWithOneEventAndTheTailStaysSmall()
    {
        using var rig = new Rig();
        const ulong limit = 256 * 1024;
        const int calls = 40;               // 40 × 64 KiB = 2.5 MiB, ten times the limit
        long delivered = 0;
        var p = GuestCode.New();
        p.Li(S2, calls).Label("loop");
        p.Call(HypercallNumber.ConsoleIo, (long)ConsoleIoCommand.Write, 64 * 1024, (long)Buffer);
        p.Emit(Mv(S3, A0), Addi(S2, S2, -1)).Bne(S2, Zero, "loop");
        // Past the limit a bad buffer is still refused (checked as a copy would be).
        p.Call(HypercallNumber.ConsoleIo, (long)ConsoleIoCommand.Write, 16, 0x1000).Emit(Mv(S4, A0));
        p.Shutdown();
        DomainHandle h = rig.Hv.Dom0.CreateDomain(new DomainConfig
        {
            Name = "flood",
            Kernel = p.ToArray(),
            MemoryBytes = 4UL << 20,
            ConsoleLimitBytes = limit,
            ConsoleOutput = (_, bytes) => delivered += bytes.Length,
        });
        rig.Hv.Dom0.Unpause(h.Id);
        rig.Run(50_000_000);

        Assert.Equal((long)limit, delivered);
        Assert.Equal(64 * 1024UL, rig.Reg(h.Id, S3));                   // the guest is told its bytes were taken
        Assert.Equal(unchecked((ulong)Errno.EFAULT), rig.Reg(h.Id, S4));
        Assert.Equal(Domain.ConsoleTailBytes, rig.Console(h.Id).Length);
        ConsoleDroppedData[] dropped = [.. rig.Events.Select(e => e.Data).OfType<ConsoleDroppedData>()];
        Assert.Equal(2, dropped.Length);                                // the first drop, then the count at shutdown
        Assert.False(dropped[0].AtShutdown);
        Assert.True(dropped[1].AtShutdown);
        Assert.Equal((ulong)(calls * 64 * 1024) - limit, dropped[1].Dropped);
        Assert.Equal(limit, dropped[1].Limit);
    }

    [Fact]
    public void AFloodOfReadOnlyStoresIsFoldedIntoSummariesThatCountEveryStore()
    {
        using var rig = new Rig();
        const int stores = 50_000;
        var p = GuestCode.New();
        p.Li(S2, stores).Li(T0, (long)GuestLayout.StartInfo).Label("loop");
        p.Emit(Sd(S2, T0, 0), Addi(S2, S2, -1)).Bne(S2, Zero, "loop");
        p.Shutdown();
        DomainId d = rig.Add(p);
        rig.Run(50_000_000);

        HypervisorEvent[] logged = [.. rig.Events.Where(e => e.Kind == EventKind.P2mReadOnlyWrite)];
        long suppressed = rig.Events.Select(e => e.Data).OfType<EventsSuppressedData>().Sum(d => d.Suppressed);
        Assert.Equal(stores, logged.Length + suppressed);
        // 50,000 stores run within one interval: the first Burst are logged.
        Assert.Equal(EventFloodLimiter.Burst, logged.Length);
        Assert.All(rig.Events.Where(e => e.Kind == EventKind.EventsSuppressed), e => Assert.Equal(d, e.Domain));
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run().Stop);
    }

    [Fact]
    public void AFloodDoesNotHideAnEventOfTheSameKindButAnotherShape()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        // 1,000 denied domctls ("domctl: not privileged"), then one denied map_foreign: the same kind, another shape.
        p.Li(S2, 1000).Label("loop");
        p.Call(HypercallNumber.Domctl, 0);
        p.Emit(Addi(S2, S2, -1)).Bne(S2, Zero, "loop");
        p.Call(HypercallNumber.MemoryOp, (long)MemoryOpCommand.MapForeign, 0, 0x80300, 0x90000);
        p.Shutdown();
        rig.Add(p);
        rig.Run(10_000_000);
        HypercallDeniedData[] denied = [.. rig.Events.Select(e => e.Data).OfType<HypercallDeniedData>()];
        Assert.Equal(EventFloodLimiter.Burst, denied.Count(e => e is { Hypercall: "domctl", Operation: null }));
        Assert.Single(denied, e => e is { Hypercall: "memory_op", Operation: "map_foreign" });
    }

    [Theory]
    [InlineData("aegis: integrity tree mismatch on line 12 (counter 7)", "aegis: integrity tree mismatch on line # (counter #)")]
    [InlineData("va 0x401000 maps gfn 0x8022b", "va # maps gfn #")]
    [InlineData("gfn 80216: ram_rw mfn 216 -> ram_ro mfn 216", "gfn #: ram_rw mfn # -> ram_ro mfn #")]
    public void AShapeKeepsTheWordsOfATextAndDropsTheNumbers(string text, string shape) =>
        Assert.Equal(shape, EventFloodLimiter.Shape(text));

    [Fact]
    public void AnEventsShapeIsItsFieldsWithTheNumbersTakenOut()
    {
        var floods = new EventFloodLimiter((_, _, _) => { });
        Assert.Equal("gpa=# size=# type=ram_ro", floods.Shape(new P2mReadOnlyWriteData(new GuestPhysicalAddress(0x8000_1000), 8, P2mType.RamRo)));
        Assert.Equal("region=# accessor=guest_kernel owner=no gpa=# mfn=# size=# data=# p2m=ram_rw by=arch",
            floods.Shape(new WriteDroppedData(12, Accessor.GuestKernel, false, new GuestPhysicalAddress(0x8021_6000), new Mfn(0x216), 4,
                "fd2dd108", P2mType.RamRw, DropCause.Architecture)));
        Assert.Equal("gfn=# old_type=ram_rw old_mfn=# new_type=ram_ro new_mfn=#",
            floods.Shape(new P2mChangeData(new Gfn(0x80216), new P2mEntry(new Mfn(0x216), P2mType.RamRw), new P2mEntry(new Mfn(0x216), P2mType.RamRo))));
        // A text field keeps its words: two plug-in reasons are two shapes, two lines of one reason are one.
        Assert.Equal("hypercall=memory_op op=map_foreign", floods.Shape(new HypercallDeniedData("memory_op", "map_foreign")));
        Assert.Equal("hypercall=domctl", floods.Shape(new HypercallDeniedData("domctl", null)));
    }

    [Fact]
    public void ADeadlinePastTheEndOfTimeIsRefusedAndTimeSaturatesInsteadOfWrapping()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Li(A0, unchecked((long)0xFFFF_FFFF_FFFF_F000)).Li(A7, (long)HypercallNumber.SetTimerOp).Emit(Ecall(), Mv(S2, A0));
        p.Li(A0, long.MaxValue).Li(A7, (long)HypercallNumber.SetTimerOp).Emit(Ecall());
        p.Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block);
        p.Call(HypercallNumber.VcpuOp, (long)VcpuOpCommand.CurrentTime).Emit(Mv(S3, A0));
        p.Li(S5, 1000).Label("spin").Emit(Addi(S5, S5, -1)).Bne(S5, Zero, "spin");
        p.Call(HypercallNumber.VcpuOp, (long)VcpuOpCommand.CurrentTime).Emit(Mv(S4, A0));
        p.Shutdown();
        DomainId d = rig.Add(p);
        rig.Run(1_000_000);

        Assert.Equal(unchecked((ulong)Errno.EINVAL), rig.Reg(d, S2));
        Assert.Equal(Vcpu.MaxTime, rig.Reg(d, S3));
        Assert.Equal(Vcpu.MaxTime, rig.Reg(d, S4));
        Assert.Equal(Vcpu.MaxTime, rig.Hv.Now);
        Assert.Single(rig.Events, e => e.Kind == EventKind.TimeSaturated);
        ulong last = 0;
        foreach (HypervisorEvent e in rig.Events)
        {
            Assert.True(e.Time >= last, $"{e.Kind} at {e.Time} after {last}");
            Assert.True(e.Time <= Vcpu.MaxTime);
            last = e.Time;
        }
    }
}
