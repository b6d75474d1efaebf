using Vbase.Isa.Encoding;
using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Translation;

/// <summary>
/// A seeded random program that always terminates, for lockstep: a main loop whose body runs every RV64IM ALU
/// operation (register and immediate forms, W forms, compressed forms), loads and stores of every size into a
/// data area (misaligned and across its page boundary), forward branches of every kind, counted loops closed by
/// backward branches of every kind, and calls (jal, jalr, c.jalr) to functions in the same page, in other pages,
/// one starting with a 4-byte instruction that straddles a page boundary, and one that calls another. Now and
/// then: counter reads (cycle, time, instret), AMOs and LR/SC, and one fence.i per pass of the main loop.
/// </summary>
/// <remarks>
/// Termination: the only backward branches close counted loops whose counters (gp, tp, s1, s10) no random
/// instruction writes, and functions are leaves except <c>f1</c>, which keeps its return address in s2.
/// Random instructions write only the scratch registers (or x0), so the program's skeleton is never disturbed.
/// </remarks>
internal sealed class RandomProgram
{
    /// <summary>Two data pages; s0 and sp point at the boundary between them, so small negative offsets cross it.</summary>
    public const ulong DataBase = TestMachine.DataBase, DataPointer = DataBase + 0x1000, DataSize = 0x2000;

    private const int MainCounter = Gp, LoopCounter = Tp, InnerCounter = S1, LeafCounter = S10, SavedRa = S2, Temp = S11;
    private const int FunctionCount = 6;

    private static readonly int[] Scratch = [T0, T1, T2, A0, A1, A2, A3, A4, A5, A6, A7, S3, S4, S5, S6, S7, S8, S9, T3, T4, T5, T6];
    /// <summary>Scratch registers the 3-bit register fields of the compressed forms can name (x8..x15).</summary>
    private static readonly int[] PrimeScratch = [A0, A1, A2, A3, A4, A5];

    private static readonly string[] RegRegOps =
    [
        "add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "addw", "subw", "sllw", "srlw", "sraw",
        "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "mulw", "divw", "divuw", "remw", "remuw",
    ];
    private static readonly string[] RegImmOps = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"];
    private static readonly string[] ShiftImmOps = ["slli", "srli", "srai"];
    private static readonly string[] ShiftWordImmOps = ["slliw", "srliw", "sraiw"];
    private static readonly string[] LoadOps = ["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"];
    private static readonly string[] StoreOps = ["sb", "sh", "sw", "sd"];
    private static readonly string[] BranchOps = ["beq", "bne", "blt", "bge", "bltu", "bgeu", "c.beqz", "c.bnez"];
    private const int CompressedAluForms = 17, BackwardBranchKinds = 7;

    /// <summary>Operands that hit the M extension's and the shifts' edge cases: zero divisors, MIN / −1, amounts ≥ 32 and ≥ 64.</summary>
    private static readonly long[] Specials =
    [
        0, 1, -1, 2, long.MinValue, long.MaxValue, int.MinValue, int.MaxValue, 0x8000_0000, 0xFFFF_FFFF,
        31, 32, 33, 63, 64, 65, 127, -64, 0x1234_5678_9ABC_DEF0, unchecked((long)0xFFFF_FFFF_0000_0000),
    ];

    private readonly Random rng;
    private readonly ProgramBuilder p = TestMachine.Program();
    private int labelCount, loopCount;
    private bool fenceEmitted;

    public RandomProgram(int seed, int iterations = 12)
    {
        rng = new Random(seed);
        Data = new byte[DataSize];
        rng.NextBytes(Data);
        foreach (int r in Scratch)
        {
            Registers[r] = rng.Next(3) == 0 ? (ulong)rng.NextInt64() : (ulong)Specials[rng.Next(Specials.Length)];
        }
        Build(iterations);
    }

    public ProgramBuilder Program => p;
    public byte[] Data { get; }
    public Dictionary<int, ulong> Registers { get; } = [];

