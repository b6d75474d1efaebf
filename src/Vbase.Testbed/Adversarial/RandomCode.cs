using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Testbed.Adversarial;

/// <summary>
/// A random guest kernel image for <see cref="CodeFuzzer"/>: a prologue that (for some seeds) registers two of
/// its data pages as a <c>vbase_op</c> region and maps the canary's read-only grant where its hole accesses go, builds Sv39 tables (an identity gigapage for the kernel, a user alias
/// of its RAM at 0x4000_0000, and random megapage and page PTEs in the low gigabyte), sets every register to a
/// random value and enters a block of random code in S-mode (Sv39 or bare) or U-mode, which loops forever. The
/// block mixes valid instructions of every kind with random words and parcels, loads, stores, AMOs and LR/SC at
/// random guest addresses (its data, its code, its page tables, the start-info and shared-info pages, holes, past
/// its RAM, the low gigabyte's random mappings, random words), CSR accesses, ecalls (hypercalls from S), fences,
/// sfence.vma, branches and jumps within the block, and now and then ebreak, wfi or sret. Its trap handler skips
/// to the next 4-byte slot. Every random choice comes from the seed: the same seed builds the same bytes.
/// </summary>
internal sealed class RandomCode
{
    public const ulong CodeGpa = 0x8022_0000, TablesGpa = 0x8021_0000, DataGpa = 0x8030_0000, DataSize = 0x1_0000;
    public const ulong UserAlias = 0x4000_0000;
    private const ulong RamEnd = 0x8040_0000;

    private static readonly string[] RegReg =
    [
        "add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "addw", "subw", "sllw", "srlw", "sraw",
        "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "mulw", "divw", "divuw", "remw", "remuw",
    ];
    private static readonly string[] RegImm = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"];
    private static readonly string[] Loads = ["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"];
    private static readonly string[] Stores = ["sb", "sh", "sw", "sd"];
    private static readonly string[] Branches = ["beq", "bne", "blt", "bge", "bltu", "bgeu"];
    private static readonly string[] Amos =
    [
        "amoswap.w", "amoadd.w", "amoxor.w", "amoand.w", "amoor.w", "amomin.w", "amomax.w", "amominu.w", "amomaxu.w",
        "amoswap.d", "amoadd.d", "amoxor.d", "amoand.d", "amoor.d", "amomin.d", "amomax.d", "amominu.d", "amomaxu.d",
    ];
    private static readonly string[] CsrOps = ["csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"];
    /// <summary>CSRs the block touches; stvec and satp are rarer (they derail the handler and the mappings).</summary>
    private static readonly ushort[] CommonCsrs =
    [
        Sstatus, Sie, Sip, Sscratch, Sepc, Scause, Stval, 0x106, 0x10A, 0xC00, 0xC01, 0xC02, 0xC03, 0x300, 0x301, 0x305,
        0x341, 0x344, 0xF14, 0x7B0, 0x5A8,
    ];
    private static readonly long[] Specials =
    [
        0, 1, -1, 2, long.MinValue, long.MaxValue, int.MinValue, int.MaxValue, 0x8000_0000, 0xFFFF_FFFF, 31, 32, 63, 64,
        (long)DataGpa, (long)CodeGpa, (long)GuestLayout.SharedInfo, (long)(UserAlias + DataGpa - GuestLayout.RamBase),
    ];
    private static readonly ulong[] HypercallNumbers =
    [
        HypercallNumber.MemoryOp, HypercallNumber.SetTimerOp, HypercallNumber.ConsoleIo, HypercallNumber.GrantTableOp,
        HypercallNumber.VcpuOp, HypercallNumber.EventChannelOp, HypercallNumber.VbaseOp, HypercallNumber.Domctl,
        Sbi.Base, Sbi.Time, Sbi.Dbcn, Sbi.LegacyPutchar, Sbi.LegacyGetchar,
    ];

    private readonly Random rng;
    private readonly ProgramBuilder p = GuestAsm.New();
    private readonly List<ulong> lowMappings = [];

