using Vbase.Sapi;
using Vbase.Sapi.Chip;

namespace Vbase.Sapi.Toolkit.Metadata;

/// <summary>
/// Hands out line-aligned pieces of a <see cref="MetadataArea"/> (a region's counters, MACs and tree), first fit,
/// zeroed; freed when the region goes so that a guest looping on enter and exit reuses the same bytes.
/// </summary>
public sealed class MetadataAllocator(MetadataArea area)
{
    private readonly List<(ulong Offset, ulong Length)> used = [];   // sorted by offset

    public MetadataArea Area { get; } = area ?? throw new ArgumentNullException(nameof(area));

    /// <summary>Bytes handed out now.</summary>
    public ulong UsedBytes { get; private set; }

    /// <summary>The area offset of <paramref name="bytes"/> (rounded up to lines) zeroed bytes, or null if the area is full.</summary>
    public ulong? Allocate(ulong bytes)
    {
        ulong length = (bytes + DramMetadataCache.LineBytes - 1) / DramMetadataCache.LineBytes * DramMetadataCache.LineBytes;
        if (length == 0)
        {
            return null;
        }
        ulong at = 0;
        int i = 0;
        for (; i < used.Count && used[i].Offset - at < length; i++)
        {
            at = used[i].Offset + used[i].Length;
        }
        if (at + length > Area.Bytes)
        {
            return null;
        }
        used.Insert(i, (at, length));
        UsedBytes += length;
        for (ulong o = 0; o < length; o += 4096)
        {
            Area.Slice(at + o, (int)Math.Min(4096, length - o)).Clear();
        }
        return at;
    }

    public void Free(ulong offset)
    {
        int i = used.FindIndex(u => u.Offset == offset);
        if (i < 0)
        {
            throw new ArgumentException($"nothing allocated at metadata offset 0x{offset:x}", nameof(offset));
        }
        UsedBytes -= used[i].Length;
        used.RemoveAt(i);
    }
}
