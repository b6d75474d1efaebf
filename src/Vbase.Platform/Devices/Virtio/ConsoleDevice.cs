namespace Vbase.Platform.Devices.Virtio;

/// <summary>Where a virtio console's bytes go and come from (Dom0's console backend).</summary>
public interface IConsoleBackend
{
    /// <summary>The guest wrote <paramref name="bytes"/> (the device's buffer: copy what must outlive the call).</summary>
    void Output(ReadOnlySpan<byte> bytes);

    /// <summary>Whether input is waiting (a receive buffer is taken only when it is).</summary>
    bool HasInput { get; }

    /// <summary>Moves up to <paramref name="destination"/>'s length of pending input into it; the count moved.</summary>
    int ReadInput(Span<byte> destination);
}

/// <summary>
/// The virtio console device (virtio 1.x, 5.3) with one port and no features: queue 0 (receiveq) takes the
/// driver's empty buffers for input, queue 1 (transmitq) brings its output. No multiport, no size, no emergency
/// write: Linux's <c>virtio_console</c> makes it an hvc console. A malformed chain costs the driver that chain
/// (given back used with length 0, reported through the transport), as on virtio-net.
/// </summary>
public sealed class VirtioConsoleDevice : VirtioDevice
{
    public const int ReceiveQueue = 0, TransmitQueue = 1;

    /// <summary>The most one transmit chain may carry (Linux sends at most a page per buffer).</summary>
    public const int MaxChainBytes = 16 * 1024;

    // struct virtio_console_config: cols, rows, max_nr_ports, emerg_wr; none of their features is offered, so
    // the driver reads none of it, but the space is there for one that looks.
    private readonly byte[] config = new byte[12];
    private readonly byte[] buffer = new byte[MaxChainBytes];
    private readonly IConsoleBackend backend;
    private bool connected;

    public VirtioConsoleDevice(IConsoleBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        this.backend = backend;
    }

    public override uint DeviceId => 3;
    public override string Name => "virtio-console";
    public override int QueueCount => 2;
    public override ulong Features => 0;
    public override ReadOnlySpan<byte> Config => config;

    /// <summary>Bytes the guest wrote through the device, bytes of input it was given, chains refused.</summary>
    public ulong TransmittedBytes { get; private set; }
    public ulong ReceivedBytes { get; private set; }
    public ulong Faults { get; private set; }

    public override void QueueNotified(int queue)
    {
        if (queue == TransmitQueue)
        {
            DrainTransmit();
        }
        else
        {
            DeliverInput();
        }
    }

    public override void DriverReady() => DeliverInput();

    public override void Reset() => connected = false;

    /// <summary>
    /// Whether the driver has written through the port since it was set up: input waits until then. Without
    /// multiport there is no PORT_OPEN message, and Linux fills the receive queue before it marks the port
    /// connected, discarding anything that arrives in between; its first output is after that.
    /// </summary>
    public bool Connected => connected;

    private void DrainTransmit()
    {
        Faults += (ulong)DrainReadable(TransmitQueue, buffer);
        if (!connected && TransmittedBytes > 0)
        {
            connected = true;
            DeliverInput();
        }
    }

    protected override void ChainRead(int queue, ReadOnlySpan<byte> chain)
    {
        TransmittedBytes += (ulong)chain.Length;
        backend.Output(chain);
    }

    /// <summary>Fills the driver's receive buffers with pending input, one buffer at a time, until either runs out.</summary>
    public void DeliverInput()
    {
        SplitVirtqueue q = Transport.Queue(ReceiveQueue);
        if (!connected || !Transport.DriverOk || !q.Ready || q.Broken)
        {
            return;
        }
        bool used = false;
        for (uint n = 0; n < q.Size; n++)
        {
            if (!backend.HasInput)
            {
                break;
            }
            if (!q.TryTake(out ushort head, out int count, out VirtqueueFault fault, out bool headValid))
            {
                if (fault == VirtqueueFault.None)
                {
                    break;
                }
                Fault(ReceiveQueue, fault, head);
                used |= headValid;
                if (q.Broken)
                {
                    break;
                }
                continue;
            }
            ulong room = q.Bytes(count, writable: true);
            fault = q.Bytes(count, writable: false) != 0 ? VirtqueueFault.WrongDirection
                : room == 0 ? VirtqueueFault.TooShort
                : VirtqueueFault.None;
            int taken = 0;
            if (fault == VirtqueueFault.None)
            {
                taken = backend.ReadInput(buffer.AsSpan(0, (int)Math.Min(room, (ulong)buffer.Length)));
                if (!q.Scatter(count, buffer.AsSpan(0, taken)))
                {
                    fault = VirtqueueFault.BufferOutOfBounds;
                }
            }
            q.PutUsed(head, fault == VirtqueueFault.None ? (uint)taken : 0);
            used = true;
            if (fault != VirtqueueFault.None)
            {
                Fault(ReceiveQueue, fault, head);
                continue;
            }
            ReceivedBytes += (ulong)taken;
        }
        if (used)
        {
            Transport.SignalUsed(ReceiveQueue);
        }
    }

    private void Fault(int queue, VirtqueueFault fault, ushort head)
    {
        Faults++;
        Transport.ReportFault(queue, fault, head);
    }
}
