using System.Text;
using System.Text.Json;
using Vbase.Sapi;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Tests;

/// <summary>events.jsonl: typed fields as JSON values (docs/events.md), and a cap the line that would pass becomes one log.truncated event.</summary>
public class EventLogTests
{
    private static string[] Lines(Action<EventLog> write, long cap = EventLog.MaxBytes)
    {
        var file = new MemoryStream();
        using (var log = new EventLog(new NonClosing(file), ["app"], cap))
        {
            write(log);
        }
        return Encoding.UTF8.GetString(file.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void EachLineHasTheEventsTypedFieldsAndTheMessageDerivedFromThem()
    {
        var dropped = new WriteDroppedData(1, Accessor.Dom0, false, new GuestPhysicalAddress(0x8021_6040), new Mfn(0x216), 64,
            "41414141", P2mType.RamRo, DropCause.Architecture);
        string[] lines = Lines(log =>
        {
            log.Write(new HostEvent(42, 1, 0, dropped));
            log.Write(new HostEvent(43, null, null, new HypercallDeniedData("domctl", null)));
        });
        Assert.Equal(
            """{"time":42,"kind":"sapi.write_dropped","domain_id":1,"domain":"app","vcpu":0,"fields":{"region":1,"accessor":"dom0","owner":false,"gpa":"0x80216040","mfn":"0x216","size":64,"data":"41414141","p2m":"ram_ro","by":"arch"},"message":"region=1 accessor=dom0 owner=no gpa=0x80216040 mfn=0x216 size=64 data=41414141 p2m=ram_ro by=arch"}""",
            lines[0]);
        // An absent text is null, not left out: every event of a kind has the same fields.
        Assert.Equal("""{"time":43,"kind":"hypercall.denied","fields":{"hypercall":"domctl","op":null},"message":"domctl: not privileged"}""", lines[1]);
    }

    [Fact]
    public void APlugInsFieldsAreWrittenAsTheyAreTyped()
    {
        var data = new PlugInEventData("mine.sealed", [EventField.Of("region", 3), EventField.Of("lines", 64UL), EventField.Hex("mfn", 0x216),
            EventField.Of("cipher", "aes \"ctr\" -> dram"), EventField.Of("verified", true), EventField.Of("rc", -22)]);
        JsonElement e = JsonDocument.Parse(Assert.Single(Lines(log => log.Write(new HostEvent(7, 1, null, data))))).RootElement;
        JsonElement f = e.GetProperty("fields");
        Assert.Equal(["region", "lines", "mfn", "cipher", "verified", "rc"], f.EnumerateObject().Select(p => p.Name));
        Assert.Equal(3, f.GetProperty("region").GetInt32());
        Assert.Equal(64UL, f.GetProperty("lines").GetUInt64());
        Assert.Equal("0x216", f.GetProperty("mfn").GetString());
        Assert.Equal("aes \"ctr\" -> dram", f.GetProperty("cipher").GetString());
        Assert.True(f.GetProperty("verified").GetBoolean());
        Assert.Equal(-22, f.GetProperty("rc").GetInt32());
        Assert.Equal("region=3 lines=64 mfn=0x216 cipher=aes \"ctr\" -> dram verified=yes rc=-22", e.GetProperty("message").GetString());
    }

    [Fact]
    public void TheLogStopsAtItsCapWithOneTruncationLineAndStaysValid()
    {
        const long cap = 4096;
        string[] lines = Lines(log =>
        {
            for (int i = 0; i < 1000; i++)
            {
                log.Write(new HostEvent((ulong)i, 1, 0, new P2mReadOnlyWriteData(new GuestPhysicalAddress(0x8000_1000 + (ulong)i), 8, P2mType.RamRo)));
            }
        }, cap);
        Assert.True(lines.Sum(l => l.Length + 1) <= cap, $"{lines.Sum(l => l.Length + 1)} bytes");
        JsonElement[] events = [.. lines.Select(l => JsonDocument.Parse(l).RootElement)];
        Assert.Equal(EventLog.TruncatedKind, events[^1].GetProperty("kind").GetString());
        Assert.Single(events, e => e.GetProperty("kind").GetString() == EventLog.TruncatedKind);
        Assert.True(events.Length > 10);
        // Times keep their order: the truncation line carries the time of the event it replaced.
        Assert.Equal(events.Length - 1, (int)events[^1].GetProperty("time").GetUInt64());
        Assert.Equal(cap, events[^1].GetProperty("fields").GetProperty("limit").GetInt64());
    }

    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
