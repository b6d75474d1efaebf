using Vbase.Platform.Devices;
using Vbase.Platform.Loading;
using Vbase.Platform.Machines;
using Vbase.Platform.Tests.Support;

namespace Vbase.Platform.Tests;

public sealed class HtifTests
{
    private const ulong ToHost = 0x8000_8000, FromHost = 0x8000_8008, MagicMem = 0x8000_9000, Buffer = 0x8000_A000;

    private sealed class Rig : IDisposable
    {
        public Rig(string input = "")
        {
            Hart = new HartRig();
            Exit = new ExitLatch(Hart.Hart);
            Htif = new Htif(Hart.Ram, Hart.Hart, ToHost, FromHost, Exit, Output,
                ConsoleInputQueue.FromBytes(System.Text.Encoding.ASCII.GetBytes(input)));
            Hart.Bus.Watch(ToHost, Htif);
        }

        public HartRig Hart { get; }
        public ExitLatch Exit { get; }
        public Htif Htif { get; }
        public MemoryStream Output { get; } = new();
        public Ram Ram => Hart.Ram;

        public void Dispose() => Hart.Dispose();
    }

    [Theory]
    [InlineData(1UL, 0)]
    [InlineData((3UL << 1) | 1, 3)]
    [InlineData((255UL << 1) | 1, 255)]
    public void AnOddValueInTohostEndsTheRun(ulong value, int exitCode)
    {
        using var rig = new Rig();
        Assert.True(rig.Hart.Bus.Write(ToHost, 8, value));
        Assert.True(rig.Exit.HasExited);
        Assert.Equal(exitCode, rig.Exit.ExitCode);
        Assert.Equal("htif", rig.Exit.Source);
    }

    [Fact]
    public void RiscvTestsStyleHalfWordStoresEndTheRun()
    {
        using var rig = new Rig();
        // riscv-tests' env: sw TESTNUM, tohost; sw zero, tohost+4.
        Assert.True(rig.Hart.Bus.Write(ToHost, 4, (5 << 1) | 1));
        Assert.True(rig.Hart.Bus.Write(ToHost + 4, 4, 0));
        Assert.Equal(5, rig.Exit.ExitCode);
    }

    [Fact]
    public void TheConsoleDeviceWritesACharacterAndAcknowledgesThroughFromhost()
    {
        using var rig = new Rig();
        ulong command = (1UL << 56) | (1UL << 48) | 'x';
        Assert.True(rig.Hart.Bus.Write(ToHost, 8, command));

        Assert.Equal("x"u8.ToArray(), rig.Output.ToArray());
        Assert.Equal(0UL, rig.Ram.ReadUInt64(ToHost)); // the host took the command
        Assert.Equal((1UL << 56) | (1UL << 48) | 0x100 | 'x', rig.Ram.ReadUInt64(FromHost));
        Assert.False(rig.Exit.HasExited);
    }

    [Fact]
    public void TheConsoleDeviceReadsACharacterWhenOneArrives()
    {
        using var rig = new Rig(input: "k");
        Assert.True(rig.Hart.Bus.Write(ToHost, 8, (1UL << 56) | (0UL << 48)));
        Assert.Equal((1UL << 56) | 0x100 | 'k', rig.Ram.ReadUInt64(FromHost));
    }

    [Fact]
    public void AWriteSyscallPrintsTheBufferAndReturnsItsLength()
    {
        using var rig = new Rig();
        "hi there"u8.CopyTo(rig.Ram.GetSpan(Buffer, 8));
        rig.Ram.WriteUInt64(MagicMem, Htif.SysWrite);
        rig.Ram.WriteUInt64(MagicMem + 8, 1);
        rig.Ram.WriteUInt64(MagicMem + 16, Buffer);
        rig.Ram.WriteUInt64(MagicMem + 24, 8);

        Assert.True(rig.Hart.Bus.Write(ToHost, 8, MagicMem));

        Assert.Equal("hi there"u8.ToArray(), rig.Output.ToArray());
        Assert.Equal(8UL, rig.Ram.ReadUInt64(MagicMem));
        Assert.Equal(1UL, rig.Ram.ReadUInt64(FromHost));
    }

    [Fact]
    public void AnUnknownSyscallAnswersEnosys()
    {
        using var rig = new Rig();
        rig.Ram.WriteUInt64(MagicMem, 1234);
        Assert.True(rig.Hart.Bus.Write(ToHost, 8, MagicMem));
        Assert.Equal(unchecked((ulong)-38L), rig.Ram.ReadUInt64(MagicMem));
    }

    [Fact]
    public void AnExitSyscallEndsTheRun()
    {
        using var rig = new Rig();
        rig.Ram.WriteUInt64(MagicMem, Htif.SysExit);
        rig.Ram.WriteUInt64(MagicMem + 8, 9);
        Assert.True(rig.Hart.Bus.Write(ToHost, 8, MagicMem));
        Assert.Equal(9, rig.Exit.ExitCode);
    }

    [Theory]
    [InlineData("htif-hello.elf", 0, "htif ok\n")]
    [InlineData("htif-fail.elf", 3, "htif fail: exit code 3\n")]
    public void GuestProgramsExitThroughTohost(string program, int exitCode, string output)
    {
        using var machine = TestMachine.FromGuest(program, htif: true);
        MachineRunResult result = machine.Run(100_000_000);
        Assert.Equal(MachineStopReason.Exited, result.Reason);
        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal(output, machine.Text);
    }

    [Fact]
    public void WithoutHtifTohostIsPlainMemoryAsOnQemu()
    {
        using var machine = TestMachine.FromGuest("htif-fail.elf", htif: false);
        MachineRunResult result = machine.Run(100_000_000);
        Assert.Equal(99, result.ExitCode);
        Assert.Contains("tohost was not acted on", machine.Text);
    }

    [Fact]
    public void HtifNeedsATohostSymbol()
    {
        var e = Assert.Throws<ElfLoadException>(() => TestMachine.FromGuest("hello.elf", htif: true));
        Assert.EndsWith("no 'tohost' symbol, which HTIF needs", e.Message);
    }
}
