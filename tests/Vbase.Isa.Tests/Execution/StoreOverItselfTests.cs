using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Tests.Translation;
using Vbase.Isa.Translation;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Execution;

/// <summary>
/// AMOs, SC and plain stores whose store overwrites their own instruction (issue 12, defect 5). The store
/// invalidates the instruction's decoded slot; the executor must have read rd and rs2 from it before, so rd
/// (never x0) gets the old value, the stored value is rs2's, and execution goes on after the instruction — as
/// the spec says and QEMU does. Every case runs under the interpreter, the translator, and both in lockstep.
/// </summary>
public class StoreOverItselfTests
{
    public static TheoryData<string, bool> Amos()
    {
        var data = new TheoryData<string, bool>();
        foreach (string op in new[] { "swap", "add", "xor", "and", "or", "min", "max", "minu", "maxu" })
        {
            foreach (string width in new[] { "w", "d" })
            {
                data.Add($"amo{op}.{width}", false);
                data.Add($"amo{op}.{width}", true);
            }
        }
        return data;
    }

    /// <summary>Pads with nops (zero padding would be executed as illegal instructions) to an 8-byte boundary.</summary>
    private static void AlignWithNops(ProgramBuilder p)
    {
        Assert.Equal(0UL, p.Here & 3);
        while ((p.Here & 7) != 0)
        {
            p.Emit(Nop());
        }
    }

    private static HartOptions Options(bool translator) => translator
        ? new HartOptions { TranslationThreshold = 1 }
        : new HartOptions { Engine = ExecutionEngine.Interpreter };

    /// <summary>
    /// The AMO is the upper word of the doubleword s2 points at (for .d; for .w it is the word itself), so
    /// the instruction after it stays intact. rs2 = a4 is a value that changes the word under every op.
    /// </summary>
    private static ProgramBuilder AmoProgram(string mnemonic, out ulong target)
    {
        bool doubleword = mnemonic.EndsWith(".d", StringComparison.Ordinal);
        var p = TestMachine.Program();
        p.La(S2, "target").Li(A4, unchecked((long)0x8000_0001_7000_0003UL)).Li(A5, 0);
        AlignWithNops(p);
        p.Label("target");
        if (doubleword)
        {
            p.Emit(Addi(A1, A1, 1)); // executed once, then rewritten by the AMO after it
        }
        p.Label("amo");
        p.Emit(Encode(mnemonic, A0, S2, A4));
        // x0 must still read 0: these copy it into registers the test inspects.
        p.Emit(Addi(A2, Zero, 5), Add(A3, Zero, Zero), Addi(A5, A5, 1), Ebreak());
        target = p.AddressOf("target");
        return p;
    }

    private static ulong Model(string mnemonic, ulong old, ulong operand)
    {
        bool w = mnemonic.EndsWith(".w", StringComparison.Ordinal);
        string op = mnemonic[3..^2];
        if (w)
        {
            uint a = (uint)old, b = (uint)operand;
            return op switch
            {
                "swap" => b,
                "add" => a + b,
                "xor" => a ^ b,
                "and" => a & b,
                "or" => a | b,
                "min" => (int)a < (int)b ? a : b,
                "max" => (int)a > (int)b ? a : b,
                "minu" => Math.Min(a, b),
                _ => Math.Max(a, b),
            };
        }
        return op switch
        {
            "swap" => operand,
            "add" => old + operand,
            "xor" => old ^ operand,
            "and" => old & operand,
            "or" => old | operand,
            "min" => (long)old < (long)operand ? old : operand,
            "max" => (long)old > (long)operand ? old : operand,
            "minu" => Math.Min(old, operand),
            _ => Math.Max(old, operand),
        };
    }

