using System.Globalization;
using Vbase.Isa.Csrs;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.FloatingPoint;

/// <summary>
/// The vectors of riscv-tests' rv64uf and rv64ud (isa/rv64uf/{fadd,fdiv,fmadd,fmin,fcmp,fclass,fcvt,fcvt_w,move,
/// recoding,ldst}.S; rv64ud repeats them in double precision): operation, expected fflags, expected result,
/// operands, rounding mode, as the TEST_FP_OP*_S/D, TEST_FP_INT_OP and TEST_INT_FP_OP macros state them (decimal
/// literals are the assembler's, rounded to nearest). Each runs in the physical environment (M-mode) and with
/// Sv39 on (S-mode, the code and data mapped by a page table), as riscv-tests' "p" and "v" environments.
/// </summary>
public class FpVectorTests
{
    // op, fflags, result, a, b, c, rm ("" = dynamic, frm = rne). Values: decimal, 0x bits, NaN (canonical),
    // sNaN, Inf, -Inf. {} is replaced by s and d.
    private static readonly string[] Vectors =
    [
        // fadd.S
        "fadd.{} 0 3.5 2.5 1.0", "fadd.{} 1 -1234 -1235.1 1.1",
        "fsub.{} 0 1.5 2.5 1.0", "fsub.{} 1 -1234 -1235.1 -1.1",
        "fmul.{} 0 2.5 2.5 1.0", "fmul.{} 1 1358.61 -1235.1 -1.1", "fmul.{} 1 3.14159265e-8 3.14159265 0.00000001",
        "fsub.{} 0x10 NaN Inf Inf",
        // fdiv.S
        "fdiv.{} 1 1.1557273520668288 3.14159265 2.71828182", "fdiv.{} 1 -0.9991093838555584 -1234 1235.1",
        "fdiv.{} 0 3.14159265 3.14159265 1.0", "fsqrt.{} 1 1.7724538498928541 3.14159265", "fsqrt.{} 0 100 10000",
        "fsqrt.{} 0x10 NaN -1.0", "fsqrt.{} 1 13.076696830622021 171.0",
        // fmadd.S
        "fmadd.{} 0 3.5 1.0 2.5 1.0", "fmadd.{} 0 -12.0 2.0 -5.0 -2.0",
        "fnmadd.{} 0 -3.5 1.0 2.5 1.0", "fnmadd.{} 0 12.0 2.0 -5.0 -2.0",
        "fmsub.{} 0 1.5 1.0 2.5 1.0", "fmsub.{} 1 1234 -1.0 -1235.1 1.1", "fmsub.{} 0 -8.0 2.0 -5.0 -2.0",
        "fnmsub.{} 0 -1.5 1.0 2.5 1.0", "fnmsub.{} 1 -1234 -1.0 -1235.1 1.1", "fnmsub.{} 0 8.0 2.0 -5.0 -2.0",
        // fmin.S
        "fmin.{} 0 1.0 2.5 1.0", "fmin.{} 0 -1235.1 -1235.1 1.1", "fmin.{} 0 -1235.1 1.1 -1235.1",
        "fmin.{} 0 -1235.1 NaN -1235.1", "fmin.{} 0 0.00000001 3.14159265 0.00000001", "fmin.{} 0 -2.0 -1.0 -2.0",
        "fmax.{} 0 2.5 2.5 1.0", "fmax.{} 0 1.1 -1235.1 1.1", "fmax.{} 0 1.1 1.1 -1235.1", "fmax.{} 0 -1235.1 NaN -1235.1",
        "fmax.{} 0 3.14159265 3.14159265 0.00000001", "fmax.{} 0 -1.0 -1.0 -2.0",
        "fmax.{} 0x10 1.0 sNaN 1.0", "fmax.{} 0 NaN NaN NaN",
        "fmin.{} 0 -0.0 -0.0 0.0", "fmin.{} 0 -0.0 0.0 -0.0", "fmax.{} 0 0.0 -0.0 0.0", "fmax.{} 0 0.0 0.0 -0.0",
        // fcmp.S (integer results)
        "feq.{} 0 1 -1.36 -1.36", "fle.{} 0 1 -1.36 -1.36", "flt.{} 0 0 -1.36 -1.36",
        "feq.{} 0 0 -1.37 -1.36", "fle.{} 0 1 -1.37 -1.36", "flt.{} 0 1 -1.37 -1.36",
        "feq.{} 0 0 NaN 0", "feq.{} 0 0 NaN NaN", "feq.{} 0x10 0 sNaN 0",
        "flt.{} 0x10 0 NaN 0", "flt.{} 0x10 0 NaN NaN", "flt.{} 0x10 0 sNaN 0",
        "fle.{} 0x10 0 NaN 0", "fle.{} 0x10 0 NaN NaN", "fle.{} 0x10 0 sNaN 0",
        // fcvt_w.S (rtz)
        "fcvt.w.{} 1 -1 -1.1 rtz", "fcvt.w.{} 0 -1 -1.0 rtz", "fcvt.w.{} 1 0 -0.9 rtz", "fcvt.w.{} 1 0 0.9 rtz",
        "fcvt.w.{} 0 1 1.0 rtz", "fcvt.w.{} 1 1 1.1 rtz", "fcvt.w.{} 0x10 -2147483648 -3e9 rtz", "fcvt.w.{} 0x10 2147483647 3e9 rtz",
        "fcvt.wu.{} 0x10 0 -3.0 rtz", "fcvt.wu.{} 0x10 0 -1.0 rtz", "fcvt.wu.{} 1 0 -0.9 rtz", "fcvt.wu.{} 1 0 0.9 rtz",
        "fcvt.wu.{} 0 1 1.0 rtz", "fcvt.wu.{} 1 1 1.1 rtz", "fcvt.wu.{} 0x10 0 -3e9 rtz", "fcvt.wu.{} 0 -1294967296 3e9 rtz",
        "fcvt.l.{} 1 -1 -1.1 rtz", "fcvt.l.{} 0 -1 -1.0 rtz", "fcvt.l.{} 1 0 -0.9 rtz", "fcvt.l.{} 1 1 1.1 rtz",
        "fcvt.l.{} 0x10 -9223372036854775808 -3e19 rtz", "fcvt.l.{} 0x10 9223372036854775807 3e19 rtz",
        "fcvt.lu.{} 0x10 0 -3.0 rtz", "fcvt.lu.{} 1 0 -0.9 rtz", "fcvt.lu.{} 1 1 1.1 rtz", "fcvt.lu.{} 0x10 0 -3e19 rtz",
        "fcvt.w.{} 0x10 2147483647 NaN", "fcvt.w.{} 0x10 2147483647 Inf", "fcvt.w.{} 0x10 -2147483648 -Inf",
        "fcvt.wu.{} 0x10 -1 NaN", "fcvt.wu.{} 0x10 -1 Inf", "fcvt.wu.{} 0x10 0 -Inf",
        "fcvt.l.{} 0x10 9223372036854775807 NaN", "fcvt.lu.{} 0x10 -1 NaN", "fcvt.lu.{} 0x10 0 -Inf",
        // fcvt.S (integer operands)
        "fcvt.{}.w 0 2.0 2", "fcvt.{}.w 0 -2.0 -2", "fcvt.{}.wu 0 2.0 2",
        "fcvt.{}.l 0 2.0 2", "fcvt.{}.l 0 -2.0 -2", "fcvt.{}.lu 0 2.0 2", "fcvt.{}.lu 1 1.8446744073709552e19 -2",
    ];

