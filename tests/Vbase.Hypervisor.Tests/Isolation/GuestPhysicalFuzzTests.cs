using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Isolation;

/// <summary>A guest stores to and loads from 100,000 random guest-physical addresses outside its RAM.</summary>
public class GuestPhysicalFuzzTests
{
    private const int Accesses = 100_000;
    private const long FuzzerRam = 4L << 20;

    private static ProgramBuilder Prober(ulong seed)
    {
        var p = GuestCode.New();
        // Every access fault is skipped: sepc += 4 (the accesses are 32-bit instructions).
        p.La(T0, "skip").Emit(Csrw(Stvec, T0)).J("main");
        p.Align(4).Label("skip").Emit(Csrr(T6, Sepc), Addi(T6, T6, 4), Csrw(Sepc, T6), Addi(S6, S6, 1), Sret());
        p.Label("main").Li(S2, (long)seed).Li(S3, Accesses).Li(S4, 0x8000_0000).Li(S5, FuzzerRam);
        p.Label("loop");
        p.Emit(Slli(T4, S2, 13), Xor(S2, S2, T4), Srli(T4, S2, 7), Xor(S2, S2, T4), Slli(T4, S2, 17), Xor(S2, S2, T4));
        p.Emit(Andi(T5, S2, 1), Srli(T0, S2, 1)).Beq(T5, Zero, "wide");
        p.Li(T4, 0x3FFF_FFF8).Emit(And(T0, T0, T4), Add(T0, T0, S4)).J("check"); // within 1 GiB of the RAM base
        p.Label("wide").Li(T4, (1L << 40) - 8).Emit(And(T0, T0, T4));
        p.Label("check").Emit(Sub(T1, T0, S4)).Bltu(T1, S5, "next"); // never its own RAM (its code lives there)
        p.Emit(Sd(S2, T0, 0), Ld(T1, T0, 0));
        p.Label("next").Emit(Addi(S3, S3, -1)).Bne(S3, Zero, "loop");
        return p.ShutdownWith(S3);
    }

    [Fact]
    public void RandomGuestPhysicalAccessesReachNoOtherFrame()
    {
        using var rig = new Rig(machineMemory: 64UL << 20);
        DomainId victim = rig.Add(GuestCode.New().Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block).Hang(), "victim", memory: 16UL << 20);
        byte[] known = new byte[16 << 20];
        new Random(99).NextBytes(known);
        known.AsSpan(0x1000, 0x2000).Clear(); // start info (read-only) and shared info are left as built
        byte[] startInfo = new byte[0x1000];
        Assert.Equal(0, rig.Hv.Dom0.ReadGuest(victim, new GuestPhysicalAddress(GuestLayout.StartInfo), startInfo));
        startInfo.CopyTo(known, 0x1000);
        known.AsSpan(0x20_0000, 0x1000).Clear();
        byte[] code = new byte[0x1000];
        Assert.Equal(0, rig.Hv.Dom0.ReadGuest(victim, new GuestPhysicalAddress(GuestLayout.KernelBase), code));
        code.CopyTo(known, 0x20_0000);
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(victim, new GuestPhysicalAddress(GuestLayout.RamBase), known));
        var p2mBefore = rig.Hv.Dom0.GetP2m(victim);

        DomainId prober = rig.Add(Prober(0xDEAD_BEEF_1234_5678), "prober");
        var p2mProber = rig.Hv.Dom0.GetP2m(prober);
        Assert.Equal(HypervisorStop.Idle, rig.Run(100_000_000).Stop);

        Assert.Equal(0L, rig.Info(prober).ExitCode);
        Assert.InRange(rig.Reg(prober, S6), (ulong)(Accesses / 2), (ulong)(2 * Accesses)); // most accesses faulted
        byte[] after = new byte[16 << 20];
        Assert.Equal(0, rig.Hv.Dom0.ReadGuest(victim, new GuestPhysicalAddress(GuestLayout.RamBase), after));
        Assert.True(known.AsSpan().SequenceEqual(after), "the victim's memory changed");
        Assert.Equal(p2mBefore, rig.Hv.Dom0.GetP2m(victim));
        Assert.Equal(p2mProber, rig.Hv.Dom0.GetP2m(prober));
        // Frames nobody owns are still zero.
        for (ulong m = 0; m < rig.Hv.Machine.FrameCount; m++)
        {
            if (rig.Hv.Machine.OwnerOf(new Mfn(m)) is null)
            {
                Assert.True(rig.Hv.Machine.Frame(new Mfn(m)).IndexOfAnyExcept((byte)0) < 0, $"free frame {m:x} was written");
            }
        }
    }
}
