using Vbase.Isa.Decoding;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Encoding;

/// <summary>
/// The compressed encoders against (a) encodings as GNU objdump prints them and (b) the 32-bit instruction
/// each form stands for, built with the table-driven assembler: an encoder and the hart's expander that
/// agree on every operand value agree on the field layout.
/// </summary>
public class CompressedEncodingTests
{
    [Theory]
    [InlineData(0x0001, "c.nop")]
    [InlineData(0x9002, "c.ebreak")]
    [InlineData(0x8082, "c.jr ra")]
    [InlineData(0x852e, "c.mv a0, a1")]
    [InlineData(0x4501, "c.li a0, 0")]
    [InlineData(0x4505, "c.li a0, 1")]
    [InlineData(0x1141, "c.addi sp, -16")]
    [InlineData(0x0141, "c.addi sp, 16")]
    [InlineData(0x7179, "c.addi16sp -48")]
    [InlineData(0xe406, "c.sdsp ra, 8")]
    [InlineData(0x60a2, "c.ldsp ra, 8")]
    [InlineData(0xe822, "c.sdsp s0, 16")]
    [InlineData(0x6442, "c.ldsp s0, 16")]
    [InlineData(0x0800, "c.addi4spn s0, 16")]
    [InlineData(0x2501, "c.addiw a0, 0")]
    [InlineData(0xc11c, "c.sw a5, 0(a0)")]
    [InlineData(0x611c, "c.ld a5, 0(a0)")]
    [InlineData(0xa001, "c.j 0")]
    public void KnownEncodings(int expected, string assembly)
    {
        ushort parcel = assembly switch
        {
            "c.nop" => CNop(),
            "c.ebreak" => CEbreak(),
            "c.jr ra" => CJr(Ra),
            "c.mv a0, a1" => CMv(A0, A1),
            "c.li a0, 0" => CLi(A0, 0),
            "c.li a0, 1" => CLi(A0, 1),
            "c.addi sp, -16" => CAddi(Sp, -16),
            "c.addi sp, 16" => CAddi(Sp, 16),
            "c.addi16sp -48" => CAddi16sp(-48),
            "c.sdsp ra, 8" => CSdsp(Ra, 8),
            "c.ldsp ra, 8" => CLdsp(Ra, 8),
            "c.sdsp s0, 16" => CSdsp(S0, 16),
            "c.ldsp s0, 16" => CLdsp(S0, 16),
            "c.addi4spn s0, 16" => CAddi4spn(S0, 16),
            "c.addiw a0, 0" => CAddiw(A0, 0),
            "c.sw a5, 0(a0)" => CSw(A5, A0, 0),
            "c.ld a5, 0(a0)" => CLd(A5, A0, 0),
            "c.j 0" => CJ(0),
            _ => throw new ArgumentException(assembly),
        };
        Assert.Equal(expected.ToString("x4"), parcel.ToString("x4"));
    }

    private static readonly int[] PrimeRegisters = [8, 9, 10, 11, 12, 13, 14, 15];
    private static readonly int[] AnyNonZero = [1, 2, 5, 10, 17, 31];

