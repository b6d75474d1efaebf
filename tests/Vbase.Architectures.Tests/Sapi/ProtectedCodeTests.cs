using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Lifecycle;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// Code inside a protected region, fetched at the DRAM boundary: the hart decodes (and translates) the on-chip
/// plaintext of its lines and keeps those decodes while the lines stay on chip, so a hot loop there costs the plug-in
/// nothing; a line that leaves the chip takes its decodes with it, so the next fetch fills it again from whatever DRAM
/// then holds; a store into the code is seen by the next fetch.
/// </summary>
public sealed class ProtectedCodeTests
{
    private const ulong RegionGpa = 0x8030_0000, FrameList = 0x8031_0000, Root = 0x8031_1000, UserAlias = 0x8000_0000;
    private const int FunctionOffset = 0x100;
    private const int Iterations = 100_000;

    /// <summary>The function at +0x100 of the region: a0 += step, t5 times, then return.</summary>
    private static uint[] Function(int step) => [Addi(A0, A0, step), Addi(T5, T5, -1), Bne(T5, Zero, -8), Jalr(Zero, Ra, 0)];

    /// <summary>
    /// The kernel writes the function into the region's page and registers it for the process; the process calls
    /// the function (slot 1), writes a new first instruction over it (a0 += 3), fences, calls it again (slot 2), and
    /// goes back to the kernel, which exits vbase and shuts down.
    /// </summary>
    private static ProgramBuilder Guest()
    {
        ProgramBuilder p = GuestCode.New().WithResults();
        p.Li(S9, (long)(GuestCode.Results - UserAlias));
        p.Li(T0, (long)RegionGpa);
        uint[] f = Function(1);
        for (int i = 0; i < f.Length; i++)
        {
            p.Li(T1, f[i]).Emit(Sw(T1, T0, FunctionOffset + (i * 4)));
        }
        p.Emit(FenceI());
        p.Li(T0, (long)FrameList).Li(T1, (long)(RegionGpa >> 12)).Emit(Sd(T1, T0, 0));
        p.Li(T0, (long)Root);
        p.Li(T1, (0x80000L << 10) | 0xDF).Emit(Sd(T1, T0, 0 * 8));   // VA 0: U, RWX, A, D
        p.Li(T1, (0x80000L << 10) | 0xCF).Emit(Sd(T1, T0, 2 * 8));   // VA 0x8000_0000: the kernel's
        p.La(T0, "trap").Emit(Csrrw(Zero, CsrAddress.Stvec, T0));
        p.Li(T0, unchecked((long)((8UL << 60) | (Root >> 12)))).Emit(Csrrw(Zero, CsrAddress.Satp, T0), SfenceVma());
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)FrameList, 1, 0, (long)(RegionGpa - UserAlias)).Save(0);
        p.La(T0, "process").Li(T1, unchecked((long)UserAlias)).Emit(Sub(T0, T0, T1), Csrrw(Zero, CsrAddress.Sepc, T0));
        p.Li(T0, 1 << 8).Emit(Csrrc(Zero, CsrAddress.Sstatus, T0), Sret());

        p.Label("process");
        p.Li(T0, (long)(RegionGpa - UserAlias));
        p.Emit(Addi(T4, T0, FunctionOffset));
        p.Li(T5, Iterations).Li(A0, 0).Emit(Jalr(Ra, T4, 0), Sd(A0, S9, 1 * 8));
        p.Li(T1, Addi(A0, A0, 3)).Emit(Sw(T1, T0, FunctionOffset), FenceI());
        p.Li(T5, Iterations).Li(A0, 0).Emit(Jalr(Ra, T4, 0), Sd(A0, S9, 2 * 8), Ecall());

        p.Label("trap");
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Exit, 0, 0, 0, 0).Save(3);
        return p.Shutdown(0);
    }

    private sealed record Outcome(long[] Slots, XorBoundary Arch, long SlowHits, DramTraffic Traffic, List<HypervisorEvent> Events);

    private static Outcome Run(ExecutionEngine engine = ExecutionEngine.Translator, Action<Rig, ProtectedRegion>? midway = null)
    {
        using var rig = new Rig(engine: engine, translationThreshold: 64);
        var arch = new XorBoundary();
        rig.Hv.Plug(arch);
        DomainId d = rig.Add(Guest());
        if (midway is not null)
        {
            rig.Run(150_000);   // inside the first call's loop
            midway(rig, rig.Hv.Sapi.Regions.Single(r => r.IsActive));
        }
        rig.Run(20_000_000);
        Assert.Equal(DomainState.Shutdown, rig.Info(d).State);
        long[] slots = [.. Enumerable.Range(0, 4).Select(i => (long)rig.ReadU64(d, GuestCode.Results + ((ulong)i * 8)))];
        return new Outcome(slots, arch, rig.Hv.Sapi.Cost.SlowHits, rig.Hv.Sapi.Traffic(), rig.Events);
    }

    [Fact]
    public void AHotLoopInProtectedCodeIsFilledOnceAndThenRunsWithoutThePlugIn()
    {
        Outcome o = Run();
        Assert.Equal(1, o.Slots[0]);
        Assert.Equal(Iterations, o.Slots[1]);
        Assert.Equal(3L * Iterations, o.Slots[2]);   // the process's own store over its code was fetched
        // 600,000 instructions fetched from the region: the plug-in filled the function's line once (the store into
        // it found it on chip), and the slow path saw only the first fetch of each instruction and that store.
        Assert.Equal(1, o.Arch.Fills);
        Assert.True(o.SlowHits < 16, $"{o.SlowHits} fetches or stores took the slow path");
    }

    [Fact]
    public void ALineThatLeftTheChipIsFetchedAgainFromWhatDramThenHolds()
    {
        // A physical attacker pushes the function's line out and rewrites it in DRAM (a0 += 2, sealed the plug-in's
        // way: this plug-in has no integrity): the loop that was running runs the new code from its next fetch.
        Outcome o = Run(midway: (rig, region) =>
        {
            rig.Hv.Sapi.EvictForAttack(region, FunctionOffset, 64);
            Span<byte> line = rig.Hv.Machine.Frame(region.Mfns[0]).Slice(FunctionOffset, 4);
            BitConverter.TryWriteBytes(line, Addi(A0, A0, 2));
            foreach (ref byte b in line)
            {
                b ^= XorBoundary.Key;
            }
        });
        Assert.Equal(2, o.Arch.Fills);
        Assert.InRange(o.Slots[1], Iterations + 1, (2L * Iterations) - 1);   // some iterations added 1, the rest 2
    }

    [Fact]
    public void DramWrittenWhileTheLineIsOnChipDoesNotReachTheHart()
    {
        // The same write without the eviction: the chip's plaintext is what runs, and the write-back at exit puts the
        // process's code back over the attacker's bytes.
        Outcome o = Run(midway: (rig, region) =>
            BitConverter.TryWriteBytes(rig.Hv.Machine.Frame(region.Mfns[0]).Slice(FunctionOffset, 4), Addi(A0, A0, 2) ^ 0x5A5A5A5Au));
        Assert.Equal(Iterations, o.Slots[1]);
        Assert.Equal(1, o.Arch.Fills);
    }

    [Fact]
    public void BothEnginesFetchTheSameLinesAndLogTheSameEvents()
    {
        static void Tamper(Rig rig, ProtectedRegion region) => rig.Hv.Sapi.EvictForAttack(region, FunctionOffset, 64);
        Outcome translated = Run(ExecutionEngine.Translator, Tamper);
        Outcome interpreted = Run(ExecutionEngine.Interpreter, Tamper);
        Assert.Equal(interpreted.Slots, translated.Slots);
        Assert.Equal(interpreted.Traffic, translated.Traffic);
        Assert.Equal(
            interpreted.Events.Select(e => $"{e.Time} {e.Kind} {e.Message}"),
            translated.Events.Select(e => $"{e.Time} {e.Kind} {e.Message}"));
    }
}
