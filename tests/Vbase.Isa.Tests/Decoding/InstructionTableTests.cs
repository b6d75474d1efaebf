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
            Assert.Equal(row.Match, Assembler.Encode(row.Name, rm: 0)); // rm is an operand field (the default, 7, is dynamic)
            Assert.Equal(row.Match, Assembler.Row(row.Name).Match);
            // Operands never touch the fixed bits.
            uint word = Assembler.Encode(row.Name, 31, 31, 31, 0, aq: true, rl: true, rs3: 31, rm: 7);
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

    /// <summary>
    /// Every 16-bit parcel, against the C rows: the expander turns it into the 32-bit row its most specific C row
    /// names, or rejects it (a reserved operand: a zero immediate, x0 or x2 where the row's _n0/_n2 field forbids
    /// it); a parcel no C row matches is always illegal.
    /// </summary>
    [Fact]
    public void TheExpanderAgreesWithTheCompressedRows()
    {
        var expanded = new int[CompressedTable.Rows.Length];
        for (uint p = 0; p <= ushort.MaxValue; p++)
        {
            if ((p & 3) == 3)
            {
                continue;
            }
            ushort parcel = (ushort)p;
            int row = CompressedTable.Lookup(parcel);
            uint word = CompressedDecoder.Expand(parcel);
            if (row < 0)
            {
                Assert.True(word == 0, $"0x{parcel:x4} matches no C row but expands to 0x{word:x8}");
                continue;
            }
            if (word != 0)
            {
                expanded[row]++;
                Assert.Equal(CompressedTable.Rows[row].Expands, (InstructionId)InstructionDecoder.Lookup(word));
                InstructionDecoder.Decode(parcel, out DecodedInstruction d);
                Assert.Equal(CompressedTable.Rows[row].Expands, d.Id);
                Assert.StartsWith(CompressedTable.Rows[row].Name, Disassembler.Disassemble(parcel), StringComparison.Ordinal);
            }
        }
        for (int r = 0; r < expanded.Length; r++)
        {
            Assert.True(expanded[r] > 0, $"no parcel of {CompressedTable.Rows[r].Name} expands");
        }
    }

    [Fact]
    public void TheCompressedRowsAreMostSpecificFirstAndRefineOnlyByNesting()
    {
        var rows = CompressedTable.Rows;
        for (int a = 0; a < rows.Length; a++)
        {
            Assert.NotEqual(3, rows[a].Match & 3);
            for (int b = a + 1; b < rows.Length; b++)
            {
                Assert.True(BitOperations.PopCount(rows[a].Mask) >= BitOperations.PopCount(rows[b].Mask));
                if (((rows[a].Match ^ rows[b].Match) & rows[a].Mask & rows[b].Mask) == 0)
                {
                    // They overlap: then the earlier one refines the later (c.nop within c.addi).
                    Assert.Equal(rows[b].Mask, rows[a].Mask & rows[b].Mask);
                    Assert.Equal(rows[b].Match, rows[a].Match & rows[b].Mask);
                }
            }
        }
    }

    [Fact]
    public void TheCompressedEncodersTakeTheirFixedBitsFromTheRows()
    {
        (ushort Parcel, string Name)[] samples =
        [
            (Assembler.CAddi4spn(8, 16), "c.addi4spn"), (Assembler.CLw(8, 9, 4), "c.lw"), (Assembler.CLd(8, 9, 8), "c.ld"),
            (Assembler.CSw(8, 9, 4), "c.sw"), (Assembler.CSd(8, 9, 8), "c.sd"), (Assembler.CNop(), "c.nop"),
            (Assembler.CAddi(5, 3), "c.addi"), (Assembler.CAddiw(5, -3), "c.addiw"), (Assembler.CLi(5, 7), "c.li"),
            (Assembler.CAddi16sp(-64), "c.addi16sp"), (Assembler.CLui(5, 1), "c.lui"), (Assembler.CSrli(8, 3), "c.srli"),
            (Assembler.CSrai(8, 33), "c.srai"), (Assembler.CAndi(8, -1), "c.andi"), (Assembler.CSub(8, 9), "c.sub"),
            (Assembler.CXor(8, 9), "c.xor"), (Assembler.COr(8, 9), "c.or"), (Assembler.CAnd(8, 9), "c.and"),
            (Assembler.CSubw(8, 9), "c.subw"), (Assembler.CAddw(8, 9), "c.addw"), (Assembler.CJ(-2), "c.j"),
            (Assembler.CBeqz(8, 6), "c.beqz"), (Assembler.CBnez(8, -6), "c.bnez"), (Assembler.CSlli(5, 63), "c.slli"),
            (Assembler.CLwsp(5, 8), "c.lwsp"), (Assembler.CLdsp(5, 16), "c.ldsp"), (Assembler.CJr(5), "c.jr"),
            (Assembler.CMv(5, 6), "c.mv"), (Assembler.CEbreak(), "c.ebreak"), (Assembler.CJalr(5), "c.jalr"),
            (Assembler.CAdd(5, 6), "c.add"), (Assembler.CSwsp(5, 8), "c.swsp"), (Assembler.CSdsp(5, 16), "c.sdsp"),
            (Assembler.CFld(8, 9, 8), "c.fld"), (Assembler.CFsd(8, 9, 8), "c.fsd"), (Assembler.CFldsp(0, 16), "c.fldsp"),
            (Assembler.CFsdsp(5, 16), "c.fsdsp"),
        ];
        Assert.Equal(CompressedTable.Rows.Length, samples.Length);
        foreach (var (parcel, name) in samples)
        {
            Assert.Equal(name, CompressedTable.Rows[CompressedTable.Lookup(parcel)].Name);
            Assert.NotEqual(0u, CompressedDecoder.Expand(parcel));
        }
    }
}
