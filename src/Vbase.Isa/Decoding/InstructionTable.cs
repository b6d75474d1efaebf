using Vbase.Isa.Harts;

namespace Vbase.Isa.Decoding;

/// <summary>How the translator treats an instruction (the data file's class column).</summary>
public enum TranslationClass : byte
{
    /// <summary>Ends a block and runs in the interpreter: it may change privilege, translation or interrupt state.</summary>
    NotTranslated,
    /// <summary>Translated to nothing (fence).</summary>
    Nop,
    /// <summary>Computes rd from its operands; the emitter pushes the value.</summary>
    Value,
    Load,
    Store,
    /// <summary>A conditional branch: ends the block.</summary>
    Branch,
    /// <summary>A direct jump: ends the block.</summary>
    Jal,
    /// <summary>An indirect jump: ends the block.</summary>
    Jalr,
    /// <summary>
    /// Runs its interpreter handler from translated code, inside the block (the F and D rows): the integer
    /// registers are written back around the call and the code leaves if the handler traps.
    /// </summary>
    Call,
}

/// <summary>One encoding: the word matches when <c>(word &amp; Mask) == Match</c>.</summary>
public readonly unsafe struct InstructionSpec(InstructionId id, string name, uint mask, uint match, OperandFormat format,
    IsaExtension extension, TranslationClass translation, delegate*<Hart, DecodedInstruction*, DecodedInstruction*> execute)
{
    public readonly InstructionId Id = id;
    public readonly string Name = name;
    public readonly uint Mask = mask;
    public readonly uint Match = match;
    public readonly OperandFormat Format = format;
    public readonly IsaExtension Extension = extension;
    public readonly TranslationClass Translation = translation;
    public readonly delegate*<Hart, DecodedInstruction*, DecodedInstruction*> Execute = execute;
}

/// <summary>
/// The instruction set as data: every 32-bit encoding the hart executes, one row each, generated
/// (Generated/InstructionTable.g.cs) from the data file <c>Decoding/rv64.opcodes</c>, whose row order is
/// <see cref="InstructionId"/>'s. The decoder, the disassembler, the test assembler and the translator are all
/// driven by it; compressed instructions are expanded into these rows by <see cref="CompressedDecoder"/>.
/// </summary>
public static unsafe partial class InstructionTable
{
    /// <summary>The row of an instruction.</summary>
    public static ref readonly InstructionSpec Row(InstructionId id) => ref Rows[(int)id];

    /// <summary>Finds the row index of a mnemonic (for the assembler and tests); -1 if unknown.</summary>
    public static int IndexOf(string name)
    {
        for (int i = 0; i < Rows.Length; i++)
        {
            if (Rows[i].Name == name)
            {
                return i;
            }
        }
        return -1;
    }
}
