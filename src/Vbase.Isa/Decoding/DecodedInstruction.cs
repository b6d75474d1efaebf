using Vbase.Isa.Harts;

namespace Vbase.Isa.Decoding;

/// <summary>
/// One pre-decoded instruction: the handler to call and its operands, extracted once so the hot loop never
/// decodes the same word twice. Register operands are indices into the hart's register file; a destination
/// of x0 (or none) is redirected to the sink register 32 so handlers can write unconditionally.
/// </summary>
public unsafe struct DecodedInstruction
{
    public delegate*<Hart, DecodedInstruction*, DecodedInstruction*> Execute;
    public long Imm;
    /// <summary>The instruction as fetched: 32 bits, or the 16-bit parcel of a compressed instruction.</summary>
    public uint Raw;
    /// <summary>Index of the row in <see cref="InstructionTable.Rows"/> (the <see cref="Id"/>), or <see cref="IllegalIndex"/>.</summary>
    public ushort TableIndex;
    /// <summary>
    /// Register operands: integer registers index x (rd x0 is the sink), FP registers index f (f0 is a real
    /// register, never redirected); the row's <see cref="OperandFormat"/> says which is which.
    /// </summary>
    public byte Rd, Rs1, Rs2;
    /// <summary>The F and D rows' third source (the fused multiply-adds) and rounding-mode field (7: dynamic, frm).</summary>
    public byte Rs3, Rm;
    /// <summary>2 for a compressed instruction, else 4.</summary>
    public byte Length;
    /// <summary>
    /// For the first instruction of a translated block (whose <see cref="Execute"/> then enters the translated
    /// region): the block's index in its region plus one; 0 elsewhere.
    /// </summary>
    public ushort RegionEntry;
    /// <summary>With <see cref="RegionEntry"/>: which of the page's translations the block belongs to.</summary>
    public byte RegionIndex;

    public const ushort IllegalIndex = (ushort)InstructionId.Illegal;
    public const byte SinkRegister = 32;

    public readonly bool IsIllegal => TableIndex == IllegalIndex;
    /// <summary>The instruction (its row in <see cref="InstructionTable.Rows"/>), or <see cref="InstructionId.Illegal"/>.</summary>
    public readonly InstructionId Id => (InstructionId)TableIndex;
    public readonly string Mnemonic => IsIllegal ? "illegal" : InstructionTable.Rows[TableIndex].Name;

    /// <summary>The interpreter's handler for this instruction (what <see cref="Execute"/> holds unless a region replaced it).</summary>
    internal readonly delegate*<Hart, DecodedInstruction*, DecodedInstruction*> Handler =>
        IsIllegal ? &Execution.Executors.Illegal : InstructionTable.Rows[TableIndex].Execute;
}
