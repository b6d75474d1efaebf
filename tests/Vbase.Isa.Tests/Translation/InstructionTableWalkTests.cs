using System.Runtime.InteropServices;
using Vbase.Isa.Decoding;
using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Translation;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Translation;

/// <summary>
/// The translator walked row by row over the instruction table (Decoding/rv64.opcodes): every row the table
/// marks translatable is compiled into a region (the translator says it emitted IL for it, not that it fell
/// back) and runs identically to the interpreter under <see cref="Lockstep"/> with random operands; every row
/// marked not translated ends its block and is left to the interpreter.
/// </summary>
public unsafe class InstructionTableWalkTests
{
    private const ulong DataBase = TestMachine.DataBase;
    // Registers the generated code keeps for itself: the loop counter, the data pointer and a scratch for jalr.
    private const int Counter = 30, Data = 29, Scratch = 28;
    private const int Instances = 24, Iterations = 4;

    public static TheoryData<string> Rows(bool translatable)
    {
        var data = new TheoryData<string>();
        foreach (InstructionSpec row in InstructionTable.Rows)
        {
            if ((row.Translation != TranslationClass.NotTranslated) == translatable)
            {
                data.Add(row.Name);
            }
        }
        return data;
    }

    public static TheoryData<string> TranslatableRows() => Rows(true);
    public static TheoryData<string> InterpretedRows() => Rows(false);

    [Fact]
    public void TheTableHasBothKindsOfRows()
    {
        Assert.True(TranslatableRows().Count >= 60);
        Assert.True(InterpretedRows().Count >= 30);
    }

    [Theory]
    [MemberData(nameof(TranslatableRows))]
    public void EveryTranslatableRowIsTranslatedAndRunsIdenticallyUnderLockstep(string name)
    {
        ref readonly InstructionSpec row = ref InstructionTable.Rows[InstructionTable.IndexOf(name)];
        var rng = new Random(1000 + (int)row.Id);
        ProgramBuilder program = TestMachine.Program();
        for (int r = 1; r < 32; r++)
        {
            if (r is not (Counter or Data))
            {
                program.Li(r, Interesting(rng));
            }
        }
        // FP rows: the FPU on, frm a valid mode, every f register loaded from the data page's first 256 bytes.
        bool fp = row.Translation == TranslationClass.Call;
        if (fp)
        {
            program.Li(Scratch, 1 << 13).Emit(Encode("csrrs", 0, Scratch, imm: 0x300));
            program.Emit(Encode("csrrwi", 0, rng.Next(5), imm: 0x002));
            program.Li(Data, (long)DataBase + 2048);
            for (int f = 0; f < 32; f++)
            {
                program.Emit(Encode("fld", f, Data, imm: -2048 + 8 * f));
            }
        }
        program.Li(Data, (long)DataBase + 2048).Li(Counter, Iterations).Label("loop");
        for (int i = 0; i < Instances; i++)
        {
            EmitInstance(program, in row, rng, first: i == 0);
        }
        program.Emit(Addi(Counter, Counter, -1)).Bne(Counter, Zero, "loop").Label("end").Emit(Ebreak());

        using var pair = new LockstepPair();
        var data = new byte[4096];
        rng.NextBytes(data);
        for (int f = 0; fp && f < 32; f++)
        {
            // Mostly NaN-boxed singles (or doubles with the same high half): the interesting values as both.
            ulong bits = (ulong)Interesting(rng);
            BitConverter.TryWriteBytes(data.AsSpan(8 * f), rng.Next(4) == 0 ? bits : bits | 0xFFFF_FFFF_0000_0000);
        }
        pair.Both(m => m.WriteBytes(DataBase, data));
        pair.Load(program);
        var emitted = new HashSet<InstructionId>();
        pair.Subject.Hart.RegionTranslated = region => emitted.UnionWith(region.Instructions);
        Lockstep lockstep = pair.CreateLockstep(memoryCheckInterval: 16);

        Assert.Equal(HartExit.Stopped, LockstepPair.RunToEnd(lockstep, 100_000));

        pair.AssertTranslated(lockstep);
        Assert.True(emitted.Contains(row.Id), $"{name} was not emitted into any region (emitted: {string.Join(", ", emitted)})");
        Assert.Equal(program.AddressOf("end"), pair.Subject.LastTrap.Epc); // no filler ran: every jump landed
        Assert.Equal(0UL, pair.Subject[Counter]);
    }

