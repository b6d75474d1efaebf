using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// A tiny guest that plays the paper's story with two processes, in S-mode assembly: kernel + process A (the
/// secure one) + process B, each process an address space of its own (two Sv39 roots with the same mappings).
/// </summary>
/// <remarks>
/// Memory: the kernel's view is guest-physical at VA 0x8000_0000 (a gigapage without U); the processes see the
/// same RAM at VA 0 (a U gigapage). The secret lives at <see cref="SecretGpa"/>; result slots (8 bytes each) at
/// <see cref="GuestCode.Results"/>:
/// 0 enter's result · 1 A reads · 2 A reads after its own write of <see cref="AppWrite"/> · 3 kernel reads ·
/// 4 B reads (after the kernel wrote <see cref="KernelWrite"/>) · 5 A reads again · 6 exit's result ·
/// 7 kernel reads after exit · 8 what a function that lives in the protected page returned to A ·
/// 9 and 10 what A finds in s1 and f8 when it runs again (it left <see cref="RegisterMark"/> and
/// <see cref="FpMark"/> there before its ecall).
/// </remarks>
/// <remarks>
/// Like a real kernel, the kernel keeps nothing of its own in registers while a process runs: it takes its step from
/// sscratch and its pointers from constants at each trap (a design that scrubs a secure process's registers on the way
/// to the kernel leaves it nothing else). It enables the FPU once, at boot. A fault of its own (its read of the page
/// under a design that faults it) skips the access: the slot then holds what the register held before.
/// </remarks>
internal static class SecureProcessGuest
{
    public const ulong SecretGpa = 0x8030_0000;
    public const ulong Secret = 0x1122_3344_5566_7788;
    public const ulong AppWrite = 0xDEAD, KernelWrite = 0xBEEF;
    /// <summary>What process A leaves in s1 and f8 when it makes its ecall.</summary>
    public const ulong RegisterMark = 0x5EC2_E7A1, FpMark = 0x4009_21FB_5444_2D18;   // f8: pi
    /// <summary>A function in the protected page (at +0x100) returns this in t3: code fetched through the plug-in.</summary>
    public const long FunctionResult = 42;
    private const ulong FrameList = 0x8030_1000, RootA = 0x8030_2000, RootB = 0x8030_3000;
    private const ulong UserAlias = 0x8000_0000;   // process VA = GPA - this

