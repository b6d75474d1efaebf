using Vbase.Platform.Machines;
using Vbase.Platform.Tests.Support;

namespace Vbase.Platform.Tests;

public sealed class MachineTests
{
    [Fact]
    public void HelloPrintsAndExitsCleanly()
    {
        using var machine = TestMachine.FromGuest("hello.elf");
        MachineRunResult result = machine.Run();
        Assert.Equal(MachineStopReason.Exited, result.Reason);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Hello from Vbase!\nBare-metal RV64 in M-mode on a QEMU virt-compatible machine.\n", machine.Text);
        Assert.InRange(result.Instructions, 100UL, 10_000UL);
    }

    [Fact]
    public void MainsReturnValueIsTheExitCode()
    {
        using var machine = TestMachine.FromGuest("exitcode.elf");
        MachineRunResult result = machine.Run();
        Assert.Equal(42, result.ExitCode);
        Assert.Equal("exitcode: returning 42\n", machine.Text);
    }

    [Fact]
    public void AnInstructionLimitPausesTheMachineAndRunCanContinue()
    {
        using var machine = TestMachine.FromGuest("cpubench-quick.elf");

        MachineRunResult first = machine.Run(1000);
        Assert.Equal(MachineStopReason.InstructionLimit, first.Reason);
        Assert.Equal(1000UL, first.Instructions);
        Assert.Equal(1000UL, machine.Machine.Hart.Cycle);

        MachineRunResult rest = machine.Run(100_000_000);
        Assert.Equal(MachineStopReason.Exited, rest.Reason);
        Assert.Equal(0, rest.ExitCode);
        Assert.EndsWith("cpubench: checksum ok\n", machine.Text);
    }

    [Fact]
    public void TheTrapsProgramPassesEveryCheck()
    {
        using var machine = TestMachine.FromGuest("traps.elf");
        MachineRunResult result = machine.Run(100_000_000);
        Assert.True(result.ExitCode == 0, machine.Text);
        Assert.DoesNotContain("FAIL", machine.Text);
    }

    [Fact]
    public void ZeroInstructionsRunsNothing()
    {
        using var machine = TestMachine.FromGuest("hello.elf");
        MachineRunResult result = machine.Run(0);
        Assert.Equal(MachineStopReason.InstructionLimit, result.Reason);
        Assert.Equal(0x8000_0000UL, result.Pc);
    }
}
