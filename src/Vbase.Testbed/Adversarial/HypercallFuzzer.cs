using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Testbed.Adversarial;

/// <summary>
/// Every vCPU is malicious: a guest whose xorshift64 PRNG (seeded per case) picks each hypercall's number (mostly
/// from the ABI's table, 1 in 16 a random word) and arguments (tiny numbers, small ones, GPAs of its own RAM, random
/// words, low GFNs); <c>vbase_op</c> gets plausible region arguments (enter/exit/query/plug-in sub-calls, a frame
/// list of its own data pages mixed with the start-info and shared-info pages, a hole, frames past its RAM), and
/// <c>sched_op</c> yields or, after arming a timer near or far ahead, blocks; after each call the guest loads from and stores to those data pages, so a plugged-in architecture sees
/// accesses to regions the fuzz registered. It runs next to the <see cref="Canary"/>, which must come out intact.
/// </summary>
public static class HypercallFuzzer
{
    public const string Name = "hypercalls";
    /// <summary>The fuzzer's data pages (16 of them), where vbase_op regions and the loads/stores go.</summary>
    private const long DataGpa = 0x8030_0000;
    private const ulong Memory = 4UL << 20;

    /// <summary>The fuzzer guest: <paramref name="calls"/> hypercalls driven by <paramref name="seed"/>, then shutdown(0).</summary>
    public static ProgramBuilder Program(ulong seed, int calls)
    {
        var p = GuestAsm.New();
        p.La(T0, "trap").Emit(Csrw(Stvec, T0)).J("main");
        // A fault (a plug-in refusing an access to a region, say) skips the instruction; s9 counts them.
        p.Align(4).Label("trap").Emit(Csrr(T4, Sepc), Addi(T4, T4, 4), Csrw(Sepc, T4), Addi(S9, S9, 1), Sret());
        // A legitimate read-only mapping of the canary's grant first, so the fuzz also runs against a live grant.
        p.Label("main").Call(HypercallNumber.GrantTableOp, (long)GrantTableCommand.MapGrantRef, 1, 0, 0x90000, 1);
        p.Li(S2, (long)GuestAsm.Mix(seed, 0xF0)).Li(S3, calls).La(S4, "numbers").La(S8, "frames").Li(S9, 0);
        p.Label("loop");
        p.Jal(Ra, "next").Emit(Andi(T5, T6, 15)).Li(T4, 15).Bne(T5, T4, "fromTable");
        p.Jal(Ra, "next").Emit(Mv(A7, T6)).J("args");
        p.Label("fromTable").Emit(Slli(T5, T5, 3), Add(T5, T5, S4), Ld(A7, T5, 0));
        p.Label("args");
        foreach (int reg in new[] { A0, A1, A2, A3, A4, A5, A6 })
        {
            p.Jal(Ra, "arg").Emit(Mv(reg, T6));
        }
        // vbase_op: a0 enter (3 in 8), exit (2 in 8), query (1 in 8) or a plug-in sub-call 16..19; a1 a place in the
        // frame list, a2 1..4 frames, a3 the op 0..3, a4 a VA in the data pages.
        p.Li(T4, (long)HypercallNumber.VbaseOp).Bne(A7, T4, "notVbase");
        p.Jal(Ra, "next").Emit(Andi(T5, T6, 7));
        p.Li(A0, 0).Li(T4, 3).Bltu(T5, T4, "cmdDone");
        p.Li(A0, 1).Li(T4, 5).Bltu(T5, T4, "cmdDone");
        p.Li(A0, 2).Li(T4, 6).Bltu(T5, T4, "cmdDone");
        p.Emit(Srli(T4, T6, 3), Andi(T4, T4, 3), Addi(A0, T4, 16));
        p.Label("cmdDone");
        p.Jal(Ra, "next").Emit(Andi(T5, T6, 15), Slli(T5, T5, 3), Add(A1, S8, T5));
        p.Emit(Srli(T6, T6, 4), Andi(A2, T6, 3), Addi(A2, A2, 1));
        p.Emit(Srli(T6, T6, 2), Andi(A3, T6, 3));
        p.Emit(Srli(T6, T6, 2), Andi(T5, T6, 15), Slli(T5, T5, 12)).Li(T4, DataGpa).Emit(Add(A4, T5, T4));
        p.Label("notVbase");
        // The fuzzer must keep running: sched_op yields, or (1 in 8) blocks after arming a timer 1,000 to 66,535
        // ticks ahead (3 in 4) or up to 2^60 ahead (virtual time skips there), and legacy SBI shutdown becomes
        // getchar. (A deadline already past would fire before the block, which would then wait for ever.)
        p.Li(T4, (long)HypercallNumber.SchedOp).Bne(A7, T4, "notSched");
        p.Jal(Ra, "next").Emit(Andi(T5, T6, 7)).Bne(T5, Zero, "yield");
        p.Li(A0, 2).Li(A7, (long)HypercallNumber.VcpuOp).Emit(Ecall()); // a0 = now
        p.Jal(Ra, "next").Emit(Srli(T5, T6, 62)).Bne(T5, Zero, "nearTimer").Emit(Srli(T5, T6, 4)).J("armTimer");
        p.Label("nearTimer").Li(T4, 0xFFFF).Emit(And(T5, T6, T4), Addi(T5, T5, 1000));
        p.Label("armTimer").Emit(Add(A0, A0, T5)).Li(A7, (long)HypercallNumber.SetTimerOp).Emit(Ecall());
        p.Li(A7, (long)HypercallNumber.SchedOp).Li(A0, (long)SchedOpCommand.Block).J("notSched");
        p.Label("yield").Li(A0, 0).Label("notSched");
        p.Li(T4, (long)Sbi.LegacyShutdown).Bne(A7, T4, "notShutdown").Li(A7, (long)Sbi.LegacyGetchar).Label("notShutdown");
        p.Emit(Ecall(), Addi(S3, S3, -1));
        // A load and a store in the data pages (which the fuzz may have made a region), or 1 in 4 in the canary's
        // page it mapped read-only at 0x9_0000 (the store must fault, or at least not land).
        p.Jal(Ra, "next").Li(T4, 0xFFF8).Emit(And(T5, T6, T4)).Li(T4, DataGpa);
        p.Emit(Srli(T3, T6, 20), Andi(T3, T3, 3)).Bne(T3, Zero, "ownData").Emit(Andi(T5, T5, 0x7F8)).Li(T4, 0x9000_0000).Label("ownData");
        p.Emit(Add(T5, T5, T4), Ld(T4, T5, 0), Xor(T4, T4, T6), Sd(T4, T5, 0));
        p.Bne(S3, Zero, "loop");
        p.Shutdown(0);

        p.XorShiftRoutine("next", S2, T6, T4);
        // arg: t6 = a tiny number (commands, domids, refs; 2 in 8), a small one (1 in 8), a GPA in its own RAM (2 in
        // 8: the low 2 MiB, or the data pages), a random word (1 in 8) or a low GFN (2 in 8)
        p.Label("arg").Emit(Mv(S5, Ra)).Jal(Ra, "next").Emit(Andi(T5, T6, 7), Srli(T6, T6, 3));
        p.Li(T4, 2).Bgeu(T5, T4, "small").Emit(Andi(T6, T6, 3)).J("argDone");
        p.Label("small").Li(T4, 3).Bgeu(T5, T4, "gpa").Emit(Andi(T6, T6, 15)).J("argDone");
        p.Label("gpa").Li(T4, 5).Bgeu(T5, T4, "random");
        p.Emit(Andi(T4, T6, 1)).Bne(T4, Zero, "dataGpa");
        p.Li(T4, 0x1F_FFF8).Emit(And(T6, T6, T4)).Li(T4, 0x8000_0000).Emit(Add(T6, T6, T4)).J("argDone");
        p.Label("dataGpa").Li(T4, 0xFFF8).Emit(And(T6, T6, T4)).Li(T4, DataGpa).Emit(Add(T6, T6, T4)).J("argDone");
        p.Label("random").Li(T4, 6).Bltu(T5, T4, "argDone");
        p.Emit(Andi(T6, T6, 0x1FF)).Li(T4, 0x80000).Emit(Add(T6, T6, T4));
        p.Label("argDone").Emit(Mv(Ra, S5), Ret());

        p.Align(8).Label("numbers");
        foreach (ulong n in new ulong[]
        {
            HypercallNumber.MemoryOp, HypercallNumber.SetTimerOp, HypercallNumber.ConsoleIo, HypercallNumber.GrantTableOp,
            HypercallNumber.VcpuOp, HypercallNumber.SchedOp, HypercallNumber.EventChannelOp, HypercallNumber.VbaseOp,
            HypercallNumber.VbaseOp, HypercallNumber.VbaseOp, Sbi.Base, Sbi.Time, Sbi.Dbcn, HypercallNumber.Domctl,
            Sbi.LegacyPutchar, Sbi.LegacyGetchar,
        })
        {
            p.Dword(n);
        }
        // The frame list vbase_op enter reads from (a1 points anywhere in its first 16 entries; up to 4 are read).
        p.Label("frames");
        const ulong data = (ulong)DataGpa >> 12;
        foreach (ulong gfn in new ulong[]
        {
            data, data + 1, data + 2, data + 3, data + 4, data + 5, data, data + 6, GuestLayout.StartInfo >> 12,
            data + 7, GuestLayout.SharedInfo >> 12, data + 8, 0x90000, data + 9, (GuestLayout.RamBase + Memory) >> 12, data + 10,
            data + 11, 0, data + 12, ulong.MaxValue >> 12,
        })
        {
            p.Dword(gfn);
        }
        return p;
    }

