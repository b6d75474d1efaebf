using Vbase.Isa.Tests.Infrastructure;

namespace Vbase.Isa.Tests.Execution;

/// <summary>The M extension; products and quotients worked out by hand (see the comments for the non-obvious ones).</summary>
public class MulDivTests
{
    private const ulong Minus1 = 0xFFFF_FFFF_FFFF_FFFF, Min = 0x8000_0000_0000_0000, Max = 0x7FFF_FFFF_FFFF_FFFF;

    [Theory]
    [InlineData("mul", 7UL, 6UL, 42UL)]
    [InlineData("mul", Minus1, Minus1, 1UL)]
    [InlineData("mul", Min, Minus1, Min)]                                        // wraps
    [InlineData("mul", 0x1_0000_0001UL, 0x1_0000_0001UL, 0x2_0000_0001UL)]       // 2^64 term dropped
    [InlineData("mul", Minus1, 5UL, 0xFFFF_FFFF_FFFF_FFFBUL)]
    [InlineData("mulh", Minus1, Minus1, 0UL)]                                     // (-1)(-1) = 1
    [InlineData("mulh", Min, Min, 0x4000_0000_0000_0000UL)]                       // 2^126
    [InlineData("mulh", Min, Max, 0xC000_0000_0000_0000UL)]                       // -2^63(2^63-1) >> 64
    [InlineData("mulh", Minus1, 1UL, Minus1)]
    [InlineData("mulh", 0x1_0000_0000UL, 0x1_0000_0000UL, 1UL)]
    [InlineData("mulhu", Minus1, Minus1, 0xFFFF_FFFF_FFFF_FFFEUL)]                // (2^64-1)^2 >> 64
    [InlineData("mulhu", Min, 2UL, 1UL)]
    [InlineData("mulhu", Minus1, 1UL, 0UL)]
    [InlineData("mulhsu", Minus1, Minus1, Minus1)]                                // -1 * (2^64-1) = -2^64 + 1
    [InlineData("mulhsu", Minus1, 1UL, Minus1)]
    [InlineData("mulhsu", 1UL, Minus1, 0UL)]                                      // rs2 is unsigned
    [InlineData("mulhsu", Min, Minus1, 0x8000_0000_0000_0000UL)]                  // -2^63 (2^64-1) >> 64 = -2^63 (floor)
    [InlineData("mulhsu", 2UL, Min, 1UL)]
    [InlineData("mulw", 0x7FFF_FFFFUL, 2UL, 0xFFFF_FFFF_FFFF_FFFEUL)]
    [InlineData("mulw", 0x1_0000_0003UL, 0x5_0000_0007UL, 21UL)]                 // upper halves ignored
    [InlineData("mulw", 0x10000UL, 0x8000UL, 0xFFFF_FFFF_8000_0000UL)]
    public void Multiplication(string op, ulong a, ulong b, ulong expected) =>
        Assert.Equal(expected, Exec.RegReg(op, a, b));

    [Theory]
    [InlineData("div", 20UL, 6UL, 3UL)]
    [InlineData("div", 0xFFFF_FFFF_FFFF_FFECUL, 6UL, 0xFFFF_FFFF_FFFF_FFFDUL)]   // -20/6 = -3 (toward zero)
    [InlineData("div", 20UL, 0xFFFF_FFFF_FFFF_FFFAUL, 0xFFFF_FFFF_FFFF_FFFDUL)]   // 20/-6 = -3
    [InlineData("div", 5UL, 0UL, Minus1)]                                         // by zero: all ones
    [InlineData("div", Min, Minus1, Min)]                                          // overflow: dividend
    [InlineData("divu", 20UL, 0UL, Minus1)]
    [InlineData("divu", Minus1, 2UL, Max)]
    [InlineData("divu", Min, Minus1, 0UL)]
    [InlineData("rem", 0xFFFF_FFFF_FFFF_FFECUL, 6UL, 0xFFFF_FFFF_FFFF_FFFEUL)]   // -20 % 6 = -2 (sign of dividend)
    [InlineData("rem", 20UL, 0xFFFF_FFFF_FFFF_FFFAUL, 2UL)]
    [InlineData("rem", 7UL, 0UL, 7UL)]                                            // by zero: dividend
    [InlineData("rem", Min, Minus1, 0UL)]                                          // overflow: 0
    [InlineData("remu", 7UL, 0UL, 7UL)]
    [InlineData("remu", Minus1, 10UL, 5UL)]                                       // 18446744073709551615 % 10
    [InlineData("divw", 0xFFFF_FFFF_8000_0000UL, Minus1, 0xFFFF_FFFF_8000_0000UL)] // INT_MIN / -1
    [InlineData("divw", 0x1_0000_0014UL, 0xFFFF_FFFAUL, 0xFFFF_FFFF_FFFF_FFFDUL)]  // 20 / -6 on the low halves
    [InlineData("divw", 9UL, 0x1_0000_0000UL, Minus1)]                            // divisor's low half is 0
    [InlineData("divuw", 0xFFFF_FFFEUL, 1UL, 0xFFFF_FFFF_FFFF_FFFEUL)]            // the 32-bit result is sign-extended
    [InlineData("divuw", 0x8000_0000UL, 0UL, Minus1)]
    [InlineData("divuw", 0xFFFF_FFFF_FFFF_FFECUL, 6UL, 715827879UL)]             // 0xFFFFFFEC / 6
    [InlineData("remw", 0xFFFF_FFFF_8000_0000UL, Minus1, 0UL)]
    [InlineData("remw", 0xFFFF_FFECUL, 6UL, 0xFFFF_FFFF_FFFF_FFFEUL)]            // -20 % 6 on 32 bits
    [InlineData("remw", 0x1_8000_0000UL, 0UL, 0xFFFF_FFFF_8000_0000UL)]          // by zero: sign-extended low half
    [InlineData("remuw", 0xFFFF_FFFFUL, 0UL, Minus1)]                             // by zero: dividend, sign-extended
    [InlineData("remuw", 0x8000_0005UL, 0x8000_0000UL, 5UL)]
    [InlineData("remuw", 0xFFFF_FFFEUL, 0xFFFF_FFFFUL, 0xFFFF_FFFF_FFFF_FFFEUL)]
    public void Division(string op, ulong a, ulong b, ulong expected) =>
        Assert.Equal(expected, Exec.RegReg(op, a, b));
}
