using Vbase.Architectures.SgxMee;

namespace Vbase.Architectures.Tests.SgxMee;

/// <summary>The resume-time page walk against hand-built Sv39 tables.</summary>
public sealed class Sv39WalkTests
{
    private const ulong Root = 0x8000_1000, Mid = 0x8000_2000, Leaf = 0x8000_3000;
    private const ulong Satp = (8UL << 60) | (Root >> 12);
    private const ulong Valid = 1, Rw = 0x6 | Valid, User = 0x10, Rx = 0xA | Valid;

    private readonly Dictionary<ulong, ulong> memory = [];

    private ulong? Read(ulong gpa) => memory.TryGetValue(gpa, out ulong v) ? v : 0;

    private static ulong Pte(ulong gpa, ulong flags) => ((gpa >> 12) << 10) | flags;

    [Fact]
    public void FourKilobytePagesThroughThreeLevels()
    {
        memory[Root + (0 * 8)] = Pte(Mid, Valid);
        memory[Mid + (1 * 8)] = Pte(Leaf, Valid);
        memory[Leaf + (0x13 * 8)] = Pte(0x8021_6000, Rw | User);
        Assert.Equal(0x8021_6abcUL, Sv39Walk.Translate(Satp, 0x21_3abc, Read));
        Assert.Null(Sv39Walk.Translate(Satp, 0x21_4000, Read));          // no leaf there
    }

    [Fact]
    public void MegaAndGigapagesTakeTheirLowBitsFromTheAddress()
    {
        memory[Root + (2 * 8)] = Pte(0x8000_0000, Rx);                   // gigapage at VA 0x8000_0000
        memory[Root + (0 * 8)] = Pte(Mid, Valid);
        memory[Mid + (0 * 8)] = Pte(0x8020_0000, Rw | User);              // megapage at VA 0
        Assert.Equal(0x8012_3456UL, Sv39Walk.Translate(Satp, 0x8012_3456, Read));
        Assert.Equal(0x8021_3000UL, Sv39Walk.Translate(Satp, 0x1_3000, Read));
    }

    [Fact]
    public void MalformedEntriesAndOtherModesEndTheWalk()
    {
        memory[Root + (0 * 8)] = Pte(0x8020_1000, Rw);                   // a misaligned gigapage
        Assert.Null(Sv39Walk.Translate(Satp, 0x1000, Read));
        memory[Root + (0 * 8)] = Pte(Mid, 0x4 | Valid);                  // W without R is reserved
        Assert.Null(Sv39Walk.Translate(Satp, 0x1000, Read));
        Assert.Null(Sv39Walk.Translate(Root >> 12, 0x1000, Read));         // bare
        Assert.Null(Sv39Walk.Translate(Satp, 0x1000, _ => null));        // an unreadable table
    }
}