    /// <summary>Puts the program, its data and its initial registers into <paramref name="m"/>.</summary>
    public void Install(TestMachine m)
    {
        m.WriteBytes(DataBase, Data);
        foreach (var (r, value) in Registers)
        {
            m[r] = value;
        }
        m.Load(p);
        m.Hart.Pc = p.BaseAddress;
    }

    private void Build(int iterations)
    {
        p.Li(S0, (long)DataPointer).Emit(Mv(Sp, S0));
        p.Li(MainCounter, iterations);
        // The main loop starts late in the first page and runs into the second, so its blocks and branches
        // meet the page boundary (and calls from its two halves to f0 are cross-page and same-page).
        p.J("main");
        p.SkipTo(TestMachine.RamBase + 0xE00);
        p.Label("main");
        EveryOperation();
        Body(depth: 0, items: 40, inFunction: false);
        p.Emit(Addi(MainCounter, MainCounter, -1));
        BranchBack(MainCounter, "main", kind: 0);
        p.Label("end");
        p.Emit(Ebreak());

        // f0 and f1 follow main in its second page; the others sit where their page position matters.
        Function(0);
        Function(1);
        ulong page = (p.Here + 0xFFF) & ~0xFFFUL;
        p.SkipTo(page + 0x40);
        Function(2);
        Function(4);
        // f3 begins 18 bytes before a page boundary, so its fifth instruction (4 bytes, at offset 0xFFE) straddles it.
        page = ((p.Here + 0xFFF) & ~0xFFFUL) + 0x1000;
        p.SkipTo(page - 0x12);
        p.Label("f3");
        for (int i = 0; i < 5; i++)
        {
            Alu32();
        }
        Body(0, 6, inFunction: true);
        Return();
        p.SkipTo(Math.Max(p.Here, TestMachine.RamBase + 0x8000) + 0x2A);
        Function(5);
    }

    /// <summary>Each ALU operation, load, store and forward branch kind once, in random order: nothing is left to chance.</summary>
    private void EveryOperation()
    {
        var items = new List<Action>();
        foreach (string op in RegRegOps)
        {
            items.Add(() => p.Emit(Encode(op, Destination(), Source(), Source())));
        }
        foreach (string op in RegImmOps)
        {
            items.Add(() => p.Emit(Encode(op, Destination(), Source(), imm: Immediate12())));
        }
        foreach (string op in ShiftImmOps)
        {
            items.Add(() => p.Emit(Encode(op, Destination(), Source(), imm: rng.Next(64))));
        }
        foreach (string op in ShiftWordImmOps)
        {
            items.Add(() => p.Emit(Encode(op, Destination(), Source(), imm: rng.Next(32))));
        }
        items.Add(() => p.Emit(Lui(Destination(), rng.Next(-0x80000, 0x80000))));
        items.Add(() => p.Emit(Auipc(Destination(), rng.Next(-0x80000, 0x80000))));
        for (int form = 0; form < CompressedAluForms; form++)
        {
            int f = form;
            items.Add(() => CompressedAlu(f));
        }
        foreach (string op in LoadOps)
        {
            items.Add(() => MemoryAccess(op, boundary: rng.Next(2) == 0));
        }
        foreach (string op in StoreOps)
        {
            items.Add(() => MemoryAccess(op, boundary: rng.Next(2) == 0));
        }
        foreach (string op in BranchOps)
        {
            items.Add(() => ForwardBranch(op));
        }
        items.Add(() => p.Emit(Fence()));
        foreach (Action item in items.OrderBy(_ => rng.Next()))
        {
            item();
        }
    }

