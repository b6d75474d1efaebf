using System.Buffers;
using System.Buffers.Binary;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Scheduling;
using Vbase.Platform.Devices.Virtio;
using Vbase.Sapi.Domains;

namespace Vbase.Hypervisor.Network;

/// <summary>What the bridge does with a frame the tap has seen.</summary>
public enum TapAction
{
    Forward,
    Drop,
    /// <summary>Forward it <see cref="TapDecision.HoldTicks"/> later than it would have gone.</summary>
    Hold,
}

/// <param name="HoldTicks">Extra delay for <see cref="TapAction.Hold"/>.</param>
public readonly record struct TapDecision(TapAction Action, ulong HoldTicks = 0)
{
    public static readonly TapDecision Forward = new(TapAction.Forward);
    public static readonly TapDecision Drop = new(TapAction.Drop);
}

/// <summary>A frame as the bridge saw it enter: its pcap number, virtual time and ports.</summary>
/// <param name="To">The destination port, or -1 for a flood (broadcast, multicast, unknown unicast).</param>
public readonly record struct BridgeFrame(ulong Number, ulong Time, int From, int To, bool Injected);

/// <summary>
/// Dom0's position on the wire (the Controller's network attacks): sees every frame as it enters the bridge, before
/// it is switched, and may rewrite its bytes in place, drop it or hold it. Frames of its own it sends with
/// <see cref="NetworkBridge.Inject"/>.
/// </summary>
public interface IBridgeTap
{
    TapDecision Inspect(in BridgeFrame frame, Span<byte> bytes);
}

/// <summary>What happened to a frame, as an observer (the Oracle) is told.</summary>
public enum FrameStage
{
    /// <summary>As its port sent it, before the tap (what a guest really sent; the Oracle's golden log).</summary>
    Sent,
    /// <summary>It entered the bridge (after the tap: the bytes that will be delivered).</summary>
    Entered,
    /// <summary>It was written into a port's receive buffer (or handed to Dom0's endpoint).</summary>
    Delivered,
    /// <summary>It did not reach a port (the reason is in the event log).</summary>
    Dropped,
}

/// <summary>Sees every frame at every stage (sent, entered, delivered, dropped) with its ports and virtual time; out of every attacker's reach (the Oracle).</summary>
public interface IFrameObserver
{
    void Observe(in BridgeFrame frame, FrameStage stage, int port, ReadOnlySpan<byte> bytes);
}

/// <summary>A bridge port: Dom0's endpoint (port 0) or a guest domain's NIC.</summary>
public sealed class BridgePort
{
    internal BridgePort(int index, string name, MacAddress mac, DomainId? domain, GuestNic? nic)
    {
        Index = index;
        Name = name;
        Mac = mac;
        Domain = domain;
        Nic = nic;
    }

    public int Index { get; }
    public string Name { get; }
    public MacAddress Mac { get; }
    public DomainId? Domain { get; }
    internal GuestNic? Nic { get; }
}

/// <summary>Receives the frames addressed to Dom0's endpoint (and floods).</summary>
public delegate void Dom0FrameHandler(in BridgeFrame frame, ReadOnlySpan<byte> bytes);

/// <summary>
/// Dom0's software switch between the guests' virtio-net cards and Dom0's own endpoint, as Xen's netback bridge.
/// Static MAC table: each port has the MAC the scenario gave it, and frames go by destination MAC (broadcast,
/// multicast and unknown unicast to every other port). It does not learn from source addresses, so a guest that
/// forges another's MAC as its source draws no traffic to itself. Every frame is delivered
/// <see cref="LatencyTicks"/> of virtual time after it was sent, between slices, in the order sent: the same
/// run gives the same deliveries. Every frame that enters is written to the capture, once.
/// </summary>
public sealed class NetworkBridge : ITimedDevice
{
    /// <summary>Frames in flight at most; past it, new frames are dropped (a guest cannot make the host queue without bound).</summary>
    public const int MaxInFlight = 4096;

    /// <summary>The default one-way latency: 10,000 ticks (10 µs at one tick a nanosecond).</summary>
    public const ulong DefaultLatencyTicks = 10_000;

