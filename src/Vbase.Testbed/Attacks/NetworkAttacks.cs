using System.Globalization;
using System.Text;
using Vbase.Hypervisor.Network;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Memory;

namespace Vbase.Testbed.Attacks;

// The network position (docs/network-attacks.md): Dom0 on its own bridge. The tap sees every frame as it enters,
// before it is switched, and may drop it; frames of the attacker's own go in with Inject, as if from the client's
// port, between the Controller's steps (never from inside the tap, so that every frame keeps its capture number).
// What the attacker learns it learns from the wire (addresses, ports, sequence numbers, the variant byte) and, for
// combo-key-forge, from memory; never from the Oracle's observer.

/// <summary>Where a networked application's two cards are on Dom0's bridge.</summary>
internal sealed record NetworkLink(NetworkBridge Bridge, int ServerPort, int ClientPort, NetworkApp App);

internal abstract class NetworkAttack(AttackSpec spec) : Attack(spec), IBridgeTap
{
    private readonly List<(byte[] Frame, string What)> pending = [];
    private AttackContext? context;

    public override bool Repeatable => false;

    public override (int Block, AttackChoiceSource Source)? Aim(AttackContext c) => null;

    protected AttackContext C => context!;

    public override void Fire(AttackContext c)
    {
        if (c.Network is not NetworkLink link)
        {
            c.Evidence.Inconclusive = $"not applicable: {c.AppSpec.Name} has no network (a network attack needs an application with a client on Dom0's bridge, such as net-plain or net-sealed)";
            c.Act("looked for the application's network on Dom0's bridge: none");
            return;
        }
        context = c;
        Prepare(c, link);
        if (c.Evidence.Error is not null)
        {
            return;
        }
        link.Bridge.Tap = this;
        c.Act($"put the tap on Dom0's bridge between the server (port {link.ServerPort}) and the client (port {link.ClientPort})");
    }

    /// <summary>What the attack does before it stands on the wire (combo-key-forge reads memory).</summary>
    protected virtual void Prepare(AttackContext c, NetworkLink link)
    {
    }

    /// <summary>Injects the frames the tap queued; the tap stays until the run ends.</summary>
    public override bool Continue(AttackContext c)
    {
        if (c.Network is not NetworkLink link || context is null)
        {
            return true;
        }
        foreach ((byte[] frame, string what) in pending)
        {
            ulong number = link.Bridge.Inject(frame, link.ClientPort);
            c.Act(string.Create(CultureInfo.InvariantCulture, $"injected {what} as frame {number} at t={c.Hv.Now}, as if from the client's port"));
        }
        pending.Clear();
        return false;
    }

    protected void Queue(byte[] frame, string what) => pending.Add((frame, what));

    public TapDecision Inspect(in BridgeFrame frame, Span<byte> bytes)
    {
        if (frame.Injected || context?.Network is not NetworkLink link || UdpFrames.Parse(bytes) is not UdpView udp)
        {
            return TapDecision.Forward;
        }
        Span<byte> datagram = bytes.Slice(udp.PayloadOffset, udp.PayloadLength);
        if (frame.From == link.ClientPort && udp.DestinationPort == NetBankWire.Port && NetBankMessages.Is(datagram, NetBankWire.TypeRequest))
        {
            return Request(frame, bytes, udp, datagram);
        }
        if (frame.From == link.ServerPort && udp.SourcePort == NetBankWire.Port && NetBankMessages.Is(datagram, NetBankWire.TypeReply))
        {
            return Reply(frame, bytes, udp, datagram);
        }
        return TapDecision.Forward;
    }

    /// <summary>A client's request entering the bridge.</summary>
    protected virtual TapDecision Request(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram) => TapDecision.Forward;

    /// <summary>A server's reply entering the bridge.</summary>
    protected virtual TapDecision Reply(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram) => TapDecision.Forward;

    protected static string Frame(in BridgeFrame frame) => string.Create(CultureInfo.InvariantCulture, $"frame {frame.Number} at t={frame.Time}");

    /// <summary>A forged transfer to the attacker's account, sealed under <paramref name="key"/> when the protocol is sealed.</summary>
    protected static byte[] ForgedTransfer(AttackContext c, byte variant, ulong seq, ReadOnlySpan<byte> key) =>
        NetBankMessages.Request(variant, seq, Encoding.ASCII.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"transfer alice mallory {c.IntParameter("amount", 500)}")), key);
}

/// <summary>net-sniff: reads every frame of the bank's traffic and keeps its UDP payload (searched for the secrets).</summary>
internal sealed class NetworkSniff(AttackSpec spec) : NetworkAttack(spec)
{
    protected override TapDecision Request(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram)
    {
        C.Saw($"{Frame(frame)} (client to server, {datagram.Length} bytes of UDP payload)", datagram.ToArray());
        return TapDecision.Forward;
    }