    /// <summary>Runs one case: the canary, then the fuzzer with <paramref name="calls"/> hypercalls, under <paramref name="architecture"/>.</summary>
    public static FuzzCaseResult RunCase(string architecture, ulong seed, int calls, ExecutionEngine engine = ExecutionEngine.Translator)
    {
        var result = new FuzzCaseResult();
        FuzzMachine? machine = null;
        try
        {
            machine = new FuzzMachine(architecture, seed, engine, translationThreshold: null, slice: 10_000);
            Hypervisor.Hypervisor hv = machine.Hv;
            if (machine.Canary.Start(hv) is string problem)
            {
                result.Fail(Name, architecture, seed, FuzzFailureKind.IsolationBreak, problem);
                return result;
            }
            DomainHandle fuzzer = hv.Dom0.CreateDomain(new DomainConfig { Name = "fuzzer", Kernel = Program(seed, calls).ToArray(), MemoryBytes = Memory });
            hv.Dom0.Unpause(fuzzer.Id);
            ulong before = hv.Dom0.GetInfo(fuzzer.Id).Instructions;
            try
            {
                hv.Run((ulong)calls * 2_000 + 10_000_000);
            }
            finally
            {
                if (hv.Dom0.GetInfo(fuzzer.Id).State != DomainState.Destroyed)
                {
                    result.Hypercalls = (ulong)calls - hv.Dom0.GetRegister(fuzzer.Id, 0, S3);
                }
                result.Instructions = hv.Dom0.GetInfo(fuzzer.Id).Instructions - before;
            }
            foreach (string p in machine.Canary.Check(hv).Concat(machine.Canary.CheckFuzzerMappings(hv, fuzzer.Id)))
            {
                result.Fail(Name, architecture, seed, FuzzFailureKind.IsolationBreak, p);
            }
        }
        catch (Exception e)
        {
            result.Fail(Name, architecture, seed, FuzzFailureKind.HostException, $"{e.GetType().Name}: {Running.Testbed.OneLine(e.Message)} at {FirstFrame(e)}");
        }
        finally
        {
            if (machine is not null)
            {
                result.AddEvents(machine.EventKinds);
                machine.Dispose();
            }
        }
        return result;
    }

    internal static string FirstFrame(Exception e) =>
        e.StackTrace?.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "(no stack)";
}
