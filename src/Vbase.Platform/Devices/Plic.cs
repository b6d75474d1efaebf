using Vbase.Isa.Harts;
using Vbase.Isa.Traps;

namespace Vbase.Platform.Devices;

/// <summary>
/// The bare machine's platform-level interrupt controller, as on QEMU virt: one hart, two contexts (context 0 the
/// hart's M-mode, driving MEIP; context 1 its S-mode, driving SEIP) and sources 1 to 95. The controller itself is
/// <see cref="VirtualPlic"/>, the one PLIC model (a guest domain's has a context per vCPU); this wires its outputs to
/// the hart's lines.
/// </summary>
public sealed class Plic : IDevice
{
    public const ulong DefaultBase = 0x0C00_0000;
    /// <summary>QEMU virt's 95 device sources plus the non-existent source 0.</summary>
    public const int SourceCount = 96;
    public const int ContextCount = 2;
    /// <summary>QEMU virt's window: the specification's 64 MiB.</summary>
    public const ulong WindowBytes = 0x400_0000;

    private static readonly InterruptCause[] ContextLine = [InterruptCause.MachineExternal, InterruptCause.SupervisorExternal];

    private readonly VirtualPlic controller;

    public Plic(Hart hart)
    {
        ArgumentNullException.ThrowIfNull(hart);
        controller = new VirtualPlic(SourceCount - 1, ContextCount, WindowBytes,
            context => hart.SetInterruptLine(ContextLine[context], controller!.Output(context)));
    }

    public string Name => controller.Name;
    public ulong Size => controller.Size;

    public bool Read(ulong offset, int size, out ulong value) => controller.Read(offset, size, out value);

    public bool Write(ulong offset, int size, ulong value) => controller.Write(offset, size, value);

    /// <summary>A device's interrupt line: level-triggered, as the 16550's is on QEMU virt.</summary>
    public void SetLevel(int source, bool level) => controller.SetLevel(source, level);

    /// <summary>The source a claim by <paramref name="context"/> would return now, or 0 (for tests).</summary>
    public int Best(int context) => controller.Best(context);
}
