using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Hypercalls;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Hypercalls;

public class HypercallTests
{
    private const long Buffer = 0x8030_0000;
    private const long RamEnd = 0x8000_0000 + (4L << 20);

    /// <summary>Runs the calls, each followed by "save a0 in the next s register" (s2, s3, …), then shuts down.</summary>
    private static (Rig Rig, DomainId Domain, ulong[] Results) RunCalls(Action<ProgramBuilder, Action> body, Action<Rig, DomainId>? before = null)
    {
        var rig = new Rig();
        var p = GuestCode.New();
        int next = 0;
        int[] saved = [S2, S3, S4, S5, S6, S7, S8, S9, S10, S11];
        body(p, () => p.Emit(Mv(saved[next++], A0)));
        p.Shutdown(0);
        DomainId d = rig.Add(p, unpause: false);
        before?.Invoke(rig, d);
        rig.Hv.Dom0.Unpause(d);
        rig.Run();
        return (rig, d, [.. saved.Take(next).Select(r => rig.Reg(d, r))]);
    }

    private static long L(ulong v) => (long)v;

    private static long L(long v) => v;

    [Fact]
    public void ConsoleWriteChecksCommandCountAndEveryPageOfTheBuffer()
    {
        var (rig, d, r) = RunCalls((p, save) =>
        {
            p.Li(T0, Buffer).Li(T1, 0x0A6B6F).Emit(Sw(T1, T0, 0)); // "ok\n"
            p.Call(HypercallNumber.ConsoleIo, 0, 3, Buffer); save();
            p.Call(HypercallNumber.ConsoleIo, 0, 3, 0x1000); save();
            p.Call(HypercallNumber.ConsoleIo, 0, 1 << 20, Buffer); save();
            p.Call(HypercallNumber.ConsoleIo, 0, 16, RamEnd - 8); save();
            p.Call(HypercallNumber.ConsoleIo, 0, 8, (long)GuestLayout.StartInfo); save();
            p.Call(HypercallNumber.ConsoleIo, 7, 1, Buffer); save();
            p.Call(HypercallNumber.ConsoleIo, 0, -1, -1); save();
        });
        using (rig)
        {
            Assert.Equal([3, L(Errno.EFAULT), L(Errno.EINVAL), L(Errno.EFAULT), 8, L(Errno.EINVAL), L(Errno.EINVAL)], r.Select(L));
            Assert.Equal("ok\nVBASEST1", rig.Console(d));
        }
    }

    [Fact]
    public void ConsoleReadTakesQueuedInputAndRefusesReadOnlyBuffers()
    {
        var (rig, d, r) = RunCalls((p, save) =>
        {
            p.Call(HypercallNumber.ConsoleIo, 1, 2, (long)GuestLayout.StartInfo); save();
            p.Call(HypercallNumber.ConsoleIo, 1, 8, Buffer); save();
            p.Call(HypercallNumber.ConsoleIo, 1, 8, Buffer + 8); save();
            p.Li(T0, Buffer).Emit(Ld(A0, T0, 0)); save();
        }, (rig, d) => rig.Hv.Dom0.PushConsoleInput(d, "abc"u8));
        using (rig)
        {
            Assert.Equal([L(Errno.EFAULT), 3, 0, 0x636261], r.Select(L));
        }
    }

    [Theory]
    [InlineData(9UL)]
    [InlineData(13UL)]
    [InlineData(63UL)]
    [InlineData(65UL)]
    [InlineData(0xFFFFFUL)]
    public void UnknownNumbersAreENOSYS(ulong number)
    {
        var (rig, _, r) = RunCalls((p, save) => { p.Call(number, 1, 2, 3); save(); });
        using (rig)
        {
            Assert.Equal(Errno.ENOSYS, L(r[0]));
        }
    }

    [Fact]
    public void PrivilegedCallsAreRefusedToGuestsAndVbaseOpWaitsForAnArchitecture()
    {
        var (rig, d, r) = RunCalls((p, save) =>
        {
            p.Call(HypercallNumber.Domctl, 0); save();
            p.Call(HypercallNumber.MemoryOp, (long)MemoryOpCommand.MapForeign, 0, 0x80000, 0x90000); save();
            p.Call(HypercallNumber.VbaseOp, 0, Buffer, 1, 0); save();
        });
        using (rig)
        {
            Assert.Equal([L(Errno.EPERM), L(Errno.EPERM), L(Errno.ENOSYS)], r.Select(L));
            Assert.Equal(2, rig.Events.Count(e => e.Kind == EventKind.HypercallDenied && e.Domain == d));
        }
    }

