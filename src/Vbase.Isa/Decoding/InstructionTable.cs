using Vbase.Isa.Execution;
using Vbase.Isa.Harts;
using static Vbase.Isa.Decoding.OperandFormat;

namespace Vbase.Isa.Decoding;

/// <summary>One encoding: the word matches when <c>(word &amp; Mask) == Match</c>.</summary>
public readonly unsafe struct InstructionSpec(string name, uint mask, uint match, OperandFormat format,
    string extension, delegate*<Hart, DecodedInstruction*, DecodedInstruction*> execute)
{
    public readonly string Name = name;
    public readonly uint Mask = mask;
    public readonly uint Match = match;
    public readonly OperandFormat Format = format;
    public readonly string Extension = extension;
    public readonly delegate*<Hart, DecodedInstruction*, DecodedInstruction*> Execute = execute;
}

/// <summary>
/// The instruction set as data: every 32-bit encoding the hart executes, one row each. The decoder, the
/// disassembler and the test assembler are all driven by this table; compressed instructions are expanded
/// into these rows by <see cref="CompressedDecoder"/>. Masks and matches follow riscv-opcodes.
/// </summary>
public static unsafe class InstructionTable
{
    public static readonly InstructionSpec[] Rows =
    [
        // RV64I
        new("lui",    0x0000007f, 0x00000037, U,       "I", &Executors.Lui),
        new("auipc",  0x0000007f, 0x00000017, U,       "I", &Executors.Auipc),
        new("jal",    0x0000007f, 0x0000006f, J,       "I", &Executors.Jal),
        new("jalr",   0x0000707f, 0x00000067, I,       "I", &Executors.Jalr),
        new("beq",    0x0000707f, 0x00000063, B,       "I", &Executors.Beq),
        new("bne",    0x0000707f, 0x00001063, B,       "I", &Executors.Bne),
        new("blt",    0x0000707f, 0x00004063, B,       "I", &Executors.Blt),
        new("bge",    0x0000707f, 0x00005063, B,       "I", &Executors.Bge),
        new("bltu",   0x0000707f, 0x00006063, B,       "I", &Executors.Bltu),
        new("bgeu",   0x0000707f, 0x00007063, B,       "I", &Executors.Bgeu),
        new("lb",     0x0000707f, 0x00000003, Load,    "I", &Executors.Lb),
        new("lh",     0x0000707f, 0x00001003, Load,    "I", &Executors.Lh),
        new("lw",     0x0000707f, 0x00002003, Load,    "I", &Executors.Lw),
        new("ld",     0x0000707f, 0x00003003, Load,    "I", &Executors.Ld),
        new("lbu",    0x0000707f, 0x00004003, Load,    "I", &Executors.Lbu),
        new("lhu",    0x0000707f, 0x00005003, Load,    "I", &Executors.Lhu),
        new("lwu",    0x0000707f, 0x00006003, Load,    "I", &Executors.Lwu),
        new("sb",     0x0000707f, 0x00000023, S,       "I", &Executors.Sb),
        new("sh",     0x0000707f, 0x00001023, S,       "I", &Executors.Sh),
        new("sw",     0x0000707f, 0x00002023, S,       "I", &Executors.Sw),
        new("sd",     0x0000707f, 0x00003023, S,       "I", &Executors.Sd),
        new("addi",   0x0000707f, 0x00000013, I,       "I", &Executors.Addi),
        new("slti",   0x0000707f, 0x00002013, I,       "I", &Executors.Slti),
        new("sltiu",  0x0000707f, 0x00003013, I,       "I", &Executors.Sltiu),
        new("xori",   0x0000707f, 0x00004013, I,       "I", &Executors.Xori),
        new("ori",    0x0000707f, 0x00006013, I,       "I", &Executors.Ori),
        new("andi",   0x0000707f, 0x00007013, I,       "I", &Executors.Andi),
        new("slli",   0xfc00707f, 0x00001013, Shift64, "I", &Executors.Slli),
        new("srli",   0xfc00707f, 0x00005013, Shift64, "I", &Executors.Srli),
        new("srai",   0xfc00707f, 0x40005013, Shift64, "I", &Executors.Srai),
        new("add",    0xfe00707f, 0x00000033, R,       "I", &Executors.Add),
        new("sub",    0xfe00707f, 0x40000033, R,       "I", &Executors.Sub),
        new("sll",    0xfe00707f, 0x00001033, R,       "I", &Executors.Sll),
        new("slt",    0xfe00707f, 0x00002033, R,       "I", &Executors.Slt),
        new("sltu",   0xfe00707f, 0x00003033, R,       "I", &Executors.Sltu),
        new("xor",    0xfe00707f, 0x00004033, R,       "I", &Executors.Xor),
        new("srl",    0xfe00707f, 0x00005033, R,       "I", &Executors.Srl),
        new("sra",    0xfe00707f, 0x40005033, R,       "I", &Executors.Sra),
        new("or",     0xfe00707f, 0x00006033, R,       "I", &Executors.Or),
        new("and",    0xfe00707f, 0x00007033, R,       "I", &Executors.And),
        new("addiw",  0x0000707f, 0x0000001b, I,       "I", &Executors.Addiw),
        new("slliw",  0xfe00707f, 0x0000101b, Shift32, "I", &Executors.Slliw),
        new("srliw",  0xfe00707f, 0x0000501b, Shift32, "I", &Executors.Srliw),
        new("sraiw",  0xfe00707f, 0x4000501b, Shift32, "I", &Executors.Sraiw),
        new("addw",   0xfe00707f, 0x0000003b, R,       "I", &Executors.Addw),
        new("subw",   0xfe00707f, 0x4000003b, R,       "I", &Executors.Subw),
        new("sllw",   0xfe00707f, 0x0000103b, R,       "I", &Executors.Sllw),
        new("srlw",   0xfe00707f, 0x0000503b, R,       "I", &Executors.Srlw),
        new("sraw",   0xfe00707f, 0x4000503b, R,       "I", &Executors.Sraw),
        // FENCE ignores fm/pred/succ/rs1/rd: every variant orders memory the same on one in-order hart.
        new("fence",  0x0000707f, 0x0000000f, None,    "I", &Executors.Fence),
        new("ecall",  0xffffffff, 0x00000073, None,    "I", &Executors.Ecall),
        new("ebreak", 0xffffffff, 0x00100073, None,    "I", &Executors.Ebreak),

        // Zifencei: imm, rs1 and rd are reserved for finer-grained fences and ignored.
        new("fence.i", 0x0000707f, 0x0000100f, None,   "Zifencei", &Executors.FenceI),

        // Zicsr
        new("csrrw",  0x0000707f, 0x00001073, Csr,     "Zicsr", &Executors.Csrrw),
        new("csrrs",  0x0000707f, 0x00002073, Csr,     "Zicsr", &Executors.Csrrs),
        new("csrrc",  0x0000707f, 0x00003073, Csr,     "Zicsr", &Executors.Csrrc),
        new("csrrwi", 0x0000707f, 0x00005073, CsrImm,  "Zicsr", &Executors.Csrrwi),
        new("csrrsi", 0x0000707f, 0x00006073, CsrImm,  "Zicsr", &Executors.Csrrsi),
        new("csrrci", 0x0000707f, 0x00007073, CsrImm,  "Zicsr", &Executors.Csrrci),

        // M
        new("mul",    0xfe00707f, 0x02000033, R,       "M", &Executors.Mul),
        new("mulh",   0xfe00707f, 0x02001033, R,       "M", &Executors.Mulh),
        new("mulhsu", 0xfe00707f, 0x02002033, R,       "M", &Executors.Mulhsu),
        new("mulhu",  0xfe00707f, 0x02003033, R,       "M", &Executors.Mulhu),
        new("div",    0xfe00707f, 0x02004033, R,       "M", &Executors.Div),
        new("divu",   0xfe00707f, 0x02005033, R,       "M", &Executors.Divu),
        new("rem",    0xfe00707f, 0x02006033, R,       "M", &Executors.Rem),
        new("remu",   0xfe00707f, 0x02007033, R,       "M", &Executors.Remu),
        new("mulw",   0xfe00707f, 0x0200003b, R,       "M", &Executors.Mulw),
        new("divw",   0xfe00707f, 0x0200403b, R,       "M", &Executors.Divw),
        new("divuw",  0xfe00707f, 0x0200503b, R,       "M", &Executors.Divuw),
        new("remw",   0xfe00707f, 0x0200603b, R,       "M", &Executors.Remw),
        new("remuw",  0xfe00707f, 0x0200703b, R,       "M", &Executors.Remuw),

        // A (aq/rl bits are ignored: one in-order hart is already sequentially consistent)
        new("lr.w",      0xf9f0707f, 0x1000202f, Lr,  "A", &Executors.LrW),
        new("sc.w",      0xf800707f, 0x1800202f, Amo, "A", &Executors.ScW),
        new("amoswap.w", 0xf800707f, 0x0800202f, Amo, "A", &Executors.AmoSwapW),
        new("amoadd.w",  0xf800707f, 0x0000202f, Amo, "A", &Executors.AmoAddW),
        new("amoxor.w",  0xf800707f, 0x2000202f, Amo, "A", &Executors.AmoXorW),
        new("amoand.w",  0xf800707f, 0x6000202f, Amo, "A", &Executors.AmoAndW),
        new("amoor.w",   0xf800707f, 0x4000202f, Amo, "A", &Executors.AmoOrW),
        new("amomin.w",  0xf800707f, 0x8000202f, Amo, "A", &Executors.AmoMinW),
        new("amomax.w",  0xf800707f, 0xa000202f, Amo, "A", &Executors.AmoMaxW),
        new("amominu.w", 0xf800707f, 0xc000202f, Amo, "A", &Executors.AmoMinuW),
        new("amomaxu.w", 0xf800707f, 0xe000202f, Amo, "A", &Executors.AmoMaxuW),
        new("lr.d",      0xf9f0707f, 0x1000302f, Lr,  "A", &Executors.LrD),
        new("sc.d",      0xf800707f, 0x1800302f, Amo, "A", &Executors.ScD),
        new("amoswap.d", 0xf800707f, 0x0800302f, Amo, "A", &Executors.AmoSwapD),
        new("amoadd.d",  0xf800707f, 0x0000302f, Amo, "A", &Executors.AmoAddD),
        new("amoxor.d",  0xf800707f, 0x2000302f, Amo, "A", &Executors.AmoXorD),
        new("amoand.d",  0xf800707f, 0x6000302f, Amo, "A", &Executors.AmoAndD),
        new("amoor.d",   0xf800707f, 0x4000302f, Amo, "A", &Executors.AmoOrD),
        new("amomin.d",  0xf800707f, 0x8000302f, Amo, "A", &Executors.AmoMinD),
        new("amomax.d",  0xf800707f, 0xa000302f, Amo, "A", &Executors.AmoMaxD),
        new("amominu.d", 0xf800707f, 0xc000302f, Amo, "A", &Executors.AmoMinuD),
        new("amomaxu.d", 0xf800707f, 0xe000302f, Amo, "A", &Executors.AmoMaxuD),

        // Privileged
        new("sret",       0xffffffff, 0x10200073, None,   "S", &Executors.Sret),
        new("mret",       0xffffffff, 0x30200073, None,   "M", &Executors.Mret),
        new("wfi",        0xffffffff, 0x10500073, None,   "M", &Executors.Wfi),
        new("sfence.vma", 0xfe007fff, 0x12000073, Rs1Rs2, "S", &Executors.SfenceVma),
    ];

    /// <summary>Finds the row index of a mnemonic (for the assembler and tests); -1 if unknown.</summary>
    public static int IndexOf(string name)
    {
        for (int i = 0; i < Rows.Length; i++)
        {
            if (Rows[i].Name == name)
            {
                return i;
            }
        }
        return -1;
    }
}
