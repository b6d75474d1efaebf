namespace Vbase.Isa.Decoding;

/// <summary>How operands are laid out in the 32-bit word; drives decoding, disassembly and the assembler.</summary>
public enum OperandFormat : byte
{
    /// <summary>rd, rs1, rs2.</summary>
    R,
    /// <summary>rd, rs1, imm[11:0] (ALU immediates and jalr).</summary>
    I,
    /// <summary>rd, imm(rs1): loads.</summary>
    Load,
    /// <summary>rd, rs1, shamt[5:0].</summary>
    Shift64,
    /// <summary>rd, rs1, shamt[4:0] (the W forms).</summary>
    Shift32,
    /// <summary>rs2, imm(rs1): stores.</summary>
    S,
    /// <summary>rs1, rs2, pc-relative offset.</summary>
    B,
    /// <summary>rd, imm[31:12].</summary>
    U,
    /// <summary>rd, pc-relative offset.</summary>
    J,
    /// <summary>rd, csr, rs1.</summary>
    Csr,
    /// <summary>rd, csr, uimm[4:0] (kept in Rs1).</summary>
    CsrImm,
    /// <summary>rd, rs2, (rs1): AMOs and SC.</summary>
    Amo,
    /// <summary>rd, (rs1): LR.</summary>
    Lr,
    /// <summary>rs1, rs2: sfence.vma.</summary>
    Rs1Rs2,
    /// <summary>No operands (ecall, fence, mret…).</summary>
    None,
    /// <summary>frd, imm(rs1): flw, fld.</summary>
    FLoad,
    /// <summary>frs2, imm(rs1): fsw, fsd.</summary>
    FStore,
    /// <summary>frd, frs1, frs2, frs3, rounding mode: the fused multiply-adds.</summary>
    FR4,
    /// <summary>frd, frs1, frs2, rounding mode.</summary>
    FRm,
    /// <summary>frd, frs1, frs2 (sign injection, min/max).</summary>
    FR,
    /// <summary>frd, frs1, rounding mode (fsqrt, fcvt between the FP formats).</summary>
    F1Rm,
    /// <summary>rd, frs1, frs2: the comparisons.</summary>
    FCmp,
    /// <summary>rd, frs1, rounding mode: fcvt to an integer.</summary>
    FToX,
    /// <summary>rd, frs1: fmv.x.w/d, fclass.</summary>
    FMvToX,
    /// <summary>frd, rs1, rounding mode: fcvt from an integer.</summary>
    XToF,
    /// <summary>frd, rs1: fmv.w.x, fmv.d.x.</summary>
    FMvFromX,
}