    /// <summary>Every C form with a spread of operands, paired with the base instruction it must expand to.</summary>
    public static IEnumerable<(string Form, ushort Parcel, uint Expected)> Cases()
    {
        foreach (int r in PrimeRegisters)
        {
            foreach (int imm in new[] { 4, 8, 12, 64, 128, 512, 1020 })
            {
                yield return ("c.addi4spn", CAddi4spn(r, imm), Addi(r, Sp, imm));
            }
            foreach (int r2 in new[] { 8, 12, 15 })
            {
                foreach (int off in new[] { 0, 4, 60, 64, 124 })
                {
                    yield return ("c.lw", CLw(r, r2, off), Lw(r, r2, off));
                    yield return ("c.sw", CSw(r, r2, off), Sw(r, r2, off));
                }
                foreach (int off in new[] { 0, 8, 56, 64, 128, 248 })
                {
                    yield return ("c.ld", CLd(r, r2, off), Ld(r, r2, off));
                    yield return ("c.sd", CSd(r, r2, off), Sd(r, r2, off));
                }
                yield return ("c.sub", CSub(r, r2), Sub(r, r, r2));
                yield return ("c.xor", CXor(r, r2), Xor(r, r, r2));
                yield return ("c.or", COr(r, r2), Or(r, r, r2));
                yield return ("c.and", CAnd(r, r2), And(r, r, r2));
                yield return ("c.subw", CSubw(r, r2), Subw(r, r, r2));
                yield return ("c.addw", CAddw(r, r2), Addw(r, r, r2));
            }
            foreach (int shamt in new[] { 1, 5, 31, 32, 63 })
            {
                yield return ("c.srli", CSrli(r, shamt), Srli(r, r, shamt));
                yield return ("c.srai", CSrai(r, shamt), Srai(r, r, shamt));
            }
            foreach (int imm in new[] { -32, -1, 0, 1, 31 })
            {
                yield return ("c.andi", CAndi(r, imm), Andi(r, r, imm));
            }
            foreach (int off in new[] { -256, -2, 2, 30, 32, 254 })
            {
                yield return ("c.beqz", CBeqz(r, off), Beq(r, Zero, off));
                yield return ("c.bnez", CBnez(r, off), Bne(r, Zero, off));
            }
        }
        yield return ("c.nop", CNop(), Addi(Zero, Zero, 0));
        foreach (int r in AnyNonZero)
        {
            foreach (int imm in new[] { -32, -1, 1, 15, 31 })
            {
                yield return ("c.addi", CAddi(r, imm), Addi(r, r, imm));
                yield return ("c.addiw", CAddiw(r, imm), Addiw(r, r, imm));
                yield return ("c.li", CLi(r, imm), Addi(r, Zero, imm));
                if (r != Sp)
                {
                    yield return ("c.lui", CLui(r, imm), Lui(r, imm & 0xFFFFF));
                }
            }
            foreach (int shamt in new[] { 1, 7, 32, 63 })
            {
                yield return ("c.slli", CSlli(r, shamt), Slli(r, r, shamt));
            }
            foreach (int off in new[] { 0, 4, 32, 124, 128, 252 })
            {
                yield return ("c.lwsp", CLwsp(r, off), Lw(r, Sp, off));
                yield return ("c.swsp", CSwsp(r, off), Sw(r, Sp, off));
            }
            foreach (int off in new[] { 0, 8, 32, 248, 256, 504 })
            {
                yield return ("c.ldsp", CLdsp(r, off), Ld(r, Sp, off));
                yield return ("c.sdsp", CSdsp(r, off), Sd(r, Sp, off));
            }
            yield return ("c.jr", CJr(r), Jalr(Zero, r, 0));
            yield return ("c.jalr", CJalr(r), Jalr(Ra, r, 0));
            foreach (int r2 in AnyNonZero)
            {
                yield return ("c.mv", CMv(r, r2), Add(r, Zero, r2));
                yield return ("c.add", CAdd(r, r2), Add(r, r, r2));
            }
        }
        foreach (int imm in new[] { -512, -496, -16, 16, 240, 496 })
        {
            yield return ("c.addi16sp", CAddi16sp(imm), Addi(Sp, Sp, imm));
        }
        foreach (int off in new[] { -2048, -1024, -2, 0, 2, 0x2AA, 0x554, 2046 })
        {
            yield return ("c.j", CJ(off), Jal(Zero, off));
        }
        yield return ("c.ebreak", CEbreak(), Ebreak());
        // Shamt 0 and rd = x0 forms are HINTs: they expand to instructions that change nothing.
        yield return ("c.slli x0 (hint)", CSlli(Zero, 3), Slli(Zero, Zero, 3));
        yield return ("c.li x0 (hint)", CLi(Zero, 5), Addi(Zero, Zero, 5));
        yield return ("c.mv x0 (hint)", CMv(Zero, A0), Add(Zero, Zero, A0));
        yield return ("c.add x0 (hint)", CAdd(Zero, A0), Add(Zero, Zero, A0));
        yield return ("c.lui x0 (hint)", CLui(Zero, 1), Lui(Zero, 1));
        yield return ("c.addi x0 (hint)", CAddi(Zero, 7), Addi(Zero, Zero, 7));
        yield return ("c.srli 0 (hint)", CSrli(A0, 0), Srli(A0, A0, 0));
    }