    /// <summary>Dom0's endpoint's MAC unless told otherwise (locally administered).</summary>
    public static readonly MacAddress DefaultDom0Mac = new(0x0276_6230_0000UL);

    private readonly Hypervisor hv;
    private readonly List<BridgePort> ports = [];
    private readonly PriorityQueue<InFlight, (ulong Due, ulong Number)> inFlight = new();
    private readonly List<IFrameObserver> observers = [];
    private ulong nextNumber = 1;

    private readonly record struct InFlight(BridgeFrame Frame, byte[] Buffer, int Length);

    internal NetworkBridge(Hypervisor hv)
    {
        this.hv = hv;
        ports.Add(new BridgePort(0, "dom0", DefaultDom0Mac, null, null));
        hv.AddTimedDevice(this);
    }

    public IReadOnlyList<BridgePort> Ports => ports;

    public ulong LatencyTicks { get; set; } = DefaultLatencyTicks;

    /// <summary>Where every frame is written (the run's <c>network.pcap</c>); null: no capture.</summary>
    public PcapWriter? Capture { get; set; }

    /// <summary>The Controller's position on the wire; null: frames pass untouched.</summary>
    public IBridgeTap? Tap { get; set; }

    /// <summary>Dom0's endpoint: frames for its MAC, and floods.</summary>
    public Dom0FrameHandler? Dom0Receive { get; set; }

    public void AddObserver(IFrameObserver observer) => observers.Add(observer);

    public ulong FramesEntered => nextNumber - 1;
    public ulong FramesDelivered { get; private set; }
    public ulong FramesDropped { get; private set; }

    /// <summary>Attaches a NIC for <paramref name="domain"/> in virtio-mmio slot 0 (docs/network.md).</summary>
    internal BridgePort Attach(Domain domain, MacAddress mac)
    {
        if (mac.IsGroup || mac.Value == 0)
        {
            throw new ArgumentException($"{mac} is not a unicast MAC address", nameof(mac));
        }
        if (ports.Any(p => p.Mac == mac))
        {
            throw new ArgumentException($"MAC {mac} is already on the bridge", nameof(mac));
        }
        if (ports.Any(p => p.Domain == domain.Id))
        {
            throw new ArgumentException($"domain {domain.Name} already has a NIC", nameof(domain));
        }
        var nic = new GuestNic(hv, domain, this, ports.Count, mac);
        var port = new BridgePort(ports.Count, domain.Name, mac, domain.Id, nic);
        ports.Add(port);
        return port;
    }

