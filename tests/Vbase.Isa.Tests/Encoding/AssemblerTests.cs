using Vbase.Isa.Decoding;
using Vbase.Isa.Encoding;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Encoding;

public class AssemblerTests
{
    public static TheoryData<string> RowNames()
    {
        var data = new TheoryData<string>();
        foreach (InstructionSpec row in InstructionTable.Rows)
        {
            data.Add(row.Name);
        }
        return data;
    }

    /// <summary>Operands the decoder should hand back for a row, and the ones to encode it with.</summary>
    private readonly record struct Operands(int Rd, int Rs1, int Rs2, long Imm);

    private static IEnumerable<Operands> SampleOperands(OperandFormat format, Random rng)
    {
        int[] registers = [0, 1, 2, 15, 31];
        long[] imm12 = [0, 1, -1, 2047, -2048, 0x555, -0x2AB];
        for (int i = 0; i < 40; i++)
        {
            int rd = i < registers.Length ? registers[i] : rng.Next(32);
            int rs1 = i < registers.Length ? registers[^(i + 1)] : rng.Next(32);
            int rs2 = rng.Next(32);
            long imm = format switch
            {
                OperandFormat.I or OperandFormat.Load or OperandFormat.S =>
                    i < imm12.Length ? imm12[i] : rng.Next(-2048, 2048),
                OperandFormat.Shift64 => i < 2 ? 63 * i : rng.Next(64),
                OperandFormat.Shift32 => i < 2 ? 31 * i : rng.Next(32),
                OperandFormat.B => i switch { 0 => 0, 1 => 4094, 2 => -4096, 3 => -2, _ => rng.Next(-2048, 2048) * 2 },
                OperandFormat.J => i switch { 0 => 0, 1 => 0xFFFFE, 2 => -0x100000, 3 => 2, _ => rng.Next(-0x80000, 0x80000) * 2 },
                OperandFormat.U => i switch { 0 => 0, 1 => int.MinValue, 2 => 0x7FFFF000, 3 => -4096, _ => (long)(int)((uint)rng.Next() << 12) },
                OperandFormat.Csr or OperandFormat.CsrImm => i switch { 0 => 0, 1 => 0xFFF, _ => rng.Next(4096) },
                _ => 0,
            };
            yield return new Operands(rd, rs1, rs2, imm);
        }
    }

