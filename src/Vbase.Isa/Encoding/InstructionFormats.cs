namespace Vbase.Isa.Encoding;

/// <summary>
/// Packs operand fields into the base instruction formats (unprivileged spec, section 2.3). Used by the
/// compressed-instruction expander and by the test assembler; immediates are taken as signed values and
/// truncated to the bits each format holds.
/// </summary>
public static class InstructionFormats
{
    public static uint R(uint opcode, uint funct3, uint funct7, int rd, int rs1, int rs2) =>
        opcode | ((uint)rd << 7) | (funct3 << 12) | ((uint)rs1 << 15) | ((uint)rs2 << 20) | (funct7 << 25);

    public static uint I(uint opcode, uint funct3, int rd, int rs1, long imm) =>
        opcode | ((uint)rd << 7) | (funct3 << 12) | ((uint)rs1 << 15) | (((uint)imm & 0xFFF) << 20);

    public static uint S(uint opcode, uint funct3, int rs1, int rs2, long imm)
    {
        uint i = (uint)imm & 0xFFF;
        return opcode | ((i & 0x1F) << 7) | (funct3 << 12) | ((uint)rs1 << 15) | ((uint)rs2 << 20) | ((i >> 5) << 25);
    }

    public static uint B(uint opcode, uint funct3, int rs1, int rs2, long imm)
    {
        uint i = (uint)imm & 0x1FFE;
        return opcode | (((i >> 11) & 1) << 7) | (((i >> 1) & 0xF) << 8) | (funct3 << 12) | ((uint)rs1 << 15)
            | ((uint)rs2 << 20) | (((i >> 5) & 0x3F) << 25) | (((i >> 12) & 1) << 31);
    }

    public static uint U(uint opcode, int rd, long imm) => opcode | ((uint)rd << 7) | ((uint)imm & 0xFFFFF000);

    public static uint J(uint opcode, int rd, long imm)
    {
        uint i = (uint)imm & 0x1FFFFE;
        return opcode | ((uint)rd << 7) | (i & 0xFF000) | (((i >> 11) & 1) << 20) | (((i >> 1) & 0x3FF) << 21)
            | (((i >> 20) & 1) << 31);
    }

    /// <summary>Sign-extends the low <paramref name="bits"/> bits of <paramref name="value"/>.</summary>
    public static long SignExtend(ulong value, int bits) => (long)(value << (64 - bits)) >> (64 - bits);

    // Immediate extraction, the inverse of the packers above.
    public static long ImmI(uint raw) => (int)raw >> 20;
    public static long ImmS(uint raw) => SignExtend(((raw >> 25) << 5) | ((raw >> 7) & 0x1F), 12);
    public static long ImmB(uint raw) =>
        SignExtend(((raw >> 31) << 12) | (((raw >> 7) & 1) << 11) | (((raw >> 25) & 0x3F) << 5) | (((raw >> 8) & 0xF) << 1), 13);
    public static long ImmU(uint raw) => (int)(raw & 0xFFFFF000);
    public static long ImmJ(uint raw) =>
        SignExtend(((raw >> 31) << 20) | (raw & 0xFF000) | (((raw >> 20) & 1) << 11) | (((raw >> 21) & 0x3FF) << 1), 21);
}
