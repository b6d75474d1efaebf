using Vbase.Isa.Harts;
using Vbase.Isa.Memory;
using Vbase.Isa.Traps;
using Vbase.Platform.Devices;
using Vbase.Platform.Machines;

namespace Vbase.Testbed.Debugging;

/// <summary>
/// The bare-metal machine of <c>vbase exec</c> as a debug target: one thread, memory through the hart's satp (Sv39,
/// below M-mode) and then RAM only (a debugger's read must not pop a byte off a device).
/// </summary>
public sealed class MachineDebugTarget(Machine machine) : IDebugTarget
{
    /// <summary>The exit code a program killed by the debugger ends with (128 + SIGKILL, as a shell reports it).</summary>
    public const int KilledExitCode = 137;

    public string Name => "the program";

    public IReadOnlyList<Hart> Threads { get; } = [machine.Hart];

    public int Read(int thread, ulong address, Span<byte> dest, List<string> notes)
    {
        int done = 0;
        while (done < dest.Length)
        {
            ulong at = address + (ulong)done;
            int n = (int)Math.Min(0x1000 - (at & 0xFFF), (ulong)(dest.Length - done));
            if (!TryPhysical(at, out ulong physical) || !machine.Ram.Contains(physical, (ulong)n))
            {
                break;
            }
            machine.Ram.GetSpan(physical, n).CopyTo(dest[done..]);
            done += n;
        }
        return done;
    }

    public bool Write(int thread, ulong address, ReadOnlySpan<byte> source)
    {
        int done = 0;
        while (done < source.Length)
        {
            ulong at = address + (ulong)done;
            int n = (int)Math.Min(0x1000 - (at & 0xFFF), (ulong)(source.Length - done));
            if (!TryPhysical(at, out ulong physical) || !machine.Ram.Contains(physical, (ulong)n))
            {
                return false;
            }
            source.Slice(done, n).CopyTo(machine.Ram.GetSpan(physical, n));
            // Code written by the debugger (gdb writes breakpoints with Z packets, but a user may patch code).
            machine.Hart.InvalidateCode(physical, (ulong)n);
            machine.Hart.InvalidateReservation(physical, (ulong)n);
            done += n;
        }
        return true;
    }

    public void Kill() =>
        machine.Finisher.Write(0, 4, ((ulong)KilledExitCode << 16) | TestFinisher.Fail);

    private bool TryPhysical(ulong va, out ulong physical)
    {
        Hart h = machine.Hart;
        if (h.Privilege == Privilege.Machine || h.Satp >> 60 == 0)
        {
            physical = va;
            return true;
        }
        Sv39Mapping m = Sv39Walker.Lookup(new RamPteReader(machine.Ram), h.Satp, va);
        physical = m.PhysicalAddress;
        return m.IsMapped;
    }

    private readonly struct RamPteReader(Ram ram) : IPteReader
    {
        public bool TryReadPte(ulong address, out ulong pte)
        {
            bool ok = (address & 7) == 0 && ram.Contains(address, 8);
            pte = ok ? ram.ReadUInt64(address) : 0;
            return ok;
        }
    }
}
