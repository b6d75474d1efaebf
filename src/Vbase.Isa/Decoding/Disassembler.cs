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

    /// <summary>The f registers' ABI names (ft0–ft11 temporaries, fs0–fs11 saved, fa0–fa7 arguments).</summary>
    public static readonly string[] FloatAbiNames =
    [
        "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
        "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
    ];

    private static readonly string[] RoundingModeNames = ["rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"];

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
        string frd = FloatAbiNames[(word >> 7) & 31], frs1 = FloatAbiNames[(word >> 15) & 31], frs2 = FloatAbiNames[(word >> 20) & 31];
        // As objdump: the rounding mode is shown unless it is dynamic.
        string rm = ((word >> 12) & 7) == 7 ? "" : $", {RoundingModeNames[(word >> 12) & 7]}";
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
            OperandFormat.FLoad => $"{name} {frd}, {d.Imm}({rs1})",
            OperandFormat.FStore => $"{name} {frs2}, {d.Imm}({rs1})",
            OperandFormat.FR4 => $"{name} {frd}, {frs1}, {frs2}, {FloatAbiNames[word >> 27]}{rm}",
            OperandFormat.FRm => $"{name} {frd}, {frs1}, {frs2}{rm}",
            OperandFormat.FR => $"{name} {frd}, {frs1}, {frs2}",
            OperandFormat.F1Rm => $"{name} {frd}, {frs1}{rm}",
            OperandFormat.FCmp => $"{name} {rd}, {frs1}, {frs2}",
            OperandFormat.FToX => $"{name} {rd}, {frs1}{rm}",
            OperandFormat.FMvToX => $"{name} {rd}, {frs1}",
            OperandFormat.XToF => $"{name} {frd}, {rs1}{rm}",
            OperandFormat.FMvFromX => $"{name} {frd}, {rs1}",
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
