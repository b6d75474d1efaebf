using static Vbase.Isa.Encoding.InstructionFormats;

namespace Vbase.Isa.Decoding;

/// <summary>
/// The C extension as an expander: each 16-bit parcel becomes the 32-bit instruction it stands for
/// (unprivileged spec, chapter "C" tables 16.5–16.7), so compressed code runs the same handlers.
/// Reserved encodings expand to 0 = illegal (RV64 has no c.flw/c.fsw: those encodings are c.ld/c.sd);
/// HINTs (e.g. c.addi x0, c.slli x0) expand to instructions that write x0 and so do nothing.
/// </summary>
public static class CompressedDecoder
{
    private const uint OpLoad = 0x03, OpStore = 0x23, OpImm = 0x13, OpImm32 = 0x1B, OpReg = 0x33, OpReg32 = 0x3B;
    private const uint OpLoadFp = 0x07, OpStoreFp = 0x27;
    private const uint OpLui = 0x37, OpJal = 0x6F, OpJalr = 0x67, OpBranch = 0x63;

    public static uint Expand(ushort c)
    {
        int quadrant = c & 3, funct3 = c >> 13;
        int rd = (c >> 7) & 31, rs2 = (c >> 2) & 31;
        int rdp = ((c >> 2) & 7) + 8, rs1p = ((c >> 7) & 7) + 8; // the 3-bit x8..x15 fields
        uint b12 = (uint)(c >> 12) & 1;
        long imm6 = SignExtend((b12 << 5) | ((uint)(c >> 2) & 31), 6);
        return quadrant switch
        {
            0 => Quadrant0(c, funct3, rdp, rs1p),
            1 => Quadrant1(c, funct3, rd, rdp, rs1p, b12, imm6),
            2 => Quadrant2(c, funct3, rd, rs2, b12),
            _ => 0,
        };
    }

    private static uint Quadrant0(ushort c, int funct3, int rdp, int rs1p)
    {
        uint lwOffset = (((uint)c >> 10 & 7) << 3) | (((uint)c >> 6 & 1) << 2) | (((uint)c >> 5 & 1) << 6);
        uint ldOffset = (((uint)c >> 10 & 7) << 3) | (((uint)c >> 5 & 3) << 6);
        switch (funct3)
        {
            case 0: // c.addi4spn
                uint nzuimm = (((uint)c >> 11 & 3) << 4) | (((uint)c >> 7 & 15) << 6) | (((uint)c >> 6 & 1) << 2) | (((uint)c >> 5 & 1) << 3);
                return nzuimm == 0 ? 0 : I(OpImm, 0, rdp, 2, nzuimm);
            case 1: return I(OpLoadFp, 3, rdp, rs1p, ldOffset);   // c.fld
            case 2: return I(OpLoad, 2, rdp, rs1p, lwOffset);     // c.lw
            case 3: return I(OpLoad, 3, rdp, rs1p, ldOffset);     // c.ld
            case 5: return S(OpStoreFp, 3, rs1p, rdp, ldOffset);  // c.fsd
            case 6: return S(OpStore, 2, rs1p, rdp, lwOffset);    // c.sw
            case 7: return S(OpStore, 3, rs1p, rdp, ldOffset);    // c.sd
            default: return 0; // the reserved funct3 = 4
        }
    }

    private static uint Quadrant1(ushort c, int funct3, int rd, int rdp, int rs1p, uint b12, long imm6)
    {
        switch (funct3)
        {
            case 0: return I(OpImm, 0, rd, rd, imm6);                 // c.addi (c.nop when rd = 0)
            case 1: return rd == 0 ? 0 : I(OpImm32, 0, rd, rd, imm6);  // c.addiw
            case 2: return I(OpImm, 0, rd, 0, imm6);                  // c.li
            case 3:
                if (rd == 2)
                {
                    // c.addi16sp: nzimm[9|4|6|8:7|5]
                    uint v = (b12 << 9) | (((uint)c >> 6 & 1) << 4) | (((uint)c >> 5 & 1) << 6) | (((uint)c >> 3 & 3) << 7) | (((uint)c >> 2 & 1) << 5);
                    return v == 0 ? 0 : I(OpImm, 0, 2, 2, SignExtend(v, 10));
                }
                return imm6 == 0 ? 0 : U(OpLui, rd, imm6 << 12);        // c.lui
            case 4:
                return MiscAlu(c, rs1p, rdp, b12, imm6);
            case 5: return J(OpJal, 0, JumpOffset(c));                    // c.j
            case 6: return B(OpBranch, 0, rs1p, 0, BranchOffset(c));      // c.beqz
            default: return B(OpBranch, 1, rs1p, 0, BranchOffset(c));     // c.bnez
        }
    }