    /// <summary>Random items; loops nest two deep in main, one deep in functions; functions make no calls (but f1).</summary>
    private void Body(int depth, int items, bool inFunction)
    {
        for (int i = 0; i < items; i++)
        {
            int roll = rng.Next(100);
            if (roll < 35)
            {
                Alu();
            }
            else if (roll < 43)
            {
                p.Li(Destination(), Specials[rng.Next(Specials.Length)]);
            }
            else if (roll < 63)
            {
                MemoryAccess(rng.Next(3) == 0 ? StoreOps[rng.Next(StoreOps.Length)] : LoadOps[rng.Next(LoadOps.Length)], boundary: rng.Next(4) == 0);
            }
            else if (roll < 73)
            {
                ForwardBranch(BranchOps[rng.Next(BranchOps.Length)]);
            }
            else if (roll < 80)
            {
                ForwardJump();
            }
            else if (roll < 88 && depth < (inFunction ? 1 : 2))
            {
                Loop(depth, inFunction);
            }
            else if (roll < 94 && !inFunction)
            {
                Call($"f{rng.Next(FunctionCount)}");
            }
            else if (roll < 96)
            {
                // The counters as the program sees them: any miscount of a translated block shows in a register.
                p.Emit(Csrr(Destination(), CounterCsrs[rng.Next(CounterCsrs.Length)]));
            }
            else if (roll < 98)
            {
                Atomic();
            }
            else if (roll < 99 || depth > 0 || inFunction || fenceEmitted)
            {
                p.Emit16(CNop());
            }
            else
            {
                // Drops every decoded page, translations included, so everything is translated again. One per
                // program, at the main loop's top level (it runs once a pass): each costs recompiling every page.
                p.Emit(Assembler.FenceI());
                fenceEmitted = true;
            }
        }
    }

    private void Straight(int items)
    {
        for (int i = 0; i < items; i++)
        {
            if (rng.Next(3) == 0)
            {
                MemoryAccess(LoadOps[rng.Next(LoadOps.Length)], boundary: false);
            }
            else
            {
                Alu();
            }
        }
    }

    private static readonly ushort[] CounterCsrs = [Csrs.CsrAddress.Cycle, Csrs.CsrAddress.Time, Csrs.CsrAddress.Instret];

    /// <summary>An AMO, or an LR/SC pair, on an aligned address of the data area (interpreted: they end blocks).</summary>
    private void Atomic()
    {
        bool doubleword = rng.Next(2) == 0;
        p.Emit(Andi(Temp, Scratch[rng.Next(Scratch.Length)], doubleword ? 0x7F8 : 0x7FC), Add(Temp, Temp, S0));
        if (rng.Next(3) == 0)
        {
            p.Emit(doubleword ? LrD(Destination(), Temp) : LrW(Destination(), Temp));
            if (rng.Next(2) == 0)
            {
                Alu32();
            }
            else
            {
                p.Emit(doubleword ? Sd(Source(), Temp, 0) : Sw(Source(), Temp, 0)); // a plain store to the reserved address
            }
            p.Emit(doubleword ? ScD(Destination(), Source(), Temp) : ScW(Destination(), Source(), Temp));
            return;
        }
        string[] amos = ["amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax", "amominu", "amomaxu"];
        p.Emit(Encode($"{amos[rng.Next(amos.Length)]}.{(doubleword ? "d" : "w")}", Destination(), Temp, Source()));
    }

    private int Destination() => rng.Next(20) == 0 ? Zero : Scratch[rng.Next(Scratch.Length)];

    private int Source() => rng.Next(10) switch
    {
        0 => Zero,
        1 => S0,
        _ => Scratch[rng.Next(Scratch.Length)],
    };

    private int PrimeRegister() => PrimeScratch[rng.Next(PrimeScratch.Length)];

    private static readonly long[] SpecialImmediates = [0, 1, -1, 2047, -2048, 31, 32, 63, 64];

    private long Immediate12() => rng.Next(4) == 0 ? SpecialImmediates[rng.Next(SpecialImmediates.Length)] : rng.Next(-2048, 2048);

    private string NewLabel() => $"L{labelCount++}";

    private void Alu()
    {
        if (rng.Next(3) == 0)
        {
            CompressedAlu(rng.Next(CompressedAluForms));
        }
        else
        {
            Alu32();
        }
    }

