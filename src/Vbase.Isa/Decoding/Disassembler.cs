namespace Vbase.Isa.Decoding;

/// <summary>Renders decoded instructions in the usual assembler syntax, driven by the table's operand formats.</summary>
public static class Disassembler
{
    public static readonly string[] AbiNames =
    [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    ];

    /// <summary>Disassembles a raw word (32-bit, or a 16-bit compressed parcel) at <paramref name="pc"/>.</summary>
    public static string Disassemble(uint raw, ulong pc = 0)
    {
        InstructionDecoder.Decode(raw, out DecodedInstruction d);
        return Disassemble(in d, pc);
    }

    public static string Disassemble(in DecodedInstruction d, ulong pc)
    {
        if (d.IsIllegal)
        {
            return d.Length == 2 ? $"illegal (c 0x{d.Raw:x4})" : $"illegal (0x{d.Raw:x8})";
        }
        // Operands come from the (expanded) 32-bit word so that x0 destinations print as zero.
        uint word = d.Length == 2 ? CompressedDecoder.Expand((ushort)d.Raw) : d.Raw;
        ref readonly InstructionSpec spec = ref InstructionTable.Rows[d.TableIndex];
        string rd = AbiNames[(word >> 7) & 31], rs1 = AbiNames[(word >> 15) & 31], rs2 = AbiNames[(word >> 20) & 31];
        string name = d.Length == 2 ? "c." + spec.Name : spec.Name;
        return spec.Format switch
        {
            OperandFormat.R => $"{name} {rd}, {rs1}, {rs2}",
            OperandFormat.I => $"{name} {rd}, {rs1}, {d.Imm}",
            OperandFormat.Load => $"{name} {rd}, {d.Imm}({rs1})",
            OperandFormat.Shift64 or OperandFormat.Shift32 => $"{name} {rd}, {rs1}, {d.Imm}",
            OperandFormat.S => $"{name} {rs2}, {d.Imm}({rs1})",
            OperandFormat.B => $"{name} {rs1}, {rs2}, 0x{pc + (ulong)d.Imm:x}",
            OperandFormat.U => $"{name} {rd}, 0x{((ulong)d.Imm >> 12) & 0xFFFFF:x}",
            OperandFormat.J => $"{name} {rd}, 0x{pc + (ulong)d.Imm:x}",
            OperandFormat.Csr => $"{name} {rd}, {CsrName((uint)d.Imm)}, {rs1}",
            OperandFormat.CsrImm => $"{name} {rd}, {CsrName((uint)d.Imm)}, {(word >> 15) & 31}",
            OperandFormat.Amo => $"{name} {rd}, {rs2}, ({rs1})",
            OperandFormat.Lr => $"{name} {rd}, ({rs1})",
            OperandFormat.Rs1Rs2 => $"{name} {rs1}, {rs2}",
            _ => name,
        };
    }

    private static readonly Dictionary<uint, string> CsrNames = new()
    {
        [0xC00] = "cycle", [0xC01] = "time", [0xC02] = "instret",
        [0x100] = "sstatus", [0x104] = "sie", [0x105] = "stvec", [0x106] = "scounteren", [0x10A] = "senvcfg",
        [0x140] = "sscratch", [0x141] = "sepc", [0x142] = "scause", [0x143] = "stval", [0x144] = "sip", [0x180] = "satp",
        [0xF11] = "mvendorid", [0xF12] = "marchid", [0xF13] = "mimpid", [0xF14] = "mhartid", [0xF15] = "mconfigptr",
        [0x300] = "mstatus", [0x301] = "misa", [0x302] = "medeleg", [0x303] = "mideleg", [0x304] = "mie", [0x305] = "mtvec",
        [0x306] = "mcounteren", [0x30A] = "menvcfg", [0x320] = "mcountinhibit",
        [0x340] = "mscratch", [0x341] = "mepc", [0x342] = "mcause", [0x343] = "mtval", [0x344] = "mip",
        [0xB00] = "mcycle", [0xB02] = "minstret",
        [0x7A0] = "tselect", [0x7A1] = "tdata1", [0x7A2] = "tdata2", [0x7A3] = "tdata3", [0x7A4] = "tinfo",
    };

    public static string CsrName(uint csr) => CsrNames.TryGetValue(csr, out string? n) ? n
        : csr is >= 0x3A0 and <= 0x3AF ? $"pmpcfg{csr - 0x3A0}"
        : csr is >= 0x3B0 and <= 0x3EF ? $"pmpaddr{csr - 0x3B0}"
        : $"0x{csr:x3}";
}