    public RandomCode(ulong seed, bool userMode, int items)
    {
        // System.Random with a seed is the same generator on every platform and run (it is the legacy algorithm).
        rng = new Random((int)(GuestAsm.Mix(seed, 0xC0DE) & 0x7FFF_FFFF));
        UserMode = userMode;
        Paging = userMode || rng.Next(3) != 0;
        Region = rng.Next(2) == 0;
        Grant = rng.Next(2) == 0;
        Build(items);
    }

    public bool UserMode { get; }
    public bool Paging { get; }
    public bool Region { get; }
    /// <summary>Whether the prologue maps the canary's read-only grant at GFN 0x9_0000.</summary>
    public bool Grant { get; }
    public ProgramBuilder Program => p;

    private void Build(int items)
    {
        p.La(T0, "trap").Emit(Csrw(Stvec, T0));
        if (Region)
        {
            p.La(A1, "frames").Li(A0, 0).Li(A2, 2).Li(A3, 0).Li(A4, (long)DataGpa).Li(A7, (long)HypercallNumber.VbaseOp).Emit(Ecall());
        }
        if (Grant)
        {
            // The canary's grant (ref 0 of domain 1) read-only at 0x9_0000, where the block's "hole" accesses go.
            p.Li(A0, (long)GrantTableCommand.MapGrantRef).Li(A1, 1).Li(A2, 0).Li(A3, 0x90000).Li(A4, 1)
                .Li(A7, (long)HypercallNumber.GrantTableOp).Emit(Ecall());
        }
        if (Paging)
        {
            p.Li(T0, unchecked((long)((8UL << 60) | (TablesGpa >> 12)))).Emit(Csrw(Satp, T0), SfenceVma());
        }
        if (UserMode)
        {
            p.Li(T0, 1L << 8).Emit(Csrrc(Zero, Sstatus, T0));
            p.Li(T0, (long)(UserAlias + CodeGpa - GuestLayout.RamBase)).Emit(Csrw(Sepc, T0));
        }
        for (int r = 1; r < 32; r++)
        {
            p.Li(r, rng.Next(3) == 0 ? rng.NextInt64() : Specials[rng.Next(Specials.Length)]);
        }
        if (UserMode)
        {
            p.Emit(Sret());
        }
        else
        {
            p.J("code");
        }
        Handler();
        p.Align(8).Label("frames").Dword(DataGpa >> 12).Dword((DataGpa >> 12) + 1);

        p.SkipTo(TablesGpa);
        PageTables();
        p.SkipTo(CodeGpa);
        p.Label("code");
        Block(items);
        for (int i = 0; i < 64; i++)
        {
            p.J("code"); // forward branches near the end land here
        }
    }

    /// <summary>
    /// The trap handler: back to the 4-byte slot after the one that trapped, or to the block's start if that is
    /// outside the block (code that jumped away through a random word would otherwise slide through zeros, one
    /// illegal-instruction trap per word). t6 is kept in sscratch and t5 in a slot after the handler. For S-mode
    /// code it returns to S even if the code's own sret left SPP = U (else every later trap would return to U,
    /// where S-mode code cannot be fetched).
    /// </summary>
    private void Handler()
    {
        p.Align(8).Label("trap");
        ulong trap = p.Here;
        int count = UserMode ? 17 : 19;
        long save = (count * 4 + 7) & ~7, codeStart = save + 8;
        long At(int index) => index * 4;
        p.Emit(Csrrw(T6, Sscratch, T6), Auipc(T6, 0), Sd(T5, T6, save - At(1)), Csrr(T5, Sepc), Ori(T5, T5, 3), Addi(T5, T5, 1),
            Ld(T6, T6, codeStart - At(1)), Sub(T6, T5, T6), Srli(T6, T6, 14), Beq(T6, Zero, 12), Auipc(T6, 0), Ld(T5, T6, codeStart - At(10)),
            Csrw(Sepc, T5));
        if (!UserMode)
        {
            p.Emit(Addi(T6, Zero, 1 << 8), Csrrs(Zero, Sstatus, T6));
        }
        int c = UserMode ? 13 : 15;
        p.Emit(Auipc(T6, 0), Ld(T5, T6, save - At(c)), Csrrw(T6, Sscratch, T6), Sret());
        if (p.Here != trap + (ulong)(count * 4))
        {
            throw new InvalidOperationException("the handler's layout is off");
        }
        p.Align(8).Dword(0).Dword(UserMode ? unchecked(UserAlias + CodeGpa - GuestLayout.RamBase) : CodeGpa);
    }

