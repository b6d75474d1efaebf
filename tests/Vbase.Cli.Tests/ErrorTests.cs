using Vbase.Cli.Tests.Support;
using Vbase.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>Every failure is one "vbase: error: ..." line on stderr and a documented exit code; never a stack trace.</summary>
public sealed class ErrorTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string File(string name, byte[] bytes)
    {
        string path = Path.Combine(directory, name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string OneError(CliResult r, int exitCode)
    {
        Assert.True(exitCode == r.ExitCode, $"exit code {r.ExitCode}, stderr: {r.Stderr}");
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.StderrLines);
        Assert.StartsWith("vbase: error: ", line);
        Assert.DoesNotContain("Exception", line);
        return line;
    }

    [Fact]
    public void AMissingFileIsALoadError()
    {
        string path = Path.Combine(directory, "missing.elf");
        Assert.Equal($"vbase: error: {path}: no such file", OneError(CliRunner.Run("exec", path), ExitCodes.LoadError));
    }

    [Fact]
    public void AFileThatIsNotAnElfIsALoadError()
    {
        string path = File("notes.txt", "just text\n"u8.ToArray());
        Assert.EndsWith("not an ELF file", OneError(CliRunner.Run("exec", path), ExitCodes.LoadError));
    }

    [Fact]
    public void AnX86_64ElfIsALoadError()
    {
        string path = File("x86.elf", TinyElf.Build([0x13], machine: 62));
        Assert.EndsWith("ELF for x86-64, not RISC-V", OneError(CliRunner.Run("exec", path), ExitCodes.LoadError));
    }

    [Fact]
    public void AnElf32IsALoadError()
    {
        string path = File("rv32.elf", TinyElf.Build([0x13], elfClass: 1));
        Assert.Contains("RV32", OneError(CliRunner.Run("exec", path), ExitCodes.LoadError));
    }

    [Fact]
    public void AProgramLargerThanRamIsALoadError()
    {
        string path = File("big.elf", TinyElf.Build([0x13], memorySize: 2 << 20));
        Assert.Contains("does not fit in 1 MiB of RAM", OneError(CliRunner.Run("exec", "--ram", "1", path), ExitCodes.LoadError));
    }

    [Fact]
    public void ATruncatedElfIsALoadError()
    {
        byte[] hello = GuestPrograms.Bytes("hello.elf");
        string path = File("cut.elf", hello[..30]);
        Assert.Contains("truncated", OneError(CliRunner.Run("exec", path), ExitCodes.LoadError));
    }

    [Fact]
    public void HtifWithoutTohostIsALoadError()
    {
        Assert.Contains("tohost", OneError(CliRunner.Run("exec", "--htif", GuestPrograms.Path("hello.elf")), ExitCodes.LoadError));
    }

    [Fact]
    public void AnUnwritableTraceFileIsAnError()
    {
        string trace = Path.Combine(directory, "no", "such", "dir", "t.trace");
        Assert.Contains("cannot write trace file", OneError(CliRunner.Run("exec", "--trace", trace, GuestPrograms.Path("hello.elf")), ExitCodes.OutputError));
    }

    [Theory]
    [InlineData("unknown option '--frobnicate'", "exec", "--frobnicate", "x.elf")]
    [InlineData("unknown option '--frobnicate'", "--frobnicate")]
    [InlineData("--max-instructions: 'lots' is not a whole number of instructions", "exec", "--max-instructions", "lots", "x.elf")]
    [InlineData("--max-instructions: '-5' is not a whole number of instructions", "exec", "--max-instructions", "-5", "x.elf")]
    [InlineData("--max-instructions: '99999999999999999999' is not a whole number of instructions", "exec", "--max-instructions", "99999999999999999999", "x.elf")]
    [InlineData("--ram: '0' is not a RAM size in MiB from 1 to 65536", "exec", "--ram", "0", "x.elf")]
    [InlineData("--ram: '1.5' is not a RAM size in MiB from 1 to 65536", "exec", "--ram", "1.5", "x.elf")]
    [InlineData("required argument missing for command: 'exec'", "exec")]
    [InlineData("no command given", new string[0])]
    [InlineData("unrecognized command or argument 'frobnicate'", "frobnicate")]
    public void UsageErrorsExitTwo(string expected, params string[] args)
    {
        Assert.Contains(expected, OneError(CliRunner.Run(args), ExitCodes.UsageError));
    }

    [Fact]
    public void AMaxInstructionsOptionWithoutAValueIsAUsageError()
    {
        OneError(CliRunner.Run("exec", GuestPrograms.Path("hello.elf"), "--max-instructions"), ExitCodes.UsageError);
    }

    [Fact]
    public void ExitCodesAreWhatDocsCliMdSays()
    {
        Assert.Equal((0, 1, 2, 70, 124, 125), (ExitCodes.Success, ExitCodes.LoadError, ExitCodes.UsageError,
            ExitCodes.InternalError, ExitCodes.InstructionLimit, ExitCodes.IdleForever));
    }
}