    /// <param name="appStores">How many times process A writes <see cref="AppWrite"/> in its first run (a loop).</param>
    public static ProgramBuilder Build(int appStores = 1)
    {
        ProgramBuilder p = GuestCode.New().WithResults();
        p.Li(S9, (long)(GuestCode.Results - UserAlias));        // the result slots as processes see them
        p.Li(T0, 1L << 13).Emit(Csrrs(Zero, CsrAddress.Sstatus, T0));   // FS = Initial
        p.Li(T0, (long)SecretGpa).Li(T1, unchecked((long)Secret)).Emit(Sd(T1, T0, 0));
        p.Li(T0, (long)SecretGpa);
        p.Li(T1, Addi(T3, Zero, FunctionResult)).Emit(Sw(T1, T0, 0x100));
        p.Li(T1, Jalr(Zero, Ra, 0)).Emit(Sw(T1, T0, 0x104), FenceI());
        p.Li(T0, (long)FrameList).Li(T1, (long)(SecretGpa >> 12)).Emit(Sd(T1, T0, 0));
        foreach (ulong root in new[] { RootA, RootB })
        {
            p.Li(T0, (long)root);
            p.Li(T1, (0x80000L << 10) | 0xDF).Emit(Sd(T1, T0, 0 * 8));   // VA 0: U, RWX, A, D
            p.Li(T1, (0x80000L << 10) | 0xCF).Emit(Sd(T1, T0, 2 * 8));   // VA 0x8000_0000: kernel, RWX, A, D
        }
        p.La(T0, "trap").Emit(Csrrw(Zero, CsrAddress.Stvec, T0));
        SwitchTo(p, RootA);
        // vbase_op(enter, list, 1 page, op 0, va) for process A (the caller's satp is A's).
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)FrameList, 1, 0, (long)(SecretGpa - UserAlias)).Save(0);
        Step(p, 1);
        ReturnToUser(p, "processA");

        // Process A, first run: read, write (its own write), read again, back to the kernel.
        p.Label("processA");
        p.Li(T0, (long)(SecretGpa - UserAlias));
        p.Emit(Ld(T1, T0, 0), Sd(T1, S9, 1 * 8));
        p.Li(T2, (long)AppWrite).Li(T5, appStores);
        p.Label("appStore");
        p.Emit(Sd(T2, T0, 0), Addi(T5, T5, -1));
        p.Bne(T5, Zero, "appStore");
        p.Emit(Ld(T1, T0, 0), Sd(T1, S9, 2 * 8));
        p.Emit(Addi(T4, T0, 0x100), Jalr(Ra, T4, 0), Sd(T3, S9, 8 * 8));
        p.Li(S1, (long)RegisterMark).Li(T1, unchecked((long)FpMark)).Emit(Assembler.Encode("fmv.d.x", 8, T1), Ecall());
        // Process B: read the same page through its own address space.
        p.Label("processB");
        p.Li(T0, (long)(SecretGpa - UserAlias));
        p.Emit(Ld(T1, T0, 0), Sd(T1, S9, 4 * 8), Ecall());
        // Process A, second run.
        p.Label("processA2");
        p.Li(T0, (long)(SecretGpa - UserAlias));
        p.Emit(Sd(S1, S9, 9 * 8), Assembler.Encode("fmv.x.d", T1, 8), Sd(T1, S9, 10 * 8));   // before a load that may fault
        p.Emit(Ld(T1, T0, 0), Sd(T1, S9, 5 * 8), Ecall());

        // The kernel's trap handler: the step is in sscratch (s10 while the handler runs).
        p.Label("trap");
        // A fault of the kernel's own (a design that faults its reads of the page, as pmp does): skip the access.
        p.Emit(Csrrs(T0, CsrAddress.Sstatus, Zero), Andi(T0, T0, 1 << 8));
        p.Beq(T0, Zero, "fromUser");
        p.Emit(Csrrs(T0, CsrAddress.Sepc, Zero), Addi(T0, T0, 4), Csrrw(Zero, CsrAddress.Sepc, T0), Sret());
        p.Label("fromUser");
        p.Emit(Csrrs(S10, CsrAddress.Sscratch, Zero));
        p.Li(S11, (long)GuestCode.Results).Li(S9, (long)(GuestCode.Results - UserAlias));
        p.Li(T0, 1).Bne(S10, T0, "step2");
        p.Li(T0, (long)SecretGpa).Emit(Ld(T1, T0, 0), Sd(T1, S11, 3 * 8));   // the kernel reads …
        p.Li(T1, (long)KernelWrite).Emit(Sd(T1, T0, 0));                      // … and writes the page
        Step(p, 2);
        SwitchTo(p, RootB);
        ReturnToUser(p, "processB");
        p.Label("step2");
        p.Li(T0, 2).Bne(S10, T0, "step3");
        Step(p, 3);
        SwitchTo(p, RootA);
        ReturnToUser(p, "processA2");
        p.Label("step3");
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Exit, (long)FrameList, 1, 1, (long)(SecretGpa - UserAlias)).Save(6);
        p.Li(T0, (long)SecretGpa).Emit(Ld(T1, T0, 0), Sd(T1, S11, 7 * 8));
        return p.Shutdown(0);
    }

    private static void Step(ProgramBuilder p, int step) => p.Li(S10, step).Emit(Csrrw(Zero, CsrAddress.Sscratch, S10));

    private static void SwitchTo(ProgramBuilder p, ulong root)
    {
        p.Li(T0, (long)((8UL << 60) | (root >> 12)));
        p.Emit(Csrrw(Zero, CsrAddress.Satp, T0), SfenceVma());
    }

    /// <summary>sret to the process's alias of <paramref name="label"/> in U-mode.</summary>
    private static void ReturnToUser(ProgramBuilder p, string label)
    {
        p.La(T0, label).Li(T1, unchecked((long)UserAlias)).Emit(Sub(T0, T0, T1), Csrrw(Zero, CsrAddress.Sepc, T0));
        p.Li(T0, 1 << 8).Emit(Csrrc(Zero, CsrAddress.Sstatus, T0), Sret());   // SPP = U
    }
}
