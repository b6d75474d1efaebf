using Vbase.Isa.Harts;
using Vbase.Platform.Machines;

namespace Vbase.Platform.Devices;

/// <summary>
/// Spike's host-target interface, for programs built for it (riscv-tests, the proxy kernel's console). The
/// guest stores a command to the 64-bit <c>tohost</c> word in RAM: device in bits 63:56, command in 55:48,
/// payload below. The bus routes stores to that word here; the host answers through <c>fromhost</c>.
/// </summary>
/// <remarks>
/// Supported: device 0 command 0 with an odd payload (exit: 1 is success, else the code is payload >> 1),
/// device 0 command 0 with an even payload (a syscall through the <c>magic_mem</c> block it points to:
/// write (64) to fd 1 or 2, exit (93); others answer -ENOSYS), and device 1 (the console): command 1 writes
/// a byte, command 0 reads one when input is there.
/// </remarks>
public sealed class Htif : IDevice
{
    public const int SysWrite = 64;
    public const int SysExit = 93;
    private const long ENOSYS = 38;

    private readonly Ram ram;
    private readonly Hart hart;
    private readonly ulong tohost;
    private readonly ulong? fromhost;
    private readonly ExitLatch exit;
    private readonly Stream output;
    private readonly IConsoleInput input;
    private bool readPending;

    public Htif(Ram ram, Hart hart, ulong tohost, ulong? fromhost, ExitLatch exit, Stream output, IConsoleInput input)
    {
        this.ram = ram;
        this.hart = hart;
        this.tohost = tohost;
        this.fromhost = fromhost;
        this.exit = exit;
        this.output = output;
        this.input = input;
    }

    public string Name => "htif";
    /// <summary>The tohost word.</summary>
    public ulong Size => 8;

    public ulong ToHostAddress => tohost;

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = ram.Read(tohost + offset, size);
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        ram.Write(tohost + offset, size, value);
        // A command is complete when the whole word is written: one sd, or the high half after the low one
        // (riscv-tests' env stores the low word and then zero to the high word). A 32-bit store of an odd
        // low word is an exit by itself, so a program that never writes the high half still ends.
        if (size == 8 || offset == 4 || (offset == 0 && size == 4 && (value & 1) != 0))
        {
            Process(ram.ReadUInt64(tohost));
        }
        return true;
    }

    /// <summary>Answers a console read that was waiting for input (called between slices of the run).</summary>
    public void Poll()
    {
        if (readPending && input.TryRead(out byte b))
        {
            readPending = false;
            Respond(1, 0, 0x100UL | b);
        }
    }

    private void Process(ulong command)
    {
        if (command == 0)
        {
            return;
        }
        int device = (int)(command >> 56);
        int cmd = (int)((command >> 48) & 0xFF);
        ulong payload = command & 0xFFFF_FFFF_FFFFUL;
        // The host takes the command by clearing tohost, as Spike's front end does.
        ram.WriteUInt64(tohost, 0);
        switch (device, cmd)
        {
            case (0, 0) when (payload & 1) != 0:
                exit.Exit((int)(payload >> 1), Name);
                break;
            case (0, 0):
                Syscall(payload);
                break;
            case (1, 1):
                output.WriteByte((byte)payload);
                Respond(1, 1, 0x100UL | (byte)payload);
                break;
            case (1, 0):
                readPending = true;
                Poll();
                break;
            default:
                break; // unknown devices are ignored, as Spike's null device does
        }
    }

    /// <summary>Proxy-kernel syscall: magic_mem[0] is the number, [1..3] the arguments; the result goes to [0].</summary>
    private void Syscall(ulong magicMem)
    {
        if (!ram.Contains(magicMem, 8 * 8))
        {
            return;
        }
        ulong number = ram.ReadUInt64(magicMem);
        ulong a0 = ram.ReadUInt64(magicMem + 8), a1 = ram.ReadUInt64(magicMem + 16), a2 = ram.ReadUInt64(magicMem + 24);
        long result;
        switch (number)
        {
            case SysWrite when (a0 == 1 || a0 == 2) && a2 <= int.MaxValue && ram.Contains(a1, a2):
                output.Write(ram.GetSpan(a1, (int)a2));
                result = (long)a2;
                break;
            case SysExit:
                exit.Exit((int)a0, Name);
                return;
            default:
                result = -ENOSYS;
                break;
        }
        ram.WriteUInt64(magicMem, (ulong)result);
        hart.InvalidateCode(magicMem, 8);
        Respond(0, 0, 1);
    }

    private void Respond(int device, int cmd, ulong payload)
    {
        if (fromhost is ulong address)
        {
            ram.WriteUInt64(address, ((ulong)device << 56) | ((ulong)cmd << 48) | payload);
            hart.InvalidateCode(address, 8);
            hart.InvalidateReservation(address, 8);
        }
    }
}
