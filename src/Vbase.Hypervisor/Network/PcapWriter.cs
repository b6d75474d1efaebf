using System.Buffers.Binary;

namespace Vbase.Hypervisor.Network;

/// <summary>
/// Writes frames as a classic libpcap file (not pcapng) with nanosecond timestamps (magic 0xa1b23c4d) and
/// LINKTYPE_ETHERNET, which Wireshark, tshark and tcpdump all read. Time is virtual: one tick is written as one
/// nanosecond, so a capture's clock starts at 1970-01-01 and runs at the guests' pace, the same on every run.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    public const uint NanosecondMagic = 0xa1b2_3c4d;
    public const uint LinkTypeEthernet = 1;
    public const int SnapLength = 65_535;

    private readonly Stream stream;
    private readonly bool ownsStream;
    private readonly byte[] recordHeader = new byte[16];

    public PcapWriter(Stream stream, bool ownsStream = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        this.stream = stream;
        this.ownsStream = ownsStream;
        Span<byte> h = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(h, NanosecondMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);   // version 2.4
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], 0);    // thiszone
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0);  // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], SnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], LinkTypeEthernet);
        stream.Write(h);
    }

    /// <summary>Frames written so far.</summary>
    public ulong Frames { get; private set; }

    public void Write(ulong ticks, ReadOnlySpan<byte> frame)
    {
        Span<byte> r = recordHeader;
        BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)(ticks / 1_000_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(r[4..], (uint)(ticks % 1_000_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(r[8..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(r[12..], (uint)frame.Length);
        stream.Write(r);
        stream.Write(frame);
        Frames++;
    }

    public void Flush() => stream.Flush();

    public void Dispose()
    {
        stream.Flush();
        if (ownsStream)
        {
            stream.Dispose();
        }
    }
}