    /// <summary>Root at TablesGpa: VA 0 → a level-1 table of random PTEs, 0x4000_0000 → RAM for U, 0x8000_0000 → RAM for S.</summary>
    private void PageTables()
    {
        const ulong v = 1, r = 2, w = 4, x = 8, u = 16, a = 64, d = 128;
        ulong level1 = TablesGpa + 0x1000, level0 = TablesGpa + 0x2000;
        var root = new ulong[512];
        root[0] = ((level1 >> 12) << 10) | v;
        root[1] = ((GuestLayout.RamBase >> 12) << 10) | v | r | w | x | u | a | d;
        root[2] = ((GuestLayout.RamBase >> 12) << 10) | v | r | w | x | a | d;
        var l1 = new ulong[512];
        l1[0] = ((level0 >> 12) << 10) | v;
        for (int i = 1; i < 8; i++)
        {
            ulong target = rng.Next(4) switch
            {
                0 => GuestLayout.RamBase + ((ulong)rng.Next(2) << 21),          // an aligned megapage of its RAM
                1 => GuestLayout.RamBase + ((ulong)rng.Next(512) << 12),        // misaligned: a page fault
                2 => 0x9000_0000UL,                                               // a hole
                _ => (ulong)rng.NextInt64() & 0x00FF_FFFF_F000UL,
            };
            l1[i] = ((target >> 12) << 10) | RandomFlags();
            lowMappings.Add((ulong)i << 21);
        }
        var l0 = new ulong[512];
        for (int i = 0; i < 48; i++)
        {
            ulong target = rng.Next(5) switch
            {
                0 => DataGpa + ((ulong)rng.Next(16) << 12),
                1 => TablesGpa + ((ulong)rng.Next(3) << 12),               // its own page tables
                2 => CodeGpa,
                3 => RamEnd + ((ulong)rng.Next(16) << 12),                 // past its RAM
                _ => GuestLayout.RamBase + ((ulong)rng.Next(1024) << 12),
            };
            int slot = rng.Next(512);
            l0[slot] = rng.Next(8) == 0 ? (ulong)rng.NextInt64() : ((target >> 12) << 10) | RandomFlags();
            lowMappings.Add((ulong)slot << 12);
        }
        foreach (ulong[] table in new[] { root, l1, l0 })
        {
            foreach (ulong e in table)
            {
                p.Dword(e);
            }
        }

        ulong RandomFlags()
        {
            ulong f = (ulong)rng.Next(256);
            return rng.Next(4) == 0 ? f : f | v | r | a | d | (rng.Next(2) == 0 ? u : 0) | (rng.Next(2) == 0 ? w : 0);
        }
    }

    private int Reg() => rng.Next(32);

