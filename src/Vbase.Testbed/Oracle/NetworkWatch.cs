using Vbase.Hypervisor.Network;
using Vbase.Sapi.Abi;
using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Oracle;

/// <summary>A request datagram on the wire: its capture frame, virtual time, digest (the server's <c>ref</c>) and seq.</summary>
public sealed record WireRequest(ulong Frame, ulong Time, ulong Digest, ulong Seq, bool Injected);

/// <summary>What the server said it did with a request (its reply's header, as the server sent it).</summary>
/// <param name="Ref">The digest of the request it answers.</param>
public sealed record WireReport(ulong Frame, ulong Time, ulong Ref, int Status, int Reason);

/// <summary>
/// The Oracle's view of the networked bank's wire, out of every attacker's reach (an <see cref="IFrameObserver"/>, not
/// the tap): the golden request log — what the client really sent, as its port sent it, before any tap —, the requests
/// delivered to the server, and the server's reports, decoded from its replies as it sent them. Typed fields only.
/// </summary>
public sealed class NetworkWatch(int serverPort, int clientPort) : IFrameObserver
{
    public int ServerPort { get; } = serverPort;
    public int ClientPort { get; } = clientPort;

    /// <summary>What the client sent to the server's port (not injected), in order.</summary>
    public List<WireRequest> Golden { get; } = [];

    /// <summary>Every request datagram delivered to the server's card (the client's and Dom0's).</summary>
    public List<WireRequest> Delivered { get; } = [];

    /// <summary>The server's reports, in order.</summary>
    public List<WireReport> Reports { get; } = [];

    public void Observe(in BridgeFrame frame, FrameStage stage, int port, ReadOnlySpan<byte> bytes)
    {
        if (UdpFrames.Parse(bytes) is not UdpView udp)
        {
            return;
        }
        ReadOnlySpan<byte> datagram = bytes.Slice(udp.PayloadOffset, udp.PayloadLength);
        if (stage == FrameStage.Sent && !frame.Injected && frame.From == ClientPort && udp.DestinationPort == NetBankWire.Port
            && NetBankMessages.Is(datagram, NetBankWire.TypeRequest))
        {
            Golden.Add(new WireRequest(frame.Number, frame.Time, NetBankMessages.Digest(datagram), NetBankMessages.Seq(datagram), false));
        }
        else if (stage == FrameStage.Delivered && port == ServerPort && udp.DestinationPort == NetBankWire.Port)
        {
            Delivered.Add(new WireRequest(frame.Number, frame.Time, NetBankMessages.Digest(datagram),
                datagram.Length >= NetBankWire.HeaderBytes ? NetBankMessages.Seq(datagram) : 0, frame.Injected));
        }
        else if (stage == FrameStage.Sent && !frame.Injected && frame.From == ServerPort && udp.SourcePort == NetBankWire.Port
            && NetBankMessages.Is(datagram, NetBankWire.TypeReply))
        {
            Reports.Add(new WireReport(frame.Number, frame.Time, NetBankMessages.Ref(datagram),
                datagram[NetBankWire.StatusOffset], datagram[NetBankWire.ReasonOffset]));
        }
    }
}
