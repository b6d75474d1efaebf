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
using Vbase.Sapi.Memory;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// A plug-in at the DRAM boundary for the tests: the application sees on-chip plaintext, everyone else the DRAM
/// bytes; DRAM holds each byte XOR 0x5A (sealed at enter, unsealed at exit); every fill, write-back and view
/// decision is counted.
/// </summary>
public sealed class XorBoundary : RegionArchitectureBase
{
    public const byte Key = 0x5A;
    public override string Name => "xor-boundary";

    public int Fills, WriteBacks, Decisions, MetadataFlushes;

    protected override void Seal(VbaseOpCall call, ProtectedRegion region) => ForEachFrame(region, (_, _, frame) => Xor(frame));

    protected override void Unseal(VbaseOpCall call, ProtectedRegion region) => ForEachFrame(region, (_, _, frame) => Xor(frame));

    public override PageView DecideView(in MemoryAccessContext access)
    {
        Decisions++;
        return access.IsApplication ? PageView.Plaintext : PageView.Dram;
    }

    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        Fills += line.Inspection ? 0 : 1;
        dram.CopyTo(plaintext);
        Xor(plaintext);
        return true;
    }

    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        WriteBacks++;
        plaintext.CopyTo(dram);
        Xor(dram);
    }

    public override void FlushMetadata() => MetadataFlushes++;

    private static void Xor(Span<byte> bytes)
    {
        foreach (ref byte b in bytes)
        {
            b ^= Key;
        }
    }
}

/// <summary>
/// The DRAM boundary driven by a real guest: a process in U-mode whose region of <see cref="Pages"/> pages is on
/// chip in plaintext, filled and written back through the plug-in; DRAM holds only what was written back.
/// </summary>
public sealed class DramBoundaryTests
{
    private const int Pages = 4, Lines = Pages * 64;
    private const ulong RegionGpa = 0x8030_0000, FrameList = 0x8031_0000, Root = 0x8031_1000, UserAlias = 0x8000_0000;