    [Theory]
    [MemberData(nameof(Amos))]
    public void AmoOverItsOwnInstructionWritesRdAndLeavesX0Zero(string mnemonic, bool translator)
    {
        using var m = new TestMachine(Options(translator));
        var p = AmoProgram(mnemonic, out ulong target);
        m.Load(p);
        bool w = mnemonic.EndsWith(".w", StringComparison.Ordinal);
        ulong before = w ? m.Read32(target) : m.Read64(target);
        const ulong operand = 0x8000_0001_7000_0003UL; // what the program puts in a4

        m.RunToBreak();

        Assert.Equal(w ? (ulong)(long)(int)(uint)before : before, m[A0]);
        Assert.Equal(5UL, m[A2]);
        Assert.Equal(0UL, m[A3]);
        Assert.Equal(1UL, m[A5]);               // the instruction after it ran once: nothing re-ran or was skipped
        Assert.Equal(w ? 0UL : 1UL, m[A1]);
        ulong after = w ? m.Read32(target) : m.Read64(target);
        Assert.Equal(Model(mnemonic, before, operand) & (w ? 0xFFFF_FFFFUL : ulong.MaxValue), after);
        Assert.Equal(p.AddressOf("amo") + 16, m.LastTrap.Epc);
    }

    /// <summary>The repro: <c>amoor.d</c> on its own 8-byte-aligned doubleword (rs2 = 0 leaves it unchanged).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AmoorDOnItsOwnAlignedDoublewordKeepsX0Zero(bool translator)
    {
        using var m = new TestMachine(Options(translator));
        var p = TestMachine.Program();
        p.La(S2, "self").Li(A1, 0);
        AlignWithNops(p);
        p.Label("self");
        p.Emit(AmoorD(A0, Zero, S2));
        p.Emit(Addi(A1, Zero, 3)); // covered by the doubleword too (and unchanged by the or with 0)
        p.Emit(Add(A2, Zero, Zero), Ebreak());
        m.Load(p);
        ulong code = m.Read64(p.AddressOf("self"));

        m.RunToBreak();

        Assert.Equal(code, m[A0]);
        Assert.Equal(3UL, m[A1]);
        Assert.Equal(0UL, m[A2]);
        Assert.Equal(code, m.Read64(p.AddressOf("self")));
    }

    /// <summary>
    /// LR, then an SC that stores over itself: for .d the pair [lr.d, sc.d] is the doubleword reserved and
    /// written; for .w the SC's own word.
    /// </summary>
    [Theory]
    [InlineData("sc.d", false)]
    [InlineData("sc.d", true)]
    [InlineData("sc.w", false)]
    [InlineData("sc.w", true)]
    public void ScOverItsOwnInstructionStoresRs2AndWritesZeroToRd(string mnemonic, bool translator)
    {
        bool d = mnemonic == "sc.d";
        using var m = new TestMachine(Options(translator));
        var p = TestMachine.Program();
        const ulong value = 0x1234_5678_9ABC_DEF0UL;
        p.Li(A4, unchecked((long)value)).Li(A0, 7).La(S2, d ? "target" : "sc");
        if (!d)
        {
            p.Emit(LrW(T1, S2));
        }
        AlignWithNops(p);
        p.Label("target");
        if (d)
        {
            p.Emit(LrD(T1, S2));
        }
        p.Label("sc");
        p.Emit(Encode(mnemonic, A0, S2, A4));
        p.Emit(Addi(A2, Zero, 5), Add(A3, Zero, Zero), Ebreak());
        m.Load(p);
        ulong target = p.AddressOf("target");

        m.RunToBreak();

        Assert.Equal(0UL, m[A0]);              // success
        Assert.Equal(5UL, m[A2]);
        Assert.Equal(0UL, m[A3]);
        Assert.Equal(d ? value : value & 0xFFFF_FFFF, d ? m.Read64(target) : m.Read32(target));
        Assert.Equal(p.AddressOf("sc") + 12, m.LastTrap.Epc);
    }

