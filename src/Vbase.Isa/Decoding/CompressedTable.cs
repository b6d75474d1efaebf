namespace Vbase.Isa.Decoding;

/// <summary>The C extension's instruction formats (unprivileged spec, "Compressed 16-bit RVC instruction formats").</summary>
public enum CompressedFormat : byte
{
    CR,
    CI,
    CSS,
    CIW,
    CL,
    CS,
    CA,
    CB,
    CJ,
}

/// <summary>One compressed encoding: the parcel matches when <c>(parcel &amp; Mask) == Match</c>; it stands for <see cref="Expands"/>.</summary>
public readonly struct CompressedSpec(string name, ushort mask, ushort match, CompressedFormat format, InstructionId expands)
{
    public readonly string Name = name;
    public readonly ushort Mask = mask;
    public readonly ushort Match = match;
    public readonly CompressedFormat Format = format;
    /// <summary>The 32-bit instruction the parcel expands to (when its operands are not reserved).</summary>
    public readonly InstructionId Expands = expands;
}

/// <summary>
/// The compressed encodings, generated (Generated/CompressedTable.g.cs) from the C rows of
/// <c>Decoding/rv64.opcodes</c>, most specific first. <see cref="CompressedDecoder.Expand"/> stays the fast
/// path (and knows the reserved operand values the masks cannot say); the disassembler names parcels from these
/// rows and the assembler's compressed encoders take their fixed bits from them.
/// </summary>
public static partial class CompressedTable
{
    // Built on first use: the initialisers of a partial class's parts run in no promised order, so this
    // must not read Rows (in the generated part) while the type initialises.
    private static Dictionary<string, int>? byName;

    private static Dictionary<string, int> BuildIndex()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Rows.Length; i++)
        {
            index.Add(Rows[i].Name, i);
        }
        return index;
    }

    /// <summary>The row that names <paramref name="parcel"/> (the most specific match); -1 if none does.</summary>
    public static int Lookup(ushort parcel)
    {
        for (int i = 0; i < Rows.Length; i++)
        {
            if ((parcel & Rows[i].Mask) == Rows[i].Match)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The row of a compressed mnemonic (<c>c.addi</c>); throws for names the table does not hold.</summary>
    public static ref readonly CompressedSpec Row(string name) =>
        ref Rows[(byName ??= BuildIndex()).TryGetValue(name, out int i) ? i
            : throw new ArgumentException($"'{name}' is not a compressed instruction of the table", nameof(name))];
}
