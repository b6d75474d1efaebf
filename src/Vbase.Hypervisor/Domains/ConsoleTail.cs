using System.Text;

namespace Vbase.Hypervisor.Domains;

/// <summary>
/// The last bytes a domain wrote to its console, in a fixed ring: what Dom0 can read back without the host
/// keeping every byte a guest ever prints.
/// </summary>
internal sealed class ConsoleTail(int capacity)
{
    private readonly byte[] ring = new byte[capacity];
    private long written;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > ring.Length)
        {
            written += bytes.Length - ring.Length;   // the bytes that would be overwritten at once
            bytes = bytes[^ring.Length..];
        }
        foreach (byte b in bytes)
        {
            ring[written++ % ring.Length] = b;
        }
    }

    /// <summary>Every byte written so far, kept or not.</summary>
    public long Written => written;

    /// <summary>The kept bytes, oldest first, Latin-1 decoded (as the console's line callback).</summary>
    public override string ToString()
    {
        int kept = (int)Math.Min(written, ring.Length);
        var s = new StringBuilder(kept);
        for (long i = written - kept; i < written; i++)
        {
            s.Append((char)ring[i % ring.Length]);
        }
        return s.ToString();
    }
}
