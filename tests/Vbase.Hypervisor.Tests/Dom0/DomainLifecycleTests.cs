using System.Text;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Dom0;

public class DomainLifecycleTests
{
    [Fact]
    public void GuestPrintsAndShutsDownWithItsExitCode()
    {
        using var rig = new Rig();
        var chunks = new List<string>();
        var lines = new List<string>();
        DomainHandle h = rig.Hv.Dom0.CreateDomain(new DomainConfig
        {
            Name = "hello",
            Kernel = GuestCode.New().Print("hello\n").Print("wor").Print("ld\nbye").Shutdown(7).ToArray(),
            ConsoleOutput = (id, bytes) => chunks.Add($"{id}:{Encoding.ASCII.GetString(bytes)}"),
            ConsoleLine = (id, line) => lines.Add(line),
        });
        Assert.Equal(DomainState.Paused, rig.Info(h.Id).State);
        rig.Hv.Dom0.Unpause(h.Id);
        HypervisorRunResult r = rig.Run();
        Assert.Equal(HypervisorStop.AllShutDown, r.Stop);
        Assert.Equal("hello\nworld\nbye", rig.Console(h.Id));
        Assert.Equal(["d1:hello\n", "d1:wor", "d1:ld\nbye"], chunks);
        Assert.Equal(["hello", "world", "bye"], lines);
        DomainInfo info = rig.Info(h.Id);
        Assert.Equal(DomainState.Shutdown, info.State);
        Assert.Equal(ShutdownReason.Poweroff, info.Reason);
        Assert.Equal(7, info.ExitCode);
        Assert.True(info.Instructions > 0);
        Assert.Contains(rig.Events, e => e.Kind == EventKind.DomainShutdown && e.Domain == h.Id);
    }

    [Fact]
    public void VcpuStartsInSupervisorModeWithIdAndStartInfoInA0A1()
    {
        // Two-instruction slices: vCPU 1 saves its registers before vCPU 0 shuts the domain down.
        using var rig = new Rig(slice: 2);
        DomainId d = rig.Add(GuestCode.New().Emit(Mv(S2, A0), Mv(S3, A1)).Emit(Csrr(S4, Isa.Csrs.CsrAddress.Sstatus)).Shutdown(), vcpus: 2);
        rig.Run();
        Assert.Equal(0UL, rig.Reg(d, S2, 0));
        Assert.Equal(1UL, rig.Reg(d, S2, 1));
        Assert.Equal(GuestLayout.StartInfo, rig.Reg(d, S3));
        Assert.Equal(Isa.Traps.Privilege.Supervisor, rig.Hv.Dom0.GetPrivilege(d, 0));
    }

    [Fact]
    public void StartInfoDescribesTheDomainModulesAndCmdline()
    {
        using var rig = new Rig();
        DomainId d = rig.Add(GuestCode.New().Shutdown(), memory: 8UL << 20, unpause: false,
            modules: [new DomainModule("init", [1, 2, 3]), new DomainModule("app", [9, 9, 9, 9, 9, 9, 9, 9, 9])],
            cmdline: "quiet");
        byte[] page = new byte[4096];
        Assert.Equal(0, rig.Hv.Dom0.ReadGuest(d, new GuestPhysicalAddress(GuestLayout.StartInfo), page));
        Assert.Equal("VBASEST1", Encoding.ASCII.GetString(page, 0, 8));
        Assert.Equal(1UL, BitConverter.ToUInt64(page, StartInfoLayout.DomId));
        Assert.Equal(8UL << 20, BitConverter.ToUInt64(page, StartInfoLayout.RamSize));
        Assert.Equal(GuestLayout.SharedInfo, BitConverter.ToUInt64(page, StartInfoLayout.SharedInfoGpa));
        Assert.Equal(2UL, BitConverter.ToUInt64(page, StartInfoLayout.NrModules));
        Assert.Equal(GuestLayout.ModulesBase, BitConverter.ToUInt64(page, StartInfoLayout.Modules));
        Assert.Equal(GuestLayout.ModulesBase + 8, BitConverter.ToUInt64(page, StartInfoLayout.Modules + 64));
        Assert.Equal(9UL, BitConverter.ToUInt64(page, StartInfoLayout.Modules + 64 + 8));
        Assert.Equal("app", Encoding.ASCII.GetString(page, StartInfoLayout.Modules + 64 + 16, 3));
        Assert.Equal("quiet", Encoding.ASCII.GetString(page, StartInfoLayout.Cmdline, 5));
        Assert.Equal(9UL, rig.ReadU64(d, GuestLayout.ModulesBase + 8) & 0xFF);
    }

    [Fact]
    public void BuildErrorsNameTheirStageAndLeaveNoFramesBehind()
    {
        using var rig = new Rig(machineMemory: 8UL << 20);
        var e = Assert.Throws<DomainBuildException>(() => rig.Add([0x7F, (byte)'E', (byte)'L', (byte)'F', 0, 0]));
        Assert.Equal("kernel", e.Stage);
        e = Assert.Throws<DomainBuildException>(() => rig.Add(GuestCode.New().Shutdown(), memory: 64UL << 20));
        Assert.Equal("memory", e.Stage);
        e = Assert.Throws<DomainBuildException>(() => rig.Add(GuestCode.New().Shutdown(), vcpus: 9));
        Assert.Equal("config", e.Stage);
        // After the failures the whole machine is still free for a domain of 8 MiB.
        rig.Add(GuestCode.New().Shutdown(), memory: 8UL << 20);
    }

    [Fact]
    public void DestroyScrubsAndFreesTheFrames()
    {
        using var rig = new Rig(machineMemory: 8UL << 20);
        DomainId a = rig.Add(GuestCode.New().Shutdown(), memory: 8UL << 20, unpause: false);
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(a, new GuestPhysicalAddress(0x8010_0000), [0xAA]));
        rig.Hv.Dom0.Destroy(a);
        Assert.Throws<ArgumentException>(() => rig.Info(a));
        DomainId b = rig.Add(GuestCode.New().Shutdown(), memory: 8UL << 20, unpause: false);
        Assert.Equal(0UL, rig.ReadU64(b, 0x8010_0000));
    }

    [Fact]
    public void PausedDomainsDoNotRunAndShutdownNotifiesDom0()
    {
        using var rig = new Rig();
        var virqs = new List<int>();
        rig.Hv.Dom0.BindVirq(Virq.DomainException, v => virqs.Add(v.Virq));
        DomainId a = rig.Add(GuestCode.New().Shutdown(), unpause: false);
        Assert.Equal(HypervisorStop.Idle, rig.Run().Stop);
        Assert.Equal(0UL, rig.Info(a).Instructions);
        rig.Hv.Dom0.Unpause(a);
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run().Stop);
        Assert.Equal([Virq.DomainException], virqs);
    }

    [Fact]
    public void Dom0WritesToGuestCodeAreSeenByTheVcpu()
    {
        using var rig = new Rig();
        // Loops until Dom0 patches the branch at "spin" into a nop.
        var p = GuestCode.New();
        p.Label("spin").J("spin");
        p.Shutdown(5);
        DomainId d = rig.Add(p);
        Assert.Equal(HypervisorStop.InstructionLimit, rig.Run(50_000).Stop);
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(d, new GuestPhysicalAddress(GuestLayout.KernelBase), BitConverter.GetBytes(Nop())));
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run(50_000).Stop);
        Assert.Equal(5, rig.Info(d).ExitCode);
    }
}
