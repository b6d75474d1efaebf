using System.Text;
using Vbase.Platform.Devices;
using Vbase.Platform.Machines;
using Vbase.Platform.Tests.Support;
using static Vbase.Platform.Devices.UartRegister;

namespace Vbase.Platform.Tests;

public sealed class UartTests
{
    private readonly MemoryStream output = new();
    private readonly List<bool> interruptChanges = [];

    private Uart16550 NewUart(string input = "") =>
        new(output, ConsoleInputQueue.FromBytes(Encoding.ASCII.GetBytes(input)), interruptChanges.Add);

    private static byte Read(Uart16550 uart, UartRegister register)
    {
        Assert.True(uart.Read((ulong)register, 1, out ulong value));
        return (byte)value;
    }

    private static void Write(Uart16550 uart, UartRegister register, byte value) =>
        Assert.True(uart.Write((ulong)register, 1, value));

    [Fact]
    public void AtResetTheTransmitterIsEmptyAndNothingIsPending()
    {
        Uart16550 uart = NewUart();
        Assert.Equal(0x60, Read(uart, LineStatus)); // THRE | TEMT, no data ready
        Assert.Equal(0x01, Read(uart, InterruptIdentification));
        Assert.Equal(0xB0, Read(uart, ModemStatus)); // DCD, DSR, CTS: a connected cable
    }

    [Fact]
    public void BytesWrittenToThrGoToTheOutput()
    {
        Uart16550 uart = NewUart();
        foreach (byte b in "hi\n"u8)
        {
            Write(uart, Data, b);
        }
        Assert.Equal("hi\n", Encoding.ASCII.GetString(output.ToArray()));
        Assert.Equal(0x60, Read(uart, LineStatus));
    }

    [Fact]
    public void ReceivedBytesShowAsDataReadyAndAreReadFromRbrInOrder()
    {
        Uart16550 uart = NewUart("ab");
        Assert.Equal(0x61, Read(uart, LineStatus));
        Assert.Equal((byte)'a', Read(uart, Data));
        Assert.Equal(0x61, Read(uart, LineStatus));
        Assert.Equal((byte)'b', Read(uart, Data));
        Assert.Equal(0x60, Read(uart, LineStatus));
        Assert.Equal(0, Read(uart, Data)); // empty: reads as zero
    }

    [Fact]
    public void WithDlabSetOffsetsZeroAndOneAreTheDivisorLatch()
    {
        Uart16550 uart = NewUart("x");
        Write(uart, LineControl, 0x83); // DLAB, 8N1
        Write(uart, Data, 0x01);
        Write(uart, InterruptEnable, 0x02);
        Assert.Equal(0x01, Read(uart, Data));
        Assert.Equal(0x02, Read(uart, InterruptEnable));
        Assert.Equal(0x0201, uart.Divisor);
        Assert.Empty(output.ToArray()); // the DLL write was not a transmission

        Write(uart, LineControl, 0x03);
        Assert.Equal(0x00, Read(uart, InterruptEnable)); // IER itself was untouched
        Assert.Equal((byte)'x', Read(uart, Data)); // and RBR is back
    }

    [Fact]
    public void EnablingTheTransmitterInterruptRaisesItUntilIirIsRead()
    {
        Uart16550 uart = NewUart();
        Write(uart, InterruptEnable, Uart16550.IerTransmitterEmpty);
        Assert.True(uart.InterruptAsserted);
        Assert.Equal(0x02, Read(uart, InterruptIdentification));
        Assert.False(uart.InterruptAsserted);
        Assert.Equal(0x01, Read(uart, InterruptIdentification));

        Write(uart, Data, (byte)'z'); // THR empties again at once
        Assert.True(uart.InterruptAsserted);
        Assert.Equal([true, false, true], interruptChanges);
    }

    [Fact]
    public void ReceivedDataRaisesTheInterruptUntilTheFifoIsDrained()
    {
        Uart16550 uart = NewUart("q");
        Write(uart, InterruptEnable, Uart16550.IerReceivedData);
        Assert.True(uart.InterruptAsserted);
        Assert.Equal(0x04, Read(uart, InterruptIdentification));
        Assert.Equal((byte)'q', Read(uart, Data));
        Assert.False(uart.InterruptAsserted);
        Assert.Equal(0x01, Read(uart, InterruptIdentification));
    }

    [Fact]
    public void TheFifoHoldsSixteenBytesAndShowsInIir()
    {
        Uart16550 uart = NewUart(new string('k', 40));
        Assert.Equal(0x61, Read(uart, LineStatus));
        Assert.Equal(1, uart.ReceiveCount); // FIFO off: one byte at a time
        Write(uart, InterruptIdentification, Uart16550.FcrEnable | Uart16550.FcrClearReceive);
        Assert.Equal(0xC1, Read(uart, InterruptIdentification));
        Assert.Equal(Uart16550.FifoLength, uart.ReceiveCount);
        Assert.False(uart.CanReceive);
    }

    [Fact]
    public void ScratchAndLineControlHoldWhatIsWritten()
    {
        Uart16550 uart = NewUart();
        Write(uart, Scratch, 0x5A);
        Write(uart, LineControl, 0x1B);
        Assert.Equal(0x5A, Read(uart, Scratch));
        Assert.Equal(0x1B, Read(uart, LineControl));
    }

