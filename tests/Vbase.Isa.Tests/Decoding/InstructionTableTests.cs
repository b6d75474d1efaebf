using System.Numerics;
using Vbase.Isa.Decoding;
using Vbase.Isa.Encoding;

namespace Vbase.Isa.Tests.Decoding;

/// <summary>
/// The generated table (from Decoding/rv64.opcodes) against the decoder, the assembler and the disassembler: all
/// four must agree row by row, since they are meant to be one definition.
/// </summary>
public class InstructionTableTests
{
    [Fact]
    public void RowsAreIndexedByTheirIds()
    {
        for (int i = 0; i < InstructionTable.Rows.Length; i++)
        {
            Assert.Equal((InstructionId)i, InstructionTable.Rows[i].Id);
            Assert.Equal(i, InstructionTable.IndexOf(InstructionTable.Rows[i].Name));
        }
        Assert.Equal(DecodedInstruction.IllegalIndex, (ushort)InstructionId.Illegal);
        Assert.Equal(InstructionTable.Rows.Length, Enum.GetValues<InstructionId>().Length - 1);
    }

    [Fact]
    public void NoTwoRowsOverlap()
    {
        var rows = InstructionTable.Rows;
        for (int a = 0; a < rows.Length; a++)
        {
            Assert.Equal(rows[a].Match, rows[a].Match & rows[a].Mask);
            for (int b = a + 1; b < rows.Length; b++)
            {
                // Some word matches both exactly when they agree on the bits both fix.
                Assert.False(((rows[a].Match ^ rows[b].Match) & rows[a].Mask & rows[b].Mask) == 0,
                    $"{rows[a].Name} and {rows[b].Name} overlap");
            }
        }
    }

    [Fact]
    public void EveryRowDecodesToItsOwnId()
    {
        var rng = new Random(19);
        foreach (InstructionSpec row in InstructionTable.Rows)
        {
            // The fixed bits alone, all free bits set, and random free bits: always this row.
            uint[] words = [row.Match, row.Match | ~row.Mask, .. Enumerable.Range(0, 64).Select(_ => row.Match | ((uint)rng.Next() & ~row.Mask))];
            foreach (uint word in words)
            {
                InstructionDecoder.Decode(word, out DecodedInstruction d);
                Assert.Equal(row.Id, d.Id);
                Assert.Equal((int)row.Id, InstructionDecoder.Lookup(word));
            }
        }
    }

    [Fact]
    public void WordsNoRowMatchesDecodeAsIllegal()
    {
        var rng = new Random(20);
        int illegal = 0;
        for (int i = 0; i < 200_000; i++)
        {
            uint word = (uint)rng.Next() | 3 | ((uint)rng.Next(2) << 31);
            bool matches = InstructionTable.Rows.Any(r => (word & r.Mask) == r.Match);
            InstructionDecoder.Decode(word, out DecodedInstruction d);
            Assert.Equal(!matches, d.IsIllegal);
            illegal += matches ? 0 : 1;
        }
        Assert.True(illegal > 1000);
    }

    [Fact]
    public void TheAssemblerTakesTheFixedBitsFromTheRows()
    {
        foreach (InstructionSpec row in InstructionTable.Rows)
        {
            Assert.Equal(row.Match, Assembler.Encode(row.Name));
            Assert.Equal(row.Match, Assembler.Row(row.Name).Match);
            // Operands never touch the fixed bits.
            uint word = Assembler.Encode(row.Name, 31, 31, 31, 0, aq: true, rl: true);
            Assert.Equal(row.Match, word & row.Mask);
        }
    }

    [Fact]
    public void TheDisassemblerNamesEveryRow()
    {
        foreach (InstructionSpec row in InstructionTable.Rows)
        {
            string text = Disassembler.Disassemble(row.Match);
            Assert.True(text == row.Name || text.StartsWith(row.Name + " ", StringComparison.Ordinal), $"{row.Name}: '{text}'");
        }
    }

    [Fact]
    public void RowsHaveTheExtensionsAndClassesOfTheIsa()
    {
        foreach (InstructionSpec row in InstructionTable.Rows)
        {
            Assert.True(BitOperations.PopCount(row.Mask) >= 7, row.Name);
            // Only what cannot change privilege, translation or interrupt state is translated.
            bool translated = row.Translation != TranslationClass.NotTranslated;
            bool mayChangeState = row.Extension is IsaExtension.Zicsr or IsaExtension.Zifencei or IsaExtension.System or IsaExtension.A
                || row.Id is InstructionId.Ecall or InstructionId.Ebreak;
            Assert.Equal(!mayChangeState, translated);
        }
        Assert.Equal(IsaExtension.M, InstructionTable.Row(InstructionId.Mulhsu).Extension);
        Assert.Equal(IsaExtension.System, InstructionTable.Row(InstructionId.Mret).Extension);
        Assert.Equal(TranslationClass.Load, InstructionTable.Row(InstructionId.Lwu).Translation);
    }
}