    [Theory]
    [MemberData(nameof(RowNames))]
    public void EveryTableRowRoundTripsThroughTheDecoder(string name)
    {
        var rng = new Random(name.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        int row = InstructionTable.IndexOf(name);
        OperandFormat format = InstructionTable.Rows[row].Format;
        foreach (Operands o in SampleOperands(format, rng))
        {
            bool aq = rng.Next(2) == 1, rl = rng.Next(2) == 1;
            uint word = Encode(name, o.Rd, o.Rs1, o.Rs2, o.Imm, aq, rl);
            InstructionDecoder.Decode(word, out DecodedInstruction d);

            Assert.Equal(name, d.Mnemonic);
            Assert.Equal(4, d.Length);
            Assert.Equal(word, d.Raw);
            byte sink = DecodedInstruction.SinkRegister;
            int expectedRd = o.Rd == 0 ? sink : o.Rd;
            switch (format)
            {
                case OperandFormat.R:
                case OperandFormat.Amo:
                    Assert.Equal((expectedRd, o.Rs1, o.Rs2), (d.Rd, d.Rs1, d.Rs2));
                    break;
                case OperandFormat.I:
                case OperandFormat.Load:
                case OperandFormat.Shift64:
                case OperandFormat.Shift32:
                case OperandFormat.Csr:
                case OperandFormat.CsrImm:
                    Assert.Equal((expectedRd, o.Rs1, o.Imm), (d.Rd, d.Rs1, d.Imm));
                    break;
                case OperandFormat.S:
                case OperandFormat.B:
                    Assert.Equal((sink, o.Rs1, o.Rs2, o.Imm), (d.Rd, d.Rs1, d.Rs2, d.Imm));
                    break;
                case OperandFormat.U:
                case OperandFormat.J:
                    Assert.Equal((expectedRd, o.Imm), (d.Rd, d.Imm));
                    break;
                case OperandFormat.Lr:
                    Assert.Equal((expectedRd, o.Rs1), (d.Rd, d.Rs1));
                    break;
                case OperandFormat.Rs1Rs2:
                    Assert.Equal((sink, o.Rs1, o.Rs2), (d.Rd, d.Rs1, d.Rs2));
                    break;
                case OperandFormat.None:
                    Assert.Equal(sink, d.Rd);
                    break;
            }
            if (format is OperandFormat.Amo or OperandFormat.Lr)
            {
                Assert.Equal(aq, (word >> 26 & 1) == 1);
                Assert.Equal(rl, (word >> 25 & 1) == 1);
            }
            Assert.False(string.IsNullOrEmpty(Disassembler.Disassemble(word, 0x8000_0000)));
        }
    }

    // Encodings as GNU as / objdump print them (independent of the table), one per format.
    [Theory]
    [InlineData(0x00500513u, "addi a0, zero, 5")]
    [InlineData(0x00b50533u, "add a0, a0, a1")]
    [InlineData(0x40b50533u, "sub a0, a0, a1")]
    [InlineData(0x00813083u, "ld ra, 8(sp)")]
    [InlineData(0x00113423u, "sd ra, 8(sp)")]
    [InlineData(0x12345537u, "lui a0, 0x12345")]
    [InlineData(0x00000297u, "auipc t0, 0")]
    [InlineData(0x000000efu, "jal ra, 0")]
    [InlineData(0xffdff06fu, "j -4")]
    [InlineData(0x00008067u, "ret")]
    [InlineData(0x00b50463u, "beq a0, a1, 8")]
    [InlineData(0x03f51513u, "slli a0, a0, 63")]
    [InlineData(0x43f55513u, "srai a0, a0, 63")]
    [InlineData(0x4015551bu, "sraiw a0, a0, 1")]
    [InlineData(0x02b50533u, "mul a0, a0, a1")]
    [InlineData(0x00b6252fu, "amoadd.w a0, a1, (a2)")]
    [InlineData(0x1005a52fu, "lr.w a0, (a1)")]
    [InlineData(0x18b6352fu, "sc.d a0, a1, (a2)")]
    [InlineData(0xf1402573u, "csrr a0, mhartid")]
    [InlineData(0x30529073u, "csrw mtvec, t0")]
    [InlineData(0x3002e073u, "csrsi mstatus, 5")]
    [InlineData(0x0ff0000fu, "fence")]
    [InlineData(0x0000100fu, "fence.i")]
    [InlineData(0x00000073u, "ecall")]
    [InlineData(0x00100073u, "ebreak")]
    [InlineData(0x30200073u, "mret")]
    [InlineData(0x10200073u, "sret")]
    [InlineData(0x10500073u, "wfi")]
    [InlineData(0x12000073u, "sfence.vma")]
    public void KnownEncodings(uint expected, string assembly)
    {
        uint word = assembly switch
        {
            "addi a0, zero, 5" => Addi(A0, Zero, 5),
            "add a0, a0, a1" => Add(A0, A0, A1),
            "sub a0, a0, a1" => Sub(A0, A0, A1),
            "ld ra, 8(sp)" => Ld(Ra, Sp, 8),
            "sd ra, 8(sp)" => Sd(Ra, Sp, 8),
            "lui a0, 0x12345" => Lui(A0, 0x12345),
            "auipc t0, 0" => Auipc(T0, 0),
            "jal ra, 0" => Jal(Ra, 0),
            "j -4" => J(-4),
            "ret" => Ret(),
            "beq a0, a1, 8" => Beq(A0, A1, 8),
            "slli a0, a0, 63" => Slli(A0, A0, 63),
            "srai a0, a0, 63" => Srai(A0, A0, 63),
            "sraiw a0, a0, 1" => Sraiw(A0, A0, 1),
            "mul a0, a0, a1" => Mul(A0, A0, A1),
            "amoadd.w a0, a1, (a2)" => AmoaddW(A0, A1, A2),
            "lr.w a0, (a1)" => LrW(A0, A1),
            "sc.d a0, a1, (a2)" => ScD(A0, A1, A2),
            "csrr a0, mhartid" => Csrr(A0, 0xF14),
            "csrw mtvec, t0" => Csrw(0x305, T0),
            "csrsi mstatus, 5" => Csrsi(0x300, 5),
            "fence" => Fence(),
            "fence.i" => FenceI(),
            "ecall" => Ecall(),
            "ebreak" => Ebreak(),
            "mret" => Mret(),
            "sret" => Sret(),
            "wfi" => Wfi(),
            "sfence.vma" => SfenceVma(),
            _ => throw new ArgumentException(assembly),
        };
        Assert.Equal(expected.ToString("x8"), word.ToString("x8"));
    }

    [Fact]
    public void OutOfRangeOperandsThrowInsteadOfTruncating()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Addi(A0, A0, 2048));
        Assert.Throws<ArgumentOutOfRangeException>(() => Addi(A0, A0, -2049));
        Assert.Throws<ArgumentOutOfRangeException>(() => Addi(32, A0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Slli(A0, A0, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => Slliw(A0, A0, 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => Beq(A0, A0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Beq(A0, A0, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => Jal(Ra, 1 << 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => Lui(A0, 0x100000));
        Assert.Throws<ArgumentOutOfRangeException>(() => Csrrwi(A0, 0x300, 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => Encode("lui", A0, imm: 0x123));
        Assert.Throws<ArgumentException>(() => Encode("fadd.q"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Encode("fadd.d", 1, 2, 3, rm: 8));
    }

    [Fact]
    public void ProgramBuilderResolvesForwardAndBackwardLabels()
    {
        var p = new ProgramBuilder(0x8000_0000);
        p.Label("top");
        p.Beq(A0, A1, "end");        // 0x00: +12
        p.CJ("top");                 // 0x04: -4
        p.Emit16(CNop());            // 0x06
        p.J("top");                  // 0x08: -8
        p.Label("end");
        p.CBnez(A0, "top");          // 0x0c: -12
        byte[] bytes = p.ToArray();

        Assert.Equal(0x8000_000CUL, p.AddressOf("end"));
        Assert.Equal(Beq(A0, A1, 12), BitConverter.ToUInt32(bytes, 0));
        Assert.Equal(CJ(-4), BitConverter.ToUInt16(bytes, 4));
        Assert.Equal(J(-8), BitConverter.ToUInt32(bytes, 8));
        Assert.Equal(CBnez(A0, -12), BitConverter.ToUInt16(bytes, 12));
    }

    [Fact]
    public void ProgramBuilderRejectsMissingAndDuplicateLabels()
    {
        var p = new ProgramBuilder();
        p.J("nowhere");
        Assert.Throws<KeyNotFoundException>(() => p.ToArray());
        p.Label("x");
        Assert.Throws<ArgumentException>(() => p.Label("x"));
    }
}
