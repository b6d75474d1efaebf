using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Network;
using Vbase.Platform.Devices.Virtio;
using Vbase.Sapi;
using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Devices;

/// <summary>
/// What every virtio-mmio device of a guest domain shares: its slot's window in the domain's guest-physical map,
/// its interrupt and its DMA. The interrupt is a line of the domain's virtual PLIC (source slot + 1) when the
/// domain has one (a Linux guest), else <c>VIRQ_VIRTIO</c> on vCPU 0, the event channel the small kernel binds.
/// DMA reaches the domain's own p2m only, as the I/O path (<see cref="Accessor.Device"/>).
/// </summary>
internal abstract class GuestVirtioDevice : IVirtioHost, IDmaMemory
{
    protected GuestVirtioDevice(Hypervisor hv, Domain domain, int slot)
    {
        Hv = hv;
        Domain = domain;
        Slot = slot;
        Gpa = GuestLayout.VirtioMmioBase + ((ulong)slot * GuestLayout.VirtioMmioStride);
    }

    protected Hypervisor Hv { get; }
    protected Domain Domain { get; }
    public int Slot { get; }
    public ulong Gpa { get; }

    /// <summary>Whether the domain can still take input.</summary>
    public bool Up => !Domain.IsShutdown && !Domain.IsDestroyed;

    public IDmaMemory Memory => this;

    public void RaiseInterrupt()
    {
        if (Domain.Plic is { } plic)
        {
            plic.SetLevel(Boot.LinuxBoot.PlicSource(Slot), true);
        }
        else
        {
            Hv.SendVirq(Domain.Id, Virq.Virtio);
        }
    }

    public void LowerInterrupt() => Domain.Plic?.SetLevel(Boot.LinuxBoot.PlicSource(Slot), false);

    public void ReportFault(string device, int queue, VirtqueueFault fault, ushort head) =>
        Hv.Record(Domain.Id, Hv.CurrentVcpuId, new VirtioQueueFaultData(device, queue, fault, head), guestCaused: true);

    // The device reaches only what this domain's p2m maps: another domain's frames are not there unless that
    // domain granted them, MMIO windows are not memory, and a protected region is reached as the I/O path.
    public bool TryRead(ulong address, Span<byte> destination) => !Domain.IsDestroyed && Domain.TryRead(address, destination, Accessor.Device);

    public bool TryWrite(ulong address, ReadOnlySpan<byte> source) => !Domain.IsDestroyed && Domain.TryWrite(address, source, Accessor.Device);
}