    private static uint MiscAlu(ushort c, int rd, int rs2, uint b12, long imm6)
    {
        uint shamt = (b12 << 5) | ((uint)c >> 2 & 31);
        switch ((c >> 10) & 3)
        {
            case 0: return I(OpImm, 5, rd, rd, shamt);                 // c.srli
            case 1: return I(OpImm, 5, rd, rd, shamt | 0x400);         // c.srai
            case 2: return I(OpImm, 7, rd, rd, imm6);                  // c.andi
        }
        int op = (c >> 5) & 3;
        if (b12 == 0)
        {
            return op switch
            {
                0 => R(OpReg, 0, 0x20, rd, rd, rs2),  // c.sub
                1 => R(OpReg, 4, 0, rd, rd, rs2),     // c.xor
                2 => R(OpReg, 6, 0, rd, rd, rs2),     // c.or
                _ => R(OpReg, 7, 0, rd, rd, rs2),     // c.and
            };
        }
        return op switch
        {
            0 => R(OpReg32, 0, 0x20, rd, rd, rs2),    // c.subw
            1 => R(OpReg32, 0, 0, rd, rd, rs2),       // c.addw
            _ => 0,                                    // reserved
        };
    }

    private static uint Quadrant2(ushort c, int funct3, int rd, int rs2, uint b12)
    {
        switch (funct3)
        {
            case 0: return I(OpImm, 1, rd, rd, (b12 << 5) | ((uint)c >> 2 & 31));       // c.slli
            case 2: // c.lwsp: uimm[5|4:2|7:6]
                uint lw = (b12 << 5) | (((uint)c >> 4 & 7) << 2) | (((uint)c >> 2 & 3) << 6);
                return rd == 0 ? 0 : I(OpLoad, 2, rd, 2, lw);
            case 1: // c.fldsp: uimm[5|4:3|8:6]; any f register
                return I(OpLoadFp, 3, rd, 2, DoubleSpOffset(c, b12));
            case 3: // c.ldsp
                return rd == 0 ? 0 : I(OpLoad, 3, rd, 2, DoubleSpOffset(c, b12));
            case 4:
                if (b12 == 0)
                {
                    if (rs2 == 0)
                    {
                        return rd == 0 ? 0 : I(OpJalr, 0, 0, rd, 0);   // c.jr
                    }
                    return R(OpReg, 0, 0, rd, 0, rs2);                  // c.mv
                }
                if (rs2 == 0)
                {
                    return rd == 0 ? 0x00100073u : I(OpJalr, 0, 1, rd, 0); // c.ebreak, c.jalr
                }
                return R(OpReg, 0, 0, rd, rd, rs2);                      // c.add
            case 6: // c.swsp: uimm[5:2|7:6]
                return S(OpStore, 2, 2, rs2, (((uint)c >> 9 & 15) << 2) | (((uint)c >> 7 & 3) << 6));
            case 5: // c.fsdsp: uimm[5:3|8:6]
                return S(OpStoreFp, 3, 2, rs2, DoubleSpStoreOffset(c));
            default: // c.sdsp
                return S(OpStore, 3, 2, rs2, DoubleSpStoreOffset(c));
        }
    }

    /// <summary>c.ldsp/c.fldsp uimm[5|4:3|8:6].</summary>
    private static uint DoubleSpOffset(ushort c, uint b12) => (b12 << 5) | (((uint)c >> 5 & 3) << 3) | (((uint)c >> 2 & 7) << 6);

    /// <summary>c.sdsp/c.fsdsp uimm[5:3|8:6].</summary>
    private static uint DoubleSpStoreOffset(ushort c) => (((uint)c >> 10 & 7) << 3) | (((uint)c >> 7 & 7) << 6);

    /// <summary>c.j offset[11|4|9:8|10|6|7|3:1|5].</summary>
    private static long JumpOffset(ushort c)
    {
        uint v = ((uint)c >> 12 & 1) << 11 | ((uint)c >> 11 & 1) << 4 | ((uint)c >> 9 & 3) << 8 | ((uint)c >> 8 & 1) << 10
            | ((uint)c >> 7 & 1) << 6 | ((uint)c >> 6 & 1) << 7 | ((uint)c >> 3 & 7) << 1 | ((uint)c >> 2 & 1) << 5;
        return SignExtend(v, 12);
    }

    /// <summary>c.beqz/c.bnez offset[8|4:3|7:6|2:1|5].</summary>
    private static long BranchOffset(ushort c)
    {
        uint v = ((uint)c >> 12 & 1) << 8 | ((uint)c >> 10 & 3) << 3 | ((uint)c >> 5 & 3) << 6 | ((uint)c >> 3 & 3) << 1
            | ((uint)c >> 2 & 1) << 5;
        return SignExtend(v, 9);
    }

    /// <summary>The assembler name of a compressed parcel (for disassembly), e.g. c.mv rather than the add it expands to.</summary>
    public static string Mnemonic(ushort c) => CompressedTable.Lookup(c) is int row and >= 0 ? CompressedTable.Rows[row].Name : "c.?";
}
