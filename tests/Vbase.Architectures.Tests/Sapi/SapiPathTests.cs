using Vbase.Architectures.None;
using Vbase.Architectures.Vbase;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Dom0;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// Each SAPI path with real guest code (<see cref="SecureProcessGuest"/>): the owning process, the guest kernel,
/// another process, Dom0, and the golden shadow, under the paper's <c>vbase</c> and the baseline <c>none</c>.
/// </summary>
public sealed class SapiPathTests
{
    private sealed class Run
    {
        public required Rig Rig { get; init; }
        public required DomainId Domain { get; init; }
        public ulong[] Slots { get; } = new ulong[11];
        public byte[]? Dom0ReadAtVirq { get; set; }
        public ulong? VirqTime { get; set; }
        public IEnumerable<HypervisorEvent> Of(string kind) => Rig.Events.Where(e => e.Kind == kind);
    }

    private static Run RunGuest(ISecureArchitecture arch, Action<Rig, HypervisorEvent>? onEvent = null, int appStores = 1,
        Isa.Harts.ExecutionEngine engine = Isa.Harts.ExecutionEngine.Translator)
    {
        var rig = new Rig(engine: engine, translationThreshold: 1);
        rig.OnEvent = e => onEvent?.Invoke(rig, e);
        rig.Hv.Plug(arch);
        DomainId dom = default;
        var run = new Run { Rig = rig, Domain = dom };
        rig.Hv.Dom0.BindVirq(Virq.Vbase, v =>
        {
            // The Monitor's moment: Dom0 maps the registered frame while the application waits in its hypercall.
            ForeignMapping m = rig.Hv.Dom0.MapForeign(new DomainId(1), [new Gfn(SecretGpa >> 12)], writable: false);
            run.Dom0ReadAtVirq = m.Read(0)[..8].ToArray();
            run.VirqTime = v.Time;
        });
        dom = rig.Add(Build(appStores), memory: 4UL << 20);
        HypervisorRunResult r = rig.Run(1_000_000);
        Assert.Equal(HypervisorStop.AllShutDown, r.Stop);
        var result = new Run { Rig = rig, Domain = dom, Dom0ReadAtVirq = run.Dom0ReadAtVirq, VirqTime = run.VirqTime };
        for (int i = 0; i < result.Slots.Length; i++)
        {
            result.Slots[i] = rig.ReadU64(dom, GuestCode.Results + (ulong)i * 8);
        }
        return result;
    }

    private static ISecureArchitecture Vbase() => new VbaseArchitecture(new ArchitectureOptions { Seed = 7 });

    private static ISecureArchitecture None() => new NoneArchitecture(new ArchitectureOptions());

    [Fact]
    public void UnderVbaseTheOwnerReadsPlaintextAndEveryoneElseCiphertext()
    {
        Run run = RunGuest(Vbase());
        Assert.Equal(1UL, run.Slots[0]);                 // region 1 registered
        Assert.Equal(Secret, run.Slots[1]);              // A, secure, reads plaintext
        Assert.Equal(Secret, run.Slots[2]);              // A's own write was dropped
        Assert.NotEqual(Secret, run.Slots[3]);           // the kernel sees ciphertext
        Assert.Equal(run.Slots[3], run.Slots[4]);        // B sees the same ciphertext: the kernel's write was dropped too
        Assert.Equal(Secret, run.Slots[5]);              // A again, after a context switch through B: plaintext
        Assert.Equal(0UL, run.Slots[6]);                 // exit
        Assert.Equal(Secret, run.Slots[7]);              // after exit DRAM holds the plaintext again
        Assert.Equal((ulong)FunctionResult, run.Slots[8]); // code in the protected page ran, fetched as plaintext
    }

    [Fact]
    public void UnderVbaseDom0ForeignReadGetsCiphertextAndUnderNonePlaintext()
    {
        Run vbase = RunGuest(Vbase());
        Assert.NotNull(vbase.Dom0ReadAtVirq);
        Assert.NotEqual(Secret, BitConverter.ToUInt64(vbase.Dom0ReadAtVirq));
        Assert.Equal(vbase.Slots[3], BitConverter.ToUInt64(vbase.Dom0ReadAtVirq));   // the same bytes the kernel saw

        Run none = RunGuest(None());
        Assert.Equal(Secret, BitConverter.ToUInt64(none.Dom0ReadAtVirq!));
    }