    [Fact]
    public void LoopbackSendsTransmittedBytesBackToTheReceiver()
    {
        Uart16550 uart = NewUart();
        Write(uart, ModemControl, 0x10 | 0x03); // loopback, DTR, RTS
        Write(uart, Data, (byte)'L');
        Assert.Empty(output.ToArray());
        Assert.Equal((byte)'L', Read(uart, Data));
        Assert.Equal(0x30, Read(uart, ModemStatus)); // DSR, CTS from DTR, RTS
    }

    [Fact]
    public void RegistersRepeatEveryEightBytesAndWideAccessesSplitIntoBytes()
    {
        Uart16550 uart = NewUart();
        Write(uart, Scratch, 0x77);
        Assert.True(uart.Read(0x0F, 1, out ulong alias));
        Assert.Equal(0x77UL, alias);
        Assert.True(uart.Read(4, 4, out ulong wide)); // MCR, LSR, MSR, SCR
        Assert.Equal(0x77_B0_60_00UL, wide);
    }

    [Fact]
    public void TheGuestConsoleRoundTripsThroughTheUart()
    {
        using var machine = TestMachine.FromGuest("echo.elf", input: "abc\n");
        MachineRunResult result = machine.Run(100_000_000);
        Assert.Equal(MachineStopReason.Exited, result.Reason);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("echo: ready\nABC\n", machine.Text);
    }

    /// <summary>Input that "arrives" at the n-th look: lets a test place a byte's arrival while the hart sleeps.</summary>
    private sealed class LateInput(int arrivesAtCall, byte value) : IConsoleInput
    {
        private int calls;
        private bool taken;

        public bool TryRead(out byte b)
        {
            b = value;
            if (taken || ++calls < arrivesAtCall)
            {
                return false;
            }
            taken = true;
            return true;
        }

        public bool IsAtEnd => taken;

        public void WaitForInput()
        {
        }
    }

    private static readonly uint[] RxInterruptProgram =
    [
        .. Asm.SetTrapVector(),
        Asm.Lui(Asm.T1, 0xC000), Asm.Addi(Asm.T2, Asm.Zero, 1), Asm.Sw(Asm.T2, Asm.T1, 4 * Uart16550.PlicSource),
        Asm.Lui(Asm.T3, 0xC002), Asm.Addi(Asm.T4, Asm.Zero, 1 << Uart16550.PlicSource), Asm.Sw(Asm.T4, Asm.T3, 0),
        Asm.Lui(Asm.T5, 0x10000), Asm.Addi(Asm.T6, Asm.Zero, 1), Asm.Sb(Asm.T6, Asm.T5, 1),
        Asm.Lui(Asm.A1, 1), Asm.Addi(Asm.A1, Asm.A1, -2048), Asm.Csrrs(Asm.Zero, Asm.Mie, Asm.A1),
        Asm.Csrrsi(Asm.Zero, Asm.Mstatus, 8),
        Asm.Wfi, Asm.Jal(Asm.Zero, -4),
    ];

    private static readonly uint[] RxInterruptHandler =
    [
        Asm.Lui(Asm.T1, 0xC200), Asm.Lw(Asm.A2, Asm.T1, 4), Asm.Lbu(Asm.A0, Asm.T5, 0), Asm.Sw(Asm.A2, Asm.T1, 4),
        Asm.Slli(Asm.A2, Asm.A2, 8), Asm.Or(Asm.A0, Asm.A0, Asm.A2), .. Asm.ExitWithA0(),
    ];

    [Fact]
    public void AByteArrivingWhileTheHartSleepsWakesIt()
    {
        // Looks: at Run's start, at the IER write, then at the slice boundary after the hart went to sleep.
        using var machine = MachineBuilder.Build(new MachineConfig
        {
            Image = Loading.ElfImage.FromBinary("rx", Ram.DefaultBase, Asm.Image(RxInterruptProgram, RxInterruptHandler)),
            RamSize = 1 << 20,
            ConsoleInput = new LateInput(arrivesAtCall: 3, (byte)'Z'),
        });
        MachineRunResult result = machine.Run(1_000_000);
        Assert.Equal(MachineStopReason.Exited, result.Reason);
        Assert.Equal((Uart16550.PlicSource << 8) | 'Z', result.ExitCode);
    }

    [Fact]
    public void AReceivedByteInterruptsTheHartThroughThePlic()
    {
        // PLIC: priority[10] = 1, enable source 10 for context 0; UART IER = RX; mie.MEIE, mstatus.MIE; wfi.
        // The handler claims, reads RBR and exits with (claimed source << 8) | byte.
        uint[] main = RxInterruptProgram, handler = RxInterruptHandler;

        using var withInput = TestMachine.FromCode(main, handler, input: "A");
        MachineRunResult result = withInput.Run();
        Assert.Equal(MachineStopReason.Exited, result.Reason);
        Assert.Equal((Uart16550.PlicSource << 8) | 'A', result.ExitCode);

        using var withoutInput = TestMachine.FromCode(main, handler, input: "");
        Assert.Equal(MachineStopReason.IdleForever, withoutInput.Run().Reason);
    }
}