    [Fact]
    public void EveryCompressedFormExpandsToItsBaseInstruction()
    {
        var failures = new List<string>();
        var forms = new HashSet<string>();
        foreach (var (form, parcel, expected) in Cases())
        {
            forms.Add(form.Split(' ')[0]);
            uint expanded = CompressedDecoder.Expand(parcel);
            if (expanded != expected)
            {
                failures.Add($"{form} 0x{parcel:x4}: expanded 0x{expanded:x8}, expected 0x{expected:x8} ({Disassembler.Disassemble(expected)})");
            }
            InstructionDecoder.Decode(parcel, out DecodedInstruction d);
            InstructionDecoder.Decode(expected, out DecodedInstruction e);
            if (d.Length != 2 || d.Raw != parcel || d.TableIndex != e.TableIndex || d.Rd != e.Rd || d.Rs1 != e.Rs1 || d.Rs2 != e.Rs2 || d.Imm != e.Imm)
            {
                failures.Add($"{form} 0x{parcel:x4}: decodes to {Disassembler.Disassemble(in d, 0)} (len {d.Length}), expected {Disassembler.Disassemble(in e, 0)}");
            }
        }
        Assert.Empty(failures);
        string[] all =
        [
            "c.addi4spn", "c.lw", "c.ld", "c.sw", "c.sd", "c.nop", "c.addi", "c.addiw", "c.li", "c.addi16sp", "c.lui",
            "c.srli", "c.srai", "c.andi", "c.sub", "c.xor", "c.or", "c.and", "c.subw", "c.addw", "c.j", "c.beqz",
            "c.bnez", "c.slli", "c.lwsp", "c.ldsp", "c.jr", "c.mv", "c.ebreak", "c.jalr", "c.add", "c.swsp", "c.sdsp",
        ];
        Assert.Empty(all.Except(forms));
    }

    [Fact]
    public void EncodersRejectReservedOperands()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CAddi4spn(A0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CAddi4spn(A0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => CAddi4spn(Ra, 4));   // rd' only x8..x15
        Assert.Throws<ArgumentOutOfRangeException>(() => CLw(A0, A1, 128));
        Assert.Throws<ArgumentOutOfRangeException>(() => CLd(A0, A1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => CAddiw(Zero, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CAddi16sp(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CAddi16sp(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => CLui(A0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CLui(Sp, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CLwsp(Zero, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CLdsp(Zero, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CJr(Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => CMv(A0, Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => CJ(2048));
        Assert.Throws<ArgumentOutOfRangeException>(() => CBeqz(A0, 256));
        Assert.Throws<ArgumentOutOfRangeException>(() => CAddi(A0, 32));
    }

    /// <summary>Decoding every 16-bit parcel must never throw, and whatever expands must expand to a table row.</summary>
    [Fact]
    public void EveryParcelDecodesWithoutThrowing()
    {
        for (uint c = 0; c < 0x10000; c++)
        {
            if ((c & 3) == 3)
            {
                continue;
            }
            InstructionDecoder.Decode(c, out DecodedInstruction d);
            Assert.Equal(2, d.Length);
            uint expanded = CompressedDecoder.Expand((ushort)c);
            Assert.Equal(expanded == 0, d.IsIllegal);
            _ = Disassembler.Disassemble(in d, 0);
        }
    }
}