    private void Alu32()
    {
        int kind = rng.Next(10);
        if (kind < 5)
        {
            p.Emit(Encode(RegRegOps[rng.Next(RegRegOps.Length)], Destination(), Source(), Source()));
        }
        else if (kind < 7)
        {
            p.Emit(Encode(RegImmOps[rng.Next(RegImmOps.Length)], Destination(), Source(), imm: Immediate12()));
        }
        else if (kind < 8)
        {
            p.Emit(Encode(ShiftImmOps[rng.Next(ShiftImmOps.Length)], Destination(), Source(), imm: rng.Next(64)));
        }
        else if (kind < 9)
        {
            p.Emit(Encode(ShiftWordImmOps[rng.Next(ShiftWordImmOps.Length)], Destination(), Source(), imm: rng.Next(32)));
        }
        else
        {
            p.Emit(rng.Next(2) == 0 ? Lui(Destination(), rng.Next(-0x80000, 0x80000)) : Auipc(Destination(), rng.Next(-0x80000, 0x80000)));
        }
    }

    private void CompressedAlu(int form)
    {
        int rd = Scratch[rng.Next(Scratch.Length)], rs = Scratch[rng.Next(Scratch.Length)];
        long imm6 = rng.Next(-32, 32);
        p.Emit16(form switch
        {
            0 => CAddi(rd, imm6),
            1 => CAddiw(rd, imm6),
            2 => CLi(rd, imm6),
            3 => CLui(rd, imm6 == 0 ? 1 : imm6),
            4 => CSrli(PrimeRegister(), rng.Next(64)),
            5 => CSrai(PrimeRegister(), rng.Next(64)),
            6 => CAndi(PrimeRegister(), imm6),
            7 => CSub(PrimeRegister(), PrimeRegister()),
            8 => CXor(PrimeRegister(), PrimeRegister()),
            9 => COr(PrimeRegister(), PrimeRegister()),
            10 => CAnd(PrimeRegister(), PrimeRegister()),
            11 => CSubw(PrimeRegister(), PrimeRegister()),
            12 => CAddw(PrimeRegister(), PrimeRegister()),
            13 => CSlli(rd, rng.Next(64)),
            14 => CMv(rd, rs),
            15 => CAdd(rd, rs),
            _ => CAddi4spn(PrimeRegister(), 4 * rng.Next(1, 256)),
        });
    }

    /// <summary>
    /// A load or store into the data area. General form: Temp = s0 + (rX &amp; 0x7FF or 0x7F8), then ±2 KiB off
    /// it, which spans both data pages; boundary form: a few bytes either side of s0 (the page boundary), so
    /// misaligned accesses cross it. Compressed forms off s0 and sp as the opcode allows.
    /// </summary>
    private void MemoryAccess(string op, bool boundary)
    {
        bool store = StoreOps.Contains(op);
        int size = op switch { "lb" or "lbu" or "sb" => 1, "lh" or "lhu" or "sh" => 2, "lw" or "lwu" or "sw" => 4, _ => 8 };
        if (size >= 4 && op != "lwu" && rng.Next(4) == 0)
        {
            int reg = PrimeRegister();
            bool viaSp = rng.Next(2) == 0;
            int offset = size * rng.Next(viaSp ? 32 : 16);
            p.Emit16((op, viaSp) switch
            {
                ("lw", false) => CLw(reg, S0, offset),
                ("ld", false) => CLd(reg, S0, offset),
                ("sw", false) => CSw(reg, S0, offset),
                ("sd", false) => CSd(reg, S0, offset),
                ("lw", true) => CLwsp(reg, offset),
                ("ld", true) => CLdsp(reg, offset),
                ("sw", true) => CSwsp(reg, offset),
                _ => CSdsp(reg, offset),
            });
            return;
        }
        int baseRegister = S0;
        long imm = rng.Next(-9, 9);
        if (!boundary)
        {
            p.Emit(Andi(Temp, Scratch[rng.Next(Scratch.Length)], rng.Next(2) == 0 ? 0x7FF : 0x7F8));
            p.Emit(Add(Temp, Temp, S0));
            baseRegister = Temp;
            imm = rng.Next(-2048, 2040);
        }
        p.Emit(store
            ? Encode(op, rs1: baseRegister, rs2: Source(), imm: imm)
            : Encode(op, Destination(), baseRegister, imm: imm));
    }