    /// <summary>One instance of the row with random operands that keep the program's own registers intact.</summary>
    private static void EmitInstance(ProgramBuilder p, in InstructionSpec row, Random rng, bool first)
    {
        int Rd() => first || rng.Next(6) != 0 ? rng.Next(1, Scratch) : 0;
        int Source() => rng.Next(8) == 0 ? 0 : rng.Next(1, Scratch + 1);
        switch (row.Translation)
        {
            case TranslationClass.Value:
                p.Emit(Encode(row.Name, Rd(), Source(), Source(), ValueImmediate(row.Format, rng)));
                break;
            case TranslationClass.Load:
                p.Emit(Encode(row.Name, Rd(), Data, imm: rng.Next(-2048, 2040)));
                break;
            case TranslationClass.Store:
                p.Emit(Encode(row.Name, rs1: Data, rs2: Source(), imm: rng.Next(-2048, 2040)));
                break;
            case TranslationClass.Branch:
                // Taken or not, it lands on the next instance; the filler only runs when it is not taken.
                p.Emit(Encode(row.Name, rs1: Source(), rs2: rng.Next(4) == 0 ? 0 : Source(), imm: 8));
                p.Emit(Addi(Rd(), Source(), 1));
                break;
            case TranslationClass.Jal:
                p.Emit(Encode(row.Name, Rd(), imm: 8));
                p.Emit(Ebreak()); // skipped
                break;
            case TranslationClass.Jalr:
                // auipc scratch, 0; jalr rd, 12|odd(scratch): the target skips one ebreak (bit 0 is cleared).
                p.Emit(Auipc(Scratch, 0));
                p.Emit(Encode(row.Name, rng.Next(2) == 0 ? Scratch : Rd(), Scratch, imm: 12 + rng.Next(2)));
                p.Emit(Ebreak());
                break;
            case TranslationClass.Nop:
                p.Emit(Encode(row.Name));
                break;
            case TranslationClass.Call:
                EmitFloatInstance(p, in row, rng, Rd, Source);
                break;
            default:
                throw new InvalidOperationException($"{row.Name}: {row.Translation}");
        }
    }

    /// <summary>An F/D row: f registers anywhere (f0 is a register), x operands as the others', a random rounding mode (5 and 6 excluded).</summary>
    private static void EmitFloatInstance(ProgramBuilder p, in InstructionSpec row, Random rng, Func<int> rd, Func<int> source)
    {
        int F() => rng.Next(32);
        int rm = rng.Next(6) is var m && m == 5 ? 7 : m;
        switch (row.Format)
        {
            case OperandFormat.FLoad:
                p.Emit(Encode(row.Name, F(), Data, imm: rng.Next(-256, 248) & ~7));
                break;
            case OperandFormat.FStore:
                p.Emit(Encode(row.Name, rs1: Data, rs2: F(), imm: rng.Next(-256, 248) & ~7));
                break;
            case OperandFormat.FCmp:
            case OperandFormat.FToX:
            case OperandFormat.FMvToX:
                p.Emit(Encode(row.Name, rd(), F(), F(), rm: row.Format == OperandFormat.FToX ? rm : 0));
                break;
            case OperandFormat.XToF:
            case OperandFormat.FMvFromX:
                p.Emit(Encode(row.Name, F(), source(), rm: row.Format == OperandFormat.XToF ? rm : 0));
                break;
            default:
                p.Emit(Encode(row.Name, F(), F(), F(), rs3: F(), rm: row.Format is OperandFormat.FR ? 0 : rm));
                break;
        }
    }

    private static long ValueImmediate(OperandFormat format, Random rng) => format switch
    {
        OperandFormat.I => rng.Next(4) == 0 ? (rng.Next(2) == 0 ? 2047 : -2048) : rng.Next(-2048, 2048),
        OperandFormat.Shift64 => rng.Next(64),
        OperandFormat.Shift32 => rng.Next(32),
        OperandFormat.U => (long)(int)((uint)rng.Next() << 12),
        _ => 0,
    };

    /// <summary>Register values with the edge cases of the M extension and the shifts among them.</summary>
    private static long Interesting(Random rng) => rng.Next(8) switch
    {
        0 => 0,
        1 => -1,
        2 => long.MinValue,
        3 => int.MinValue,
        4 => rng.Next(-64, 64),
        _ => rng.NextInt64(long.MinValue, long.MaxValue),
    };

    [Theory]
    [MemberData(nameof(InterpretedRows))]
    public void EveryInterpretedRowEndsItsBlockAndIsLeftToTheInterpreter(string name)
    {
        ref readonly InstructionSpec row = ref InstructionTable.Rows[InstructionTable.IndexOf(name)];
        uint word = Encode(name, rd: 1, rs1: 2, rs2: 3, imm: row.Format is OperandFormat.Csr or OperandFormat.CsrImm ? 0x340 : 0);
        uint[] code = [Addi(1, 1, 1), word, Addi(2, 2, 2), Jal(0, -12)];
        byte* host = (byte*)NativeMemory.AllocZeroed(4096);
        try
        {
            new Span<uint>(host, 1024).Clear();
            code.CopyTo(new Span<uint>(host, code.Length));

            // From the block before it: the block ends in front of it, and exploration resumes after it.
            var page = new DecodedPage(0x80000, host);
            Assert.True(RegionTranslator.Translate(page, 0, out TranslatedRegion? region));
            Assert.DoesNotContain(row.Id, region.Instructions);
            Assert.Equal([InstructionId.Addi, InstructionId.Addi, InstructionId.Jal], region.Instructions);
            Assert.Equal(1, region.BlockLengths[0]);
            Assert.DoesNotContain(2, region.HeadSlots);
            Assert.Equal(0, page.Slots[2].RegionEntry); // its slot keeps the interpreter's handler

            // Hot at the instruction itself: it stays interpreted, translation starts after it.
            var alone = new DecodedPage(0x80001, host);
            Assert.True(RegionTranslator.Translate(alone, 2, out TranslatedRegion? after));
            Assert.Equal(4, after.HeadSlots[0]);
            Assert.DoesNotContain(2, after.HeadSlots);
            Assert.DoesNotContain(row.Id, after.Instructions);
            Assert.Equal(0, alone.Slots[2].RegionEntry);
        }
        finally
        {
            NativeMemory.Free(host);
        }
    }
}