    protected override TapDecision Reply(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram)
    {
        C.Saw($"{Frame(frame)} (server to client, {datagram.Length} bytes of UDP payload)", datagram.ToArray());
        return TapDecision.Forward;
    }
}

/// <summary>
/// net-spoof: once the client's request <c>after</c> has passed, injects a forged transfer to the attacker's account
/// with the next seq, as if from the client; sealed, the attacker has no key and seals under its best guess (zeros).
/// </summary>
internal sealed class NetworkSpoof(AttackSpec spec) : NetworkAttack(spec)
{
    private bool done;

    protected override TapDecision Request(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram)
    {
        ulong seq = NetBankMessages.Seq(datagram);
        if (!done && seq >= (ulong)C.IntParameter("after", 2))
        {
            done = true;
            byte variant = datagram[4];
            byte[] forged = ForgedTransfer(C, variant, seq + 1, new byte[NetworkApp.KeyBytes]);
            Queue(UdpFrames.Build(udp, forged), string.Create(CultureInfo.InvariantCulture,
                $"a forged 'transfer alice mallory' request, seq {seq + 1}{(variant == NetBankMessages.VariantSealed ? ", sealed under a guessed (all-zero) key" : " in the clear")}, after the client's seq {seq} in {Frame(frame)}"));
        }
        return TapDecision.Forward;
    }
}

/// <summary>net-replay: keeps the client's request <c>request</c> and sends its frame again once request <c>after</c> has passed.</summary>
internal sealed class NetworkReplay(AttackSpec spec) : NetworkAttack(spec)
{
    private byte[]? kept;
    private string keptFrom = "";
    private bool done;

    protected override TapDecision Request(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram)
    {
        ulong seq = NetBankMessages.Seq(datagram);
        if (kept is null && seq == (ulong)C.IntParameter("request", 3))
        {
            kept = bytes.ToArray();
            keptFrom = Frame(frame);
            C.Act($"kept the client's request seq {seq} ({keptFrom})");
        }
        else if (kept is not null && !done && seq >= (ulong)C.IntParameter("after", 5))
        {
            done = true;
            Queue(kept, $"a copy of the client's request from {keptFrom}, after the client's seq {seq} in {Frame(frame)}");
        }
        return TapDecision.Forward;
    }
}

/// <summary>
/// net-splice: drops the client's request <c>target</c> and sends in its place its header with the body of request
/// <c>source</c> (the header's length fitted to that body: the header is plaintext).
/// </summary>
internal sealed class NetworkSplice(AttackSpec spec) : NetworkAttack(spec)
{
    private byte[]? body;
    private bool done;

    protected override TapDecision Request(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram)
    {
        ulong seq = NetBankMessages.Seq(datagram);
        ulong source = (ulong)C.IntParameter("source", 3), target = (ulong)C.IntParameter("target", 4);
        if (body is null && seq == source)
        {
            body = datagram[NetBankWire.HeaderBytes..].ToArray();
            C.Act($"kept the body of the client's request seq {seq} ({Frame(frame)})");
            return TapDecision.Forward;
        }
        if (body is null || done || seq != target)
        {
            return TapDecision.Forward;
        }
        done = true;
        var spliced = new byte[NetBankWire.HeaderBytes + body.Length];
        datagram[..NetBankWire.HeaderBytes].CopyTo(spliced);
        int length = datagram[4] == NetBankMessages.VariantSealed ? body.Length - NetBankWire.TagBytes : body.Length;
        spliced[6] = (byte)length;
        spliced[7] = (byte)(length >> 8);
        body.CopyTo(spliced, NetBankWire.HeaderBytes);
        Queue(UdpFrames.Build(udp, spliced), string.Create(CultureInfo.InvariantCulture,
            $"the header of the client's request seq {seq} with the body of its request seq {source}"));
        C.Act($"dropped the client's request seq {seq} ({Frame(frame)})");
        return TapDecision.Drop;
    }
}

/// <summary>net-drop: from the client's request <c>after</c> on, drops one direction's frames (<c>replies</c>: the server's) for <c>duration</c> ticks.</summary>
internal sealed class NetworkDrop(AttackSpec spec) : NetworkAttack(spec)
{
    private ulong? until;
    private int dropped;
    private string first = "", last = "";

    private bool ToServer => C.IntParameter("replies", 0) == 0;

    protected override void Prepare(AttackContext c, NetworkLink link)
    {
        if (c.IntParameter("replies", 0) is not (0 or 1))
        {
            c.Fail("replies is 0 (drop the client's requests) or 1 (drop the server's replies)");
        }
    }

    protected override TapDecision Request(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram)
    {
        if (until is null && NetBankMessages.Seq(datagram) >= (ulong)C.IntParameter("after", 3))
        {
            until = frame.Time + (ulong)C.IntParameter("duration", 20_000_000);
            C.Act(string.Create(CultureInfo.InvariantCulture,
                $"from the client's request seq {NetBankMessages.Seq(datagram)} ({Frame(frame)}) on, drops every frame {(ToServer ? "to the server" : "to the client")} until t={until}"));
        }
        return ToServer ? Decide(frame) : TapDecision.Forward;
    }