    private void ForwardBranch(string op)
    {
        string skip = NewLabel();
        int a = Source(), b = Source();
        switch (op)
        {
            case "beq": p.Beq(a, b, skip); break;
            case "bne": p.Bne(a, b, skip); break;
            case "blt": p.Blt(a, b, skip); break;
            case "bge": p.Bge(a, b, skip); break;
            case "bltu": p.Bltu(a, b, skip); break;
            case "bgeu": p.Bgeu(a, b, skip); break;
            case "c.beqz": p.CBeqz(PrimeRegister(), skip); break;
            default: p.CBnez(PrimeRegister(), skip); break;
        }
        Straight(rng.Next(1, 5)); // at most 4 items of ≤ 3 instructions: within c.beqz's reach
        p.Label(skip);
    }

    /// <summary>An unconditional forward jump over a word that would trap (an all-zero parcel is illegal).</summary>
    private void ForwardJump()
    {
        string skip = NewLabel();
        if (rng.Next(2) == 0)
        {
            p.CJ(skip);
        }
        else
        {
            p.J(skip);
        }
        p.Emit16(0);
        p.Label(skip);
    }

    private void Loop(int depth, bool inFunction)
    {
        int counter = inFunction ? LeafCounter : depth == 0 ? LoopCounter : InnerCounter;
        string top = NewLabel();
        p.Li(counter, rng.Next(1, 6));
        p.Label(top);
        Body(depth + 1, rng.Next(2, 7), inFunction);
        if (rng.Next(2) == 0)
        {
            p.Emit16(CAddi(counter, -1));
        }
        else
        {
            p.Emit(Addi(counter, counter, -1));
        }
        BranchBack(counter, top, loopCount++ % BackwardBranchKinds);
    }

    /// <summary>Continues at <paramref name="top"/> while <paramref name="counter"/> is not zero, with a branch of the given kind.</summary>
    private void BranchBack(int counter, string top, int kind)
    {
        long distance = (long)(p.Here - p.AddressOf(top));
        if (distance > 4000)
        {
            // Out of a B-type branch's reach.
            string done = NewLabel();
            p.Beq(counter, Zero, done).J(top).Label(done);
            return;
        }
        switch (kind)
        {
            case 1: p.Blt(Zero, counter, top); break;
            case 2: p.Emit(Addi(Temp, Zero, 1)).Bge(counter, Temp, top); break;
            case 3: p.Bltu(Zero, counter, top); break;
            case 4: p.Emit(Addi(Temp, Zero, 1)).Bgeu(counter, Temp, top); break;
            case 5: p.Emit(Sltiu(Temp, counter, 1)).Beq(Temp, Zero, top); break;
            case 6 when counter is >= 8 and <= 15 && distance < 200: p.CBnez(counter, top); break;
            default: p.Bne(counter, Zero, top); break;
        }
    }

    private void Call(string function)
    {
        switch (rng.Next(4))
        {
            case 0:
            case 1:
                p.Jal(Ra, function);
                break;
            case 2:
                p.La(Temp, function).Emit(Jalr(Ra, Temp, 0));
                break;
            default:
                if (rng.Next(2) == 0)
                {
                    p.La(Temp, function).Emit16(CJalr(Temp));
                }
                else
                {
                    p.La(Temp, function).Emit(Addi(Temp, Temp, -6), Jalr(Ra, Temp, 6));
                }
                break;
        }
    }

    private void Return()
    {
        switch (rng.Next(3))
        {
            case 0: p.Emit(Ret()); break;
            case 1: p.Emit16(CJr(Ra)); break;
            default: p.Emit(Jalr(Zero, Ra, 0)); break;
        }
    }

    private void Function(int index)
    {
        p.Label($"f{index}");
        if (index == 1)
        {
            // The one function that calls another: its return address waits in s2.
            p.Emit(Mv(SavedRa, Ra));
            Body(0, 4, inFunction: true);
            Call("f2");
            Body(0, 4, inFunction: true);
            p.Emit(Mv(Ra, SavedRa));
        }
        else
        {
            Body(0, rng.Next(6, 16), inFunction: true);
        }
        Return();
    }
}
