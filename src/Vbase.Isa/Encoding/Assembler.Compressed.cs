using Vbase.Isa.Decoding;

namespace Vbase.Isa.Encoding;

// The C extension (unprivileged spec, chapter "C": tables of the CR/CI/CSS/CIW/CL/CS/CA/CB/CJ formats and the
// RVC opcode map). Each encoder takes its fixed bits from its row of Decoding/rv64.opcodes (CompressedTable),
// packs its operands into the scrambled immediate layout of its form and rejects
// operands that would make the parcel reserved or mean another instruction; HINT encodings (rd = x0 for
// c.li/c.lui/c.mv/c.add/c.slli, c.addi with a zero immediate) are allowed because they are legal code.
// Registers are ordinary numbers; the forms with 3-bit register fields take x8..x15 only.
public static partial class Assembler
{
    private static uint Prime(int r, string name) =>
        r is >= 8 and <= 15 ? (uint)(r - 8) : throw new ArgumentOutOfRangeException(name, r, "this form takes x8..x15 only");

    private static uint Full(int r, string name) => (uint)CheckRegister(r, name);

    private static uint NonZero(int r, string name) =>
        r is > 0 and < 32 ? (uint)r : throw new ArgumentOutOfRangeException(name, r, "x0 is reserved here");

    /// <summary>Checks a scaled unsigned offset: a multiple of <paramref name="scale"/> below <paramref name="limit"/>.</summary>
    private static uint Scaled(long value, int scale, int limit, string name) =>
        value >= 0 && value < limit && value % scale == 0 ? (uint)value
            : throw new ArgumentOutOfRangeException(name, value, $"must be a multiple of {scale} in [0, {limit})");

    private static uint Bit(uint value, int bit) => (value >> bit) & 1;
    private static uint Bits(uint value, int high, int low) => (value >> low) & ((1u << (high - low + 1)) - 1);

    /// <summary>
    /// The parcel of <paramref name="mnemonic"/>: its row's fixed bits (Decoding/rv64.opcodes) and the operands in
    /// <paramref name="body"/>, which must leave those bits alone.
    /// </summary>
    private static ushort C(string mnemonic, uint body)
    {
        ref readonly CompressedSpec row = ref CompressedTable.Row(mnemonic);
        uint parcel = row.Match | body;
        return (parcel & row.Mask) == row.Match && parcel <= ushort.MaxValue ? (ushort)parcel
            : throw new InvalidOperationException($"{mnemonic}: operand bits 0x{body:x4} overlap the row's fixed bits 0x{row.Mask:x4}");
    }

    // ---- Quadrant 0 ----