    /// <summary>
    /// <c>sc.d</c> at the start of its doubleword: it stores rs2 over itself and the next instruction, which then
    /// runs as the new code (the "sc.d over its own code loops").
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ScDOverItselfAndTheNextInstructionRunsTheNewCode(bool translator)
    {
        using var m = new TestMachine(Options(translator));
        var p = TestMachine.Program();
        ulong newCode = Nop() | ((ulong)Addi(A1, A1, 40) << 32);
        p.Li(A4, unchecked((long)newCode)).La(S2, "self").Li(A0, 7);
        p.Emit(LrD(T1, S2));
        AlignWithNops(p);
        p.Label("self");
        p.Emit(ScD(A0, A4, S2));
        p.Emit(Addi(A1, A1, 1));
        p.Emit(Add(A3, Zero, Zero), Ebreak());
        m.Load(p);

        m.RunToBreak(1000);

        Assert.Equal(0UL, m[A0]);
        Assert.Equal(40UL, m[A1]);
        Assert.Equal(0UL, m[A3]);
        Assert.Equal(newCode, m.Read64(p.AddressOf("self")));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void SdOverItselfAndTheNextInstructionRunsTheNewCode(bool upperWord, bool translator)
    {
        using var m = new TestMachine(Options(translator));
        var p = TestMachine.Program();
        // Upper word: the sd rewrites the instruction before it and itself; lower: itself and the next one.
        ulong newCode = upperWord ? Nop() | ((ulong)Nop() << 32) : Nop() | ((ulong)Addi(A1, A1, 40) << 32);
        p.Li(A4, unchecked((long)newCode)).La(S2, "dword");
        AlignWithNops(p);
        p.Label("dword");
        if (upperWord)
        {
            p.Emit(Nop());
        }
        p.Emit(Sd(A4, S2, 0));
        p.Emit(Addi(A1, A1, 1));
        p.Emit(Add(A3, Zero, Zero), Ebreak());
        m.Load(p);

        m.RunToBreak(1000);

        Assert.Equal(upperWord ? 1UL : 40UL, m[A1]);
        Assert.Equal(0UL, m[A3]);
        Assert.Equal(newCode, m.Read64(p.AddressOf("dword")));
    }

    /// <summary>The same programs, run in lockstep: translator and interpreter agree after every block.</summary>
    [Theory]
    [InlineData("amoor.d")]
    [InlineData("amoswap.w")]
    [InlineData("amomaxu.d")]
    [InlineData("amoadd.w")]
    public void LockstepAgreesOnAmosOverThemselves(string mnemonic)
    {
        using var pair = new LockstepPair();
        // Run the AMO in a loop so its page gets translated around it: each pass rewrites the code again.
        var p = TestMachine.Program();
        bool w = mnemonic.EndsWith(".w", StringComparison.Ordinal);
        p.La(S2, w ? "amo" : "target").La(S3, "target").Li(A4, 3).Li(S1, 50);
        AlignWithNops(p);
        p.Label("loop").Label("target");
        p.Emit(Addi(A1, A1, 1));
        p.Label("amo");
        p.Emit(Encode(mnemonic, A0, S2, A4));
        p.Emit(Add(A3, A3, Zero), Addi(S1, S1, -1));
        p.Emit(Sd(A6, S3, 0)); // a6 was loaded with the original doubleword: put the code back
        p.Bne(S1, Zero, "loop");
        p.Emit(Ebreak());
        pair.Load(p);
        ulong code = pair.Subject.Read64(p.AddressOf("target"));
        pair.Both(m => m[A6] = code);
        Lockstep lockstep = pair.CreateLockstep(memoryCheckInterval: 1);

        LockstepPair.RunToEnd(lockstep, 100_000);

        Assert.Null(pair.CompareHarts());
        Assert.Null(pair.CompareMemory());
        Assert.Equal(0UL, pair.Subject[A3]);
        Assert.Equal(50UL, pair.Subject[A1]);
        Assert.True(pair.Subject.Hart.TranslatedRegions > 0, "nothing around the AMO was translated");
    }
}