    private void Block(int items)
    {
        ulong start = p.Here;
        for (int i = 0; i < items; i++)
        {
            int roll = rng.Next(100);
            if (roll < 24)
            {
                Alu();
            }
            else if (roll < 30)
            {
                p.Emit((uint)rng.NextInt64());                       // any word: mostly illegal, some valid
            }
            else if (roll < 34)
            {
                p.Emit16((ushort)(rng.Next(0x10000) & ~3 | rng.Next(3))).Emit16((ushort)(rng.Next(0x10000) & ~3 | rng.Next(3)));
            }
            else if (roll < 38)
            {
                p.Li(Reg(), Specials[rng.Next(Specials.Length)]);
            }
            else if (roll < 58)
            {
                Access(rng.Next(3) == 0 ? Stores[rng.Next(Stores.Length)] : Loads[rng.Next(Loads.Length)]);
            }
            else if (roll < 64)
            {
                Atomic();
            }
            else if (roll < 72)
            {
                Csr();
            }
            else if (roll < 75)
            {
                if (!UserMode && rng.Next(2) == 0)
                {
                    p.Li(A7, (long)HypercallNumbers[rng.Next(HypercallNumbers.Length)]);
                }
                p.Emit(Ecall());
            }
            else if (roll < 79)
            {
                p.Emit(rng.Next(3) switch
                {
                    0 => Fence(rng.Next(16), rng.Next(16)),
                    1 => FenceI(),
                    _ => SfenceVma(rng.Next(4) == 0 ? Reg() : Zero, rng.Next(4) == 0 ? Reg() : Zero),
                });
            }
            else if (roll < 92)
            {
                Branch(start);
            }
            else if (roll < 94)
            {
                // wfi only in U-mode (illegal there): in S-mode it would block the vCPU for good, nothing being armed.
                p.Emit(rng.Next(6) switch { 0 => UserMode ? Wfi() : Ebreak(), 1 => Sret(), 2 => Encode("mret"), _ => Ebreak() });
            }
            else
            {
                p.Emit(Encode(rng.Next(2) == 0 ? "lui" : "auipc", Reg(), imm: (long)rng.Next(-0x80000, 0x80000) << 12));
            }
        }
    }

    private void Alu()
    {
        int kind = rng.Next(4);
        if (kind == 0)
        {
            p.Emit(Encode(RegReg[rng.Next(RegReg.Length)], Reg(), Reg(), Reg()));
        }
        else if (kind == 1)
        {
            p.Emit(Encode(RegImm[rng.Next(RegImm.Length)], Reg(), Reg(), imm: rng.Next(-2048, 2048)));
        }
        else if (kind == 2)
        {
            string op = new[] { "slli", "srli", "srai" }[rng.Next(3)];
            p.Emit(Encode(op, Reg(), Reg(), imm: rng.Next(64)));
        }
        else
        {
            string op = new[] { "slliw", "srliw", "sraiw" }[rng.Next(3)];
            p.Emit(Encode(op, Reg(), Reg(), imm: rng.Next(32)));
        }
    }

    /// <summary>A guest address to access: mostly its data, but every kind of place a guest can name.</summary>
    private ulong Address()
    {
        ulong user = UserMode ? unchecked(UserAlias - GuestLayout.RamBase) : 0; // U-mode reaches its RAM through the alias
        int roll = rng.Next(100);
        ulong at = roll switch
        {
            < 50 => user + DataGpa + (ulong)rng.Next((int)DataSize),
            < 54 => user + CodeGpa + (ulong)rng.Next(0x2000),
            < 57 => user + TablesGpa + (ulong)rng.Next(0x3000),
            < 62 => user + GuestLayout.StartInfo + (ulong)rng.Next(0x1000),
            < 68 => user + GuestLayout.SharedInfo + (ulong)rng.Next(0x100),
            < 71 => user + 0x9000_0000UL + (ulong)rng.Next(0x1000),                                            // a hole, or the canary's grant
            < 75 => RamEnd + (ulong)rng.Next(0x10000),
            < 85 => lowMappings[rng.Next(lowMappings.Count)] + (ulong)rng.Next(0x1000),
            < 90 => (UserMode ? 0 : unchecked(UserAlias - GuestLayout.RamBase)) + DataGpa + (ulong)rng.Next((int)DataSize), // the other mode's view
            < 93 => 0x1000_0000UL + (ulong)rng.Next(0x100),                                                      // where a UART would be
            _ => (ulong)rng.NextInt64(),
        };
        return at;
    }

