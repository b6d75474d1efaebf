namespace Vbase.Platform.Devices;

/// <summary>
/// The SiFive test finisher of QEMU's virt ("sifive,test0"): one 32-bit command register that ends the run.
/// The low 16 bits say what to do; for FAIL, bits 31:16 are the exit code.
/// </summary>
public sealed class TestFinisher(ExitLatch exit) : IDevice
{
    public const ulong DefaultBase = 0x0010_0000;

    public const uint Pass = 0x5555;
    public const uint Fail = 0x3333;
    /// <summary>QEMU resets the machine; a one-program run has nothing to reboot into, so it is a clean exit.</summary>
    public const uint Reset = 0x7777;

    public string Name => "test-finisher";
    public ulong Size => 0x1000;

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        // QEMU accepts 2- and 4-byte stores; byte stores cannot carry a command.
        if (size < 2)
        {
            return false;
        }
        if (offset != 0)
        {
            return true;
        }
        uint command = (uint)value;
        switch (command & 0xFFFF)
        {
            case Pass:
            case Reset:
                exit.Exit(0, Name);
                break;
            case Fail:
                exit.Exit((int)(command >> 16), Name);
                break;
            default:
                break; // QEMU logs and ignores other values; so do we.
        }
        return true;
    }
}
