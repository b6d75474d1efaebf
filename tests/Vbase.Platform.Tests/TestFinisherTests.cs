using Vbase.Platform.Devices;
using Vbase.Platform.Tests.Support;

namespace Vbase.Platform.Tests;

public sealed class TestFinisherTests
{
    [Theory]
    [InlineData(0x5555u, 0)]
    [InlineData(0x3333u, 0)]
    [InlineData((42u << 16) | 0x3333, 42)]
    [InlineData((0xFFFFu << 16) | 0x3333, 0xFFFF)]
    [InlineData(0x7777u, 0)] // reset: nothing to reboot into, so a clean exit
    public void CommandsEndTheRunWithTheirExitCode(uint command, int exitCode)
    {
        using var rig = new HartRig();
        var latch = new ExitLatch(rig.Hart);
        var finisher = new TestFinisher(latch);

        Assert.True(finisher.Write(0, 4, command));

        Assert.True(latch.HasExited);
        Assert.Equal(exitCode, latch.ExitCode);
        Assert.Equal("test-finisher", latch.Source);
    }

    [Fact]
    public void OtherValuesAreIgnoredAndByteStoresFault()
    {
        using var rig = new HartRig();
        var latch = new ExitLatch(rig.Hart);
        var finisher = new TestFinisher(latch);

        Assert.True(finisher.Write(0, 4, 0x1234));
        Assert.False(finisher.Write(0, 1, 0x55));
        Assert.True(finisher.Read(0, 4, out ulong value));

        Assert.False(latch.HasExited);
        Assert.Equal(0UL, value);
    }

    [Fact]
    public void TheFirstExitWins()
    {
        using var rig = new HartRig();
        var latch = new ExitLatch(rig.Hart);
        latch.Exit(3, "first");
        latch.Exit(4, "second");
        Assert.Equal(3, latch.ExitCode);
        Assert.Equal("first", latch.Source);
    }

    [Fact]
    public void AGuestStoreToTheFinisherStopsTheMachine()
    {
        using var machine = TestMachine.FromCode([Asm.Addi(Asm.A0, Asm.Zero, 42), .. Asm.ExitWithA0()]);
        var result = machine.Run();
        Assert.Equal(Machines.MachineStopReason.Exited, result.Reason);
        Assert.Equal(42, result.ExitCode);
        Assert.Equal(7UL, result.Instructions); // addi + six instructions up to and including the store
    }
}
