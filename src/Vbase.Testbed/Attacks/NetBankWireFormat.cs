using System.Buffers.Binary;
using System.Security.Cryptography;
using Vbase.Hypervisor.Network;
using Vbase.Sapi.Abi;

namespace Vbase.Testbed.Attacks;

/// <summary>A UDP datagram in an Ethernet frame, as the bridge carries it (IPv4 without options, as the guest kernel sends).</summary>
internal readonly record struct UdpView(MacAddress Source, MacAddress Destination, byte[] SourceIp, byte[] DestinationIp,
    ushort SourcePort, ushort DestinationPort, int PayloadOffset, int PayloadLength);

/// <summary>Reads and builds the frames of the networked bank (docs/network-attacks.md): Ethernet, IPv4, UDP, its header.</summary>
internal static class UdpFrames
{
    private const int Ethernet = 14, Ipv4 = 20, Udp = 8;
    public const int Headers = Ethernet + Ipv4 + Udp;

    /// <summary>The UDP datagram in <paramref name="frame"/>; null for anything else (ARP, IPv4 options, a fragment, a short frame).</summary>
    public static UdpView? Parse(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < Headers || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800 || frame[Ethernet] != 0x45
            || frame[Ethernet + 9] != 17)
        {
            return null;
        }
        int total = BinaryPrimitives.ReadUInt16BigEndian(frame[(Ethernet + 2)..]);
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(frame[(Ethernet + Ipv4 + 4)..]);
        if (total < Ipv4 + Udp || Ethernet + total > frame.Length || udpLength != total - Ipv4)
        {
            return null;
        }
        return new UdpView(MacAddress.FromBytes(frame[6..]), MacAddress.FromBytes(frame), frame.Slice(Ethernet + 12, 4).ToArray(),
            frame.Slice(Ethernet + 16, 4).ToArray(), BinaryPrimitives.ReadUInt16BigEndian(frame[(Ethernet + Ipv4)..]),
            BinaryPrimitives.ReadUInt16BigEndian(frame[(Ethernet + Ipv4 + 2)..]), Headers, udpLength - Udp);
    }

    /// <summary>A frame carrying <paramref name="payload"/> with the addressing of <paramref name="like"/> (checksums computed).</summary>
    public static byte[] Build(in UdpView like, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[Math.Max(Headers + payload.Length, 60)];
        like.Destination.CopyTo(frame);
        like.Source.CopyTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        Span<byte> ip = frame.AsSpan(Ethernet, Ipv4);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(Ipv4 + Udp + payload.Length));
        ip[8] = 64;
        ip[9] = 17;
        like.SourceIp.CopyTo(ip[12..]);
        like.DestinationIp.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip, 0));
        Span<byte> udp = frame.AsSpan(Ethernet + Ipv4, Udp + payload.Length);
        BinaryPrimitives.WriteUInt16BigEndian(udp, like.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], like.DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udp.Length);
        payload.CopyTo(udp[Udp..]);
        // The pseudo-header: addresses, protocol, length.
        uint pseudo = Sum(ip.Slice(12, 8)) + 17 + (uint)udp.Length;
        ushort sum = Checksum(udp, pseudo);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], sum == 0 ? (ushort)0xffff : sum);
        return frame;
    }

    private static uint Sum(ReadOnlySpan<byte> bytes)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < bytes.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(bytes[i..]);
        }
        if (bytes.Length % 2 == 1)
        {
            sum += (uint)bytes[^1] << 8;
        }
        return sum;
    }

    private static ushort Checksum(ReadOnlySpan<byte> bytes, uint start)
    {
        uint sum = start + Sum(bytes);
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}

/// <summary>The networked bank's messages (abi.yaml, "netbank"; guest/apps/net-bank.c), as the Oracle reads and the attacks forge them.</summary>
internal static class NetBankMessages
{
    public const byte VariantPlain = (byte)'P', VariantSealed = (byte)'S';

