using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Isa.Encoding;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Sapi.Tests.Lifecycle;

/// <summary>
/// The lifecycle of <see cref="RegionArchitectureBase"/> driven by a real guest: an S-mode kernel that calls
/// <c>vbase_op</c> directly (bare satp) and stores each result in a slot.
/// </summary>
public sealed class RegionArchitectureBaseTests
{
    private const ulong DataGpa = 0x8030_0000, ListGpa = 0x8030_1000, BadListGpa = 0x8030_2000, Results = 0x803F_0000;
    private const ulong UnmappedGfn = 0x10;
    private const long Refused = -77, PluginAnswer = 1234;

    // Slots: 0 enter · 1 enter with count 0 · 2 query-like sub-call 3 · 3 plug-in sub-call 16 · 4 enter of an
    // unmapped GFN · 5 exit · 6 exit again (nothing left).
    private static byte[] Guest()
    {
        var p = new ProgramBuilder(GuestLayout.KernelBase);
        p.Li(S11, (long)Results);
        p.Li(T0, (long)DataGpa).Li(T1, 0x1122_3344).Emit(Sd(T1, T0, 0));
        p.Li(T0, (long)ListGpa).Li(T1, (long)(DataGpa >> PageSize.Shift)).Emit(Sd(T1, T0, 0));
        p.Li(T0, (long)BadListGpa).Li(T1, (long)UnmappedGfn).Emit(Sd(T1, T0, 0));
        VbaseOp(p, 0, VbaseOpCommand.Enter, ListGpa, 1, 0x4000);
        VbaseOp(p, 1, VbaseOpCommand.Enter, ListGpa, 0, 0);
        VbaseOp(p, 2, 3, 0, 0, 0);
        VbaseOp(p, 3, VbaseOpCommand.FirstPlugin, 7, 0, 0);
        VbaseOp(p, 4, VbaseOpCommand.Enter, BadListGpa, 1, 0);
        VbaseOp(p, 5, VbaseOpCommand.Exit, 0, 0, 0);
        VbaseOp(p, 6, VbaseOpCommand.Exit, 0, 0, 0);
        p.Li(A0, (long)SchedOpCommand.Shutdown).Li(A1, 0).Li(A2, 0).Li(A7, (long)HypercallNumber.SchedOp).Emit(Ecall());
        string hang = "hang";
        p.Label(hang).J(hang);
        return p.ToArray();
    }

    private static void VbaseOp(ProgramBuilder p, int slot, ulong command, ulong list, ulong count, ulong va)
    {
        p.Li(A0, (long)command).Li(A1, (long)list).Li(A2, (long)count).Li(A3, 0).Li(A4, (long)va);
        p.Li(A7, (long)HypercallNumber.VbaseOp).Emit(Ecall(), Sd(A0, S11, slot * 8));
    }

    private static (long[] Slots, List<HypervisorEvent> Events) Run(Recorder arch)
    {
        var events = new Sink();
        using var hv = new Hypervisor.Hypervisor(new HypervisorOptions { MachineMemory = 64UL << 20, SliceInstructions = 10_000, EventSink = events });
        hv.Plug(arch);
        hv.Dom0.BindVirq(Virq.Vbase, _ => arch.Log.Add($"virq regions={hv.Sapi.Regions.Count(r => r.IsActive)}"));
        DomainHandle d = hv.Dom0.CreateDomain(new DomainConfig { Name = "guest", Kernel = Guest(), MemoryBytes = 4UL << 20, VcpuCount = 1 });
        hv.Dom0.Unpause(d.Id);
        hv.Run(1_000_000);
        long[] slots = new long[7];
        byte[] b = new byte[8];
        for (int i = 0; i < slots.Length; i++)
        {
            Assert.Equal(0, hv.Dom0.ReadGuest(d.Id, new GuestPhysicalAddress(Results + ((ulong)i * 8)), b));
            slots[i] = BitConverter.ToInt64(b);
        }
        return (slots, events.Events);
    }

