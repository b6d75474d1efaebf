using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.FloatingPoint;

/// <summary>
/// The rest of rv64uf and rv64ud, which are not one operation on operands and so do not fit
/// <see cref="FpVectorTests"/>' rows: fclass.S, move.S (fcsr swaps, the moves, sign injection), recoding.S (two
/// forms of an infinity compare equal) and ldst.S (flw/fsw/fld/fsd, and the compressed fld/fsd forms), each as
/// riscv-tests states it, in the physical environment (M-mode) and under Sv39 (S-mode), as riscv-tests' "p" and "v"
/// environments run them. The NaN-boxing of move.S's single moves and the checks beyond riscv-tests (fclass of an
/// improperly boxed single, fmv.x.w of a double) are marked.
/// </summary>
public class FpMoveClassTests
{
    private const ulong Data = TestMachine.DataBase;

    // fclass.S: the ten classes, single then double (TEST_FCLASS_S/D: fmv.{s,d}.x then fclass).
    private static readonly (ulong Input, int Class)[] SingleClasses =
    [
        (0xff800000, 0), (0xbf800000, 1), (0x807fffff, 2), (0x80000000, 3), (0x00000000, 4),
        (0x007fffff, 5), (0x3f800000, 6), (0x7f800000, 7), (0x7f800001, 8), (0x7fc00000, 9),
    ];

    private static readonly (ulong Input, int Class)[] DoubleClasses =
    [
        (0xfff0000000000000, 0), (0xbff0000000000000, 1), (0x800fffffffffffff, 2), (0x8000000000000000, 3),
        (0x0000000000000000, 4), (0x000fffffffffffff, 5), (0x3ff0000000000000, 6), (0x7ff0000000000000, 7),
        (0x7ff0000000000001, 8), (0x7ff8000000000000, 9),
    ];

    public static TheoryData<bool> Environments() => new() { false, true };

