using System.Text.RegularExpressions;
using Vbase.Cli.Tests.Support;
using Vbase.Tests.Support;

namespace Vbase.Cli.Tests;

public sealed class ExecTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void HelloPrintsToStdoutAndExitsZero()
    {
        CliResult r = CliRunner.Run("exec", GuestPrograms.Path("hello.elf"));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("Hello from Vbase!\nBare-metal RV64 in M-mode on a QEMU virt-compatible machine.\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void TheProgramsExitCodeIsVbases()
    {
        CliResult r = CliRunner.Run("exec", GuestPrograms.Path("exitcode.elf"));
        Assert.Equal(42, r.ExitCode);
        Assert.Equal("exitcode: returning 42\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void StdinFeedsTheUart()
    {
        CliResult r = CliRunner.RunWithInput("abc\n", "exec", GuestPrograms.Path("echo.elf"));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("echo: ready\nABC\n", r.Stdout);
    }

    [Fact]
    public void HtifExitCodesComeThroughWithTheFlag()
    {
        Assert.Equal(3, CliRunner.Run("exec", "--htif", GuestPrograms.Path("htif-fail.elf")).ExitCode);
        Assert.Equal(0, CliRunner.Run("exec", "--htif", GuestPrograms.Path("htif-hello.elf")).ExitCode);
        Assert.Equal(99, CliRunner.Run("exec", GuestPrograms.Path("htif-fail.elf")).ExitCode); // as on QEMU
    }

    [Fact]
    public void TheInstructionLimitExits124WithOneMessage()
    {
        CliResult r = CliRunner.Run("exec", "--max-instructions", "1000", GuestPrograms.Path("cpubench-quick.elf"));
        Assert.Equal(ExitCodes.InstructionLimit, r.ExitCode);
        Assert.Equal(124, r.ExitCode);
        string line = Assert.Single(r.StderrLines);
        Assert.Matches(@"^vbase: instruction limit 1000 reached at pc=0x[0-9a-f]{16}$", line);
    }

    [Fact]
    public void AGenerousLimitDoesNotGetInTheWay()
    {
        CliResult r = CliRunner.Run("exec", "--max-instructions", "1_000_000", GuestPrograms.Path("hello.elf"));
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void AHartIdleForeverExits125WithOneMessage()
    {
        string elf = Path.Combine(directory, "idle.elf");
        File.WriteAllBytes(elf, TinyElf.Build([TinyElf.Wfi, TinyElf.JumpBack]));

        CliResult r = CliRunner.Run("exec", elf);

        Assert.Equal(ExitCodes.IdleForever, r.ExitCode);
        Assert.Equal(125, r.ExitCode);
        string line = Assert.Single(r.StderrLines);
        Assert.StartsWith("vbase: hart idle forever at pc=0x0000000080000004", line);
    }

    [Fact]
    public void StatsGoToStderrInOneLine()
    {
        CliResult r = CliRunner.Run("exec", "--stats", GuestPrograms.Path("hello.elf"));
        Assert.Equal(0, r.ExitCode);
        string line = Assert.Single(r.StderrLines);
        Assert.Matches(@"^vbase: \d+ instructions in \d+\.\d{3} s, \d+\.\d MIPS$", line);
        Assert.DoesNotContain("vbase", r.Stdout);
    }

    [Fact]
    public void BothEnginesRunTheSameInstructionsAndABadEngineIsAUsageError()
    {
        CliResult translated = CliRunner.Run("exec", "--stats", GuestPrograms.Path("hello.elf"));
        CliResult interpreted = CliRunner.Run("exec", "--stats", "--engine", "interpreter", GuestPrograms.Path("hello.elf"));
        Assert.Equal(0, interpreted.ExitCode);
        Assert.Equal(translated.Stdout, interpreted.Stdout);
        string Instructions(CliResult r) => Assert.Single(r.StderrLines).Split(' ')[1];
        Assert.Equal(Instructions(translated), Instructions(interpreted));

        CliResult bad = CliRunner.Run("exec", "--engine", "jit", GuestPrograms.Path("hello.elf"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--engine: 'jit' is not an engine; use translator or interpreter", bad.Stderr);
    }

    [Fact]
    public void TheTraceHasOneLinePerRetiredInstruction()
    {
        string trace = Path.Combine(directory, "hello.trace");
        CliResult r = CliRunner.Run("exec", "--stats", "--trace", trace, GuestPrograms.Path("hello.elf"));
        Assert.Equal(0, r.ExitCode);

        string[] lines = File.ReadAllLines(trace);
        long retired = long.Parse(Regex.Match(r.Stderr, @"vbase: (\d+) instructions").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(retired, lines.Length); // hello takes no traps
        Assert.StartsWith("0000000080000000 ", lines[0]);
        var shape = new Regex(@"^[0-9a-f]{16} ([0-9a-f]{8}| {4}[0-9a-f]{4}) \S.*?(  [a-z0-9]+=[0-9a-f]{16})?$");
        Assert.All(lines, line => Assert.Matches(shape, line));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^[0-9a-f]{16} [0-9a-f]{8} addi [a-z0-9]+, [a-z0-9]+, -?\d+  [a-z0-9]+=[0-9a-f]{16}$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^[0-9a-f]{16} {5}[0-9a-f]{4} c\."));
        // The last instruction is the store to the test finisher, which writes no register.
        Assert.Matches(@"^[0-9a-f]{16} [0-9a-f ]{8} (c\.)?sw [a-z0-9]+, -?\d+\([a-z0-9]+\)$", lines[^1]);
    }

    [Fact]
    public void TrapsShowInTheTraceAsTheirOwnLines()
    {
        string trace = Path.Combine(directory, "traps.trace");
        CliResult r = CliRunner.Run("exec", "--trace", trace, GuestPrograms.Path("traps.elf"));
        Assert.Equal(0, r.ExitCode);
        string[] lines = File.ReadAllLines(trace);
        int ecall = Array.FindIndex(lines, l => l.EndsWith(" ecall", StringComparison.Ordinal));
        Assert.True(ecall >= 0);
        Assert.Matches(@"^  trap: ecall from [MSU]-mode \(cause 0x[89b]\)$", lines[ecall + 1]);
        Assert.Contains("  trap: illegal instruction (cause 0x2)", lines);
    }

    [Fact]
    public void RamSizeIsAnOption()
    {
        Assert.Equal(0, CliRunner.Run("exec", "--ram", "1", GuestPrograms.Path("hello.elf")).ExitCode);
    }

    [Fact]
    public void HelpListsTheCommands()
    {
        CliResult r = CliRunner.Run("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("exec", r.Stdout);
        Assert.Contains("demo", r.Stdout);
        CliResult exec = CliRunner.Run("exec", "--help");
        Assert.Contains("--max-instructions", exec.Stdout);
    }
}
