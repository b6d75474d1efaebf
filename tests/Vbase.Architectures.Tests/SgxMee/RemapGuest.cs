using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Architectures.Tests.SgxMee;

/// <summary>
/// A guest whose kernel remaps an enclave's virtual page behind its back, with real 4 KiB Sv39 mappings: the
/// secure process registers two pages at VA 0x40_0000, and between its runs the kernel points the first page's PTE
/// at (1) a frame outside the enclave, (2) the enclave's second page, (3) the right page again.
/// </summary>
/// <remarks>
/// Result slots (<see cref="GuestCode.Results"/>): 0 enter's result · 1 first read (page 0) · 2 read after the
/// remap to a plain frame · 3 read after the remap to page 1 (never written: it faults) · 4 scause of that fault ·
/// 5 read after the PTE is put back · 6 exit's result · 7 the slot the process writes next (the kernel sets it).
/// The kernel keeps nothing of its own in registers while the process runs (its step is in sscratch): a design that
/// scrubs a secure process's registers on the way to the kernel would leave it nothing.
/// </remarks>
internal static class RemapGuest
{
    public const ulong Page0Gpa = 0x8030_0000, Page1Gpa = 0x8030_1000, RogueGpa = 0x8030_6000;
    public const ulong EnclaveVa = 0x40_0000;
    public const ulong Page0Value = 0x1111_0000_0000_1111, Page1Value = 0x2222_0000_0000_2222, RogueValue = 0x6666_0000_0000_6666;
    public const ulong NotRead = 0x5A5A_5A5A_5A5A_5A5A;
    private const ulong FrameList = 0x8030_2000, Root = 0x8030_3000, Mid = 0x8030_4000, Leaf = 0x8030_5000;
    private const ulong UserAlias = 0x8000_0000;       // process VA = GPA - this (code and results: a megapage)
    /// <summary>The flags of the enclave's PTEs (V R W X U G A D).</summary>
    public const long UserRwx = 0xDF;
    private const long KernelRwx = 0xCF, Table = 0x01;
    private const int EnclaveLeafSlot = 0;             // VA 0x40_0000 in the leaf table that covers 0x40_0000..0x5F_FFFF

    /// <param name="rogueFlags">The flags of the PTE that points the first page at the rogue frame (one the hart
    /// refuses makes the read page-fault instead).</param>
    public static ProgramBuilder Build(long rogueFlags = UserRwx)
    {
        ProgramBuilder p = GuestCode.New().WithResults();
        p.Li(S9, (long)(GuestCode.Results - UserAlias));
        Store(p, Page0Gpa, unchecked((long)Page0Value));
        Store(p, Page1Gpa, unchecked((long)Page1Value));
        Store(p, RogueGpa, unchecked((long)RogueValue));
        Store(p, GuestCode.Results + (3 * 8), unchecked((long)NotRead));
        Store(p, FrameList, (long)(Page0Gpa >> 12));
        Store(p, FrameList + 8, (long)(Page1Gpa >> 12));
        Store(p, Root + (0 * 8), Pte(Mid, Table));
        Store(p, Root + (2 * 8), Pte(0x8000_0000, KernelRwx));                      // the kernel: VA = GPA
        Store(p, Mid + (1 * 8), Pte(GuestLayout.KernelBase, UserRwx));              // code and results: a megapage at VA 0x20_0000
        Store(p, Mid + (2 * 8), Pte(Leaf, Table));
        Store(p, Leaf + (EnclaveLeafSlot * 8), Pte(Page0Gpa, UserRwx));
        Store(p, Leaf + ((EnclaveLeafSlot + 1) * 8), Pte(Page1Gpa, UserRwx));
        p.La(T0, "trap").Emit(Csrrw(Zero, CsrAddress.Stvec, T0));
        p.Li(T0, unchecked((long)((8UL << 60) | (Root >> 12)))).Emit(Csrrw(Zero, CsrAddress.Satp, T0), SfenceVma());
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)FrameList, 2, 0, (long)EnclaveVa).Save(0);
        p.Li(S10, 1).Emit(Csrrw(Zero, CsrAddress.Sscratch, S10));
        p.Li(T1, 1).Emit(Sd(T1, S11, 7 * 8));
        ReturnToUser(p, "read");

        // The secure process: one read of its first page per run, saved in the slot the kernel named in slot 7.
        p.Label("read");
        p.Emit(Ld(S8, S9, 7 * 8));
        p.Li(T0, (long)EnclaveVa).Emit(Ld(T1, T0, 0));
        p.Emit(Slli(T2, S8, 3), Add(T2, T2, S9), Sd(T1, T2, 0), Ecall());

        p.Label("trap");
        p.Emit(Csrrs(S10, CsrAddress.Sscratch, Zero));
        p.Li(S11, (long)GuestCode.Results).Li(S9, (long)(GuestCode.Results - UserAlias));
        p.Li(T0, 1).Bne(S10, T0, "step2");
        Remap(p, RogueGpa, nextSlot: 2, rogueFlags);
        p.Label("step2");
        p.Li(T0, 2).Bne(S10, T0, "step3");
        Remap(p, Page1Gpa, nextSlot: 3);
        p.Label("step3");
        p.Li(T0, 3).Bne(S10, T0, "step4");
        p.Emit(Csrrs(T1, CsrAddress.Scause, Zero), Sd(T1, S11, 4 * 8));              // the fault the read took
        Remap(p, Page0Gpa, nextSlot: 5);
        p.Label("step4");
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Exit, (long)FrameList, 2, 1, (long)EnclaveVa).Save(6);
        return p.Shutdown(0);
    }

    /// <summary>The kernel points the enclave's first virtual page at <paramref name="gpa"/> and resumes the process.</summary>
    private static void Remap(ProgramBuilder p, ulong gpa, int nextSlot, long flags = UserRwx)
    {
        Store(p, Leaf + (EnclaveLeafSlot * 8), Pte(gpa, flags));
        p.Emit(SfenceVma());
        p.Emit(Addi(S10, S10, 1), Csrrw(Zero, CsrAddress.Sscratch, S10));
        p.Li(T1, nextSlot).Emit(Sd(T1, S11, 7 * 8));
        ReturnToUser(p, "read");
    }

    private static long Pte(ulong gpa, long flags) => (long)((gpa >> 12) << 10) | flags;

    private static void Store(ProgramBuilder p, ulong gpa, long value) =>
        p.Li(T0, (long)gpa).Li(T1, value).Emit(Sd(T1, T0, 0));

    private static void ReturnToUser(ProgramBuilder p, string label)
    {
        p.La(T0, label).Li(T1, unchecked((long)UserAlias)).Emit(Sub(T0, T0, T1), Csrrw(Zero, CsrAddress.Sepc, T0));
        p.Li(T0, 1 << 8).Emit(Csrrc(Zero, CsrAddress.Sstatus, T0), Sret());
    }
}