    /// <summary><c>c.addi4spn rd', nzuimm</c> → <c>addi rd', sp, nzuimm</c>; nzuimm[5:4|9:6|2|3] in bits 12:5.</summary>
    public static ushort CAddi4spn(int rd, long nzuimm)
    {
        uint u = Scaled(nzuimm, 4, 1024, nameof(nzuimm));
        if (u == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(nzuimm), nzuimm, "c.addi4spn with a zero immediate is reserved");
        }
        uint body = (Bits(u, 5, 4) << 11) | (Bits(u, 9, 6) << 7) | (Bit(u, 2) << 6) | (Bit(u, 3) << 5) | (Prime(rd, nameof(rd)) << 2);
        return C("c.addi4spn", body);
    }

    /// <summary><c>c.lw rd', uimm(rs1')</c>; uimm[5:3] in 12:10, uimm[2|6] in 6:5.</summary>
    public static ushort CLw(int rd, int rs1, long uimm) => C("c.lw", WordMemory(rd, rs1, uimm, nameof(rd)));

    /// <summary><c>c.ld rd', uimm(rs1')</c>; uimm[5:3] in 12:10, uimm[7:6] in 6:5.</summary>
    public static ushort CLd(int rd, int rs1, long uimm) => C("c.ld", DoubleMemory(rd, rs1, uimm, nameof(rd)));

    /// <summary><c>c.fld frd', uimm(rs1')</c>: as c.ld, into an f register.</summary>
    public static ushort CFld(int rd, int rs1, long uimm) => C("c.fld", DoubleMemory(rd, rs1, uimm, nameof(rd)));

    /// <summary><c>c.fsd frs2', uimm(rs1')</c>.</summary>
    public static ushort CFsd(int rs2, int rs1, long uimm) => C("c.fsd", DoubleMemory(rs2, rs1, uimm, nameof(rs2)));

    /// <summary><c>c.sw rs2', uimm(rs1')</c>.</summary>
    public static ushort CSw(int rs2, int rs1, long uimm) => C("c.sw", WordMemory(rs2, rs1, uimm, nameof(rs2)));

    /// <summary><c>c.sd rs2', uimm(rs1')</c>.</summary>
    public static ushort CSd(int rs2, int rs1, long uimm) => C("c.sd", DoubleMemory(rs2, rs1, uimm, nameof(rs2)));

    private static uint WordMemory(int reg, int rs1, long uimm, string regName)
    {
        uint u = Scaled(uimm, 4, 128, nameof(uimm));
        return (Bits(u, 5, 3) << 10) | (Prime(rs1, nameof(rs1)) << 7) | (Bit(u, 2) << 6) | (Bit(u, 6) << 5) | (Prime(reg, regName) << 2);
    }

    private static uint DoubleMemory(int reg, int rs1, long uimm, string regName)
    {
        uint u = Scaled(uimm, 8, 256, nameof(uimm));
        return (Bits(u, 5, 3) << 10) | (Prime(rs1, nameof(rs1)) << 7) | (Bits(u, 7, 6) << 5) | (Prime(reg, regName) << 2);
    }

    // ---- Quadrant 1 ----

    /// <summary>The CI layout: imm[5] in bit 12, register in 11:7, imm[4:0] in 6:2.</summary>
    private static uint CiImm6(uint rd, long imm, string name)
    {
        uint i = (uint)Signed(imm, 6, name);
        return (Bit(i, 5) << 12) | (rd << 7) | (Bits(i, 4, 0) << 2);
    }

    public static ushort CNop() => C("c.nop", 0);

    /// <summary><c>c.addi rd, imm</c> (rd = x0 or imm = 0 are HINTs; both zero is c.nop).</summary>
    public static ushort CAddi(int rd, long imm) => C("c.addi", CiImm6(Full(rd, nameof(rd)), imm, nameof(imm)));

    /// <summary><c>c.addiw rd, imm</c> → <c>addiw rd, rd, imm</c>; rd = x0 is reserved.</summary>
    public static ushort CAddiw(int rd, long imm) => C("c.addiw", CiImm6(NonZero(rd, nameof(rd)), imm, nameof(imm)));

    /// <summary><c>c.li rd, imm</c> → <c>addi rd, x0, imm</c> (rd = x0 is a HINT).</summary>
    public static ushort CLi(int rd, long imm) => C("c.li", CiImm6(Full(rd, nameof(rd)), imm, nameof(imm)));

    /// <summary><c>c.addi16sp nzimm</c> → <c>addi sp, sp, nzimm</c>; nzimm[9|4|6|8:7|5] in bits 12, 6:2.</summary>
    public static ushort CAddi16sp(long nzimm)
    {
        if (nzimm == 0 || nzimm % 16 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(nzimm), nzimm, "c.addi16sp takes a non-zero multiple of 16");
        }
        uint i = (uint)Signed(nzimm, 10, nameof(nzimm));
        uint body = (Bit(i, 9) << 12) | (Bit(i, 4) << 6) | (Bit(i, 6) << 5) | (Bits(i, 8, 7) << 3) | (Bit(i, 5) << 2);
        return C("c.addi16sp", body);
    }

    /// <summary>
    /// <c>c.lui rd, nzimm6</c> → <c>lui rd, nzimm6</c>: rd = sign-extended nzimm6 &lt;&lt; 12, nzimm6 in [-32, 31]
    /// and non-zero. rd = x2 would be c.addi16sp; rd = x0 is a HINT.
    /// </summary>
    public static ushort CLui(int rd, long nzimm6)
    {
        if (rd == Sp || nzimm6 == 0)
        {
            throw new ArgumentOutOfRangeException(nzimm6 == 0 ? nameof(nzimm6) : nameof(rd), "c.lui needs rd ≠ x2 and a non-zero immediate");
        }
        return C("c.lui", CiImm6(Full(rd, nameof(rd)), nzimm6, nameof(nzimm6)));
    }

    /// <summary><c>c.srli rd', shamt</c> (shamt 0..63; 0 is a HINT).</summary>
    public static ushort CSrli(int rd, int shamt) => C("c.srli", CbShift(rd, shamt));

    /// <summary><c>c.srai rd', shamt</c> (shamt 0..63; 0 is a HINT).</summary>
    public static ushort CSrai(int rd, int shamt) => C("c.srai", CbShift(rd, shamt));

    private static uint CbShift(int rd, int shamt)
    {
        uint s = Unsigned(shamt, 6, nameof(shamt));
        return (Bit(s, 5) << 12) | (Prime(rd, nameof(rd)) << 7) | (Bits(s, 4, 0) << 2);
    }

    /// <summary><c>c.andi rd', imm</c>.</summary>
    public static ushort CAndi(int rd, long imm)
    {
        uint i = (uint)Signed(imm, 6, nameof(imm));
        return C("c.andi", (Bit(i, 5) << 12) | (Prime(rd, nameof(rd)) << 7) | (Bits(i, 4, 0) << 2));
    }

    public static ushort CSub(int rd, int rs2) => CArith("c.sub", rd, rs2);
    public static ushort CXor(int rd, int rs2) => CArith("c.xor", rd, rs2);
    public static ushort COr(int rd, int rs2) => CArith("c.or", rd, rs2);
    public static ushort CAnd(int rd, int rs2) => CArith("c.and", rd, rs2);
    public static ushort CSubw(int rd, int rs2) => CArith("c.subw", rd, rs2);
    public static ushort CAddw(int rd, int rs2) => CArith("c.addw", rd, rs2);

    /// <summary>The CA form: rd'/rs1' in 9:7, rs2' in 4:2 (funct6 and funct2 are the row's).</summary>
    private static ushort CArith(string mnemonic, int rd, int rs2) =>
        C(mnemonic, (Prime(rd, nameof(rd)) << 7) | (Prime(rs2, nameof(rs2)) << 2));

    /// <summary><c>c.j offset</c> → <c>jal x0, offset</c>; offset[11|4|9:8|10|6|7|3:1|5] in bits 12:2.</summary>
    public static ushort CJ(long offset)
    {
        uint o = (uint)Offset(offset, 12, nameof(offset));
        uint body = (Bit(o, 11) << 12) | (Bit(o, 4) << 11) | (Bits(o, 9, 8) << 9) | (Bit(o, 10) << 8) | (Bit(o, 6) << 7)
            | (Bit(o, 7) << 6) | (Bits(o, 3, 1) << 3) | (Bit(o, 5) << 2);
        return C("c.j", body);
    }

    /// <summary><c>c.beqz rs1', offset</c>; offset[8|4:3] in 12:10, offset[7:6|2:1|5] in 6:2.</summary>
    public static ushort CBeqz(int rs1, long offset) => C("c.beqz", CbBranch(rs1, offset));

    /// <summary><c>c.bnez rs1', offset</c>.</summary>
    public static ushort CBnez(int rs1, long offset) => C("c.bnez", CbBranch(rs1, offset));

    private static uint CbBranch(int rs1, long offset)
    {
        uint o = (uint)Offset(offset, 9, nameof(offset));
        return (Bit(o, 8) << 12) | (Bits(o, 4, 3) << 10) | (Prime(rs1, nameof(rs1)) << 7) | (Bits(o, 7, 6) << 5)
            | (Bits(o, 2, 1) << 3) | (Bit(o, 5) << 2);
    }

    // ---- Quadrant 2 ----

    /// <summary><c>c.slli rd, shamt</c> (rd = x0 or shamt = 0 are HINTs).</summary>
    public static ushort CSlli(int rd, int shamt)
    {
        uint s = Unsigned(shamt, 6, nameof(shamt));
        return C("c.slli", (Bit(s, 5) << 12) | (Full(rd, nameof(rd)) << 7) | (Bits(s, 4, 0) << 2));
    }

    /// <summary><c>c.lwsp rd, uimm(sp)</c>; uimm[5] in 12, uimm[4:2|7:6] in 6:2; rd = x0 is reserved.</summary>
    public static ushort CLwsp(int rd, long uimm)
    {
        uint u = Scaled(uimm, 4, 256, nameof(uimm));
        return C("c.lwsp", (Bit(u, 5) << 12) | (NonZero(rd, nameof(rd)) << 7) | (Bits(u, 4, 2) << 4) | (Bits(u, 7, 6) << 2));
    }

    /// <summary><c>c.ldsp rd, uimm(sp)</c>; uimm[5] in 12, uimm[4:3|8:6] in 6:2; rd = x0 is reserved.</summary>
    public static ushort CLdsp(int rd, long uimm)
    {
        uint u = Scaled(uimm, 8, 512, nameof(uimm));
        return C("c.ldsp", (Bit(u, 5) << 12) | (NonZero(rd, nameof(rd)) << 7) | (Bits(u, 4, 3) << 5) | (Bits(u, 8, 6) << 2));
    }

    /// <summary><c>c.fldsp frd, uimm(sp)</c>; as c.ldsp, and f0 is a valid destination.</summary>
    public static ushort CFldsp(int rd, long uimm)
    {
        uint u = Scaled(uimm, 8, 512, nameof(uimm));
        return C("c.fldsp", (Bit(u, 5) << 12) | (Full(rd, nameof(rd)) << 7) | (Bits(u, 4, 3) << 5) | (Bits(u, 8, 6) << 2));
    }

    /// <summary><c>c.fsdsp frs2, uimm(sp)</c>.</summary>
    public static ushort CFsdsp(int rs2, long uimm)
    {
        uint u = Scaled(uimm, 8, 512, nameof(uimm));
        return C("c.fsdsp", (Bits(u, 5, 3) << 10) | (Bits(u, 8, 6) << 7) | (Full(rs2, nameof(rs2)) << 2));
    }

    /// <summary><c>c.jr rs1</c> → <c>jalr x0, 0(rs1)</c>; rs1 = x0 is reserved.</summary>
    public static ushort CJr(int rs1) => C("c.jr", NonZero(rs1, nameof(rs1)) << 7);

    /// <summary><c>c.mv rd, rs2</c> → <c>add rd, x0, rs2</c>; rs2 = x0 would be c.jr, rd = x0 is a HINT.</summary>
    public static ushort CMv(int rd, int rs2) => C("c.mv", (Full(rd, nameof(rd)) << 7) | (NonZero(rs2, nameof(rs2)) << 2));

    public static ushort CEbreak() => C("c.ebreak", 0);

    /// <summary><c>c.jalr rs1</c> → <c>jalr ra, 0(rs1)</c>; rs1 = x0 would be c.ebreak.</summary>
    public static ushort CJalr(int rs1) => C("c.jalr", NonZero(rs1, nameof(rs1)) << 7);

    /// <summary><c>c.add rd, rs2</c> → <c>add rd, rd, rs2</c>; rs2 = x0 would be c.jalr, rd = x0 is a HINT.</summary>
    public static ushort CAdd(int rd, int rs2) => C("c.add", (Full(rd, nameof(rd)) << 7) | (NonZero(rs2, nameof(rs2)) << 2));

    /// <summary><c>c.swsp rs2, uimm(sp)</c>; uimm[5:2|7:6] in 12:7.</summary>
    public static ushort CSwsp(int rs2, long uimm)
    {
        uint u = Scaled(uimm, 4, 256, nameof(uimm));
        return C("c.swsp", (Bits(u, 5, 2) << 9) | (Bits(u, 7, 6) << 7) | (Full(rs2, nameof(rs2)) << 2));
    }

    /// <summary><c>c.sdsp rs2, uimm(sp)</c>; uimm[5:3|8:6] in 12:7.</summary>
    public static ushort CSdsp(int rs2, long uimm)
    {
        uint u = Scaled(uimm, 8, 512, nameof(uimm));
        return C("c.sdsp", (Bits(u, 5, 3) << 10) | (Bits(u, 8, 6) << 7) | (Full(rs2, nameof(rs2)) << 2));
    }
}
