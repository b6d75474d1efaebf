using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Isolation;

/// <summary>
/// Firecracker's stance: every vCPU runs malicious code. A guest issues 100,000 hypercalls with random numbers and
/// arguments while another domain holds known data; no host exception may escape and no isolation invariant may break.
/// </summary>
public class HypercallFuzzTests
{
    private const int Calls = 100_000;
    private const ulong VictimMemory = 16UL << 20;
    private const long SharedGpa = 0x8030_0000;       // granted read-only to the fuzzer (ref 0)
    private const long OtherGpa = 0x8030_1000;        // granted read-write to d3, which does not exist (ref 1)
    private const long VictimTable = 0x8040_0000;

    /// <summary>Grants two pages (one to the fuzzer, one to someone else), then sleeps forever.</summary>
    private static ProgramBuilder Victim()
    {
        var p = GuestCode.New();
        p.Li(T0, VictimTable);
        p.Li(T1, (long)(GrantEntryLayout.PermitAccess | GrantEntryLayout.ReadOnly) | (2L << 16) | ((SharedGpa >> 12) << 32)).Emit(Sd(T1, T0, 0));
        p.Li(T1, GrantEntryLayout.PermitAccess | (3L << 16) | ((OtherGpa >> 12) << 32)).Emit(Sd(T1, T0, 8));
        p.Call(HypercallNumber.GrantTableOp, (long)GrantTableCommand.SetupTable, VictimTable, 2);
        p.Label("sleep").Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block).J("sleep");
        return p;
    }

    /// <summary>An xorshift64 PRNG in s2 drives a7 (from the table or random) and a0..a6 (small, own GPA, random, GFN).</summary>
    private static ProgramBuilder Fuzzer(ulong seed)
    {
        var p = GuestCode.New();
        p.La(T0, "trap").Emit(Csrw(Stvec, T0)).J("main");
        p.Align(4).Label("trap").Emit(Csrr(S6, Scause), Csrr(S7, Sepc)).Shutdown(99);
        // A legitimate read-only mapping of the victim's grant first, so the fuzz also runs against a live grant.
        p.Label("main").Call(HypercallNumber.GrantTableOp, (long)GrantTableCommand.MapGrantRef, 1, 0, 0x90000, 1);
        p.Li(S2, (long)seed).Li(S3, Calls).La(S4, "numbers");
        p.Label("loop");
        p.Jal(Ra, "next").Emit(Andi(T5, T6, 15)).Li(T4, 15).Bne(T5, T4, "fromTable");
        p.Jal(Ra, "next").Emit(Mv(A7, T6)).J("args");
        p.Label("fromTable").Emit(Slli(T5, T5, 3), Add(T5, T5, S4), Ld(A7, T5, 0));
        p.Label("args");
        foreach (int reg in new[] { A0, A1, A2, A3, A4, A5, A6 })
        {
            p.Jal(Ra, "arg").Emit(Mv(reg, T6));
        }
        // The fuzzer must keep running: sched_op only yields, and legacy SBI shutdown becomes getchar.
        p.Li(T4, (long)HypercallNumber.SchedOp).Bne(A7, T4, "notSched").Li(A0, 0).Label("notSched");
        p.Li(T4, (long)Sbi.LegacyShutdown).Bne(A7, T4, "notShutdown").Li(A7, (long)Sbi.LegacyGetchar).Label("notShutdown");
        p.Emit(Ecall(), Addi(S3, S3, -1)).Bne(S3, Zero, "loop");
        p.Shutdown(0);

        // next: t6 = s2 = xorshift64(s2)
        p.Label("next").Emit(Slli(T4, S2, 13), Xor(S2, S2, T4), Srli(T4, S2, 7), Xor(S2, S2, T4), Slli(T4, S2, 17), Xor(S2, S2, T4), Mv(T6, S2), Ret());
        // arg: t6 = a tiny number (commands, domids, refs; 2 in 8), a small one (1 in 8), a GPA in the low 2 MiB of
        // its own RAM (2 in 8), a random word (1 in 8) or a low GFN (2 in 8)
        p.Label("arg").Emit(Mv(S5, Ra)).Jal(Ra, "next").Emit(Andi(T5, T6, 7), Srli(T6, T6, 3));
        p.Li(T4, 2).Bgeu(T5, T4, "small").Emit(Andi(T6, T6, 3)).J("argDone");
        p.Label("small").Li(T4, 3).Bgeu(T5, T4, "gpa").Emit(Andi(T6, T6, 15)).J("argDone");
        p.Label("gpa").Li(T4, 5).Bgeu(T5, T4, "random").Li(T4, 0x1F_FFF8).Emit(And(T6, T6, T4)).Li(T4, 0x8000_0000).Emit(Add(T6, T6, T4)).J("argDone");
        p.Label("random").Li(T4, 6).Bltu(T5, T4, "argDone");
        p.Emit(Andi(T6, T6, 0x1FF)).Li(T4, 0x80000).Emit(Add(T6, T6, T4));
        p.Label("argDone").Emit(Mv(Ra, S5), Ret());

        p.Align(8).Label("numbers");
        foreach (ulong n in new ulong[]
        {
            HypercallNumber.MemoryOp, HypercallNumber.SetTimerOp, HypercallNumber.ConsoleIo, HypercallNumber.GrantTableOp,
            HypercallNumber.VcpuOp, HypercallNumber.SchedOp, HypercallNumber.EventChannelOp, HypercallNumber.Domctl,
            HypercallNumber.VbaseOp, Sbi.Base, Sbi.Time, Sbi.Dbcn, Sbi.LegacySetTimer, Sbi.LegacyPutchar, Sbi.LegacyGetchar, 0,
        })
        {
            p.Dword(n);
        }
        return p;
    }

    [Theory]
    [InlineData(0x9E37_79B9_7F4A_7C15UL)]
    [InlineData(0x0123_4567_89AB_CDEFUL)]
    public void RandomHypercallsFromAGuestBreakNoIsolationInvariant(ulong seed)
    {
        using var rig = new Rig(machineMemory: 64UL << 20);
        DomainId victim = rig.Add(Victim(), "victim", memory: VictimMemory);
        byte[] known = new byte[8 * 4096];
        new Random(1234).NextBytes(known);
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(victim, new GuestPhysicalAddress(SharedGpa), known));
        Assert.Equal(HypervisorStop.Idle, rig.Run().Stop); // the victim has set up its grants and sleeps

        byte[] before = ReadAll(rig, victim);
        var p2mBefore = rig.Hv.Dom0.GetP2m(victim);
        DomainId fuzzer = rig.Add(Fuzzer(seed), "fuzzer", memory: 4UL << 20);

        HypervisorRunResult r = rig.Run(200_000_000);

        Assert.Equal(HypervisorStop.Idle, r.Stop); // the fuzzer finished; the victim still sleeps
        Assert.Equal(DomainState.Shutdown, rig.Info(fuzzer).State);
        Assert.Equal(0L, rig.Info(fuzzer).ExitCode);
        Assert.Equal(0UL, rig.Reg(fuzzer, S3));
        Assert.DoesNotContain(rig.Events, e => e.Kind == EventKind.DomainCrashed);

        // The victim: memory and p2m exactly as before, and still blocked.
        Assert.Equal(DomainState.Blocked, rig.Info(victim).State);
        Assert.True(before.AsSpan().SequenceEqual(ReadAll(rig, victim)), "the victim's memory changed");
        Assert.Equal(p2mBefore, rig.Hv.Dom0.GetP2m(victim));

        // The fuzzer maps only its own frames, plus at most the page legitimately granted to it (read-only).
        Mfn granted = rig.Hv.Dom0.GetP2mEntry(victim, new GuestPhysicalAddress(SharedGpa).Gfn).Mfn;
        foreach (var (gfn, e) in rig.Hv.Dom0.GetP2m(fuzzer))
        {
            bool own = rig.Hv.Machine.OwnerOf(e.Mfn) == fuzzer && e.Type is P2mType.RamRw or P2mType.RamRo;
            bool grant = e.Mfn == granted && e.Type == P2mType.GrantMapRo;
            Assert.True(own || grant, $"{gfn} → {e.Mfn} {e.Type.ToXenName()} in the fuzzer's p2m");
        }
        // The fuzz did reach the interesting paths.
        Assert.Contains(rig.Events, e => e.Kind == EventKind.HypercallDenied && e.Domain == fuzzer);
        Assert.Contains(rig.Events, e => e.Kind == EventKind.GrantRefused && e.Domain == fuzzer);
        Assert.Contains(rig.Events, e => e.Kind == EventKind.GrantMapped && e.Domain == fuzzer);
    }

    private static byte[] ReadAll(Rig rig, DomainId d)
    {
        byte[] all = new byte[VictimMemory];
        Assert.Equal(0, rig.Hv.Dom0.ReadGuest(d, new GuestPhysicalAddress(GuestLayout.RamBase), all));
        return all;
    }
}
