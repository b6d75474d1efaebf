using System.Globalization;
using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.RiscvTests;

/// <summary>
/// The arithmetic vectors of riscv-tests (rv64ui/rv64um TEST_RR_OP and TEST_IMM_OP), from
/// Vectors/riscv-tests-rv64.txt. Like the originals, each vector also runs with the destination equal to a
/// source (TEST_RR_SRC1_EQ_DEST, TEST_RR_SRC2_EQ_DEST) and with x0 as the destination (TEST_RR_ZERODEST).
/// </summary>
public class RiscvTestsVectorTests
{
    public static TheoryData<string, string, ulong, ulong, ulong> Vectors()
    {
        var data = new TheoryData<string, string, ulong, ulong, ulong>();
        string path = Path.Combine(AppContext.BaseDirectory, "Vectors", "riscv-tests-rv64.txt");
        foreach (string raw in File.ReadLines(path))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            ulong b = f[0] == "imm" ? (ulong)long.Parse(f[3], CultureInfo.InvariantCulture) : Hex(f[3]);
            data.Add(f[0], f[1], Hex(f[2]), b, Hex(f[4]));
        }
        return data;
    }

    private static ulong Hex(string s) => ulong.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Vector(string kind, string op, ulong rs1, ulong rs2OrImm, ulong expected)
    {
        using var m = new TestMachine();
        m[A0] = rs1;
        m[A1] = rs2OrImm;
        m.Load(p =>
        {
            if (kind == "rr")
            {
                p.Emit(Encode(op, A2, A0, A1));
                p.Emit(Mv(T0, A0), Encode(op, T0, T0, A1));
                p.Emit(Mv(T1, A1), Encode(op, T1, A0, T1));
                p.Emit(Encode(op, Zero, A0, A1));
            }
            else
            {
                long imm = (long)rs2OrImm;
                p.Emit(Encode(op, A2, A0, imm: imm));
                p.Emit(Mv(T0, A0), Encode(op, T0, T0, imm: imm));
                p.Emit(Mv(T1, A0), Encode(op, Zero, A0, imm: imm));
            }
            p.Emit(Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(expected, m[A2]);
        Assert.Equal(expected, m[T0]);
        if (kind == "rr")
        {
            Assert.Equal(expected, m[T1]);
        }
        Assert.Equal(0UL, m[Zero]);
    }

    [Fact]
    public void TheVectorFileIsComplete()
    {
        var ops = Vectors().Select(row => (string)row[1]).Distinct().ToList();
        Assert.True(Vectors().Count() > 350);
        Assert.Contains("mulhsu", ops);
        Assert.Contains("remuw", ops);
        Assert.Contains("sraiw", ops);
    }
}
