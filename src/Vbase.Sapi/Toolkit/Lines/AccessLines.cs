using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.Sapi;

namespace Vbase.Sapi.Toolkit.Lines;

/// <summary>Machine addresses of lines.</summary>
public static class LineAddresses
{
    /// <summary>The machine address of byte <paramref name="offset"/> of frame <paramref name="mfn"/>.</summary>
    public static ulong Of(Mfn mfn, int offset) => (mfn.Value << PageSize.Shift) + (ulong)offset;
}

/// <summary>
/// The lines an access of <c>length</c> bytes at <see cref="MemoryAccessContext.Offset"/> touches, in order (a hart's
/// access spans two at most when misaligned; a copy may span a page): what a per-line read, or a per-line
/// read-modify-write, walks over. <c>foreach (AccessLine line in AccessLines.Of(access, data.Length, 64))</c>.
/// </summary>
public readonly ref struct AccessLines
{
    private readonly int offset;
    private readonly int end;
    private readonly int lineBytes;
    private readonly int regionPage;
    private readonly Mfn mfn;

    private AccessLines(int offset, int length, int lineBytes, int regionPage, Mfn mfn)
    {
        this.offset = offset;
        end = offset + length;
        this.lineBytes = lineBytes;
        this.regionPage = regionPage;
        this.mfn = mfn;
    }

    /// <summary>The lines of <paramref name="lineBytes"/> bytes (a power of two) that <paramref name="access"/> touches.</summary>
    public static AccessLines Of(in MemoryAccessContext access, int length, int lineBytes)
    {
        if (lineBytes <= 0 || (lineBytes & (lineBytes - 1)) != 0 || lineBytes > PageSize.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(lineBytes), lineBytes, "a power of two up to a page");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new AccessLines(access.Offset, length, lineBytes, access.RegionPage, access.Mfn);
    }

    public Enumerator GetEnumerator() => new(this);

    /// <summary>Walks the lines: <see cref="Current"/> after each successful <see cref="MoveNext"/>.</summary>
    public ref struct Enumerator
    {
        private readonly AccessLines lines;
        private int position;
        private AccessLine current;

        internal Enumerator(AccessLines lines)
        {
            this.lines = lines;
            position = lines.offset;
        }

        public readonly AccessLine Current => current;

        public bool MoveNext()
        {
            if (position >= lines.end)
            {
                return false;
            }
            int lineBytes = lines.lineBytes;
            int start = position & ~(lineBytes - 1);
            int count = Math.Min(start + lineBytes, lines.end) - position;
            current = new AccessLine(start, position, count, position - lines.offset,
                (lines.regionPage * (PageSize.Bytes / lineBytes)) + (start / lineBytes), LineAddresses.Of(lines.mfn, start));
            position += count;
            return true;
        }
    }
}

/// <summary>One line an access touches.</summary>
/// <param name="Start">The line's offset in the frame.</param>
/// <param name="Position">The first byte of the access in this line, as an offset in the frame.</param>
/// <param name="Count">How many bytes of the access fall in this line.</param>
/// <param name="DataOffset">Where those bytes are in the access's data.</param>
/// <param name="Index">The line's index in the region: region page × lines per page + line in the page.</param>
/// <param name="Address">The line's machine address.</param>
public readonly record struct AccessLine(int Start, int Position, int Count, int DataOffset, int Index, ulong Address)
{
    /// <summary>Where the access's bytes start inside the line.</summary>
    public int InLine => Position - Start;
}
