using Vbase.Isa.Decoding;

namespace Vbase.Isa.Encoding;

/// <summary>
/// Builds instruction words from a mnemonic and its operands. The 32-bit forms are driven by
/// <see cref="InstructionTable"/>: the row found by name gives the fixed bits (its Match) and the operand layout
/// (its <see cref="OperandFormat"/>), so the assembler cannot disagree with the decoder about which bits an
/// instruction owns. The compressed forms (Assembler.Compressed.cs) take their fixed bits from the C rows of the same
/// data file (<see cref="CompressedTable"/>) and pack the operands into the C chapter's field layouts.
/// </summary>
/// <remarks>
/// Operand order: the destination first, then sources; a memory operand is always "base register, then byte
/// offset" (<c>Ld(A0, Sp, 8)</c> is <c>ld a0, 8(sp)</c>, <c>Sd(Ra, Sp, 8)</c> is <c>sd ra, 8(sp)</c>). Branch and
/// jump offsets are in bytes, relative to the instruction. Out-of-range operands throw
/// <see cref="ArgumentOutOfRangeException"/> instead of being truncated, so a wrong test fails loudly.
/// </remarks>
public static partial class Assembler
{
    // ABI register names (unprivileged spec, "RISC-V calling convention").
    public const int Zero = 0, Ra = 1, Sp = 2, Gp = 3, Tp = 4, T0 = 5, T1 = 6, T2 = 7;
    public const int S0 = 8, Fp = 8, S1 = 9, A0 = 10, A1 = 11, A2 = 12, A3 = 13, A4 = 14, A5 = 15;
    public const int A6 = 16, A7 = 17, S2 = 18, S3 = 19, S4 = 20, S5 = 21, S6 = 22, S7 = 23;
    public const int S8 = 24, S9 = 25, S10 = 26, S11 = 27, T3 = 28, T4 = 29, T5 = 30, T6 = 31;

    private static readonly Dictionary<string, int> RowByName = BuildIndex();