    /// <summary>FNV-1a 64 over a datagram: the identity the server's reports give a request (<c>ref</c>).</summary>
    public static ulong Digest(ReadOnlySpan<byte> datagram)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (byte b in datagram)
        {
            h = (h ^ b) * 0x100000001b3UL;
        }
        return h;
    }

    /// <summary>Whether <paramref name="datagram"/> starts with a header of type <paramref name="type"/>.</summary>
    public static bool Is(ReadOnlySpan<byte> datagram, int type) =>
        datagram.Length >= NetBankWire.HeaderBytes && datagram[..4].SequenceEqual("VBNK"u8) && datagram[5] == type;

    public static ulong Seq(ReadOnlySpan<byte> datagram) => BinaryPrimitives.ReadUInt64LittleEndian(datagram[NetBankWire.SeqOffset..]);

    public static ulong Ref(ReadOnlySpan<byte> datagram) => BinaryPrimitives.ReadUInt64LittleEndian(datagram[NetBankWire.RefOffset..]);

    public static int BodyLength(ReadOnlySpan<byte> datagram) => BinaryPrimitives.ReadUInt16LittleEndian(datagram[6..]);

    /// <summary>The AEAD nonce of a message: its direction, then its seq.</summary>
    public static byte[] Nonce(bool toServer, ulong seq)
    {
        var nonce = new byte[12];
        nonce[0] = (byte)(toServer ? 'C' : 'S');
        nonce[1] = (byte)'2';
        nonce[2] = (byte)(toServer ? 'S' : 'C');
        BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), seq);
        return nonce;
    }

    /// <summary>A request as the client builds it; sealed under <paramref name="key"/> when the variant is sealed.</summary>
    public static byte[] Request(byte variant, ulong seq, ReadOnlySpan<byte> body, ReadOnlySpan<byte> key)
    {
        bool sealedVariant = variant == VariantSealed;
        var datagram = new byte[NetBankWire.HeaderBytes + body.Length + (sealedVariant ? NetBankWire.TagBytes : 0)];
        "VBNK"u8.CopyTo(datagram);
        datagram[4] = variant;
        datagram[5] = NetBankWire.TypeRequest;
        BinaryPrimitives.WriteUInt16LittleEndian(datagram.AsSpan(6), (ushort)body.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(datagram.AsSpan(NetBankWire.SeqOffset), seq);
        if (!sealedVariant)
        {
            body.CopyTo(datagram.AsSpan(NetBankWire.HeaderBytes));
            return datagram;
        }
        using var aead = new ChaCha20Poly1305(key);
        aead.Encrypt(Nonce(true, seq), body, datagram.AsSpan(NetBankWire.HeaderBytes, body.Length),
            datagram.AsSpan(NetBankWire.HeaderBytes + body.Length, NetBankWire.TagBytes), datagram.AsSpan(0, NetBankWire.HeaderBytes));
        return datagram;
    }

    /// <summary>Whether a sealed request's tag verifies under <paramref name="key"/> (the attacker's test of a candidate key).</summary>
    public static bool Opens(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> key)
    {
        int length = BodyLength(datagram);
        if (datagram.Length != NetBankWire.HeaderBytes + length + NetBankWire.TagBytes || key.Length != NetworkApp.KeyBytes)
        {
            return false;
        }
        using var aead = new ChaCha20Poly1305(key);
        var plain = new byte[length];
        try
        {
            aead.Decrypt(Nonce(true, Seq(datagram)), datagram.Slice(NetBankWire.HeaderBytes, length),
                datagram.Slice(NetBankWire.HeaderBytes + length, NetBankWire.TagBytes), plain, datagram[..NetBankWire.HeaderBytes]);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    public static string ReasonName(int reason) => reason switch
    {
        NetBankWire.Malformed => "malformed",
        NetBankWire.BadTag => "bad tag",
        NetBankWire.Stale => "stale seq",
        NetBankWire.BadRequest => "bad request",
        _ => $"reason {reason}",
    };
}