    // Where single and double results differ (rv64uf and rv64ud state them apart).
    private static readonly string[] PerPrecision =
    [
        "fadd.s 1 3.14159265 3.14159265 0.00000001", "fadd.d 1 3.14159266 3.14159265 0.00000001",
        "fsub.s 1 3.14159265 3.14159265 0.00000001", "fsub.d 1 3.1415926400000001 3.14159265 0.00000001",
        "fmadd.s 1 1236.2 -1.0 -1235.1 1.1", "fmadd.d 1 1236.1999999999998 -1.0 -1235.1 1.1",
        "fnmadd.s 1 -1236.2 -1.0 -1235.1 1.1", "fnmadd.d 1 -1236.1999999999998 -1.0 -1235.1 1.1",
        "fcvt.s.wu 1 4294967296 -2", "fcvt.d.wu 0 4294967294 -2",
        // Beyond riscv-tests: every static rounding mode on an inexact quotient, both signs (1/3 = 0x3eaaaaaa|b).
        "fdiv.s 1 0x3eaaaaab 1.0 3.0 rne", "fdiv.s 1 0x3eaaaaaa 1.0 3.0 rtz", "fdiv.s 1 0x3eaaaaaa 1.0 3.0 rdn",
        "fdiv.s 1 0x3eaaaaab 1.0 3.0 rup", "fdiv.s 1 0x3eaaaaab 1.0 3.0 rmm",
        "fdiv.s 1 0xbeaaaaab -1.0 3.0 rne", "fdiv.s 1 0xbeaaaaaa -1.0 3.0 rtz", "fdiv.s 1 0xbeaaaaab -1.0 3.0 rdn",
        "fdiv.s 1 0xbeaaaaaa -1.0 3.0 rup", "fdiv.s 1 0xbeaaaaab -1.0 3.0 rmm",
        // Each flag: DZ (0x08) on x/0; OF|NX (0x05) past the largest finite, to Inf or to it by the rounding mode.
        "fdiv.s 0x08 Inf 1.0 0.0", "fdiv.s 0x08 -Inf -1.0 0.0", "fdiv.d 0x08 Inf 1.0 0.0",
        "fmul.s 0x05 Inf 0x7f7fffff 2.0 rne", "fmul.s 0x05 0x7f7fffff 0x7f7fffff 2.0 rtz", "fmul.s 0x05 0x7f7fffff 0x7f7fffff 2.0 rdn",
        "fmul.s 0x05 Inf 0x7f7fffff 2.0 rup", "fmul.s 0x05 0xff7fffff 0xff7fffff 2.0 rup", "fmul.s 0x05 -Inf 0xff7fffff 2.0 rdn",
        // Subnormals: an exact subnormal result raises nothing; a tiny inexact one UF|NX (0x03), rounded by the mode.
        "fmul.s 0 0x00400000 0x00800000 0.5", "fmul.s 0x03 0x00000000 0x00000001 0.5 rne", "fmul.s 0x03 0x00000001 0x00000001 0.5 rup",
        "fmul.s 0x03 0x00000000 0x00000001 0.5 rtz", "fmul.s 0x03 0x00000001 0x00000001 0.5 rmm", "fadd.s 0 0x00000002 0x00000001 0x00000001",
        "fmul.d 0x03 0x0000000000000000 0x0000000000000001 0.5 rne", "fmul.d 0x03 0x0000000000000001 0x0000000000000001 0.5 rup",
        // NV (0x10) on Inf - Inf, 0 x Inf, and a signalling NaN operand; the result is the canonical NaN.
        "fmul.s 0x10 NaN 0.0 Inf", "fmadd.s 0x10 NaN 0.0 Inf 1.0", "fadd.s 0x10 NaN sNaN 1.0", "fadd.s 0 NaN NaN 1.0",
        // Conversions at the integer limits: the largest exact values pass, one step past saturates with NV.
        "fcvt.w.d 0 2147483647 2147483647.0 rtz", "fcvt.w.d 0x10 2147483647 2147483648.0 rtz", "fcvt.w.d 0 -2147483648 -2147483648.0 rtz",
        "fcvt.w.d 0x10 -2147483648 -2147483649.0 rtz", "fcvt.wu.d 0 -1 4294967295.0 rtz", "fcvt.wu.d 0x10 -1 4294967296.0 rtz",
        "fcvt.w.s 1 3 2.5 rup", "fcvt.w.s 1 2 2.5 rne", "fcvt.w.s 1 3 2.5 rmm", "fcvt.w.s 1 -3 -2.5 rdn",
    ];