    [Fact]
    public void EnterAdmitsProtectsSealsThenTellsDom0_ExitUnsealsThenReleases()
    {
        var arch = new Recorder();
        (long[] slots, List<HypervisorEvent> events) = Run(arch);

        Assert.Equal(1, slots[0]);                     // the region's id
        Assert.Equal(Errno.EINVAL, slots[1]);          // a malformed frame list never reaches Admit
        Assert.Equal(Errno.ENOSYS, slots[2]);          // below FirstPlugin and not enter/exit
        Assert.Equal(PluginAnswer, slots[3]);          // FirstPlugin and up: OnPluginCall
        Assert.Equal(Errno.EINVAL, slots[4]);          // the default Admit: not the caller's ram_rw
        Assert.Equal(0, slots[5]);
        Assert.Equal(Errno.ENOENT, slots[6]);          // nothing left to release
        Assert.Equal(
        [
            "admit gfns=1",
            "seal region=1 active=True lines=64 first=0 last=63",
            "virq regions=1",
            "plugin 16 a1=7",
            "admit gfns=1",
            "unseal region=1 active=True",
        ], arch.Log);
        Assert.Contains(events, e => e.Kind == EventKind.RegionReleased);
        HypervisorEvent sealedEvent = Assert.Single(events, e => e.Kind == "recorder.sealed");
        Assert.Equal(EventField.Of("region", 1), Assert.Single(sealedEvent.Data.Fields()));
    }

    [Fact]
    public void AnAdmitRefusalLeavesNoRegion()
    {
        var arch = new Recorder { Admission = (_, _) => Refused };
        (long[] slots, List<HypervisorEvent> events) = Run(arch);

        Assert.Equal(Refused, slots[0]);
        Assert.Equal(Errno.ENOENT, slots[5]);
        Assert.DoesNotContain(arch.Log, l => l.StartsWith("seal", StringComparison.Ordinal) || l.StartsWith("virq", StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => e.Kind == EventKind.RegionProtected);
    }

    [Fact]
    public void AProtectRefusalReturnsTheDesignsErrno()
    {
        // Admit lets everything through, so the unmapped GFN reaches Protect, which refuses it.
        var arch = new Recorder { Admission = (_, _) => 0, ProtectRefused = Refused };
        (long[] slots, _) = Run(arch);

        Assert.Equal(1, slots[0]);
        Assert.Equal(Refused, slots[4]);
    }

    [Fact]
    public void ReleaseContextIsTheHypervisorLoadingOnTheOwnersBehalf()
    {
        var arch = new Recorder();
        Run(arch);

        MemoryAccessContext c = arch.ReleaseSeen!.Value;
        Assert.Equal(Accessor.Hypervisor, c.Accessor);
        Assert.Equal(AccessKind.Load, c.Kind);
        Assert.Equal(new DomainId(1), c.Domain);
        Assert.Equal(new DomainId(1), c.Initiator);
        Assert.Equal(0, c.Vcpu);
        Assert.Equal(new Gfn(DataGpa >> PageSize.Shift), c.Gfn);
        Assert.Equal(128, c.Offset);
        Assert.Equal(0, c.RegionPage);
        Assert.Equal(1, c.Region.Id);
    }

    private sealed class Sink : IHypervisorEventSink
    {
        public List<HypervisorEvent> Events { get; } = [];

        public void Record(HypervisorEvent e) => Events.Add(e);
    }

    /// <summary>Logs each hook; its Seal walks the region's lines, its Unseal builds a release context.</summary>
    private sealed class Recorder : RegionArchitectureBase
    {
        public List<string> Log { get; } = [];
        public Func<VbaseOpCall, RegionRequest, long>? Admission { get; init; }
        public long? ProtectRefused { get; init; }
        public MemoryAccessContext? ReleaseSeen { get; private set; }

        public override string Name => "recorder";

        protected override long ProtectRefusedErrno => ProtectRefused ?? base.ProtectRefusedErrno;

        protected override long Admit(VbaseOpCall call, RegionRequest request)
        {
            Log.Add($"admit gfns={request.Gfns.Count}");
            return Admission is null ? base.Admit(call, request) : Admission(call, request);
        }

        protected override void Seal(VbaseOpCall call, ProtectedRegion region)
        {
            var indices = new List<int>();
            ForEachLine(region, 64, line =>
            {
                Assert.Equal(LineAddressOf(region, line.Page, line.Offset), line.Address);
                Assert.Equal(64, line.Bytes.Length);
                indices.Add(line.Index);
            });
            Log.Add($"seal region={region.Id} active={region.IsActive} lines={indices.Count} first={indices[0]} last={indices[^1]}");
            Host.Record("recorder.sealed", call.Caller, call.VcpuId, EventField.Of("region", region.Id));
        }

        protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
        {
            Log.Add($"unseal region={region.Id} active={region.IsActive}");
            ReleaseSeen = ReleaseContext(call, region, 0, 128);
        }

        protected override long OnPluginCall(VbaseOpCall call)
        {
            Log.Add($"plugin {call.Command} a1={call.Arg(1)}");
            return PluginAnswer;
        }

        private static ulong LineAddressOf(ProtectedRegion region, int page, int offset) =>
            (region.Mfns[page].Value << PageSize.Shift) + (ulong)offset;
    }
}
