using Vbase.Isa.Harts;
using Vbase.Isa.Traps;

namespace Vbase.Platform.Devices;

/// <summary>Register offsets of the CLINT for hart 0 (SiFive layout, as on QEMU virt).</summary>
public enum ClintRegister : ulong
{
    Msip = 0x0000,
    MtimecmpLow = 0x4000,
    MtimecmpHigh = 0x4004,
    MtimeLow = 0xBFF8,
    MtimeHigh = 0xBFFC,
}

/// <summary>
/// The core-local interruptor: the machine software interrupt (msip) and the machine timer (mtime,
/// mtimecmp). It keeps no state of its own: mtime and mtimecmp live in the hart, which counts virtual time
/// in executed instructions and raises MTIP itself, so the fast loop never calls out to a device to tick.
/// </summary>
public sealed class Clint : IDevice
{
    public const ulong DefaultBase = 0x0200_0000;

    private readonly Hart hart;
    private readonly RegisterBank<ClintRegister> registers;
    private bool msip;

    public Clint(Hart hart)
    {
        this.hart = hart;
        // 32-bit registers; 64-bit accesses are split into halves (QEMU accepts 4 and 8 bytes, nothing smaller).
        registers = new RegisterBank<ClintRegister>(width: 4, maxAccess: 8)
            .Define(ClintRegister.Msip, () => msip ? 1UL : 0, v => SetMsip((v & 1) != 0))
            .Define(ClintRegister.MtimecmpLow, () => (uint)hart.TimerCompare,
                v => hart.TimerCompare = (hart.TimerCompare & ~0xFFFF_FFFFUL) | v)
            .Define(ClintRegister.MtimecmpHigh, () => hart.TimerCompare >> 32,
                v => hart.TimerCompare = (hart.TimerCompare & 0xFFFF_FFFFUL) | (v << 32))
            .Define(ClintRegister.MtimeLow, () => (uint)hart.Time,
                v => hart.Time = (hart.Time & ~0xFFFF_FFFFUL) | v)
            .Define(ClintRegister.MtimeHigh, () => hart.Time >> 32,
                v => hart.Time = (hart.Time & 0xFFFF_FFFFUL) | (v << 32));
    }

    public string Name => "clint";
    public ulong Size => 0x10000;

    public bool Read(ulong offset, int size, out ulong value) => registers.Read(offset, size, out value);

    public bool Write(ulong offset, int size, ulong value) => registers.Write(offset, size, value);

    private void SetMsip(bool level)
    {
        msip = level;
        hart.SetInterruptLine(InterruptCause.MachineSoftware, level);
    }
}
