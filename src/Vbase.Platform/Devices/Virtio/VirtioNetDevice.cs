using System.Buffers.Binary;

namespace Vbase.Platform.Devices.Virtio;

/// <summary>Where a virtio-net card's transmitted frames go (the bridge port in Dom0).</summary>
public interface INetBackend
{
    /// <summary>
    /// The guest transmitted <paramref name="frame"/> (an Ethernet frame without the virtio header, between
    /// <see cref="VirtioNetDevice.MinFrameBytes"/> and <see cref="VirtioNetDevice.MaxFrameBytes"/>). The span is the
    /// device's buffer: copy what must outlive the call.
    /// </summary>
    void Transmit(VirtioNetDevice nic, ReadOnlySpan<byte> frame);
}

/// <summary>What became of a frame handed to <see cref="VirtioNetDevice.Receive"/>.</summary>
public enum NetReceiveResult
{
    Delivered,
    /// <summary>The driver is not up (no DRIVER_OK, receive queue not ready or broken).</summary>
    NotReady,
    /// <summary>The receive queue had no buffer: the frame is lost, as on a real card.</summary>
    NoBuffer,
    /// <summary>The buffer the driver gave was malformed (reported through the transport).</summary>
    BadBuffer,
}

/// <summary>
/// The virtio network device (virtio 1.x, 5.1): queue 0 receives, queue 1 transmits, with the 12-byte
/// <c>virtio_net_hdr</c> (VERSION_1 always has <c>num_buffers</c>) in front of each frame. It offers only
/// VIRTIO_NET_F_MAC, _STATUS and _MTU — no checksum or segmentation offloads, no mergeable buffers, no control
/// queue — so every frame is a whole Ethernet frame and Linux's driver needs nothing more.
/// </summary>
public sealed class VirtioNetDevice : VirtioDevice
{
    public const int ReceiveQueue = 0, TransmitQueue = 1;

    /// <summary>sizeof(struct virtio_net_hdr) once VERSION_1 is negotiated (5.1.6).</summary>
    public const int HeaderBytes = 12;

    /// <summary>The MTU the device reports (VIRTIO_NET_F_MTU).</summary>
    public const int Mtu = 1500;

    /// <summary>An Ethernet header (destination, source, type) and nothing else.</summary>
    public const int MinFrameBytes = 14;

    /// <summary>The largest frame: the MTU plus the Ethernet header (no VLAN tag, no FCS: the device handles neither).</summary>
    public const int MaxFrameBytes = Mtu + MinFrameBytes;

    public const int FeatureMtu = 3, FeatureMac = 5, FeatureStatus = 16;

    /// <summary>VIRTIO_NET_S_LINK_UP.</summary>
    public const ushort LinkUp = 1;

    private readonly byte[] config = new byte[12];
    private readonly byte[] buffer = new byte[HeaderBytes + MaxFrameBytes];
    private readonly INetBackend backend;

    public VirtioNetDevice(ReadOnlySpan<byte> mac, INetBackend backend)
    {
        if (mac.Length != 6)
        {
            throw new ArgumentException("a MAC address is 6 bytes", nameof(mac));
        }
        ArgumentNullException.ThrowIfNull(backend);
        this.backend = backend;
        mac.CopyTo(config);
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(6), LinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(8), 1);      // max_virtqueue_pairs
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(10), Mtu);
    }

    public override uint DeviceId => 1;
    public override string Name => "virtio-net";
    public override int QueueCount => 2;
    public override ulong Features => (1UL << FeatureMtu) | (1UL << FeatureMac) | (1UL << FeatureStatus);
    public override ReadOnlySpan<byte> Config => config;

    public ReadOnlySpan<byte> Mac => config.AsSpan(0, 6);

    /// <summary>Frames the guest sent, and sends dropped for a malformed chain.</summary>
    public ulong Transmitted { get; private set; }
    public ulong TransmitFaults { get; private set; }
    public ulong Received { get; private set; }
    public ulong ReceiveDropped { get; private set; }

    public override void QueueNotified(int queue)
    {
        if (queue == TransmitQueue)
        {
            DrainTransmit();
        }
        // A receive notification only says that buffers were added; frames are written when they arrive.
    }

    private void DrainTransmit() => TransmitFaults += (ulong)DrainReadable(TransmitQueue, buffer, HeaderBytes + MinFrameBytes);

    protected override void ChainRead(int queue, ReadOnlySpan<byte> chain)
    {
        Transmitted++;
        backend.Transmit(this, chain[HeaderBytes..]);
    }

    /// <summary>Writes a frame into the next receive buffer and interrupts the driver.</summary>
    public NetReceiveResult Receive(ReadOnlySpan<byte> frame)
    {
        if (frame.Length is < MinFrameBytes or > MaxFrameBytes)
        {
            throw new ArgumentException($"a frame is {MinFrameBytes} to {MaxFrameBytes} bytes, not {frame.Length}", nameof(frame));
        }
        SplitVirtqueue q = Transport.Queue(ReceiveQueue);
        if (!Transport.DriverOk || !q.Ready || q.Broken)
        {
            ReceiveDropped++;
            return NetReceiveResult.NotReady;
        }
        if (!q.TryTake(out ushort head, out int count, out VirtqueueFault fault, out bool headValid))
        {
            ReceiveDropped++;
            if (fault == VirtqueueFault.None)
            {
                return NetReceiveResult.NoBuffer;
            }
            Transport.ReportFault(ReceiveQueue, fault, head);
            if (headValid)
            {
                Transport.SignalUsed(ReceiveQueue);
            }
            return NetReceiveResult.BadBuffer;
        }
        int total = HeaderBytes + frame.Length;
        fault = q.Bytes(count, writable: false) != 0 ? VirtqueueFault.WrongDirection
            : q.Bytes(count, writable: true) < (ulong)total ? VirtqueueFault.TooShort
            : VirtqueueFault.None;
        if (fault == VirtqueueFault.None)
        {
            Span<byte> header = buffer.AsSpan(0, HeaderBytes);
            header.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(header[10..], 1);   // num_buffers: the frame fits in one
            frame.CopyTo(buffer.AsSpan(HeaderBytes));
            if (!q.Scatter(count, buffer.AsSpan(0, total)))
            {
                fault = VirtqueueFault.BufferOutOfBounds;
            }
        }
        q.PutUsed(head, fault == VirtqueueFault.None ? (uint)total : 0);
        Transport.SignalUsed(ReceiveQueue);
        if (fault != VirtqueueFault.None)
        {
            ReceiveDropped++;
            Transport.ReportFault(ReceiveQueue, fault, head);
            return NetReceiveResult.BadBuffer;
        }
        Received++;
        return NetReceiveResult.Delivered;
    }
}