    [Fact]
    public void UnderVbaseEveryWriteToAProtectedFrameIsDroppedAndReported()
    {
        Run run = RunGuest(Vbase());
        WriteDroppedData[] drops = [.. run.Of(EventKind.ProtectedWriteDropped).Select(e => Assert.IsType<WriteDroppedData>(e.Data))];
        Assert.Equal(2, drops.Length);
        Assert.Equal(Accessor.GuestUser, drops[0].Accessor);
        Assert.Equal(Accessor.GuestKernel, drops[1].Accessor);
        Assert.All(drops, d => Assert.Equal(SecretGpa, d.Address.Value));
        Assert.All(drops, d => Assert.Equal(P2mType.RamRo, d.P2m));
        Assert.Empty(run.Of(EventKind.ShadowMismatch));
    }

    [Theory]
    [InlineData(Isa.Harts.ExecutionEngine.Interpreter)]
    [InlineData(Isa.Harts.ExecutionEngine.Translator)]
    public void AfterTheFirstReportedDropTheHartDropsAndCountsTheRestItself(Isa.Harts.ExecutionEngine engine)
    {
        const int stores = 1000;
        Run run = RunGuest(Vbase(), appStores: stores, engine: engine);
        // One store of the loop reported in full; the other 999 dropped on the hart's fast path and counted, reported
        // as one event when the region is released (before its release event). The kernel's write is reported apart.
        WriteDroppedData[] drops = [.. run.Of(EventKind.ProtectedWriteDropped).Select(e => Assert.IsType<WriteDroppedData>(e.Data))];
        Assert.Equal([Accessor.GuestUser, Accessor.GuestKernel], drops.Select(d => d.Accessor));
        HypervisorEvent counted = Assert.Single(run.Of(EventKind.ProtectedWritesCounted));
        Assert.Equal(new WritesDroppedData(1, Accessor.GuestUser, true, stores - 1), counted.Data);
        Assert.Equal(EventKind.RegionReleased, run.Rig.Events[run.Rig.Events.IndexOf(counted) + 1].Kind);
        Assert.Equal(stores + 1, run.Rig.Hv.Sapi.Regions.Single().DroppedWrites);
        Assert.Equal(Secret, run.Slots[2]);        // none of them landed
        Assert.Empty(run.Of(EventKind.ShadowMismatch));
    }

    [Fact]
    public void CountedDropsGiveTheSameEventsUnderBothEngines()
    {
        string Log(Isa.Harts.ExecutionEngine engine) => string.Join('\n',
            RunGuest(Vbase(), appStores: 300, engine: engine).Rig.Events.Select(e => $"{e.Time} {e.Kind} {e.Message}"));
        Assert.Equal(Log(Isa.Harts.ExecutionEngine.Interpreter), Log(Isa.Harts.ExecutionEngine.Translator));
    }

    [Fact]
    public void UnderNoneTheKernelsWriteLandsAndTheOracleSeesTheApplicationReadIt()
    {
        Run run = RunGuest(None());
        Assert.Equal(Secret, run.Slots[1]);
        Assert.Equal(AppWrite, run.Slots[2]);            // the application's own write landed
        Assert.Equal(AppWrite, run.Slots[3]);
        Assert.Equal(KernelWrite, run.Slots[4]);         // and so did the kernel's
        Assert.Equal(KernelWrite, run.Slots[5]);
        Assert.Empty(run.Of(EventKind.ProtectedWriteDropped));
        // The application consumed data it never wrote: exactly one read differs from the golden shadow.
        ShadowMismatch m = Assert.Single(run.Rig.Hv.Dom0.ShadowMismatches);
        Assert.Equal(AppWrite, BitConverter.ToUInt64(m.Expected));
        Assert.Equal(KernelWrite, BitConverter.ToUInt64(m.Actual));
        Assert.Single(run.Of(EventKind.ShadowMismatch));
    }

    [Theory]
    [InlineData("vbase", Secret)]          // nothing the application wrote was accepted
    [InlineData("none", AppWrite)]         // its own write was; the kernel's is not the application's
    public void TheShadowTracksAcceptedWritesOfTheApplicationOnly(string arch, ulong expected)
    {
        // Read as the region is released: its shadow is freed right after.
        byte[] shadow = new byte[8];
        int? error = null;
        Run run = RunGuest(arch == "vbase" ? Vbase() : None(), (rig, e) =>
        {
            if (e.Kind == EventKind.RegionReleased)
            {
                error = rig.Hv.Dom0.ReadRegion(1, 0, shadow, MemoryView.Shadow);
            }
        });
        Assert.Equal(0, error);
        Assert.Equal(expected, BitConverter.ToUInt64(shadow));
        Assert.Equal(Errno.EINVAL, run.Rig.Hv.Dom0.ReadRegion(1, 0, shadow, MemoryView.Shadow));
    }

