using System.Numerics;
using Vbase.Isa.Execution;
using static Vbase.Isa.Encoding.InstructionFormats;

namespace Vbase.Isa.Decoding;

/// <summary>
/// Turns instruction words into <see cref="DecodedInstruction"/>s. The table is split once into 256 buckets
/// by opcode[6:2] and funct3, each holding its candidate rows most-specific first, so a decode is one index
/// and a short mask/match scan. Decoding is cached by the hart, so this is off the hot path.
/// </summary>
public static unsafe class InstructionDecoder
{
    private static readonly ushort[][] Buckets = BuildBuckets();

    private static ushort[][] BuildBuckets()
    {
        var lists = new List<ushort>[256];
        for (int b = 0; b < 256; b++)
        {
            lists[b] = [];
        }
        var rows = InstructionTable.Rows;
        for (int i = 0; i < rows.Length; i++)
        {
            for (uint funct3 = 0; funct3 < 8; funct3++)
            {
                // A row belongs to every bucket whose opcode/funct3 bits agree with its fixed bits.
                uint probe = (rows[i].Match & 0x7F) | (funct3 << 12);
                if (((probe ^ rows[i].Match) & rows[i].Mask & 0x707F) == 0)
                {
                    lists[BucketOf(probe)].Add((ushort)i);
                }
            }
        }
        var result = new ushort[256][];
        for (int b = 0; b < 256; b++)
        {
            result[b] = [.. lists[b].OrderByDescending(r => BitOperations.PopCount(rows[r].Mask))];
        }
        return result;
    }

    private static int BucketOf(uint word) => (int)(((word >> 2) & 0x1F) | (((word >> 12) & 7) << 5));

    /// <summary>Finds the table row of a 32-bit word; -1 if no row matches (illegal).</summary>
    public static int Lookup(uint word)
    {
        if ((word & 3) != 3)
        {
            return -1;
        }
        var rows = InstructionTable.Rows;
        foreach (ushort r in Buckets[BucketOf(word)])
        {
            if ((word & rows[r].Mask) == rows[r].Match)
            {
                return r;
            }
        }
        return -1;
    }

    /// <summary>Decodes a 32-bit word (or, when its low bits are not 11, a 16-bit compressed parcel).</summary>
    public static void Decode(uint raw, out DecodedInstruction d)
    {
        if ((raw & 3) != 3)
        {
            ushort parcel = (ushort)raw;
            uint expanded = CompressedDecoder.Expand(parcel);
            if (expanded == 0)
            {
                SetIllegal(parcel, 2, out d);
                return;
            }
            DecodeWord(expanded, out d);
            d.Raw = parcel;
            d.Length = 2;
            return;
        }
        DecodeWord(raw, out d);
    }

    private static void DecodeWord(uint raw, out DecodedInstruction d)
    {
        int row = Lookup(raw);
        if (row < 0)
        {
            SetIllegal(raw, 4, out d);
            return;
        }
        ref readonly InstructionSpec spec = ref InstructionTable.Rows[row];
        d = default;
        d.Execute = spec.Execute;
        d.Raw = raw;
        d.TableIndex = (ushort)row;
        d.Length = 4;
        byte rd = (byte)((raw >> 7) & 31), rs1 = (byte)((raw >> 15) & 31), rs2 = (byte)((raw >> 20) & 31);
        const byte sink = DecodedInstruction.SinkRegister;
        switch (spec.Format)
        {
            case OperandFormat.R:
            case OperandFormat.Amo:
                (d.Rd, d.Rs1, d.Rs2) = (rd, rs1, rs2);
                break;
            case OperandFormat.I:
            case OperandFormat.Load:
                (d.Rd, d.Rs1, d.Imm) = (rd, rs1, ImmI(raw));
                break;
            case OperandFormat.Shift64:
                (d.Rd, d.Rs1, d.Imm) = (rd, rs1, (raw >> 20) & 63);
                break;
            case OperandFormat.Shift32:
                (d.Rd, d.Rs1, d.Imm) = (rd, rs1, (raw >> 20) & 31);
                break;
            case OperandFormat.S:
                (d.Rd, d.Rs1, d.Rs2, d.Imm) = (sink, rs1, rs2, ImmS(raw));
                break;
            case OperandFormat.B:
                (d.Rd, d.Rs1, d.Rs2, d.Imm) = (sink, rs1, rs2, ImmB(raw));
                break;
            case OperandFormat.U:
                (d.Rd, d.Imm) = (rd, ImmU(raw));
                break;
            case OperandFormat.J:
                (d.Rd, d.Imm) = (rd, ImmJ(raw));
                break;
            case OperandFormat.Csr:
            case OperandFormat.CsrImm:
                (d.Rd, d.Rs1, d.Imm) = (rd, rs1, raw >> 20);
                break;
            case OperandFormat.Lr:
                (d.Rd, d.Rs1) = (rd, rs1);
                break;
            case OperandFormat.Rs1Rs2:
                (d.Rd, d.Rs1, d.Rs2) = (sink, rs1, rs2);
                break;
            case OperandFormat.None:
                d.Rd = sink;
                break;
            case OperandFormat.FLoad:
                (d.Rd, d.Rs1, d.Imm) = (rd, rs1, ImmI(raw));
                return; // f0 is a register, not the sink
            case OperandFormat.FStore:
                (d.Rd, d.Rs1, d.Rs2, d.Imm) = (sink, rs1, rs2, ImmS(raw));
                break;
            case OperandFormat.FR4:
            case OperandFormat.FRm:
            case OperandFormat.FR:
            case OperandFormat.F1Rm:
            case OperandFormat.XToF:
            case OperandFormat.FMvFromX:
                (d.Rd, d.Rs1, d.Rs2, d.Rs3, d.Rm) = (rd, rs1, rs2, (byte)(raw >> 27), (byte)((raw >> 12) & 7));
                return; // an FP destination: f0 is a register, not the sink
            case OperandFormat.FCmp:
            case OperandFormat.FToX:
            case OperandFormat.FMvToX:
                (d.Rd, d.Rs1, d.Rs2, d.Rm) = (rd, rs1, rs2, (byte)((raw >> 12) & 7));
                break;
        }
        if (d.Rd == 0)
        {
            d.Rd = sink;
        }
    }

    /// <summary>Whether the format's rd is an FP register (f0 included) rather than an integer one.</summary>
    public static bool WritesFloatRegister(OperandFormat format) => format is OperandFormat.FLoad or OperandFormat.FR4
        or OperandFormat.FRm or OperandFormat.FR or OperandFormat.F1Rm or OperandFormat.XToF or OperandFormat.FMvFromX;

    private static void SetIllegal(uint raw, byte length, out DecodedInstruction d)
    {
        d = default;
        d.Execute = &Executors.Illegal;
        d.Raw = raw;
        d.Length = length;
        d.Rd = DecodedInstruction.SinkRegister;
        d.TableIndex = DecodedInstruction.IllegalIndex;
    }
}
