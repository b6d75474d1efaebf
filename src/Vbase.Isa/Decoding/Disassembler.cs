using System.Reflection;
using Vbase.Isa.Csrs;

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
        // Operands come from the (expanded) 32-bit word so that x0 destinations print as zero; compressed
        // instructions keep their own name but show the operands of the instruction they stand for.
        uint word = d.Length == 2 ? CompressedDecoder.Expand((ushort)d.Raw) : d.Raw;
        ref readonly InstructionSpec spec = ref InstructionTable.Rows[d.TableIndex];
        string rd = AbiNames[(word >> 7) & 31], rs1 = AbiNames[(word >> 15) & 31], rs2 = AbiNames[(word >> 20) & 31];
        string name = d.Length == 2 ? CompressedDecoder.Mnemonic((ushort)d.Raw) : spec.Name;
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

    /// <summary>CSR names, taken from the constants of <see cref="CsrAddress"/> (their names lowercased).</summary>
    private static readonly Dictionary<uint, string> CsrNames = typeof(CsrAddress)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .ToDictionary(f => (uint)(ushort)f.GetRawConstantValue()!, f => f.Name.ToLowerInvariant());

    public static string CsrName(uint csr) => CsrNames.TryGetValue(csr, out string? n) ? n
        : csr is >= 0x3A0 and <= 0x3AF ? $"pmpcfg{csr - 0x3A0}"
        : csr is >= 0x3B0 and <= 0x3EF ? $"pmpaddr{csr - 0x3B0}"
        : $"0x{csr:x3}";
}
