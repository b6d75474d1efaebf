using System.Text;
using System.Text.Json;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Tests;

/// <summary>events.jsonl stays under its cap: the line that would pass it becomes one log.truncated event.</summary>
public class EventLogTests
{
    [Fact]
    public void TheLogStopsAtItsCapWithOneTruncationLineAndStaysValid()
    {
        const long cap = 4096;
        var file = new MemoryStream();
        using (var log = new EventLog(new NonClosing(file), ["app"], cap))
        {
            for (int i = 0; i < 1000; i++)
            {
                log.Write(new HostEvent((ulong)i, "p2m.write_to_readonly", 1, 0, $"gpa=0x{0x8000_1000 + i:x} size=8 type=ram_ro"));
            }
        }
        Assert.True(file.Length <= cap, $"{file.Length} bytes");
        string[] lines = Encoding.UTF8.GetString(file.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        JsonElement[] events = [.. lines.Select(l => JsonDocument.Parse(l).RootElement)];
        Assert.Equal(EventLog.TruncatedKind, events[^1].GetProperty("kind").GetString());
        Assert.Single(events, e => e.GetProperty("kind").GetString() == EventLog.TruncatedKind);
        Assert.True(events.Length > 10);
        // Times keep their order: the truncation line carries the time of the event it replaced.
        Assert.Equal(events.Length - 1, (int)events[^1].GetProperty("time").GetUInt64());
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
