using System.Text;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Scheduling;

public class SchedulerTests
{
    /// <summary>Prints "&lt;tag&gt;" 20 times with a busy loop of <paramref name="spin"/> iterations between.</summary>
    private static ProgramBuilder Chatty(char tag, int spin)
    {
        var p = GuestCode.New();
        p.Li(S2, 20).Label("again").Print(tag.ToString());
        p.Li(T0, spin).Label("busy").Emit(Addi(T0, T0, -1)).Bne(T0, Zero, "busy");
        p.Emit(Addi(S2, S2, -1)).Bne(S2, Zero, "again");
        return p.Shutdown();
    }

    private static (string Interleaving, ulong A, ulong B, ulong Now) RunTwoChattyDomains()
    {
        using var rig = new Rig(slice: 700);
        var order = new StringBuilder();
        DomainId Add(char tag, int spin)
        {
            DomainHandle h = rig.Hv.Dom0.CreateDomain(new DomainConfig
            {
                Name = tag.ToString(),
                Kernel = Chatty(tag, spin).ToArray(),
                ConsoleOutput = (_, bytes) => order.Append(Encoding.ASCII.GetString(bytes)),
            });
            rig.Hv.Dom0.Unpause(h.Id);
            return h.Id;
        }
        DomainId a = Add('a', 300), b = Add('b', 500);
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run().Stop);
        return (order.ToString(), rig.Info(a).Instructions, rig.Info(b).Instructions, rig.Hv.Now);
    }

    [Fact]
    public void TwoIdenticalRunsGiveIdenticalInterleavingsAndCounts()
    {
        var first = RunTwoChattyDomains();
        var second = RunTwoChattyDomains();
        Assert.Equal(first, second);
        Assert.Equal(20, first.Interleaving.Count(c => c == 'a'));
        // Interleaved, not one domain after the other.
        Assert.True(first.Interleaving.IndexOf('b') < first.Interleaving.LastIndexOf('a'));
        // Virtual time also counts the ecalls, which trap rather than retire.
        Assert.Equal(first.A + first.B + 42, first.Now);
    }

    [Fact]
    public void SetTimerAndBlockSkipsTimeAheadAndDeliversVirqTimer()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.BindVirq, Virq.Timer, 0);
        p.Call(HypercallNumber.VcpuOp, (long)VcpuOpCommand.CurrentTime).Li(T0, 1_000_000).Emit(Add(S3, A0, T0));
        p.Emit(Mv(A0, S3)).Li(A7, (long)HypercallNumber.SetTimerOp).Emit(Ecall());
        p.Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block);
        p.Call(HypercallNumber.VcpuOp, (long)VcpuOpCommand.CurrentTime).Emit(Sub(S2, A0, S3));
        p.Li(T0, (long)GuestLayout.SharedInfo).Emit(Ld(S4, T0, 0));
        p.ShutdownWith(S2);
        DomainId d = rig.Add(p);
        HypervisorRunResult r = rig.Run();
        Assert.Equal(HypervisorStop.AllShutDown, r.Stop);
        Assert.InRange(rig.Info(d).ExitCode!.Value, 0, 20);
        Assert.True(r.Instructions < 100);
        Assert.True(r.VirtualTime >= 1_000_000);
        Assert.Equal(2UL, rig.Reg(d, Isa.Encoding.Assembler.S4)); // port 1 pending
    }

    [Fact]
    public void SbiSetTimerRaisesTheSupervisorTimerInterrupt()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.La(T0, "tick").Emit(Csrw(Stvec, T0)).J("main");
        p.Align(4).Label("tick").Emit(Addi(S5, S5, 1), Csrr(S6, Scause), Csrr(S7, Time));
        p.Sbi(Sbi.Time, 0, -1).Emit(Sret()); // far future: STIP drops
        p.Label("main").Li(T0, 1 << 5).Emit(Csrs(Sie, T0), Csrsi(Sstatus, 2));
        p.Emit(Csrr(S3, Time)).Li(T0, 5000).Emit(Add(S3, S3, T0));
        p.Emit(Mv(A0, S3)).Li(A6, 0).Li(A7, (long)Sbi.Time).Emit(Ecall());
        p.Label("spin").Beq(S5, Zero, "spin");
        p.Li(T1, 3000).Label("more").Emit(Addi(T1, T1, -1)).Bne(T1, Zero, "more");
        p.ShutdownWith(S5);
        DomainId d = rig.Add(p);
        rig.Run();
        Assert.Equal(1L, rig.Info(d).ExitCode);
        Assert.Equal((1UL << 63) | 5, rig.Reg(d, S6));
        Assert.InRange(rig.Reg(d, S7) - rig.Reg(d, S3), 0UL, 10UL);
    }

    [Fact]
    public void EverythingBlockedWithNothingPendingEndsTheRunAsIdle()
    {
        using var rig = new Rig();
        DomainId d = rig.Add(GuestCode.New().Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block).Shutdown(3));
        Assert.Equal(HypervisorStop.Idle, rig.Run().Stop);
        Assert.Equal(DomainState.Blocked, rig.Info(d).State);
        Assert.Contains(rig.Events, e => e.Kind == EventKind.RunIdle);
    }

    [Fact]
    public void AVcpuIdleInWfiWakesOnAnEvent()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.BindVirq, Virq.Vbase, 0);
        p.Li(T0, 1 << 9).Emit(Csrs(Sie, T0)); // enabled in sie, but sstatus.SIE stays off: WFI just resumes
        p.Emit(Wfi()).Shutdown(7);
        DomainId d = rig.Add(p);
        Assert.Equal(HypervisorStop.Idle, rig.Run().Stop);
        Assert.Equal(DomainState.Blocked, rig.Info(d).State);
        Assert.True(rig.Hv.Dom0.SendVirq(d, Virq.Vbase));
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run().Stop);
        Assert.Equal(7L, rig.Info(d).ExitCode);
    }

    [Fact]
    public void AStoreByAnotherVcpuWhileDescheduledBreaksTheReservation()
    {
        using var rig = new Rig(slice: 20);
        var p = GuestCode.New();
        p.Li(T0, 0x8030_0000).Bne(A0, Zero, "v1");
        // vCPU 0: lr.d, lose the CPU to vCPU 1 (which stores to the address), then sc.d.
        p.Emit(LrD(T1, T0)).Li(T2, 200).Label("spin").Emit(Addi(T2, T2, -1)).Bne(T2, Zero, "spin");
        p.Li(T3, 5).Emit(ScD(S2, T3, T0)).ShutdownWith(S2);
        p.Label("v1").Li(T3, 9).Emit(Sd(T3, T0, 0)).Hang();
        DomainId d = rig.Add(p, vcpus: 2);
        rig.Run();
        Assert.Equal(1L, rig.Info(d).ExitCode); // sc.d failed
        Assert.Equal(9UL, rig.ReadU64(d, 0x8030_0000));
    }

    [Fact]
    public void RequestStopEndsTheRunAtAnInstructionBoundary()
    {
        using var rig = new Rig();
        rig.Add(GuestCode.New().Hang());
        rig.Hv.RequestStop();
        Assert.Equal(HypervisorStop.Stopped, rig.Run().Stop);
        Assert.Equal(HypervisorStop.InstructionLimit, rig.Run(1000).Stop);
    }
}