    /// <summary>Sends a frame of Dom0's own into the bridge as if it entered at port <paramref name="asPort"/> (0: Dom0's endpoint).</summary>
    public ulong Inject(ReadOnlySpan<byte> frame, int asPort = 0)
    {
        if (frame.Length is < VirtioNetDevice.MinFrameBytes or > VirtioNetDevice.MaxFrameBytes)
        {
            throw new ArgumentException($"a frame is {VirtioNetDevice.MinFrameBytes} to {VirtioNetDevice.MaxFrameBytes} bytes", nameof(frame));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(asPort);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(asPort, ports.Count);
        return Enter(asPort, frame, injected: true);
    }

    /// <summary>A guest's NIC transmitted a frame (inside the guest's slice).</summary>
    internal void FromGuest(int port, ReadOnlySpan<byte> frame) => Enter(port, frame, injected: false);

    private ulong Enter(int from, ReadOnlySpan<byte> frame, bool injected)
    {
        ulong now = hv.CurrentTime;
        ulong number = nextNumber++;
        var destination = MacAddress.FromBytes(frame);
        int to = -1;
        if (!destination.IsGroup)
        {
            foreach (BridgePort p in ports)
            {
                if (p.Mac == destination)
                {
                    to = p.Index;
                    break;
                }
            }
        }
        var record = new BridgeFrame(number, now, from, to, injected);
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        DomainId? sender = ports[from].Domain;
        hv.Record(sender, injected ? null : hv.CurrentVcpuId,
            new NetFrameData(number, ports[from].Name, to < 0 ? "flood" : ports[to].Name, frame.Length, etherType, injected));
        byte[] buffer = ArrayPool<byte>.Shared.Rent(VirtioNetDevice.MaxFrameBytes);
        frame.CopyTo(buffer);
        Span<byte> bytes = buffer.AsSpan(0, frame.Length);
        Notify(record, FrameStage.Sent, from, bytes);
        TapDecision decision = Tap?.Inspect(record, bytes) ?? TapDecision.Forward;
        Capture?.Write(now, bytes);
        Notify(record, FrameStage.Entered, from, bytes);
        if (decision.Action == TapAction.Drop || inFlight.Count >= MaxInFlight)
        {
            Dropped(record, to < 0 ? "flood" : ports[to].Name, to, decision.Action == TapAction.Drop ? FrameDropReason.Tap : FrameDropReason.BridgeFull, bytes);
            ArrayPool<byte>.Shared.Return(buffer);
            return number;
        }
        ulong hold = decision.Action == TapAction.Hold ? decision.HoldTicks : 0;
        ulong due = Saturating(Saturating(now, LatencyTicks), hold);
        inFlight.Enqueue(new InFlight(record, buffer, frame.Length), (due, number));
        return number;
    }

    private static ulong Saturating(ulong a, ulong b) => a > Vcpu.MaxTime - Math.Min(b, Vcpu.MaxTime) ? Vcpu.MaxTime : a + b;

    ulong ITimedDevice.NextDeadline => inFlight.TryPeek(out _, out var key) ? Math.Max(key.Due, 1) : Vcpu.NoDeadline;

    void ITimedDevice.RunDue(ulong now)
    {
        while (inFlight.TryPeek(out InFlight f, out var key) && key.Due <= now)
        {
            inFlight.Dequeue();
            ReadOnlySpan<byte> bytes = f.Buffer.AsSpan(0, f.Length);
            if (f.Frame.To >= 0)
            {
                Deliver(f.Frame, f.Frame.To, bytes);
            }
            else
            {
                for (int p = 0; p < ports.Count; p++)
                {
                    if (p != f.Frame.From)
                    {
                        Deliver(f.Frame, p, bytes);
                    }
                }
            }
            ArrayPool<byte>.Shared.Return(f.Buffer);
        }
    }

    private void Deliver(in BridgeFrame frame, int port, ReadOnlySpan<byte> bytes)
    {
        BridgePort p = ports[port];
        if (p.Nic is null)
        {
            Dom0Receive?.Invoke(frame, bytes);
            FramesDelivered++;
            Notify(frame, FrameStage.Delivered, port, bytes);
            return;
        }
        NetReceiveResult result = p.Nic.Receive(bytes);
        if (result == NetReceiveResult.Delivered)
        {
            FramesDelivered++;
            Notify(frame, FrameStage.Delivered, port, bytes);
            return;
        }
        FrameDropReason reason = result switch
        {
            NetReceiveResult.NoBuffer => FrameDropReason.NoBuffer,
            NetReceiveResult.BadBuffer => FrameDropReason.BadBuffer,
            _ when !p.Nic.Up => FrameDropReason.PortDown,
            _ => FrameDropReason.NotReady,
        };
        Dropped(frame, p.Name, port, reason, bytes);
    }

    private void Dropped(in BridgeFrame frame, string to, int port, FrameDropReason reason, ReadOnlySpan<byte> bytes)
    {
        FramesDropped++;
        // Under the flood limit: a guest that sends at will, or never posts receive buffers, could otherwise fill the log.
        DomainId? sender = ports[frame.From].Domain;
        hv.Record(sender, null, new NetFrameDroppedData(frame.Number, to, reason), guestCaused: !frame.Injected);
        Notify(frame, FrameStage.Dropped, port, bytes);
    }

    private void Notify(in BridgeFrame frame, FrameStage stage, int port, ReadOnlySpan<byte> bytes)
    {
        foreach (IFrameObserver o in observers)
        {
            o.Observe(frame, stage, port, bytes);
        }
    }
}
