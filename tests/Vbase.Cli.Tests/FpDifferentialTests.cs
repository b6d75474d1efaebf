using Vbase.Cli.Tests.Support;
using Vbase.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// The F and D extensions against QEMU, byte for byte: fpdiff-full.elf runs 100,000 random operand/rounding-mode
/// cases per FP instruction (1.8 G instructions, about 10 s under each), hashing each result and its fflags and
/// printing the first cases; fpkernel.elf is a numerical kernel printing through picolibc's printf; fpbench.elf is
/// bench/fp.sh's benchmark. fpdiff.elf (2,000 cases each, guest/Makefile's FPDIFF_CASES) also runs with the
/// interpreter alone, which must print the same as the translator.
/// </summary>
public sealed class FpDifferentialTests
{
    [QemuFact]
    public void AHundredThousandRandomCasesOfEveryInstruction() => Compare("fpdiff-full.elf");

    [QemuFact]
    public void NumericalKernelAndPrintf() => Compare("fpkernel.elf");

    [QemuFact]
    public void Benchmark() => Compare("fpbench.elf");

    private static void Compare(string program)
    {
        string elf = GuestPrograms.Path(program);
        (int qemuCode, string qemuOutput) = QemuComparisonTests.RunQemu(elf);
        CliResult translated = CliRunner.Run("exec", elf);
        Assert.Equal(qemuOutput, translated.Stdout);
        Assert.Equal(qemuCode, translated.ExitCode & 0xFF);
        Assert.Equal("", translated.Stderr);
    }

    /// <summary>Determinism: the translator and the interpreter print the same and retire the same instructions.</summary>
    [Fact]
    public void TheInterpreterPrintsAndCountsWhatTheTranslatorDoes()
    {
        string elf = GuestPrograms.Path("fpdiff.elf");
        CliResult translated = CliRunner.Run("exec", "--stats", elf);
        CliResult interpreted = CliRunner.Run("exec", "--stats", "--engine", "interpreter", elf);
        Assert.Equal(0, translated.ExitCode);
        Assert.Contains("fpdiff: done", translated.Stdout, StringComparison.Ordinal);
        Assert.Equal(translated.Stdout, interpreted.Stdout);
        Assert.Equal(Instructions(translated.Stderr), Instructions(interpreted.Stderr));
    }

    private static string Instructions(string stats) => stats[..stats.IndexOf(" instructions", StringComparison.Ordinal)];
}
