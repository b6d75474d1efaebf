using Vbase.Isa.Tests.Infrastructure;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Encoding;

/// <summary>The builder's pseudo-instructions, checked by running them.</summary>
public class ProgramBuilderExecutionTests
{
    public static TheoryData<long> Constants()
    {
        var values = new SortedSet<long>
        {
            0, 1, -1, 2047, -2048, 2048, -2049, 0x12345678, int.MaxValue, int.MinValue,
            0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, long.MaxValue, long.MinValue, long.MinValue + 1,
            0x7FFF_FFFF_FFFF_F800, unchecked((long)0xDEAD_BEEF_CAFE_F00D), 0x0000_0800_0000_0800,
            unchecked((long)0x8000_0000_0000_0800), 0x1234_5678_9ABC_DEF0, unchecked((long)0xFFFF_FFFF_8000_0000),
        };
        var rng = new Random(7);
        for (int i = 0; i < 40; i++)
        {
            values.Add(rng.NextInt64(long.MinValue, long.MaxValue) >> rng.Next(64));
        }
        return [.. values];
    }

    [Theory]
    [MemberData(nameof(Constants))]
    public void LiLoadsAnyConstant(long value)
    {
        using var m = new TestMachine();
        m.Load(p => p.Li(T3, value).Emit(Ebreak()));
        m.RunToBreak();
        Assert.Equal((ulong)value, m[T3]);
    }

    [Fact]
    public void LaLoadsLabelAddressesBothWays()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Label("before");
            p.La(A0, "after");
            p.La(A1, "before");
            p.Emit(Ebreak());
            p.SkipTo(TestMachine.RamBase + 0x1234);
            p.Label("after");
        });
        m.RunToBreak();
        Assert.Equal(TestMachine.RamBase + 0x1234, m[A0]);
        Assert.Equal(TestMachine.RamBase, m[A1]);
    }
}