    // The conversions between the formats (fcvt.S's fcvt.s.d/fcvt.d.s and rv64ud's) and the NaN-boxing of move.S/recoding.S.
    private static readonly string[] DoubleOnly =
    [
        "fcvt.s.d 1 0x40490fdb 3.14159265", "fcvt.s.d 1 0xbf8ccccd -1.1", "fcvt.d.s 0 0x400921fb60000000 0x40490fdb",
        "fcvt.s.d 0 0x7fc00000 0x7ff8000000000000", "fcvt.d.s 0x10 0x7ff8000000000000 0x7f800001",
        "fcvt.s.d 5 0x7f800000 1e300", "fcvt.s.d 3 0x00000000 1e-300",
    ];

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (bool virtualMemory in new[] { false, true })
        {
            foreach (string v in Vectors)
            {
                data.Add(v.Replace("{}", "s", StringComparison.Ordinal), virtualMemory);
                data.Add(v.Replace("{}", "d", StringComparison.Ordinal), virtualMemory);
            }
            foreach (string v in PerPrecision.Concat(DoubleOnly))
            {
                data.Add(v, virtualMemory);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Vector(string vector, bool virtualMemory)
    {
        string[] f = vector.Split(' ');
        string op = f[0];
        ref readonly InstructionSpec row = ref Row(op);
        int last = f.Length - 1;
        int rm = f[last] switch { "rne" => 0, "rtz" => 1, "rdn" => 2, "rup" => 3, "rmm" => 4, _ => 7 };
        int operandsEnd = rm == 7 ? f.Length : last;
        // The operands' format: the source's suffix (fcvt.w.s: s; fcvt.s.w: an integer; fcvt.s.d: d).
        string[] parts = op.Split('.');
        bool integerSource = row.Format is OperandFormat.XToF;
        bool singleSource = parts.Length == 3 && !integerSource ? parts[2] == "s" : parts[1] == "s";
        bool integerResult = row.Format is OperandFormat.FCmp or OperandFormat.FToX;
        bool singleResult = parts[1] == "s";
        ulong[] operands = new ulong[3];
        for (int i = 2; i < operandsEnd - 1 && i < 5; i++)
        {
            operands[i - 2] = integerSource ? (ulong)long.Parse(f[i + 1], CultureInfo.InvariantCulture) : Value(f[i + 1], singleSource);
        }
        ulong expected = integerResult ? (ulong)long.Parse(f[2], CultureInfo.InvariantCulture) : Value(f[2], singleResult);

        using TestMachine m = FpEnvironments.Run(virtualMemory, p =>
        {
            for (int i = 0; i < 3; i++)
            {
                p.Li(A0 + i, (long)operands[i]);
                p.Emit(integerSource ? Addi(A0 + i, A0 + i, 0) : Encode("fmv.d.x", 1 + i, A0 + i));
            }
            p.Emit(integerResult ? Encode(op, A3, 1, 2, rm: rm)
                : Encode(op, 4, integerSource ? A0 : 1, 2, rs3: 3, rm: rm));
            if (!integerResult)
            {
                p.Emit(Encode("fmv.x.d", A3, 4));
            }
            p.Emit(Csrr(A4, CsrAddress.Fflags));
        });
        Assert.Equal(expected, m[A3]);
        Assert.Equal(ulong.Parse(f[1].StartsWith("0x", StringComparison.Ordinal) ? f[1][2..] : f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), m[A4]);
        Assert.Equal(MStatus.FsDirty, m.Csr(CsrAddress.Mstatus) & MStatus.Fs);
    }

    /// <summary>An operand or result in the format: NaN-boxed if single (a result is checked with its box).</summary>
    private static ulong Value(string text, bool single)
    {
        ulong bits;
        if (text.StartsWith("0x", StringComparison.Ordinal))
        {
            bits = ulong.Parse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        else if (single)
        {
            bits = text switch
            {
                "NaN" => 0x7FC00000,
                "sNaN" => 0x7F800001,
                "Inf" => 0x7F800000,
                "-Inf" => 0xFF800000,
                _ => BitConverter.SingleToUInt32Bits(float.Parse(text, CultureInfo.InvariantCulture)),
            };
        }
        else
        {
            bits = text switch
            {
                "NaN" => 0x7FF8000000000000,
                "sNaN" => 0x7FF0000000000001,
                "Inf" => 0x7FF0000000000000,
                "-Inf" => 0xFFF0000000000000,
                _ => BitConverter.DoubleToUInt64Bits(double.Parse(text, CultureInfo.InvariantCulture)),
            };
        }
        return single && bits <= uint.MaxValue ? bits | 0xFFFF_FFFF_0000_0000 : bits;
    }
}
