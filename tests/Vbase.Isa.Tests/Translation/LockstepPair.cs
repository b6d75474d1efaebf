using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Translation;

namespace Vbase.Isa.Tests.Translation;

/// <summary>
/// Two identical test machines: the subject translates every page that gets entered (threshold 1), the reference
/// only interprets. Everything a test does to one (program, data, CSRs, interrupt lines, page tables) it does to
/// both through <see cref="Both"/>, so any difference after a run is the translator's.
/// </summary>
internal sealed class LockstepPair : IDisposable
{
    public LockstepPair()
    {
        Subject = new TestMachine(new HartOptions { TranslationThreshold = 1 });
        Reference = new TestMachine(new HartOptions { Engine = ExecutionEngine.Interpreter });
    }

    public TestMachine Subject { get; }
    public TestMachine Reference { get; }

    /// <summary>Applies the same host action to both machines.</summary>
    public void Both(Action<TestMachine> action)
    {
        action(Subject);
        action(Reference);
    }

    /// <summary>Loads <paramref name="program"/> into both machines and points both harts at <paramref name="entry"/> (default: its base).</summary>
    public void Load(ProgramBuilder program, ulong? entry = null) => Both(m =>
    {
        m.Load(program);
        m.Hart.Pc = entry ?? program.BaseAddress;
    });

    /// <summary>
    /// A lockstep over the two harts. Memory is compared every <paramref name="memoryCheckInterval"/> blocks and at
    /// the end: comparing the 4 MiB RAMs costs about as much as a few hundred blocks.
    /// </summary>
    public Lockstep CreateLockstep(int memoryCheckInterval = 256) =>
        new(Subject.Hart, Reference.Hart, CompareMemory, memoryCheckInterval);

    /// <summary>Runs the lockstep until a hart stops or idles (a failure if it runs past <paramref name="maxInstructions"/>).</summary>
    public static HartExit RunToEnd(Lockstep lockstep, ulong maxInstructions = 2_000_000)
    {
        HartExit exit = lockstep.Run(maxInstructions);
        Assert.True(exit != HartExit.InstructionLimit, $"the program did not end within {maxInstructions} instructions");
        return exit;
    }

    /// <summary>The first difference between the two RAMs, or in what the device page saw; null if none.</summary>
    public string? CompareMemory()
    {
        ReadOnlySpan<byte> actual = Subject.Memory.Ram, expected = Reference.Memory.Ram;
        int same = actual.CommonPrefixLength(expected);
        if (same < actual.Length)
        {
            return $"RAM at 0x{TestMachine.RamBase + (ulong)same:x} = 0x{actual[same]:x2}, reference 0x{expected[same]:x2}";
        }
        List<DeviceAccess> actualAccesses = Subject.Memory.DeviceAccesses, expectedAccesses = Reference.Memory.DeviceAccesses;
        for (int i = 0; i < Math.Min(actualAccesses.Count, expectedAccesses.Count); i++)
        {
            if (actualAccesses[i] != expectedAccesses[i])
            {
                return $"device access {i} = {actualAccesses[i]}, reference {expectedAccesses[i]}";
            }
        }
        if (actualAccesses.Count != expectedAccesses.Count)
        {
            return $"{actualAccesses.Count} device accesses, reference {expectedAccesses.Count}";
        }
        return Subject.Memory.ExitWrites != Reference.Memory.ExitWrites
            ? $"{Subject.Memory.ExitWrites} exit-page writes, reference {Reference.Memory.ExitWrites}"
            : null;
    }

    /// <summary>The architectural difference between the harts, as lockstep compares them, or null.</summary>
    public string? CompareHarts() => Lockstep.Difference(Subject.Hart, Reference.Hart);

    /// <summary>
    /// Runs both harts freely for up to <paramref name="maxInstructions"/> (no lockstep: the subject chains
    /// translated blocks as it does in production, and a budget or timer may end inside a block), then compares
    /// the harts, and the memories if <paramref name="compareMemory"/> or the run ended otherwise than by the budget.
    /// </summary>
    public HartExit RunBoth(ulong maxInstructions, bool compareMemory = true)
    {
        ulong cycle = Subject.Hart.Cycle;
        HartExit subjectExit = Subject.Hart.Run(maxInstructions);
        HartExit referenceExit = Reference.Hart.Run(maxInstructions);
        string? difference = CompareHarts();
        if (difference is null && subjectExit != referenceExit)
        {
            difference = $"run ended with {subjectExit}, reference with {referenceExit}";
        }
        if (difference is null && (compareMemory || subjectExit != HartExit.InstructionLimit))
        {
            difference = CompareMemory();
        }
        Assert.True(difference is null, $"after Run({maxInstructions}) from cycle {cycle}: {difference}");
        return subjectExit;
    }

    /// <summary>
    /// <see cref="RunBoth"/> in chunks whose sizes <paramref name="chunk"/> picks until both harts stop or idle;
    /// returns the number of chunks. Memory is compared every <paramref name="memoryCheckInterval"/> chunks.
    /// </summary>
    public int RunInChunks(Func<ulong> chunk, ulong maxInstructions = 2_000_000, int memoryCheckInterval = 32)
    {
        for (int chunks = 1; ; chunks++)
        {
            if (RunBoth(chunk(), chunks % memoryCheckInterval == 0) != HartExit.InstructionLimit)
            {
                return chunks;
            }
            Assert.True(Subject.Hart.Cycle < maxInstructions, $"the program did not end within {maxInstructions} instructions");
        }
    }

    /// <summary>The subject really ran translated code: regions were compiled and lockstep stepped whole blocks.</summary>
    public void AssertTranslated(Lockstep lockstep)
    {
        Assert.True(Subject.Hart.TranslatedRegions > 0, "the subject translated nothing");
        Assert.True(lockstep.TranslatedSteps > 0, $"no step of {lockstep.Steps} ran a translated block");
    }

    public void Dispose()
    {
        Subject.Dispose();
        Reference.Dispose();
    }
}