    private static Dictionary<string, int> BuildIndex()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < InstructionTable.Rows.Length; i++)
        {
            index.TryAdd(InstructionTable.Rows[i].Name, i);
        }
        return index;
    }

    /// <summary>The table row of <paramref name="mnemonic"/>; throws for names the table does not hold.</summary>
    public static ref readonly InstructionSpec Row(string mnemonic) =>
        ref InstructionTable.Rows[RowByName.TryGetValue(mnemonic, out int i) ? i
            : throw new ArgumentException($"'{mnemonic}' is not in the instruction table", nameof(mnemonic))];

    /// <summary>
    /// Encodes a 32-bit instruction. Fields are read as the decoder produces them in
    /// <see cref="DecodedInstruction"/>: <paramref name="imm"/> is the immediate (U: the full value, low 12 bits
    /// zero; B/J: a byte offset; Csr/CsrImm: the CSR number), and for CsrImm the 5-bit uimm travels in
    /// <paramref name="rs1"/>. <paramref name="aq"/>/<paramref name="rl"/> only apply to LR/SC/AMOs. For the F and D
    /// rows, register numbers name f or x registers as the format says, <paramref name="rs3"/> is the fused
    /// multiply-adds' third source and <paramref name="rm"/> the rounding mode (7, dynamic, by default).
    /// </summary>
    public static uint Encode(string mnemonic, int rd = 0, int rs1 = 0, int rs2 = 0, long imm = 0, bool aq = false, bool rl = false,
        int rs3 = 0, int rm = 7)
    {
        ref readonly InstructionSpec spec = ref Row(mnemonic);
        uint word = spec.Match;
        switch (spec.Format)
        {
            case OperandFormat.R:
                word |= Rd(rd) | Rs1(rs1) | Rs2(rs2);
                break;
            case OperandFormat.Amo:
                word |= Rd(rd) | Rs1(rs1) | Rs2(rs2) | Ordering(aq, rl);
                break;
            case OperandFormat.Lr:
                word |= Rd(rd) | Rs1(rs1) | Ordering(aq, rl);
                break;
            case OperandFormat.I:
            case OperandFormat.Load:
                word |= Rd(rd) | Rs1(rs1) | ((uint)Signed(imm, 12, nameof(imm)) << 20);
                break;
            case OperandFormat.Shift64:
                word |= Rd(rd) | Rs1(rs1) | (Unsigned(imm, 6, nameof(imm)) << 20);
                break;
            case OperandFormat.Shift32:
                word |= Rd(rd) | Rs1(rs1) | (Unsigned(imm, 5, nameof(imm)) << 20);
                break;
            case OperandFormat.S:
                word |= InstructionFormats.S(0, 0, CheckRegister(rs1, nameof(rs1)), CheckRegister(rs2, nameof(rs2)), Signed(imm, 12, nameof(imm)));
                break;
            case OperandFormat.B:
                word |= InstructionFormats.B(0, 0, CheckRegister(rs1, nameof(rs1)), CheckRegister(rs2, nameof(rs2)), Offset(imm, 13, nameof(imm)));
                break;
            case OperandFormat.U:
                if ((imm & 0xFFF) != 0 || imm < int.MinValue || imm > uint.MaxValue)
                {
                    throw new ArgumentOutOfRangeException(nameof(imm), imm, "U-type immediates are 32-bit values with the low 12 bits zero");
                }
                word |= Rd(rd) | ((uint)imm & 0xFFFFF000);
                break;
            case OperandFormat.J:
                word |= InstructionFormats.J(0, CheckRegister(rd, nameof(rd)), Offset(imm, 21, nameof(imm)));
                break;
            case OperandFormat.Csr:
                word |= Rd(rd) | Rs1(rs1) | (Unsigned(imm, 12, nameof(imm)) << 20);
                break;
            case OperandFormat.CsrImm:
                word |= Rd(rd) | (Unsigned(rs1, 5, nameof(rs1)) << 15) | (Unsigned(imm, 12, nameof(imm)) << 20);
                break;
            case OperandFormat.Rs1Rs2:
                word |= Rs1(rs1) | Rs2(rs2);
                break;
            case OperandFormat.None:
                break;
            case OperandFormat.FLoad:
                word |= Rd(rd) | Rs1(rs1) | ((uint)Signed(imm, 12, nameof(imm)) << 20);
                break;
            case OperandFormat.FStore:
                word |= InstructionFormats.S(0, 0, CheckRegister(rs1, nameof(rs1)), CheckRegister(rs2, nameof(rs2)), Signed(imm, 12, nameof(imm)));
                break;
            case OperandFormat.FR4:
                word |= Rd(rd) | Rs1(rs1) | Rs2(rs2) | ((uint)CheckRegister(rs3, nameof(rs3)) << 27) | RoundingMode(rm);
                break;
            case OperandFormat.FRm:
                word |= Rd(rd) | Rs1(rs1) | Rs2(rs2) | RoundingMode(rm);
                break;
            case OperandFormat.FR:
            case OperandFormat.FCmp:
                word |= Rd(rd) | Rs1(rs1) | Rs2(rs2);
                break;
            case OperandFormat.F1Rm:
            case OperandFormat.FToX:
            case OperandFormat.XToF:
                word |= Rd(rd) | Rs1(rs1) | RoundingMode(rm);
                break;
            case OperandFormat.FMvToX:
            case OperandFormat.FMvFromX:
                word |= Rd(rd) | Rs1(rs1);
                break;
        }
        return word;
    }

    /// <summary>The rm field (any of 0..7: the reserved 5 and 6 too, so that tests can state illegal words).</summary>
    private static uint RoundingMode(int rm) => Unsigned(rm, 3, nameof(rm)) << 12;

    private static uint Ordering(bool aq, bool rl) => (aq ? 1u << 26 : 0) | (rl ? 1u << 25 : 0);
    private static uint Rd(int r) => (uint)CheckRegister(r, "rd") << 7;
    private static uint Rs1(int r) => (uint)CheckRegister(r, "rs1") << 15;
    private static uint Rs2(int r) => (uint)CheckRegister(r, "rs2") << 20;

    internal static int CheckRegister(int r, string name) =>
        r is >= 0 and < 32 ? r : throw new ArgumentOutOfRangeException(name, r, "register numbers are 0..31");

    /// <summary>Checks that <paramref name="value"/> fits a signed field of <paramref name="bits"/> bits.</summary>
    internal static long Signed(long value, int bits, string name)
    {
        long limit = 1L << (bits - 1);
        return value >= -limit && value < limit ? value
            : throw new ArgumentOutOfRangeException(name, value, $"does not fit a signed {bits}-bit field");
    }

    internal static uint Unsigned(long value, int bits, string name) =>
        value >= 0 && value < (1L << bits) ? (uint)value
            : throw new ArgumentOutOfRangeException(name, value, $"does not fit an unsigned {bits}-bit field");

    /// <summary>A pc-relative byte offset: even (instructions are 2-byte aligned with C) and within the field.</summary>
    internal static long Offset(long value, int bits, string name) =>
        (value & 1) == 0 ? Signed(value, bits, name) : throw new ArgumentOutOfRangeException(name, value, "offsets must be even");

    // ---- RV64I ----

    /// <summary><c>lui rd, imm20</c>: rd = sign-extended imm20 &lt;&lt; 12 (imm20 as in assembly: 0..0xFFFFF, or negative).</summary>
    public static uint Lui(int rd, long imm20) => Encode("lui", rd, imm: Upper(imm20));

    /// <summary><c>auipc rd, imm20</c>: rd = pc + (sign-extended imm20 &lt;&lt; 12).</summary>
    public static uint Auipc(int rd, long imm20) => Encode("auipc", rd, imm: Upper(imm20));

    private static long Upper(long imm20) => imm20 is >= -0x80000 and <= 0xFFFFF
        ? (long)(int)((uint)imm20 << 12)
        : throw new ArgumentOutOfRangeException(nameof(imm20), imm20, "the upper immediate is 20 bits");

    public static uint Jal(int rd, long offset) => Encode("jal", rd, imm: offset);
    public static uint Jalr(int rd, int rs1, long offset = 0) => Encode("jalr", rd, rs1, imm: offset);
    public static uint Beq(int rs1, int rs2, long offset) => Encode("beq", rs1: rs1, rs2: rs2, imm: offset);
    public static uint Bne(int rs1, int rs2, long offset) => Encode("bne", rs1: rs1, rs2: rs2, imm: offset);
    public static uint Blt(int rs1, int rs2, long offset) => Encode("blt", rs1: rs1, rs2: rs2, imm: offset);
    public static uint Bge(int rs1, int rs2, long offset) => Encode("bge", rs1: rs1, rs2: rs2, imm: offset);
    public static uint Bltu(int rs1, int rs2, long offset) => Encode("bltu", rs1: rs1, rs2: rs2, imm: offset);
    public static uint Bgeu(int rs1, int rs2, long offset) => Encode("bgeu", rs1: rs1, rs2: rs2, imm: offset);

    public static uint Lb(int rd, int rs1, long offset) => Encode("lb", rd, rs1, imm: offset);
    public static uint Lh(int rd, int rs1, long offset) => Encode("lh", rd, rs1, imm: offset);
    public static uint Lw(int rd, int rs1, long offset) => Encode("lw", rd, rs1, imm: offset);
    public static uint Ld(int rd, int rs1, long offset) => Encode("ld", rd, rs1, imm: offset);
    public static uint Lbu(int rd, int rs1, long offset) => Encode("lbu", rd, rs1, imm: offset);
    public static uint Lhu(int rd, int rs1, long offset) => Encode("lhu", rd, rs1, imm: offset);
    public static uint Lwu(int rd, int rs1, long offset) => Encode("lwu", rd, rs1, imm: offset);
    public static uint Sb(int rs2, int rs1, long offset) => Encode("sb", rs1: rs1, rs2: rs2, imm: offset);
    public static uint Sh(int rs2, int rs1, long offset) => Encode("sh", rs1: rs1, rs2: rs2, imm: offset);
    public static uint Sw(int rs2, int rs1, long offset) => Encode("sw", rs1: rs1, rs2: rs2, imm: offset);
    public static uint Sd(int rs2, int rs1, long offset) => Encode("sd", rs1: rs1, rs2: rs2, imm: offset);

    public static uint Addi(int rd, int rs1, long imm) => Encode("addi", rd, rs1, imm: imm);
    public static uint Slti(int rd, int rs1, long imm) => Encode("slti", rd, rs1, imm: imm);
    public static uint Sltiu(int rd, int rs1, long imm) => Encode("sltiu", rd, rs1, imm: imm);
    public static uint Xori(int rd, int rs1, long imm) => Encode("xori", rd, rs1, imm: imm);
    public static uint Ori(int rd, int rs1, long imm) => Encode("ori", rd, rs1, imm: imm);
    public static uint Andi(int rd, int rs1, long imm) => Encode("andi", rd, rs1, imm: imm);
    public static uint Slli(int rd, int rs1, int shamt) => Encode("slli", rd, rs1, imm: shamt);
    public static uint Srli(int rd, int rs1, int shamt) => Encode("srli", rd, rs1, imm: shamt);
    public static uint Srai(int rd, int rs1, int shamt) => Encode("srai", rd, rs1, imm: shamt);
    public static uint Add(int rd, int rs1, int rs2) => Encode("add", rd, rs1, rs2);
    public static uint Sub(int rd, int rs1, int rs2) => Encode("sub", rd, rs1, rs2);
    public static uint Sll(int rd, int rs1, int rs2) => Encode("sll", rd, rs1, rs2);
    public static uint Slt(int rd, int rs1, int rs2) => Encode("slt", rd, rs1, rs2);
    public static uint Sltu(int rd, int rs1, int rs2) => Encode("sltu", rd, rs1, rs2);
    public static uint Xor(int rd, int rs1, int rs2) => Encode("xor", rd, rs1, rs2);
    public static uint Srl(int rd, int rs1, int rs2) => Encode("srl", rd, rs1, rs2);
    public static uint Sra(int rd, int rs1, int rs2) => Encode("sra", rd, rs1, rs2);
    public static uint Or(int rd, int rs1, int rs2) => Encode("or", rd, rs1, rs2);
    public static uint And(int rd, int rs1, int rs2) => Encode("and", rd, rs1, rs2);
    public static uint Addiw(int rd, int rs1, long imm) => Encode("addiw", rd, rs1, imm: imm);
    public static uint Slliw(int rd, int rs1, int shamt) => Encode("slliw", rd, rs1, imm: shamt);
    public static uint Srliw(int rd, int rs1, int shamt) => Encode("srliw", rd, rs1, imm: shamt);
    public static uint Sraiw(int rd, int rs1, int shamt) => Encode("sraiw", rd, rs1, imm: shamt);
    public static uint Addw(int rd, int rs1, int rs2) => Encode("addw", rd, rs1, rs2);
    public static uint Subw(int rd, int rs1, int rs2) => Encode("subw", rd, rs1, rs2);
    public static uint Sllw(int rd, int rs1, int rs2) => Encode("sllw", rd, rs1, rs2);
    public static uint Srlw(int rd, int rs1, int rs2) => Encode("srlw", rd, rs1, rs2);
    public static uint Sraw(int rd, int rs1, int rs2) => Encode("sraw", rd, rs1, rs2);

    /// <summary><c>fence pred, succ</c>; the default is the full <c>fence iorw, iorw</c> (bits I=8 O=4 R=2 W=1).</summary>
    public static uint Fence(int pred = 0xF, int succ = 0xF) =>
        Encode("fence") | (Unsigned(pred, 4, nameof(pred)) << 24) | (Unsigned(succ, 4, nameof(succ)) << 20);

    public static uint FenceI() => Encode("fence.i");
    public static uint Ecall() => Encode("ecall");
    public static uint Ebreak() => Encode("ebreak");

    // ---- Zicsr (assembly order: rd, csr, source) ----

    public static uint Csrrw(int rd, ushort csr, int rs1) => Encode("csrrw", rd, rs1, imm: csr);
    public static uint Csrrs(int rd, ushort csr, int rs1) => Encode("csrrs", rd, rs1, imm: csr);
    public static uint Csrrc(int rd, ushort csr, int rs1) => Encode("csrrc", rd, rs1, imm: csr);
    public static uint Csrrwi(int rd, ushort csr, int uimm) => Encode("csrrwi", rd, uimm, imm: csr);
    public static uint Csrrsi(int rd, ushort csr, int uimm) => Encode("csrrsi", rd, uimm, imm: csr);
    public static uint Csrrci(int rd, ushort csr, int uimm) => Encode("csrrci", rd, uimm, imm: csr);

    // ---- M ----

    public static uint Mul(int rd, int rs1, int rs2) => Encode("mul", rd, rs1, rs2);
    public static uint Mulh(int rd, int rs1, int rs2) => Encode("mulh", rd, rs1, rs2);
    public static uint Mulhsu(int rd, int rs1, int rs2) => Encode("mulhsu", rd, rs1, rs2);
    public static uint Mulhu(int rd, int rs1, int rs2) => Encode("mulhu", rd, rs1, rs2);
    public static uint Div(int rd, int rs1, int rs2) => Encode("div", rd, rs1, rs2);
    public static uint Divu(int rd, int rs1, int rs2) => Encode("divu", rd, rs1, rs2);
    public static uint Rem(int rd, int rs1, int rs2) => Encode("rem", rd, rs1, rs2);
    public static uint Remu(int rd, int rs1, int rs2) => Encode("remu", rd, rs1, rs2);
    public static uint Mulw(int rd, int rs1, int rs2) => Encode("mulw", rd, rs1, rs2);
    public static uint Divw(int rd, int rs1, int rs2) => Encode("divw", rd, rs1, rs2);
    public static uint Divuw(int rd, int rs1, int rs2) => Encode("divuw", rd, rs1, rs2);
    public static uint Remw(int rd, int rs1, int rs2) => Encode("remw", rd, rs1, rs2);
    public static uint Remuw(int rd, int rs1, int rs2) => Encode("remuw", rd, rs1, rs2);

    // ---- A (assembly order: amoadd.w rd, rs2, (rs1)) ----

    public static uint LrW(int rd, int rs1, bool aq = false, bool rl = false) => Encode("lr.w", rd, rs1, aq: aq, rl: rl);
    public static uint LrD(int rd, int rs1, bool aq = false, bool rl = false) => Encode("lr.d", rd, rs1, aq: aq, rl: rl);
    public static uint ScW(int rd, int rs2, int rs1, bool aq = false, bool rl = false) => Encode("sc.w", rd, rs1, rs2, aq: aq, rl: rl);
    public static uint ScD(int rd, int rs2, int rs1, bool aq = false, bool rl = false) => Encode("sc.d", rd, rs1, rs2, aq: aq, rl: rl);
    public static uint AmoswapW(int rd, int rs2, int rs1) => Encode("amoswap.w", rd, rs1, rs2);
    public static uint AmoaddW(int rd, int rs2, int rs1) => Encode("amoadd.w", rd, rs1, rs2);
    public static uint AmoxorW(int rd, int rs2, int rs1) => Encode("amoxor.w", rd, rs1, rs2);
    public static uint AmoandW(int rd, int rs2, int rs1) => Encode("amoand.w", rd, rs1, rs2);
    public static uint AmoorW(int rd, int rs2, int rs1) => Encode("amoor.w", rd, rs1, rs2);
    public static uint AmominW(int rd, int rs2, int rs1) => Encode("amomin.w", rd, rs1, rs2);
    public static uint AmomaxW(int rd, int rs2, int rs1) => Encode("amomax.w", rd, rs1, rs2);
    public static uint AmominuW(int rd, int rs2, int rs1) => Encode("amominu.w", rd, rs1, rs2);
    public static uint AmomaxuW(int rd, int rs2, int rs1) => Encode("amomaxu.w", rd, rs1, rs2);
    public static uint AmoswapD(int rd, int rs2, int rs1) => Encode("amoswap.d", rd, rs1, rs2);
    public static uint AmoaddD(int rd, int rs2, int rs1) => Encode("amoadd.d", rd, rs1, rs2);
    public static uint AmoxorD(int rd, int rs2, int rs1) => Encode("amoxor.d", rd, rs1, rs2);
    public static uint AmoandD(int rd, int rs2, int rs1) => Encode("amoand.d", rd, rs1, rs2);
    public static uint AmoorD(int rd, int rs2, int rs1) => Encode("amoor.d", rd, rs1, rs2);
    public static uint AmominD(int rd, int rs2, int rs1) => Encode("amomin.d", rd, rs1, rs2);
    public static uint AmomaxD(int rd, int rs2, int rs1) => Encode("amomax.d", rd, rs1, rs2);
    public static uint AmominuD(int rd, int rs2, int rs1) => Encode("amominu.d", rd, rs1, rs2);
    public static uint AmomaxuD(int rd, int rs2, int rs1) => Encode("amomaxu.d", rd, rs1, rs2);

    // ---- Privileged ----

    public static uint Mret() => Encode("mret");
    public static uint Sret() => Encode("sret");
    public static uint Wfi() => Encode("wfi");
    public static uint SfenceVma(int rs1 = Zero, int rs2 = Zero) => Encode("sfence.vma", rs1: rs1, rs2: rs2);

    // ---- Pseudo-instructions (the expansions the unprivileged spec lists) ----

    public static uint Nop() => Addi(Zero, Zero, 0);
    public static uint Mv(int rd, int rs) => Addi(rd, rs, 0);
    public static uint Not(int rd, int rs) => Xori(rd, rs, -1);
    public static uint Neg(int rd, int rs) => Sub(rd, Zero, rs);
    public static uint SextW(int rd, int rs) => Addiw(rd, rs, 0);
    public static uint J(long offset) => Jal(Zero, offset);
    public static uint Jr(int rs) => Jalr(Zero, rs, 0);
    public static uint Ret() => Jalr(Zero, Ra, 0);
    public static uint Csrr(int rd, ushort csr) => Csrrs(rd, csr, Zero);
    public static uint Csrw(ushort csr, int rs) => Csrrw(Zero, csr, rs);
    public static uint Csrs(ushort csr, int rs) => Csrrs(Zero, csr, rs);
    public static uint Csrc(ushort csr, int rs) => Csrrc(Zero, csr, rs);
    public static uint Csrwi(ushort csr, int uimm) => Csrrwi(Zero, csr, uimm);
    public static uint Csrsi(ushort csr, int uimm) => Csrrsi(Zero, csr, uimm);
    public static uint Csrci(ushort csr, int uimm) => Csrrci(Zero, csr, uimm);
}