    /// <summary>
    /// The address a <c>li base, value</c> at <see cref="ProgramBuilder.Here"/> must load so that the access after
    /// it (at offset <paramref name="offset"/>) hits that access's own instruction, <paramref name="delta"/> bytes on.
    /// </summary>
    private long SelfTargeting(long offset, long delta)
    {
        ulong view = UserMode ? unchecked(UserAlias - GuestLayout.RamBase) : 0;
        long value = (long)(p.Here + view) + 16 + delta - offset;
        for (int i = 0; i < 3; i++)
        {
            int length = (int)(new ProgramBuilder(0).Li(T0, value).Here);
            value = (long)(p.Here + view) + length + delta - offset;
        }
        return value;
    }

    private void Access(string op)
    {
        int baseReg = Reg();
        long offset = rng.Next(-64, 64);
        // 1 in 8: a store over (or a load of) its own instruction or its neighbours.
        p.Li(baseReg, rng.Next(8) == 0 ? SelfTargeting(offset, rng.Next(-8, 9)) : (long)Address() - offset);
        p.Emit(op.StartsWith('s')
            ? Encode(op, rs1: baseReg, rs2: Reg(), imm: offset)
            : Encode(op, Reg(), baseReg, imm: offset));
    }

    private void Atomic()
    {
        int baseReg = Reg();
        bool aligned = rng.Next(8) != 0;
        // 1 in 6: its own instruction (the doubleword or word that holds it), as defect 5 of issue 12 needed.
        ulong at = rng.Next(6) == 0 ? (ulong)SelfTargeting(0, 0) & ~(rng.Next(2) == 0 ? 7UL : 3UL) : Address() & (aligned ? ~7UL : ~0UL);
        p.Li(baseReg, (long)at);
        int roll = rng.Next(4);
        bool word = rng.Next(2) == 0;
        if (roll == 0)
        {
            p.Emit(Encode(word ? "lr.w" : "lr.d", Reg(), baseReg, aq: rng.Next(2) == 0, rl: rng.Next(2) == 0));
        }
        else if (roll == 1)
        {
            p.Emit(Encode(word ? "sc.w" : "sc.d", Reg(), baseReg, Reg(), aq: rng.Next(2) == 0, rl: rng.Next(2) == 0));
        }
        else
        {
            p.Emit(Encode(Amos[rng.Next(Amos.Length)], Reg(), baseReg, Reg(), aq: rng.Next(2) == 0, rl: rng.Next(2) == 0));
        }
    }

    private void Csr()
    {
        int roll = rng.Next(50);
        ushort csr = roll switch
        {
            0 => Stvec,
            1 => Satp,
            < 5 => (ushort)rng.Next(0x1000),
            _ => CommonCsrs[rng.Next(CommonCsrs.Length)],
        };
        // stvec, satp and sepc are only read: a random write would leave the case faulting forever (no handler, no
        // mappings, or an sret to a random place), which tests nothing after the first fault.
        if (csr is Stvec or Satp or Sepc)
        {
            p.Emit(Csrrs(Reg(), csr, Zero));
            return;
        }
        string op = CsrOps[rng.Next(CsrOps.Length)];
        p.Emit(Encode(op, Reg(), op.EndsWith('i') ? rng.Next(32) : Reg(), imm: csr));
    }

    private void Branch(ulong start)
    {
        // Mostly a little ahead; 1 in 6 a slot of the block so far (a loop: random registers may keep it going for
        // a while, and the block's own loop already heats the page). Branches reach ±4 KiB.
        long here = (long)p.Here;
        long back = Math.Max((long)start, here - 4000);
        long target = rng.Next(6) != 0 ? here + (4 * rng.Next(1, 32)) : back + (4 * rng.Next((int)((here - back) / 4) + 1));
        long offset = target - here;
        if (rng.Next(4) == 0)
        {
            p.Emit(Jal(rng.Next(3) == 0 ? Ra : Zero, offset == 0 ? 4 : offset));
        }
        else
        {
            p.Emit(Encode(Branches[rng.Next(Branches.Length)], rs1: Reg(), rs2: Reg(), imm: offset == 0 ? 4 : offset));
        }
    }
}