    /// <summary>
    /// Process: <paramref name="passes"/> times, store (pass, line) into the first word of every line, then read
    /// every line's first word and sum; the sum goes to result slot 1; then back to the kernel, which reads the
    /// region's first word (slot 2), exits vbase (slot 3) and reads it again (slot 4).
    /// </summary>
    private static ProgramBuilder Guest(int passes)
    {
        ProgramBuilder p = GuestCode.New().WithResults();
        p.Li(S9, (long)(GuestCode.Results - UserAlias));
        for (int page = 0; page < Pages; page++)
        {
            p.Li(T0, (long)FrameList + (page * 8)).Li(T1, (long)((RegionGpa >> 12) + (ulong)page)).Emit(Sd(T1, T0, 0));
        }
        p.Li(T0, (long)Root);
        p.Li(T1, (0x80000L << 10) | 0xDF).Emit(Sd(T1, T0, 0 * 8));   // VA 0: U, RWX, A, D
        p.Li(T1, (0x80000L << 10) | 0xCF).Emit(Sd(T1, T0, 2 * 8));   // VA 0x8000_0000: the kernel's
        p.La(T0, "trap").Emit(Csrrw(Zero, CsrAddress.Stvec, T0));
        p.Li(T0, unchecked((long)((8UL << 60) | (Root >> 12)))).Emit(Csrrw(Zero, CsrAddress.Satp, T0), SfenceVma());
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)FrameList, Pages, 0, (long)(RegionGpa - UserAlias)).Save(0);
        p.La(T0, "process").Li(T1, unchecked((long)UserAlias)).Emit(Sub(T0, T0, T1), Csrrw(Zero, CsrAddress.Sepc, T0));
        p.Li(T0, 1 << 8).Emit(Csrrc(Zero, CsrAddress.Sstatus, T0), Sret());

        p.Label("process");
        p.Li(S2, 0);                                                  // pass
        p.Label("pass");
        p.Li(T0, (long)(RegionGpa - UserAlias)).Li(T2, Lines).Li(T3, 0);
        p.Label("store");
        p.Emit(Slli(T4, S2, 16), Add(T4, T4, T3), Sd(T4, T0, 0), Addi(T0, T0, 64), Addi(T3, T3, 1));
        p.Bne(T3, T2, "store");
        p.Emit(Addi(S2, S2, 1));
        p.Li(T5, passes).Bne(S2, T5, "pass");
        p.Li(T0, (long)(RegionGpa - UserAlias)).Li(T3, 0).Li(A1, 0);
        p.Label("load");
        p.Emit(Ld(T4, T0, 0), Add(A1, A1, T4), Addi(T0, T0, 64), Addi(T3, T3, 1));
        p.Bne(T3, T2, "load");
        p.Emit(Sd(A1, S9, 1 * 8), Ecall());

        p.Label("trap");
        p.Li(T0, (long)RegionGpa).Emit(Ld(T1, T0, 0), Sd(T1, S11, 2 * 8));
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Exit, 0, 0, 0, 0).Save(3);
        p.Li(T0, (long)RegionGpa).Emit(Ld(T1, T0, 0), Sd(T1, S11, 4 * 8));
        return p.Shutdown(0);
    }

    private static ulong ExpectedSum(int passes)
    {
        ulong sum = 0;
        for (ulong line = 0; line < Lines; line++)
        {
            sum += ((ulong)(passes - 1) << 16) + line;
        }
        return sum;
    }

    private sealed record Outcome(long[] Slots, XorBoundary Arch, DramTraffic Traffic, List<HypervisorEvent> Events);

    private static Outcome Run(int passes, ChipOptions? chip = null, ExecutionEngine engine = ExecutionEngine.Translator, Action<Rig, DomainId>? midway = null)
    {
        using var rig = new Rig(chip: chip, engine: engine, translationThreshold: 64);
        var arch = new XorBoundary();
        rig.Hv.Plug(arch);
        DomainId d = rig.Add(Guest(passes));
        if (midway is not null)
        {
            rig.Run(200_000);
            midway(rig, d);
        }
        rig.Run(20_000_000);
        Assert.Equal(DomainState.Shutdown, rig.Info(d).State);
        rig.Hv.Sapi.FlushChip();
        long[] slots = [.. Enumerable.Range(0, 5).Select(i => (long)rig.ReadU64(d, GuestCode.Results + ((ulong)i * 8)))];
        return new Outcome(slots, arch, rig.Hv.Sapi.Traffic(), rig.Events);
    }

    [Fact]
    public void LinesAreFilledOnceWrittenBackAtExitAndHitsNeverCallThePlugIn()
    {
        Outcome o = Run(passes: 8);
        Assert.Equal(1, o.Slots[0]);
        Assert.Equal((long)ExpectedSum(8), o.Slots[1]);
        Assert.Equal(Lines, o.Arch.Fills);                           // each line once: a 1 MiB cache holds them all
        Assert.Equal(Lines, o.Arch.WriteBacks);                      // each dirty line once, at exit
        Assert.Equal((long)Lines, o.Traffic.DataReads);
        Assert.Equal((long)Lines, o.Traffic.DataWrites);
        // 8 stores and 1 load per line: all but the first store to each line (a write-allocate fill, which leaves it
        // dirty) were hits on chip.
        Assert.Equal((long)Lines * 9, o.Traffic.Hits + o.Arch.Fills);
        // Views are decided at TLB fills and on the slow path (misses), never on hits: four times the passes, four
        // times the hits, the same decisions.
        Outcome longer = Run(passes: 32);
        Assert.Equal((long)Lines * 33 - Lines, longer.Traffic.Hits);
        Assert.Equal(o.Arch.Decisions, longer.Arch.Decisions);
        // The kernel's read during the region is the DRAM view: the sealed (XOR) bytes of the value before the process
        // ran, since its lines were still on chip; after exit the plaintext the process wrote last.
        Assert.Equal(unchecked((long)0x5A5A5A5A5A5A5A5AUL), o.Slots[2]);
        Assert.Equal(0, o.Slots[3]);
        Assert.Equal((7L << 16) + 0, o.Slots[4]);
    }

    [Fact]
    public void ASmallerCacheEvictsAndWritesBackDuringTheRunAndTheDataSurvives()
    {
        // 4 KiB, 1 way: 64 lines for a 256-line region, so every pass misses on every line.
        Outcome o = Run(passes: 8, chip: new ChipOptions { CacheBytes = 4096, Ways = 1 });
        Assert.Equal((long)ExpectedSum(8), o.Slots[1]);
        Assert.Equal(Lines * 9, o.Arch.Fills);                       // 8 store passes and the load pass
        Assert.Equal(Lines * 8, o.Arch.WriteBacks);                  // every store pass's lines are evicted dirty
        Assert.Equal((7L << 16) + 0, o.Slots[4]);
    }

    [Fact]
    public void APhysicalAttackersEvictionPutsTheLatestLinesInDram()
    {
        byte[]? dramBefore = null, dramAfter = null;
        int writeBacksBefore = 0, writeBacksAfter = 0, flushes = 0;
        Outcome o = Run(passes: 200, midway: (rig, d) =>
        {
            ProtectedRegion region = rig.Hv.Sapi.Regions.Single(r => r.IsActive);
            XorBoundary arch = (XorBoundary)rig.Hv.Sapi.Architecture!;
            dramBefore = rig.Hv.Machine.Frame(region.Mfns[0])[..64].ToArray();
            writeBacksBefore = arch.WriteBacks;
            rig.Hv.Sapi.EvictForAttack(region, 0, 64);
            writeBacksAfter = arch.WriteBacks;
            flushes = arch.MetadataFlushes;
            dramAfter = rig.Hv.Machine.Frame(region.Mfns[0])[..64].ToArray();
        });
        Assert.Equal(writeBacksBefore + 1, writeBacksAfter);        // the dirty line went out through the plug-in
        Assert.Equal(1, flushes);                                   // and so did the plug-in's cached metadata
        Assert.NotEqual(dramBefore, dramAfter);                     // DRAM now holds the process's latest, sealed
        ulong first = BitConverter.ToUInt64(dramAfter) ^ 0x5A5A5A5A5A5A5A5AUL;
        Assert.Equal(0UL, first & 0xFFFF);                          // line 0's value: (pass << 16) + 0
        Assert.Equal((long)ExpectedSum(200), o.Slots[1]);           // refilled from DRAM, the process never noticed
    }

    [Fact]
    public void ViewDecisionsAreAskedAgainAfterInvalidation()
    {
        int decisionsBefore = 0, decisionsAfter = 0;
        Run(passes: 400, midway: (rig, _) =>
        {
            var arch = (XorBoundary)rig.Hv.Sapi.Architecture!;
            decisionsBefore = arch.Decisions;
            rig.Hv.Sapi.InvalidateViews();
            rig.Run(50_000);
            decisionsAfter = arch.Decisions;
        });
        Assert.True(decisionsAfter > decisionsBefore, "dropped TLB entries ask the plug-in again");
    }

    [Fact]
    public void BothEnginesMoveTheSameLinesAndCountTheSameHits()
    {
        var small = new ChipOptions { CacheBytes = 8192, Ways = 2 };
        Outcome translated = Run(passes: 6, small, ExecutionEngine.Translator);
        Outcome interpreted = Run(passes: 6, small, ExecutionEngine.Interpreter);
        Assert.Equal(interpreted.Traffic, translated.Traffic);
        Assert.Equal(interpreted.Slots, translated.Slots);
        Assert.Equal(
            interpreted.Events.Select(e => $"{e.Time} {e.Kind} {e.Message}"),
            translated.Events.Select(e => $"{e.Time} {e.Kind} {e.Message}"));
    }
}