    [Fact]
    public void APlugInCanClaimVbaseOpAndItsVirqs()
    {
        var (rig, _, r) = RunCalls((p, save) => { p.Call(HypercallNumber.VbaseOp, 2, 40); save(); },
            (rig, _) =>
            {
                rig.Hv.Extensions.ClaimVbaseOp((in HypercallContext c) => (long)(c.Arg(0) + c.Arg(1)));
                rig.Hv.Extensions.ClaimVirq(Virq.Vbase, "test");
            });
        using (rig)
        {
            Assert.Equal(42UL, r[0]);
            Assert.Equal("test", rig.Hv.Extensions.OwnerOfVirq(Virq.Vbase));
            Assert.Throws<InvalidOperationException>(() => rig.Hv.Extensions.ClaimVirq(Virq.Vbase, "other"));
            Assert.Throws<ArgumentOutOfRangeException>(() => rig.Hv.Extensions.ClaimVirq(Virq.Timer, "other"));
        }
    }

    [Fact]
    public void MemoryVcpuAndSchedOpAnswerAndRejectUnknownCommands()
    {
        var (rig, d, r) = RunCalls((p, save) =>
        {
            p.Call(HypercallNumber.MemoryOp, 0); save();
            p.Call(HypercallNumber.MemoryOp, 1); save();
            p.Call(HypercallNumber.MemoryOp, 55); save();
            p.Call(HypercallNumber.VcpuOp, 0); save();
            p.Call(HypercallNumber.VcpuOp, 1); save();
            p.Call(HypercallNumber.VcpuOp, 2); save();
            p.Call(HypercallNumber.VcpuOp, 3); save();
            p.Call(HypercallNumber.SchedOp, 9); save();
            p.Call(HypercallNumber.SchedOp, 2, 17, 0); save();
            p.Call(HypercallNumber.SchedOp, 0); save();
        });
        using (rig)
        {
            Assert.Equal([4L << 20, 0x8000_0000, L(Errno.EINVAL), 0, 1], r.Take(5).Select(L));
            Assert.InRange(r[5], 10UL, 1000UL);
            Assert.Equal([L(Errno.EINVAL), L(Errno.EINVAL), L(Errno.EINVAL), 0], r.Skip(6).Select(L));
            Assert.Equal(DomainState.Shutdown, rig.Info(d).State);
        }
    }

    [Fact]
    public void ShutdownRecordsCrashReasonAndExitCode()
    {
        using var rig = new Rig();
        DomainId d = rig.Add(GuestCode.New().Call(HypercallNumber.SchedOp, 2, 3, -5).Print("not reached"));
        rig.Run();
        Assert.Equal(ShutdownReason.Crash, rig.Info(d).Reason);
        Assert.Equal(-5L, rig.Info(d).ExitCode);
        Assert.Equal("", rig.Console(d));
    }

    [Fact]
    public void SbiBaseDbcnAndLegacyCalls()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Sbi(Sbi.Base, 0).Emit(Mv(S2, A0), Mv(S3, A1));
        p.Sbi(Sbi.Base, 3, (long)Sbi.Dbcn).Emit(Mv(S4, A1));
        p.Sbi(Sbi.Base, 3, 0x12345).Emit(Mv(S5, A1));
        p.Sbi(0x4E41434C, 0).Emit(Mv(S6, A0));                     // NACL: not offered
        p.Li(T0, Buffer).Li(T1, 0x6968).Emit(Sh(T1, T0, 0));       // "hi"
        p.Sbi(Sbi.Dbcn, 0, 2, Buffer, 0).Emit(Mv(S7, A0), Mv(S8, A1));
        p.Sbi(Sbi.Dbcn, 0, 2, 0x10, 0).Emit(Mv(S9, A0));
        p.Sbi(Sbi.Dbcn, 2, '!');
        p.Call(Sbi.LegacyPutchar, '?');
        p.Call(Sbi.LegacyGetchar).Emit(Mv(S10, A0));
        p.Call(Sbi.LegacyShutdown);
        p.Print("not reached");
        DomainId d = rig.Add(p);
        rig.Run();
        Assert.Equal(0UL, rig.Reg(d, S2));
        Assert.Equal(Sbi.SpecVersion, rig.Reg(d, S3));
        Assert.Equal(1UL, rig.Reg(d, S4));
        Assert.Equal(0UL, rig.Reg(d, S5));
        Assert.Equal(Sbi.ErrNotSupported, (long)rig.Reg(d, S6));
        Assert.Equal([0UL, 2UL], [rig.Reg(d, S7), rig.Reg(d, S8)]);
        Assert.Equal(Sbi.ErrInvalidAddress, (long)rig.Reg(d, S9));
        Assert.Equal(-1L, (long)rig.Reg(d, S10));
        Assert.Equal("hi!?", rig.Console(d));
        Assert.Equal(DomainState.Shutdown, rig.Info(d).State);
    }

    [Fact]
    public void TheTableListsEveryAbiHypercallOnce()
    {
        Assert.Equal(
            ["memory_op", "set_timer_op", "console_io", "grant_table_op", "vcpu_op", "sched_op", "event_channel_op", "domctl", "vbase_op"],
            HypercallTable.All.Select(h => h.Name));
        Assert.Equal(HypercallTable.All.Count, HypercallTable.All.Select(h => h.Number).Distinct().Count());
        Assert.Equal(["domctl"], HypercallTable.All.Where(h => h.PrivilegedOnly).Select(h => h.Name));
    }
}
