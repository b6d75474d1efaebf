using System.Text;
using Vbase.Isa.Harts;
using Vbase.Isa.Translation;
using Vbase.Platform.Loading;
using Vbase.Platform.Machines;
using Vbase.Tests.Support;

namespace Vbase.Platform.Tests;

/// <summary>
/// The committed bare-metal images under <see cref="Lockstep"/>: each runs on two machines built from the same
/// image, one translating and one only interpreting, compared after every translated block (registers, pc,
/// counters, trap CSRs) and, now and then and at the end, in RAM and console output. Each machine has its own
/// devices (UART, CLINT, PLIC, finisher), driven by its own hart.
/// </summary>
public sealed class LockstepTests
{
    /// <summary>
    /// Enough for every image (traps.elf maps a 2 MiB megapage at 0x8060_0000) and small enough that comparing
    /// the two RAMs stays cheap.
    /// </summary>
    private const ulong RamSize = 16 << 20;

    /// <summary>
    /// Lockstep steps one block at a time, about 1.4 µs per instruction in Debug. Past this many instructions
    /// the pair runs freely to the end and only the final state is compared: cpubench-quick's 8.3 million
    /// instructions repeat the same kernels 50 times, so its first 1.5 million (about nine rounds) already cover
    /// every kernel several times, while lockstep over all of it would take over 10 s.
    /// </summary>
    private const ulong LockstepInstructions = 1_500_000;

    /// <summary>
    /// Thresholds are explicit (the default is tuned for speed and may not translate a short program at all):
    /// 1 translates every page at its first entry, including cold paths; 16 and 64 translate what is hot, as in
    /// production. cpubench-quick is not run at 1: there its pages use up their translation allowance on cold
    /// entries and go back to the interpreter, so lockstep would compare mostly interpreted code.
    /// </summary>
    [Theory]
    [InlineData("hello.elf", 1)]
    [InlineData("hello.elf", 16)]
    [InlineData("traps.elf", 1)]
    [InlineData("traps.elf", 64)]
    [InlineData("cpubench-quick.elf", 64)]
    public void ImageRunsIdenticallyTranslatedAndInterpreted(string name, int threshold)
    {
        using var pair = new MachinePair(name, threshold);
        var lockstep = new Lockstep(pair.Subject.Hart, pair.Reference.Hart, pair.Compare, memoryCheckInterval: 4096);

        HartExit exit = lockstep.Run(LockstepInstructions);
        if (exit == HartExit.InstructionLimit)
        {
            pair.RunBothToTheEnd();
        }
        else
        {
            Assert.Equal(HartExit.Stopped, exit);
        }

        Assert.True(pair.Subject.Hart.TranslatedRegions > 0, "the subject translated nothing");
        Assert.True(lockstep.TranslatedSteps > 0, $"no step of {lockstep.Steps} ran a translated block");
        MachineRunResult subject = pair.Subject.Run(0), reference = pair.Reference.Run(0);
        Assert.Equal(MachineStopReason.Exited, subject.Reason);
        Assert.Equal(MachineStopReason.Exited, reference.Reason);
        Assert.Equal(0, subject.ExitCode);
        Assert.Equal(0, reference.ExitCode);
        Assert.Equal(pair.ReferenceText, pair.SubjectText);
        Assert.DoesNotContain("FAIL", pair.SubjectText);
        Assert.Equal(pair.Reference.Hart.Instret, pair.Subject.Hart.Instret);
        if (name == "cpubench-quick.elf")
        {
            Assert.EndsWith("cpubench: checksum ok\n", pair.SubjectText);
        }
    }

    /// <summary>Two machines built from the same image: the subject translates, the reference interprets.</summary>
    private sealed class MachinePair : IDisposable
    {
        private readonly MemoryStream subjectOutput = new(), referenceOutput = new();

        public MachinePair(string name, int threshold)
        {
            ElfImage image = ElfImage.Read(GuestPrograms.Path(name));
            Subject = Build(image, ExecutionEngine.Translator, threshold, subjectOutput);
            Reference = Build(image, ExecutionEngine.Interpreter, null, referenceOutput);
        }

        public Machine Subject { get; }
        public Machine Reference { get; }
        public string SubjectText => Encoding.UTF8.GetString(subjectOutput.ToArray());
        public string ReferenceText => Encoding.UTF8.GetString(referenceOutput.ToArray());

        private static Machine Build(ElfImage image, ExecutionEngine engine, int? threshold, Stream output) =>
            MachineBuilder.Build(new MachineConfig
            {
                Image = image,
                RamSize = RamSize,
                ConsoleOutput = output,
                Engine = engine,
                TranslationThreshold = threshold,
            });

        /// <summary>The first difference in RAM or console output, or null.</summary>
        public string? Compare()
        {
            ReadOnlySpan<byte> actual = Subject.Ram.GetSpan(Subject.Ram.Base, (int)RamSize);
            ReadOnlySpan<byte> expected = Reference.Ram.GetSpan(Reference.Ram.Base, (int)RamSize);
            int same = actual.CommonPrefixLength(expected);
            if (same < actual.Length)
            {
                return $"RAM at 0x{Subject.Ram.Base + (ulong)same:x} = 0x{actual[same]:x2}, reference 0x{expected[same]:x2}";
            }
            return subjectOutput.Length == referenceOutput.Length && subjectOutput.GetBuffer().AsSpan(0, (int)subjectOutput.Length)
                .SequenceEqual(referenceOutput.GetBuffer().AsSpan(0, (int)referenceOutput.Length))
                ? null
                : $"console output differs: \"{SubjectText}\", reference \"{ReferenceText}\"";
        }

        /// <summary>Runs both machines freely to their exit and compares what they ended with.</summary>
        public void RunBothToTheEnd()
        {
            MachineRunResult subject = Subject.Run(100_000_000), reference = Reference.Run(100_000_000);
            Assert.Equal(MachineStopReason.Exited, subject.Reason);
            Assert.Equal(MachineStopReason.Exited, reference.Reason);
            Assert.Equal(reference.Pc, subject.Pc);
            Assert.Equal(Reference.Hart.Cycle, Subject.Hart.Cycle);
            for (int r = 1; r < 32; r++)
            {
                Assert.True(Reference.Hart.GetRegister(r) == Subject.Hart.GetRegister(r),
                    $"x{r} = 0x{Subject.Hart.GetRegister(r):x}, reference 0x{Reference.Hart.GetRegister(r):x}");
            }
            Assert.Null(Compare());
        }

        public void Dispose()
        {
            Subject.Dispose();
            Reference.Dispose();
        }
    }
}
