using Vbase.Hypervisor.Domains;
using Vbase.Platform.Devices.Virtio;
using Vbase.Sapi;
using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Network;

/// <summary>
/// A guest domain's virtio-net card: the device in virtio-mmio slot 0 of the domain's guest-physical map, its
/// interrupt (VIRQ_VIRTIO on the domain's vCPU 0: an event channel, which the guest kernel already handles), its
/// DMA (the domain's own p2m only, as the I/O path: <see cref="Accessor.Device"/>) and its bridge port.
/// </summary>
internal sealed class GuestNic : IVirtioHost, IDmaMemory, INetBackend
{
    private readonly Hypervisor hv;
    private readonly Domain domain;
    private readonly NetworkBridge bridge;
    private readonly int port;

    public GuestNic(Hypervisor hv, Domain domain, NetworkBridge bridge, int port, MacAddress mac)
    {
        this.hv = hv;
        this.domain = domain;
        this.bridge = bridge;
        this.port = port;
        Device = new VirtioNetDevice(mac.ToBytes(), this);
        Transport = new VirtioMmioTransport(Device, this);
        Gpa = GuestLayout.VirtioMmioBase;
        domain.MapMmio(Gpa, Transport);
    }

    public VirtioNetDevice Device { get; }
    public VirtioMmioTransport Transport { get; }
    public ulong Gpa { get; }

    /// <summary>Whether the domain can still take frames.</summary>
    public bool Up => !domain.IsShutdown && !domain.IsDestroyed;

    public IDmaMemory Memory => this;

    public void RaiseInterrupt() => hv.SendVirq(domain.Id, Virq.Virtio);

    public void ReportFault(string device, int queue, VirtqueueFault fault, ushort head) =>
        hv.Record(domain.Id, hv.CurrentVcpuId, new VirtioQueueFaultData(device, queue, fault, head), guestCaused: true);

    // The device reaches only what this domain's p2m maps: another domain's frames are not there unless that
    // domain granted them, MMIO windows are not memory, and a protected region is reached as the I/O path.
    public bool TryRead(ulong address, Span<byte> destination) => !domain.IsDestroyed && domain.TryRead(address, destination, Accessor.Device);

    public bool TryWrite(ulong address, ReadOnlySpan<byte> source) => !domain.IsDestroyed && domain.TryWrite(address, source, Accessor.Device);

    public void Transmit(VirtioNetDevice nic, ReadOnlySpan<byte> frame) => bridge.FromGuest(port, frame);

    public NetReceiveResult Receive(ReadOnlySpan<byte> frame) => Up ? Device.Receive(frame) : NetReceiveResult.NotReady;
}
