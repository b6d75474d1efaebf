namespace Vbase.Platform.Devices;

/// <summary>
/// 16550 register offsets (register shift 0, as on QEMU virt). Offsets 0 and 1 are the divisor latch while
/// LCR.DLAB is set; offset 2 is IIR when read and FCR when written.
/// </summary>
public enum UartRegister : ulong
{
    /// <summary>RBR (read) / THR (write); DLL with DLAB.</summary>
    Data = 0,
    /// <summary>IER; DLM with DLAB.</summary>
    InterruptEnable = 1,
    /// <summary>IIR (read) / FCR (write).</summary>
    InterruptIdentification = 2,
    LineControl = 3,
    ModemControl = 4,
    LineStatus = 5,
    ModemStatus = 6,
    Scratch = 7,
}

/// <summary>
/// A 16550A UART as QEMU's virt has it: transmission is instantaneous (THR is always empty), received bytes
/// come from an <see cref="IConsoleInput"/> through a 16-byte FIFO, and the interrupt output is a level line
/// (to the PLIC). Line settings (baud divisor, parity) are stored and otherwise ignored.
/// </summary>
public sealed class Uart16550 : IDevice
{
    public const ulong DefaultBase = 0x1000_0000;
    /// <summary>The UART's PLIC source on QEMU virt.</summary>
    public const int PlicSource = 10;
    public const int FifoLength = 16;

    // IER bits.
    public const byte IerReceivedData = 0x01, IerTransmitterEmpty = 0x02, IerLineStatus = 0x04, IerModemStatus = 0x08;
    // IIR values (bits 3:0) and the FIFO-enabled bits.
    public const byte IirNoInterrupt = 0x01, IirTransmitterEmpty = 0x02, IirReceivedData = 0x04, IirLineStatus = 0x06, IirFifoEnabled = 0xC0;
    // FCR bits.
    public const byte FcrEnable = 0x01, FcrClearReceive = 0x02, FcrClearTransmit = 0x04;
    // LCR and MCR bits.
    public const byte LcrDivisorLatch = 0x80, McrLoopback = 0x10;
    // LSR bits.
    public const byte LsrDataReady = 0x01, LsrTransmitterEmpty = 0x20, LsrIdle = 0x40;
    // MSR bits: without loopback, the modem lines read as a cable that is always connected (as in QEMU).
    public const byte MsrCts = 0x10, MsrDsr = 0x20, MsrRi = 0x40, MsrDcd = 0x80;

    private readonly Stream output;
    private readonly IConsoleInput input;
    private readonly Action<bool>? interrupt;
    private readonly RegisterBank<UartRegister> registers;

    private readonly byte[] receiveFifo = new byte[FifoLength];
    private int receiveHead, receiveCount;
    private byte ier, lcr, mcr, scratch, divisorLow = 12, divisorHigh;
    private bool fifoEnabled;
    /// <summary>THR-empty interrupt: raised when THR empties (or is enabled while empty), cleared by reading IIR or writing THR.</summary>
    private bool transmitterEmptyPending;
    private bool interruptLevel;

    /// <param name="output">Where transmitted bytes go.</param>
    /// <param name="input">Where received bytes come from.</param>
    /// <param name="interrupt">The interrupt line (level), e.g. a PLIC source; null if not wired.</param>
    public Uart16550(Stream output, IConsoleInput input, Action<bool>? interrupt = null)
    {
        this.output = output;
        this.input = input;
        this.interrupt = interrupt;
        registers = new RegisterBank<UartRegister>(width: 1, maxAccess: 1)
            .Define(UartRegister.Data, ReadData, WriteData)
            .Define(UartRegister.InterruptEnable, () => Dlab ? divisorHigh : ier, WriteInterruptEnable)
            .Define(UartRegister.InterruptIdentification, ReadInterruptIdentification, WriteFifoControl)
            .Define(UartRegister.LineControl, () => lcr, v => lcr = (byte)v)
            .Define(UartRegister.ModemControl, () => mcr, v => { mcr = (byte)(v & 0x1F); UpdateInterrupt(); })
            .Define(UartRegister.LineStatus, ReadLineStatus)
            .Define(UartRegister.ModemStatus, ReadModemStatus)
            .Define(UartRegister.Scratch, () => scratch, v => scratch = (byte)v);
    }

    public string Name => "uart";
    /// <summary>QEMU maps 0x100 bytes; the eight registers repeat through it.</summary>
    public ulong Size => 0x100;

    private bool Dlab => (lcr & LcrDivisorLatch) != 0;
    private bool Loopback => (mcr & McrLoopback) != 0;

    /// <summary>The programmed baud-rate divisor (DLM:DLL).</summary>
    public int Divisor => (divisorHigh << 8) | divisorLow;

    /// <summary>Whether the receiver has room for another byte (16 with the FIFO on, else 1).</summary>
    public bool CanReceive => receiveCount < ReceiveCapacity;

