using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Events;

public class EventChannelTests
{
    private const long Flag = 0x8031_0000;
    private const long PendingWord = (long)GuestLayout.SharedInfo + SharedInfoLayout.EvtchnPending;
    private const long MaskWord = (long)GuestLayout.SharedInfo + SharedInfoLayout.EvtchnMask;
    private const ulong SupervisorExternalInterrupt = (1UL << 63) | 9;

    /// <summary>
    /// Binds VIRQ_VBASE (port in s2) and installs an upcall handler that counts in s5, saves scause in s6 and
    /// clears the port's pending bit with an AMO on the shared-info page, then returns.
    /// </summary>
    private static ProgramBuilder VirqGuest()
    {
        var p = GuestCode.New();
        p.La(T0, "upcall").Emit(Csrw(Stvec, T0)).J("main");
        p.Align(4).Label("upcall");
        p.Emit(Addi(S5, S5, 1), Csrr(S6, Scause));
        p.Li(T3, 1).Emit(Sll(T3, T3, S2), Xori(T3, T3, -1)).Li(T4, PendingWord).Emit(AmoandD(Zero, T3, T4));
        p.Emit(Sret());
        p.Label("main");
        p.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.BindVirq, Virq.Vbase, 0).Emit(Mv(S2, A0));
        return p;
    }

    private static ProgramBuilder EnableUpcalls(ProgramBuilder p) =>
        p.Li(T0, 1 << 9).Emit(Csrs(Sie, T0), Csrsi(Sstatus, 2));

    [Fact]
    public void AVirqFromTheHypervisorRaisesTheUpcallOnceAndTheGuestClearsIt()
    {
        using var rig = new Rig();
        var p = EnableUpcalls(VirqGuest());
        p.Label("spin").Beq(S5, Zero, "spin");
        // Spin a little longer: a spurious re-entry would show as s5 > 1.
        p.Li(T1, 2000).Label("more").Emit(Addi(T1, T1, -1)).Bne(T1, Zero, "more");
        p.ShutdownWith(S5);
        DomainId d = rig.Add(p);
        Assert.Equal(HypervisorStop.InstructionLimit, rig.Run(20_000).Stop);
        Assert.Equal(1UL, rig.Reg(d, S2));
        Assert.True(rig.Hv.SendVirq(d, Virq.Vbase));
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run().Stop);
        Assert.Equal(1L, rig.Info(d).ExitCode);
        Assert.Equal(SupervisorExternalInterrupt, rig.Reg(d, S6));
        Assert.Equal(0UL, rig.ReadU64(d, (ulong)PendingWord));
        Assert.Equal(1UL, rig.ReadU64(d, GuestLayout.SharedInfo + SharedInfoLayout.VcpuInfo) & 0xFF); // upcall_pending
        Assert.Contains(rig.Events, e => e.Data is VirqSentData { Virq: 16, Port: 1, Bound: true } && e.Domain == d);
    }

    [Fact]
    public void AMaskedPortStaysPendingUntilUnmaskRedeliversIt()
    {
        using var rig = new Rig();
        var p = VirqGuest();
        p.Li(T0, MaskWord).Li(T1, 1).Emit(Sll(T1, T1, S2), AmoorD(Zero, T1, T0));
        EnableUpcalls(p);
        p.Li(T0, Flag).Label("wait").Emit(Ld(T1, T0, 0)).Beq(T1, Zero, "wait");
        p.Emit(Mv(S7, S5));
        p.Emit(Mv(A1, S2)).Li(A0, (long)EventChannelCommand.Unmask).Li(A7, (long)HypercallNumber.EventChannelOp).Emit(Ecall());
        p.Label("spin").Beq(S5, Zero, "spin");
        p.ShutdownWith(S5);
        DomainId d = rig.Add(p);
        rig.Run(20_000);
        Assert.True(rig.Hv.SendVirq(d, Virq.Vbase));
        Assert.Equal(HypervisorStop.InstructionLimit, rig.Run(20_000).Stop);
        Assert.Equal(0UL, rig.Reg(d, S5));
        Assert.Equal(2UL, rig.ReadU64(d, (ulong)PendingWord));
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(d, new GuestPhysicalAddress(Flag), [1]));
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run().Stop);
        Assert.Equal(0UL, rig.Reg(d, S7));
        Assert.Equal(1L, rig.Info(d).ExitCode);
    }

    [Fact]
    public void UpcallMaskHoldsTheLineLowUntilTheGuestClearsIt()
    {
        using var rig = new Rig();
        const long UpcallMask = (long)GuestLayout.SharedInfo + SharedInfoLayout.VcpuInfo + SharedInfoLayout.UpcallMask;
        var p = VirqGuest();
        p.Li(T0, UpcallMask).Li(T1, 1).Emit(Sb(T1, T0, 0));
        EnableUpcalls(p);
        p.Li(T2, Flag).Label("wait").Emit(Ld(T1, T2, 0)).Beq(T1, Zero, "wait");
        p.Emit(Mv(S7, S5)).Li(T0, UpcallMask).Emit(Sb(Zero, T0, 0)); // a plain store to the page re-evaluates the line
        p.Label("spin").Beq(S5, Zero, "spin");
        p.ShutdownWith(S5);
        DomainId d = rig.Add(p);
        rig.Run(20_000);
        rig.Hv.SendVirq(d, Virq.Vbase);
        rig.Run(20_000);
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(d, new GuestPhysicalAddress(Flag), [1]));
        rig.Run();
        Assert.Equal(0UL, rig.Reg(d, S7));
        Assert.Equal(1L, rig.Info(d).ExitCode);
    }

    [Fact]
    public void InterdomainChannelsBindOnlyForTheNamedPeerAndWakeABlockedVcpu()
    {
        using var rig = new Rig();
        // d1 offers a port to d3, then blocks until something arrives.
        var a = GuestCode.New();
        a.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.AllocUnbound, 3).Emit(Mv(S2, A0));
        a.Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block);
        a.Li(T0, PendingWord).Emit(Ld(S3, T0, 0));
        a.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.Status, 1).Emit(Mv(S4, A0));
        a.ShutdownWith(S3);
        // d2 is not the peer: its bind is refused.
        var b = GuestCode.New();
        b.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.BindInterdomain, 1, 1).Emit(Mv(S2, A0));
        b.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.BindInterdomain, 9, 1).Emit(Mv(S3, A0));
        b.ShutdownWith(S2);
        // d3 binds and sends.
        var c = GuestCode.New();
        c.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.BindInterdomain, 1, 1).Emit(Mv(S2, A0));
        c.Emit(Mv(A1, S2)).Li(A0, (long)EventChannelCommand.Send).Li(A7, (long)HypercallNumber.EventChannelOp).Emit(Ecall(), Mv(S3, A0));
        c.Call(HypercallNumber.EventChannelOp, (long)EventChannelCommand.BindInterdomain, 1, 1).Emit(Mv(S4, A0));
        c.ShutdownWith(S3);
        DomainId da = rig.Add(a, "a"), db = rig.Add(b, "b"), dc = rig.Add(c, "c");
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run().Stop);
        Assert.Equal(1UL, rig.Reg(da, S2));
        Assert.Equal(2L, rig.Info(da).ExitCode); // port 1 pending
        Assert.Equal((ulong)EventChannelState.Interdomain, rig.Reg(da, S4));
        Assert.Equal(Errno.EINVAL, (long)rig.Reg(db, S2));
        Assert.Equal(Errno.ESRCH, (long)rig.Reg(db, S3));
        Assert.Equal(1UL, rig.Reg(dc, S2));
        Assert.Equal(0L, rig.Info(dc).ExitCode);
        Assert.Equal(Errno.EINVAL, (long)rig.Reg(dc, S4));
    }

    [Fact]
    public void PortBookkeepingRejectsBadPortsVirqsAndVcpus()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        int[] saved = [S2, S3, S4, S5, S6, S7, S8, S9, S10, S11];
        int n = 0;
        void Ev(ulong cmd, long a1 = 0, long a2 = 0)
        {
            p.Call(HypercallNumber.EventChannelOp, (long)cmd, a1, a2).Emit(Mv(saved[n++], A0));
        }
        Ev(EventChannelCommand.BindVirq, Virq.Timer, 0);      // 1
        Ev(EventChannelCommand.BindVirq, Virq.Timer, 0);      // busy
        Ev(EventChannelCommand.BindVirq, 99, 0);              // bad virq
        Ev(EventChannelCommand.BindVirq, Virq.Console, 1);    // no vCPU 1
        Ev(EventChannelCommand.Send, 1);                      // virq ports are not for sending
        Ev(EventChannelCommand.Close, 1);
        Ev(EventChannelCommand.Status, 1);
        Ev(EventChannelCommand.Status, 4096);
        Ev(EventChannelCommand.Close, -1);
        Ev(55);
        p.Shutdown();
        DomainId d = rig.Add(p);
        rig.Run();
        long[] expected = [1, Errno.EBUSY, Errno.EINVAL, Errno.EINVAL, Errno.EINVAL, 0, 0, Errno.EINVAL, Errno.EINVAL, Errno.EINVAL];
        Assert.Equal(expected, saved.Select(r => (long)rig.Reg(d, r)));
        Assert.False(rig.Hv.SendVirq(d, Virq.Vbase));
    }
}
