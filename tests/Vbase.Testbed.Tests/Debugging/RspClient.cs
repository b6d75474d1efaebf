using System.Net.Sockets;
using System.Text;
using Vbase.Testbed.Debugging;

namespace Vbase.Testbed.Tests.Debugging;

/// <summary>A scripted debugger for tests: sends packets as gdb does and reads the stub's replies (acks skipped).</summary>
internal sealed class RspClient : IDisposable
{
    private readonly TcpClient client;
    private readonly NetworkStream stream;
    private readonly RspPacketParser parser = new();
    private readonly Queue<RspItem> pending = new();

    public RspClient(int port)
    {
        client = new TcpClient();
        client.Connect("127.0.0.1", port);
        client.NoDelay = true; // small packets back and forth, as gdb sends them
        client.ReceiveTimeout = 30_000;
        stream = client.GetStream();
    }

    public void SendRaw(ReadOnlySpan<byte> bytes) => stream.Write(bytes);

    /// <summary>Sends a packet without waiting for its reply.</summary>
    public void Post(string payload) => stream.Write(RspPacketParser.Frame(payload));

    /// <summary>Sends a packet and returns the reply's payload.</summary>
    public string Send(string payload)
    {
        Post(payload);
        return Reply();
    }

    /// <summary>The next packet from the stub.</summary>
    public string Reply()
    {
        var buffer = new byte[4096];
        var items = new List<RspItem>();
        while (true)
        {
            while (pending.Count > 0)
            {
                RspItem item = pending.Dequeue();
                if (item.Kind == RspItemKind.Packet)
                {
                    stream.Write("+"u8);
                    return item.Payload;
                }
            }
            int n = stream.Read(buffer);
            if (n == 0)
            {
                throw new IOException("the stub closed the connection");
            }
            items.Clear();
            parser.Feed(buffer.AsSpan(0, n), items);
            foreach (RspItem item in items)
            {
                pending.Enqueue(item);
            }
        }
    }

    /// <summary>Reads until the stub closes the connection; returns the packets it sent meanwhile.</summary>
    public List<string> DrainToClose()
    {
        var packets = new List<string>();
        try
        {
            while (true)
            {
                packets.Add(Reply());
            }
        }
        catch (IOException)
        {
            return packets;
        }
    }

    public static string Hex(string text) => Convert.ToHexStringLower(Encoding.ASCII.GetBytes(text));

    public void Dispose() => client.Dispose();
}
