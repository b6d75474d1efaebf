using Vbase.Platform.Devices;
using Vbase.Platform.Machines;
using Vbase.Platform.Tests.Support;
using static Vbase.Platform.Devices.ClintRegister;

namespace Vbase.Platform.Tests;

public sealed class ClintTests
{
    [Fact]
    public void MtimeIsTheHartsVirtualTimeInBothWidths()
    {
        using var rig = new HartRig();
        var clint = new Clint(rig.Hart);
        rig.Hart.Time = 0x1_2345_6789;

        Assert.True(clint.Read((ulong)MtimeLow, 8, out ulong time64));
        Assert.True(clint.Read((ulong)MtimeLow, 4, out ulong low));
        Assert.True(clint.Read((ulong)MtimeHigh, 4, out ulong high));

        Assert.Equal(0x1_2345_6789UL, time64);
        Assert.Equal(0x2345_6789UL, low);
        Assert.Equal(1UL, high);
    }

    [Fact]
    public void WritingMtimeSetsTheHartsTime()
    {
        using var rig = new HartRig();
        var clint = new Clint(rig.Hart);
        Assert.True(clint.Write((ulong)MtimeLow, 8, 0x10_0000_0000));
        Assert.True(clint.Write((ulong)MtimeLow, 4, 0x42));
        Assert.Equal(0x10_0000_0042UL, rig.Hart.Time);
    }

    [Fact]
    public void MtimecmpIsTheHartsTimerCompareAndItsHalvesCanBeWrittenApart()
    {
        using var rig = new HartRig();
        var clint = new Clint(rig.Hart);

        Assert.True(clint.Write((ulong)MtimecmpLow, 8, 0xAAAA_BBBB_CCCC_DDDD));
        Assert.Equal(0xAAAA_BBBB_CCCC_DDDDUL, rig.Hart.TimerCompare);

        Assert.True(clint.Write((ulong)MtimecmpHigh, 4, 0x1));
        Assert.True(clint.Write((ulong)MtimecmpLow, 4, 0x2));
        Assert.Equal(0x1_0000_0002UL, rig.Hart.TimerCompare);
        Assert.True(clint.Read((ulong)MtimecmpLow, 8, out ulong back));
        Assert.Equal(0x1_0000_0002UL, back);
    }

    [Fact]
    public void AccessesNarrowerThanFourBytesFault()
    {
        using var rig = new HartRig();
        var clint = new Clint(rig.Hart);
        Assert.False(clint.Read((ulong)MtimeLow, 1, out _));
        Assert.False(clint.Write((ulong)Msip, 2, 1));
    }

    [Fact]
    public void MsipReadsBackItsLowBit()
    {
        using var rig = new HartRig();
        var clint = new Clint(rig.Hart);
        Assert.True(clint.Write((ulong)Msip, 4, 0xFFFF_FFFF));
        Assert.True(clint.Read((ulong)Msip, 4, out ulong msip));
        Assert.Equal(1UL, msip);
    }

    private static uint[] TimerProgram(bool useWfi) =>
    [
        .. Asm.SetTrapVector(),
        Asm.Addi(Asm.T1, Asm.Zero, 1 << 7), Asm.Csrrs(Asm.Zero, Asm.Mie, Asm.T1), // MTIE
        Asm.Csrrsi(Asm.Zero, Asm.Mstatus, 8), // MIE
        Asm.Lui(Asm.T2, 0x2004), Asm.Addi(Asm.T3, Asm.Zero, 1000), Asm.Sd(Asm.T3, Asm.T2, 0), // mtimecmp = 1000
        .. (useWfi ? new[] { Asm.Wfi, Asm.Jal(Asm.Zero, -4) } : [Asm.Jal(Asm.Zero, 0)]),
    ];

    private static readonly uint[] ExitWithCauseCode = [Asm.Csrr(Asm.A0, Asm.Mcause), Asm.Andi(Asm.A0, Asm.A0, 0xFF), .. Asm.ExitWithA0()];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MtimecmpRaisesTheMachineTimerInterruptWhenMtimeReachesIt(bool useWfi)
    {
        using var machine = TestMachine.FromCode(TimerProgram(useWfi), ExitWithCauseCode);

        MachineRunResult result = machine.Run();

        Assert.Equal(MachineStopReason.Exited, result.Reason);
        Assert.Equal(7, result.ExitCode); // machine timer interrupt
        Assert.InRange(machine.Machine.Hart.Time, 1000UL, 1100UL);
    }

    [Fact]
    public void MsipRaisesTheMachineSoftwareInterrupt()
    {
        uint[] main =
        [
            .. Asm.SetTrapVector(),
            Asm.Addi(Asm.T1, Asm.Zero, 1 << 3), Asm.Csrrs(Asm.Zero, Asm.Mie, Asm.T1), // MSIE
            Asm.Csrrsi(Asm.Zero, Asm.Mstatus, 8),
            Asm.Lui(Asm.T2, 0x2000), Asm.Addi(Asm.T3, Asm.Zero, 1), Asm.Sw(Asm.T3, Asm.T2, 0), // msip = 1
            Asm.Jal(Asm.Zero, 0),
        ];
        using var machine = TestMachine.FromCode(main, ExitWithCauseCode);
        MachineRunResult result = machine.Run();
        Assert.Equal(MachineStopReason.Exited, result.Reason);
        Assert.Equal(3, result.ExitCode);
    }

    [Fact]
    public void WfiWithNoTimerArmedAndNoInputIsIdleForever()
    {
        using var machine = TestMachine.FromCode([Asm.Wfi, Asm.Jal(Asm.Zero, -4)]);
        MachineRunResult result = machine.Run();
        Assert.Equal(MachineStopReason.IdleForever, result.Reason);
        Assert.Equal(0x8000_0004UL, result.Pc);
    }
}
