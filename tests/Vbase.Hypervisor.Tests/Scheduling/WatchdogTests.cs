using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Scheduling;

/// <summary>
/// The watchdog (<see cref="DomainConfig.WatchdogInstructions"/>): a vCPU that runs too long without calling the
/// hypervisor ends its domain as crashed, with where it was; one that calls now and then, or a domain without a
/// watchdog, runs on.
/// </summary>
public sealed class WatchdogTests
{
    private const ulong Limit = 200_000;

    private static DomainId Add(Rig rig, ProgramBuilder program, ulong? watchdog)
    {
        DomainHandle h = rig.Hv.Dom0.CreateDomain(new DomainConfig
        {
            Name = "guest",
            Kernel = program.ToArray(),
            WatchdogInstructions = watchdog,
        });
        rig.Hv.Dom0.Unpause(h.Id);
        return h.Id;
    }

    [Fact]
    public void ASpinningVcpuIsStoppedWhereItSpins()
    {
        using var rig = new Rig();
        ProgramBuilder p = GuestCode.New().Print("up\n");
        ulong spin = GuestLayout.KernelBase + (ulong)p.ToArray().Length;
        DomainId d = Add(rig, p.Hang(), Limit);
        HypervisorRunResult r = rig.Run(10 * Limit);
        Assert.Equal(HypervisorStop.AllShutDown, r.Stop);
        DomainInfo info = rig.Info(d);
        Assert.Equal(ShutdownReason.Crash, info.Reason);
        DomainWedge wedge = Assert.IsType<DomainWedge>(info.Wedge);
        Assert.Equal((0, spin), (wedge.Vcpu, wedge.Pc));
        Assert.InRange(wedge.Instructions, Limit, Limit + rig.Hv.Options.SliceInstructions);
        HypervisorEvent e = Assert.Single(rig.Events, e => e.Kind == EventKind.DomainWedged);
        Assert.Equal(new DomainWedgedData(0, spin, wedge.Instructions), e.Data);
        Assert.Equal("up\n", rig.Console(d));
    }

    [Fact]
    public void AVcpuThatCallsTheHypervisorNowAndThenRunsOn()
    {
        using var rig = new Rig();
        // A busy loop of about 30,000 instructions between SBI calls, as a kernel between timer ticks.
        ProgramBuilder p = GuestCode.New().Label("tick").Sbi(Sbi.Base, 0)   // get_spec_version
            .Li(T0, 10_000).Label("busy").Emit(Addi(T0, T0, -1)).Bne(T0, Zero, "busy").J("tick");
        DomainId d = Add(rig, p, Limit);
        Assert.Equal(HypervisorStop.InstructionLimit, rig.Run(20 * Limit).Stop);
        Assert.Null(rig.Info(d).Wedge);
        Assert.DoesNotContain(rig.Events, e => e.Kind == EventKind.DomainWedged);
    }

    [Fact]
    public void WithoutAWatchdogASpinRunsToTheLimit()
    {
        using var rig = new Rig();
        DomainId d = Add(rig, GuestCode.New().Hang(), watchdog: null);   // not a Linux Image: no watchdog by default
        Assert.Equal(HypervisorStop.InstructionLimit, rig.Run(10 * Limit).Stop);
        Assert.Null(rig.Info(d).Wedge);
        Assert.Equal(0UL, new Domain(rig.Hv, new DomainId(9), new DomainConfig { Name = "x", Kernel = [] }).WatchdogInstructions);
    }
}
