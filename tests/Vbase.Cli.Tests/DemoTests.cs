using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

public sealed class DemoTests
{
    [Fact]
    public void TheDemoRunsTheBundledProgramsAfterAOneLineHeader()
    {
        CliResult r = CliRunner.Run("demo");

        Assert.Equal(0, r.ExitCode);
        string[] lines = r.Stdout.Split('\n');
        Assert.StartsWith("vbase demo: running bundled bare-metal programs", lines[0]);
        Assert.Contains("until the full Vbase demo exists", lines[0]);
        Assert.Equal("Hello from Vbase!", lines[1]);
        Assert.Contains("cpubench: checksum ok", r.Stdout);
        Assert.Matches(@"^vbase: \d+ instructions in \d+\.\d{3} s, \d+\.\d MIPS$", Assert.Single(r.StderrLines));
    }

    [Fact]
    public void TheBundledProgramsAreTheCommittedImages()
    {
        Assert.Equal(Vbase.Tests.Support.GuestPrograms.Bytes("hello.elf"), DemoCommand.LoadBundled("hello.elf"));
        Assert.Equal(Vbase.Tests.Support.GuestPrograms.Bytes("cpubench-quick.elf"), DemoCommand.LoadBundled("cpubench-quick.elf"));
    }
}
