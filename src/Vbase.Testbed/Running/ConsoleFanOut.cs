using System.Text;

namespace Vbase.Testbed.Running;

/// <summary>
/// Where one domain's console goes: its log file byte for byte, and the shared stream line by line, each line
/// prefixed with the domain's name (<c>[app] hello</c>) so that interleaved domains stay readable.
/// </summary>
internal sealed class ConsoleFanOut(string domain, Stream shared, Stream? log, object sharedLock) : IDisposable
{
    private readonly byte[] prefix = Encoding.UTF8.GetBytes($"[{domain}] ");
    private readonly List<byte> line = [];

    public long Bytes { get; private set; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Bytes += bytes.Length;
        log?.Write(bytes);
        while (!bytes.IsEmpty)
        {
            int newline = bytes.IndexOf((byte)'\n');
            if (newline < 0)
            {
                line.AddRange(bytes);
                return;
            }
            line.AddRange(bytes[..newline]);
            EmitLine();
            bytes = bytes[(newline + 1)..];
        }
    }

    /// <summary>Ends a last line that has no newline, so the next output starts on a line of its own.</summary>
    public void Finish()
    {
        if (line.Count > 0)
        {
            EmitLine();
        }
        log?.Flush();
    }

    private void EmitLine()
    {
        if (line.Count > 0 && line[^1] == (byte)'\r')
        {
            line.RemoveAt(line.Count - 1);
        }
        lock (sharedLock)
        {
            shared.Write(prefix);
            shared.Write(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(line));
            shared.WriteByte((byte)'\n');
            shared.Flush();
        }
        line.Clear();
    }

    public void Dispose() => log?.Dispose();
}
