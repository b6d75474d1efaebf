using System.Text;

namespace Vbase.Testbed.Debugging;

/// <summary>What the parser found in the bytes from the debugger.</summary>
public enum RspItemKind
{
    /// <summary>A well-formed <c>$payload#cs</c>: acknowledge it with <c>+</c> and answer it.</summary>
    Packet,
    /// <summary>A bare 0x03 outside a packet: gdb's Ctrl-C.</summary>
    Interrupt,
    /// <summary><c>+</c>: the debugger acknowledged the last reply.</summary>
    Ack,
    /// <summary><c>-</c>: the debugger asks for the last reply again.</summary>
    Nack,
    /// <summary>A packet whose checksum did not match (or was not hex): answer <c>-</c> so the debugger resends.</summary>
    BadChecksum,
    /// <summary>A packet longer than the limit: discarded whole, answered with an error.</summary>
    TooLong,
}

/// <summary>One thing the parser found; <see cref="Payload"/> is the unescaped packet body (bytes as Latin-1 chars).</summary>
public readonly record struct RspItem(RspItemKind Kind, string Payload = "");

/// <summary>
/// The GDB remote serial protocol's framing, fed bytes as they arrive (gdb docs, "Overview" and "Packets"):
/// <c>$</c>, the payload with <c>}</c> escapes (the next byte XOR 0x20), <c>#</c>, two hex digits of the sum of the
/// payload bytes as sent modulo 256. Bytes outside packets other than <c>+</c>, <c>-</c> and 0x03 are ignored; a
/// <c>$</c> inside a packet starts it afresh (the first was cut off). A payload never grows past
/// <see cref="MaxPayload"/> bytes: a longer one is discarded to its end. Nothing the debugger sends can make it
/// throw or hold more than that.
/// </summary>
public sealed class RspPacketParser(int maxPayload = RspPacketParser.DefaultMaxPayload)
{
    /// <summary>The packet size the stub announces (qSupported PacketSize=4000, hex): what gdb may send at once.</summary>
    public const int DefaultMaxPayload = 0x4000;

    private enum State
    {
        Idle,
        Payload,
        Escape,
        Checksum1,
        Checksum2,
    }

    private State state;
    private readonly StringBuilder payload = new();
    private int sum;
    private int checksum;
    private bool tooLong;

    public int MaxPayload { get; } = maxPayload;

    /// <summary>Parses <paramref name="bytes"/>, appending what it completes to <paramref name="items"/>.</summary>
    public void Feed(ReadOnlySpan<byte> bytes, List<RspItem> items)
    {
        foreach (byte b in bytes)
        {
            Feed(b, items);
        }
    }

    private void Feed(byte b, List<RspItem> items)
    {
        switch (state)
        {
            case State.Idle:
                switch (b)
                {
                    case (byte)'$':
                        Start();
                        break;
                    case (byte)'+':
                        items.Add(new RspItem(RspItemKind.Ack));
                        break;
                    case (byte)'-':
                        items.Add(new RspItem(RspItemKind.Nack));
                        break;
                    case 0x03:
                        items.Add(new RspItem(RspItemKind.Interrupt));
                        break;
                }
                break;
            case State.Payload or State.Escape:
                if (b == (byte)'$')
                {
                    Start(); // the previous packet was cut off: this one replaces it
                    break;
                }
                if (b == (byte)'#' && state == State.Payload)
                {
                    state = State.Checksum1;
                    break;
                }
                sum += b;
                if (state == State.Payload && b == (byte)'}')
                {
                    state = State.Escape;
                    break;
                }
                Append(state == State.Escape ? (byte)(b ^ 0x20) : b);
                state = State.Payload;
                break;
            case State.Checksum1:
                checksum = HexValue(b) << 4;
                state = State.Checksum2;
                break;
            case State.Checksum2:
                int low = HexValue(b);
                checksum = checksum < 0 || low < 0 ? -1 : checksum | low;
                state = State.Idle;
                if (tooLong)
                {
                    items.Add(new RspItem(RspItemKind.TooLong));
                }
                else if (checksum != (sum & 0xFF))
                {
                    items.Add(new RspItem(RspItemKind.BadChecksum));
                }
                else
                {
                    items.Add(new RspItem(RspItemKind.Packet, payload.ToString()));
                }
                payload.Clear();
                break;
        }
    }

    private void Start()
    {
        state = State.Payload;
        payload.Clear();
        sum = 0;
        tooLong = false;
    }

    private void Append(byte b)
    {
        if (payload.Length >= MaxPayload)
        {
            tooLong = true;
            return;
        }
        payload.Append((char)b);
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1 << 8,
    };

    /// <summary>Frames a reply: <c>$</c>, the payload with <c>$ # } *</c> escaped, <c>#</c> and its checksum.</summary>
    public static byte[] Frame(string payload)
    {
        var bytes = new List<byte>(payload.Length + 4) { (byte)'$' };
        int sum = 0;
        foreach (char c in payload)
        {
            byte b = (byte)c;
            if (b is (byte)'$' or (byte)'#' or (byte)'}' or (byte)'*')
            {
                bytes.Add((byte)'}');
                sum += '}';
                b ^= 0x20;
            }
            bytes.Add(b);
            sum += b;
        }
        bytes.Add((byte)'#');
        bytes.AddRange(Encoding.ASCII.GetBytes((sum & 0xFF).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        return [.. bytes];
    }
}