    public static TheoryData<ulong, int, bool, bool> Classes()
    {
        var data = new TheoryData<ulong, int, bool, bool>();
        foreach (bool virtualMemory in new[] { false, true })
        {
            foreach ((ulong input, int cls) in SingleClasses)
            {
                data.Add(input, cls, true, virtualMemory);
            }
            foreach ((ulong input, int cls) in DoubleClasses)
            {
                data.Add(input, cls, false, virtualMemory);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public void Fclass(ulong input, int cls, bool single, bool virtualMemory)
    {
        using TestMachine m = FpEnvironments.Run(virtualMemory, p =>
        {
            p.Li(A0, (long)input);
            p.Emit(Encode(single ? "fmv.w.x" : "fmv.d.x", 10, A0), Encode(single ? "fclass.s" : "fclass.d", A0, 10));
        });
        Assert.Equal(1UL << cls, m[A0]);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void FclassOfAnImproperlyBoxedSingleIsTheCanonicalNan(bool virtualMemory)
    {
        // Beyond riscv-tests: -Inf in the low half, but the upper half is not all ones, so it reads as 0x7fc00000.
        using TestMachine m = FpEnvironments.Run(virtualMemory, p =>
        {
            p.Li(A0, unchecked((long)0x00000000_ff800000));
            p.Emit(Encode("fmv.d.x", 10, A0), Encode("fclass.s", A0, 10));
        });
        Assert.Equal(1UL << 9, m[A0]);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void FcsrSwapKeepsTheLowEightBits(bool virtualMemory)
    {
        // move.S 2-4: fssr a0 (1), then fssr a1, a0 with 0x1234 swaps in 0x34 and returns 1; frsr twice.
        using TestMachine m = FpEnvironments.Run(virtualMemory, p =>
        {
            p.Li(A0, 1);
            p.Emit(Csrw(CsrAddress.Fcsr, A0));
            p.Li(A0, 0x1234);
            p.Emit(Csrrw(A1, CsrAddress.Fcsr, A0), Csrr(A2, CsrAddress.Fcsr), Csrr(A3, CsrAddress.Fcsr),
                Csrr(A4, CsrAddress.Frm), Csrr(A5, CsrAddress.Fflags));
        });
        Assert.Equal(1UL, m[A1]);
        Assert.Equal(0x34UL, m[A2]);
        Assert.Equal(0x34UL, m[A3]);
        Assert.Equal(1UL, m[A4]);     // frm is fcsr[7:5]
        Assert.Equal(0x14UL, m[A5]);  // fflags is fcsr[4:0]
    }

    public static TheoryData<string, ulong, ulong, ulong, bool> Moves()
    {
        // op, rs1 bits, rs2 bits, expected x result (through fmv.x.w for .s, fmv.x.d for .d).
        (string, ulong, ulong, ulong)[] rows =
        [
            ("fmv.s", 0xFFFFFFFFBF812345, 0, 0xFFFFFFFFBF812345),                     // move.S 5
            ("fmv.d", 0x3FF02468A0000000, 0, 0x3FF02468A0000000),                     // move.S 6
            ("fsgnj.s", 0xFFFFFFFFBF812345, 0xFFFFFFFFBF812345, 0xFFFFFFFFBF812345),  // move.S 7
            ("fsgnjx.s", 0xFFFFFFFFCBA98765, 0xFFFFFFFFCBA98765, 0x000000004BA98765), // move.S 8
            ("fsgnjn.s", 0xFFFFFFFFDEADBEEF, 0xFFFFFFFFDEADBEEF, 0x000000005EADBEEF), // move.S 9
            ("fsgnj.d", 0x3FF02468A0001000, 0xFFFFFFFFFFFFFFFF, 0xBFF02468A0001000),  // move.S 10
            ("fsgnjn.d", 0xBFF02468A0001000, 0xBFF02468A0001000, 0x3FF02468A0001000),
            ("fsgnjx.d", 0xBFF02468A0001000, 0x3FF0000000000000, 0xBFF02468A0001000),
        ];
        var data = new TheoryData<string, ulong, ulong, ulong, bool>();
        foreach (bool virtualMemory in new[] { false, true })
        {
            foreach ((string op, ulong a, ulong b, ulong expected) in rows)
            {
                data.Add(op, a, b, expected, virtualMemory);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Moves))]
    public void MoveAndSignInjection(string op, ulong a, ulong b, ulong expected, bool virtualMemory)
    {
        bool single = op.EndsWith(".s", StringComparison.Ordinal);
        using TestMachine m = FpEnvironments.Run(virtualMemory, p =>
        {
            p.Li(A1, (long)a);
            p.Li(A2, (long)b);
            p.Emit(Encode(single ? "fmv.w.x" : "fmv.d.x", 0, A1), Encode(single ? "fmv.w.x" : "fmv.d.x", 2, A2));
            if (op is not ("fmv.s" or "fmv.d"))
            {
                p.Emit(Encode(op, 1, 0, 2));
            }
            else
            {
                p.Emit(Encode(single ? "fsgnj.s" : "fsgnj.d", 1, 0, 0)); // the fmv.s pseudo-instruction
            }
            p.Emit(Encode(single ? "fmv.x.w" : "fmv.x.d", A0, 1), Encode("fmv.x.d", A3, 1));
        });
        Assert.Equal(expected, m[A0]);
        // A single result is NaN-boxed in the 64-bit register whatever the moved bits were.
        Assert.Equal(single ? 0xFFFFFFFF_00000000 | (expected & 0xFFFFFFFF) : expected, m[A3]);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void FmvXwTakesTheLowHalfOfADoubleWithoutCheckingTheBox(bool virtualMemory)
    {
        // Beyond riscv-tests: fmv.x.w sign-extends bits 31:0 of the register, boxed or not.
        using TestMachine m = FpEnvironments.Run(virtualMemory, p =>
        {
            p.Li(A1, 0x3FF02468A0000000);
            p.Emit(Encode("fmv.d.x", 0, A1), Encode("fmv.x.w", A0, 0));
            p.Li(A1, 0x1234567840490FDB);
            p.Emit(Encode("fmv.d.x", 0, A1), Encode("fmv.x.w", A2, 0));
        });
        Assert.Equal(0xFFFFFFFFA0000000, m[A0]);
        Assert.Equal(0x40490FDBUL, m[A2]);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void TwoFormsOfMinusInfinityCompareEqual(bool virtualMemory)
    {
        // recoding.S 8-10 (rv64uf and rv64ud): -Inf loaded and -Inf x 3 compare equal, le, not lt.
        using TestMachine m = FpEnvironments.Run(virtualMemory, p =>
        {
            p.Li(T0, (long)Data);
            p.Emit(Encode("flw", 0, T0, imm: 0), Encode("flw", 1, T0, imm: 4), Encode("fmul.s", 1, 1, 0),
                Encode("feq.s", A0, 0, 1), Encode("fle.s", A1, 0, 1), Encode("flt.s", A2, 0, 1),
                Encode("fld", 2, T0, imm: 8), Encode("fld", 3, T0, imm: 16), Encode("fmul.d", 3, 3, 2),
                Encode("feq.d", A3, 2, 3), Encode("fle.d", A4, 2, 3), Encode("flt.d", A5, 2, 3),
                Csrr(A6, CsrAddress.Fflags));
        }, m =>
        {
            m.WriteWords(Data, 0xff800000, 0x40400000);
            m.Write64(Data + 8, 0xfff0000000000000);
            m.Write64(Data + 16, 0x4008000000000000);
        });
        Assert.Equal([1UL, 1, 0, 1, 1, 0], new[] { m[A0], m[A1], m[A2], m[A3], m[A4], m[A5] });
        Assert.Equal(0UL, m[A6]); // -Inf x 3 is exact, and quiet compares of non-NaNs raise nothing
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void LoadsAndStores(bool virtualMemory)
    {
        using TestMachine m = FpEnvironments.Run(virtualMemory, p =>
        {
            p.Li(A1, (long)Data);
            // rv64uf ldst.S 2: flw 4, fsw 12, ld 8; 3: fld 0, fsd 8, ld 8.
            p.Emit(Encode("flw", 1, A1, imm: 4), Encode("fsw", rs1: A1, rs2: 1, imm: 12), Ld(A0, A1, 8),
                Encode("fmv.x.d", A2, 1),
                Encode("fld", 2, A1, imm: 0), Encode("fsd", rs1: A1, rs2: 2, imm: 8), Ld(A3, A1, 8));
            // rv64ud ldst.S 2-3 on the second table: fld 0/8, fsd 16, ld 16; the compressed forms do the second.
            p.Li(A4, (long)(Data + 0x40));
            p.Emit(Encode("fld", 2, A4, imm: 0), Encode("fsd", rs1: A4, rs2: 2, imm: 16), Ld(A5, A4, 16));
            p.Emit16(CFld(8, A4, 8), CFsd(8, A4, 16));
            p.Emit(Ld(A6, A4, 16));
            // c.fldsp/c.fsdsp, sp-relative: the table's first double to sp+24.
            p.Li(Sp, (long)(Data + 0x40));
            p.Emit16(CFldsp(9, 0), CFsdsp(9, 24));
            p.Emit(Ld(A7, A4, 24));
        }, m =>
        {
            m.WriteWords(Data, 0x3f800000, 0x40000000, 0x40400000, 0x40800000);
            m.WriteWords(Data + 0x40, 0xbf800000, 0x40000000, 0x40400000, 0xc0800000,
                0xdeadbeef, 0xcafebabe, 0xabad1dea, 0x1337d00d);
        });
        Assert.Equal(0x4000000040400000UL, m[A0]);
        Assert.Equal(0xFFFFFFFF40000000UL, m[A2]); // flw NaN-boxes
        Assert.Equal(0x400000003f800000UL, m[A3]);
        Assert.Equal(0x40000000bf800000UL, m[A5]);
        Assert.Equal(0xc080000040400000UL, m[A6]);
        Assert.Equal(0x40000000bf800000UL, m[A7]);
    }
}