    [Fact]
    public void TheSecureProcessIsSuspendedAndResumedAroundTheKernelAndTheOtherProcess()
    {
        Run run = RunGuest(Vbase());
        string[] story = [.. run.Rig.Events
            .Where(e => e.Kind is EventKind.RegionProtected or EventKind.SecureResume or EventKind.SecureSuspend or EventKind.RegionReleased)
            .Select(e => e.Kind)];
        Assert.Equal(
        [
            EventKind.RegionProtected,
            EventKind.SecureResume, EventKind.SecureSuspend,    // A runs, traps to the kernel (which runs B)
            EventKind.SecureResume, EventKind.SecureSuspend,    // A again
            EventKind.RegionReleased,
        ], story);
    }

    [Fact]
    public void RegistrationRaisesVirqVbaseToDom0BeforeTheApplicationContinues()
    {
        Run run = RunGuest(Vbase());
        Assert.NotNull(run.VirqTime);
        HypervisorEvent protectedAt = Assert.Single(run.Of(EventKind.RegionProtected));
        HypervisorEvent firstUserDrop = run.Of(EventKind.ProtectedWriteDropped).First();
        Assert.Equal(protectedAt.Time, run.VirqTime);
        Assert.True(run.VirqTime < firstUserDrop.Time);
        Assert.Contains(run.Rig.Events, e => e.Data is VirqSentData { Bound: true } v && v.To == DomainId.Dom0);
    }

    [Fact]
    public void QueryIsPrivilegedAndDescribesTheRegion()
    {
        Run run = RunGuest(Vbase());
        RegionReport r = Assert.Single(run.Rig.Hv.Dom0.QueryRegions());
        Assert.Equal(new GuestVirtualAddress(SecretGpa - 0x8000_0000), r.VirtualAddress);
        Assert.Equal([new Gfn(SecretGpa >> 12)], r.Gfns);
        Assert.False(r.Active);
        Assert.Contains(r.State, kv => kv.Key == "writes_dropped" && kv.Value == "2");

        using var rig = new Rig();
        rig.Hv.Plug(Vbase());
        DomainId d = rig.Add(GuestCode.New().WithResults().Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Query).Save(0).Shutdown());
        rig.Run();
        Assert.Equal(unchecked((ulong)Errno.EPERM), rig.ReadU64(d, GuestCode.Results));
    }

    [Fact]
    public void TheMonitorsViewsShowDramCiphertextAndApplicationPlaintextWhileProtected()
    {
        using var rig = new Rig();
        rig.Hv.Plug(Vbase());
        byte[] dram = new byte[8], plain = new byte[8];
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
        {
            Assert.Equal(0, rig.Hv.Dom0.ReadRegion(1, 0, dram, MemoryView.Dram));
            Assert.Equal(0, rig.Hv.Dom0.ReadRegion(1, 0, plain, MemoryView.Application));
        });
        rig.Add(Build());
        rig.Run();
        Assert.Equal(Secret, BitConverter.ToUInt64(plain));
        Assert.NotEqual(Secret, BitConverter.ToUInt64(dram));
        Assert.Equal((int)Errno.ENOENT, rig.Hv.Dom0.ReadRegion(9, 0, dram, MemoryView.Dram));
    }

    [Fact]
    public void MalformedEnterCallsGetErrorsNotExceptions()
    {
        using var rig = new Rig();
        rig.Hv.Plug(Vbase());
        DomainId d = rig.Add(GuestCode.New().WithResults()
            .Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, 0x7000_0000, 1).Save(0)          // list outside RAM
            .Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, 0x8030_0000, 0).Save(1)          // no frames
            .Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, 0x8030_0000, 100_000).Save(2)    // too many
            .Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Exit).Save(3)                          // nothing registered
            .Call(HypercallNumber.VbaseOp, 999).Save(4)
            .Shutdown());
        rig.Run();
        long[] expected = [Errno.EFAULT, Errno.EINVAL, Errno.EINVAL, Errno.ENOENT, Errno.ENOSYS];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(unchecked((ulong)expected[i]), rig.ReadU64(d, GuestCode.Results + (ulong)i * 8));
        }
    }
}