    protected override TapDecision Reply(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram) =>
        ToServer ? TapDecision.Forward : Decide(frame);

    private TapDecision Decide(in BridgeFrame frame)
    {
        if (until is not ulong end || frame.Time >= end)
        {
            return TapDecision.Forward;
        }
        if (dropped++ == 0)
        {
            first = Frame(frame);
        }
        last = Frame(frame);
        return TapDecision.Drop;
    }

    /// <summary>The drop count, for the evidence, once the run is over.</summary>
    public override void Summarize(AttackContext c)
    {
        if (until is not null)
        {
            c.Act(dropped == 0 ? "dropped no frame" : $"dropped {dropped} frame(s), the first {first}, the last {last}");
        }
    }
}

/// <summary>
/// combo-key-forge: reads the session key's bytes from the server's region where memory is readable — physical DRAM
/// first (the line forced off the chip), then through the guest kernel — tests each candidate on the client's first
/// sealed request it sees (does its tag verify?), and forges a transfer to the attacker's account under the key that
/// opened it (under the DRAM bytes if none did), with the next seq.
/// </summary>
internal sealed class ComboKeyForge(AttackSpec spec) : NetworkAttack(spec)
{
    private readonly List<(string Where, byte[] Key)> candidates = [];
    private bool done;

    protected override void Prepare(AttackContext c, NetworkLink link)
    {
        int offset = link.App.KeyOffset;
        Dram.Evict(c, offset, NetworkApp.KeyBytes);
        (Mfn mfn, int inFrame) = c.Locate(offset);
        byte[] dram = c.Hv.Machine.Frame(mfn).Slice(inFrame, NetworkApp.KeyBytes).ToArray();
        candidates.Add(("physical DRAM", dram));
        c.Saw($"DRAM bytes at the session key's place (region offset {offset}, mfn 0x{mfn.Value:x} + {inFrame})", dram);
        c.Act($"forced the session key's line (region offset {offset}) off the chip and read its {NetworkApp.KeyBytes} bytes from machine memory (mfn 0x{mfn.Value:x} + {inFrame})");
        KernelMailbox mailbox = c.Mailbox(c.App);
        ulong va = c.Region.VirtualAddress.Value + (ulong)offset;
        if (!mailbox.Ready)
        {
            c.Act("the guest kernel has no attack mailbox: no kernel read");
            return;
        }
        MailboxAnswer? a = mailbox.Post(MailboxOp.Read, va, NetworkApp.KeyBytes);
        c.Act($"guest kernel read va 0x{va:x} -> {(a is null ? "no answer" : a.Result.ToString(CultureInfo.InvariantCulture))}");
        if (a is { Result: >= NetworkApp.KeyBytes })
        {
            byte[] key = a.Data[..NetworkApp.KeyBytes];
            candidates.Add(("the guest kernel", key));
            c.Saw($"kernel read of the session key's place (va 0x{va:x})", key);
        }
    }

    protected override TapDecision Request(in BridgeFrame frame, Span<byte> bytes, in UdpView udp, Span<byte> datagram)
    {
        ulong seq = NetBankMessages.Seq(datagram);
        if (done || seq < (ulong)C.IntParameter("after", 2))
        {
            return TapDecision.Forward;
        }
        done = true;
        byte variant = datagram[4];
        if (variant != NetBankMessages.VariantSealed)
        {
            Queue(UdpFrames.Build(udp, ForgedTransfer(C, variant, seq + 1, [])), string.Create(CultureInfo.InvariantCulture,
                $"a forged 'transfer alice mallory' request, seq {seq + 1}, in the clear (the protocol has no key)"));
            return TapDecision.Forward;
        }
        (string Where, byte[] Key)? found = null;
        foreach ((string where, byte[] key) in candidates)
        {
            if (NetBankMessages.Opens(datagram, key))
            {
                found = (where, key);
                break;
            }
        }
        C.Act(found is { } f
            ? $"the key read from {f.Where} opens the client's sealed request seq {seq} ({Frame(frame)})"
            : $"none of the {candidates.Count} key(s) read from memory opens the client's sealed request seq {seq} ({Frame(frame)}): forging under the DRAM bytes");
        byte[] forged = ForgedTransfer(C, variant, seq + 1, found?.Key ?? candidates[0].Key);
        Queue(UdpFrames.Build(udp, forged), string.Create(CultureInfo.InvariantCulture,
            $"a forged 'transfer alice mallory' request, seq {seq + 1}, sealed under the key from {found?.Where ?? "physical DRAM (which opened nothing)"}"));
        return TapDecision.Forward;
    }
}