    private int ReceiveCapacity => fifoEnabled ? FifoLength : 1;

    /// <summary>Bytes waiting in the receive FIFO.</summary>
    public int ReceiveCount => receiveCount;

    /// <summary>Whether the UART's interrupt output is asserted.</summary>
    public bool InterruptAsserted => interruptLevel;

    // Wider accesses are split into byte accesses, each with its side effects, as QEMU's serial-mm does.
    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        for (int i = 0; i < size; i++)
        {
            registers.Read((offset + (ulong)i) & 7, 1, out ulong b);
            value |= b << (8 * i);
        }
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        for (int i = 0; i < size; i++)
        {
            registers.Write((offset + (ulong)i) & 7, 1, (value >> (8 * i)) & 0xFF);
        }
        return true;
    }

    /// <summary>Moves whatever the host has sent into the receive FIFO and updates the interrupt line; returns the bytes taken.</summary>
    public int PollInput()
    {
        int taken = 0;
        while (CanReceive && input.TryRead(out byte b))
        {
            Push(b);
            taken++;
        }
        UpdateInterrupt();
        return taken;
    }

    private ulong ReadData()
    {
        if (Dlab)
        {
            return divisorLow;
        }
        if (receiveCount == 0)
        {
            PollInput();
        }
        byte value = 0;
        if (receiveCount > 0)
        {
            value = receiveFifo[receiveHead];
            receiveHead = (receiveHead + 1) % FifoLength;
            receiveCount--;
        }
        PollInput();
        return value;
    }

    private void WriteData(ulong value)
    {
        if (Dlab)
        {
            divisorLow = (byte)value;
            return;
        }
        if (Loopback)
        {
            if (receiveCount < FifoLength)
            {
                Push((byte)value);
            }
        }
        else
        {
            output.WriteByte((byte)value);
        }
        // The byte left at once, so THR is empty again: the THR-empty interrupt re-arms.
        transmitterEmptyPending = true;
        UpdateInterrupt();
    }

    private void WriteInterruptEnable(ulong value)
    {
        if (Dlab)
        {
            divisorHigh = (byte)value;
            return;
        }
        byte old = ier;
        ier = (byte)(value & 0x0F);
        // Enabling the THR-empty interrupt while THR is empty raises it at once (8250 behaviour drivers rely on).
        if ((ier & ~old & IerTransmitterEmpty) != 0)
        {
            transmitterEmptyPending = true;
        }
        PollInput(); // takes in what has arrived, so a newly enabled RX interrupt sees it, and updates the line

    }

    private ulong ReadInterruptIdentification()
    {
        byte id = CurrentInterrupt();
        if (id == IirTransmitterEmpty)
        {
            transmitterEmptyPending = false; // reading IIR acknowledges the THR-empty interrupt
            UpdateInterrupt();
        }
        return (ulong)(id | (fifoEnabled ? IirFifoEnabled : 0));
    }

    private void WriteFifoControl(ulong value)
    {
        bool enable = (value & FcrEnable) != 0;
        if (enable != fifoEnabled || (value & FcrClearReceive) != 0)
        {
            // Changing the FIFO mode clears both FIFOs, as on the real part.
            receiveHead = receiveCount = 0;
        }
        fifoEnabled = enable;
        PollInput();
    }

    private ulong ReadLineStatus()
    {
        if (receiveCount == 0)
        {
            PollInput();
        }
        return (ulong)(LsrTransmitterEmpty | LsrIdle | (receiveCount > 0 ? LsrDataReady : 0));
    }

    private ulong ReadModemStatus()
    {
        if (!Loopback)
        {
            return MsrDcd | MsrDsr | MsrCts;
        }
        // Loopback wires DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
        int m = mcr;
        return (ulong)(((m & 0x01) != 0 ? MsrDsr : 0) | ((m & 0x02) != 0 ? MsrCts : 0)
            | ((m & 0x04) != 0 ? MsrRi : 0) | ((m & 0x08) != 0 ? MsrDcd : 0));
    }

    private void Push(byte b)
    {
        receiveFifo[(receiveHead + receiveCount) % FifoLength] = b;
        receiveCount++;
    }

    /// <summary>The highest-priority enabled interrupt condition, as IIR bits 3:0.</summary>
    private byte CurrentInterrupt()
    {
        if ((ier & IerReceivedData) != 0 && receiveCount > 0)
        {
            return IirReceivedData;
        }
        if ((ier & IerTransmitterEmpty) != 0 && transmitterEmptyPending)
        {
            return IirTransmitterEmpty;
        }
        return IirNoInterrupt;
    }

    private void UpdateInterrupt()
    {
        bool level = CurrentInterrupt() != IirNoInterrupt;
        if (level != interruptLevel)
        {
            interruptLevel = level;
            interrupt?.Invoke(level);
        }
    }
}
