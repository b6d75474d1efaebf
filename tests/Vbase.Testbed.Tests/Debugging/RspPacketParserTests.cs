using System.Text;
using Vbase.Testbed.Debugging;

namespace Vbase.Testbed.Tests.Debugging;

public class RspPacketParserTests
{
    private static List<RspItem> Parse(string bytes, int max = RspPacketParser.DefaultMaxPayload)
    {
        var items = new List<RspItem>();
        new RspPacketParser(max).Feed(Encoding.Latin1.GetBytes(bytes), items);
        return items;
    }

    [Fact]
    public void FramesAcksInterruptsAndEscapes()
    {
        // "}]" is an escaped '}' (0x5d ^ 0x20 = 0x7d); the checksum covers the bytes as sent.
        byte[] frame = RspPacketParser.Frame("m1}2#3$4*");
        List<RspItem> items = Parse("+-\x03" + Encoding.Latin1.GetString(frame) + "junk");

        Assert.Equal([new RspItem(RspItemKind.Ack), new RspItem(RspItemKind.Nack), new RspItem(RspItemKind.Interrupt),
            new RspItem(RspItemKind.Packet, "m1}2#3$4*")], items);
        Assert.Equal("$qC#b4", Encoding.Latin1.GetString(RspPacketParser.Frame("qC")));
    }

    [Fact]
    public void BadChecksumsTooLongAndCutOffPacketsAreReported()
    {
        Assert.Equal([new RspItem(RspItemKind.BadChecksum)], Parse("$qC#00"));
        Assert.Equal([new RspItem(RspItemKind.BadChecksum)], Parse("$qC#zz"));
        Assert.Equal([new RspItem(RspItemKind.TooLong)], Parse("$" + new string('a', 20) + "#00", max: 16));
        // A '$' inside a packet starts it afresh: the first one was cut off.
        Assert.Equal([new RspItem(RspItemKind.Packet, "qC")], Parse("$m12,$qC#b4"));
    }

    /// <summary>
    /// Random bytes, and random bytes with real packets mixed in: the parser never throws, never holds more than its
    /// limit, and every real packet sent after a resynchronising "#00" is found.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FuzzedInputNeverBreaksTheParser(int seed)
    {
        var random = new Random(seed);
        var parser = new RspPacketParser(256);
        var items = new List<RspItem>();
        int sent = 0, bytes = 0;
        for (int round = 0; round < 2000; round++)
        {
            var garbage = new byte[random.Next(0, 600)];
            random.NextBytes(garbage);
            parser.Feed(garbage, items);
            bytes += garbage.Length;
            if (round % 4 == 0)
            {
                // Ends whatever the garbage left open (a payload, an escape, a checksum) before a real packet.
                parser.Feed("#00#00"u8, items);
                string payload = $"m{round:x},{random.Next(1, 100):x}";
                parser.Feed(RspPacketParser.Frame(payload), items);
                sent++;
            }
        }
        Assert.True(bytes > 500_000);
        Assert.All(items, i => Assert.True(i.Payload.Length <= 256));
        List<string> found = [.. items.Where(i => i.Kind == RspItemKind.Packet && i.Payload.StartsWith('m') && i.Payload.Contains(','))
            .Select(i => i.Payload)];
        Assert.True(found.Count >= sent, $"{found.Count} of {sent} packets found");
    }
}
