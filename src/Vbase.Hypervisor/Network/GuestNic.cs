using Vbase.Hypervisor.Devices;
using Vbase.Hypervisor.Domains;
using Vbase.Platform.Devices.Virtio;

namespace Vbase.Hypervisor.Network;

/// <summary>
/// A guest domain's virtio-net card: the device in virtio-mmio slot 0 of the domain's guest-physical map (its
/// interrupt and DMA: <see cref="GuestVirtioDevice"/>) and its bridge port.
/// </summary>
internal sealed class GuestNic : GuestVirtioDevice, INetBackend
{
    private readonly NetworkBridge bridge;
    private readonly int port;

    public GuestNic(Hypervisor hv, Domain domain, NetworkBridge bridge, int port, MacAddress mac)
        : base(hv, domain, slot: 0)
    {
        this.bridge = bridge;
        this.port = port;
        Device = new VirtioNetDevice(mac.ToBytes(), this);
        Transport = new VirtioMmioTransport(Device, this);
        domain.MapMmio(Gpa, Transport);
    }

    public VirtioNetDevice Device { get; }
    public VirtioMmioTransport Transport { get; }

    public void Transmit(VirtioNetDevice nic, ReadOnlySpan<byte> frame) => bridge.FromGuest(port, frame);

    public NetReceiveResult Receive(ReadOnlySpan<byte> frame) => Up ? Device.Receive(frame) : NetReceiveResult.NotReady;
}
