using System.Buffers.Binary;
using System.Text;

namespace Vbase.Hypervisor.Boot;

/// <summary>
/// Writes a flattened device tree blob (the Devicetree Specification's DTB format, version 17): a header, the
/// memory reservation block, the structure block and the strings block, all big-endian.
/// </summary>
/// <remarks>
/// Written here rather than taken from a library: the format is four tokens and a header, a domain's tree is a
/// few dozen properties, and no .NET package writes DTBs without pulling in far more (or native libfdt).
/// Nodes are written in the order they are begun, so the same calls give the same bytes.
/// </remarks>
public sealed class FdtWriter
{
    public const uint Magic = 0xD00D_FEED;
    public const uint Version = 17, LastCompatibleVersion = 16;
    public const uint TokenBeginNode = 1, TokenEndNode = 2, TokenProp = 3, TokenNop = 4, TokenEnd = 9;
    public const int HeaderBytes = 40;

    private readonly List<byte> structure = [];
    private readonly List<byte> strings = [];
    private readonly Dictionary<string, int> stringOffsets = new(StringComparer.Ordinal);
    private readonly List<(ulong Address, ulong Size)> reservations = [];
    private int depth;

    /// <summary>The physical id of the boot CPU (the header's boot_cpuid_phys).</summary>
    public uint BootCpu { get; set; }

    /// <summary>Adds a /memreserve/ entry.</summary>
    public FdtWriter Reserve(ulong address, ulong size)
    {
        reservations.Add((address, size));
        return this;
    }

    /// <summary>Begins a node; the root is <c>""</c>.</summary>
    public FdtWriter BeginNode(string name)
    {
        if (name.Contains('\0', StringComparison.Ordinal) || (depth == 0 && name.Length != 0))
        {
            throw new ArgumentException($"bad node name '{name}' (the root node is \"\", names hold no NUL)", nameof(name));
        }
        Token(TokenBeginNode);
        structure.AddRange(Encoding.ASCII.GetBytes(name));
        structure.Add(0);
        Pad();
        depth++;
        return this;
    }

    public FdtWriter EndNode()
    {
        if (depth == 0)
        {
            throw new InvalidOperationException("no node is open");
        }
        Token(TokenEndNode);
        depth--;
        return this;
    }

    /// <summary>A property with raw bytes as its value (an empty one is a boolean property).</summary>
    public FdtWriter Bytes(string name, ReadOnlySpan<byte> value)
    {
        if (depth == 0)
        {
            throw new InvalidOperationException("a property belongs inside a node");
        }
        Token(TokenProp);
        Cell((uint)value.Length);
        Cell((uint)StringOffset(name));
        structure.AddRange(value);
        Pad();
        return this;
    }

    public FdtWriter Property(string name) => Bytes(name, []);

    /// <summary>A string property (NUL-terminated); several strings make a string list.</summary>
    public FdtWriter Property(string name, params string[] values)
    {
        var bytes = new List<byte>();
        foreach (string v in values)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes(v));
            bytes.Add(0);
        }
        return Bytes(name, bytes.ToArray());
    }

    /// <summary>A property of 32-bit cells.</summary>
    public FdtWriter Cells(string name, params uint[] cells)
    {
        byte[] bytes = new byte[cells.Length * 4];
        for (int i = 0; i < cells.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), cells[i]);
        }
        return Bytes(name, bytes);
    }

    /// <summary>A property of 64-bit values, each as two cells (for #address-cells = #size-cells = 2).</summary>
    public FdtWriter Cells64(string name, params ulong[] values)
    {
        byte[] bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(i * 8), values[i]);
        }
        return Bytes(name, bytes);
    }

    /// <summary>Finishes the tree (every node must be closed) and returns the blob.</summary>
    public byte[] ToArray()
    {
        if (depth != 0)
        {
            throw new InvalidOperationException($"{depth} node(s) still open");
        }
        var s = new List<byte>(structure);
        AppendCell(s, TokenEnd);
        int reserveOffset = HeaderBytes;
        int reserveBytes = (reservations.Count + 1) * 16;
        int structOffset = reserveOffset + reserveBytes;
        int stringsOffset = structOffset + s.Count;
        int total = stringsOffset + strings.Count;
        byte[] blob = new byte[total];
        Span<byte> b = blob;
        BinaryPrimitives.WriteUInt32BigEndian(b, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], (uint)total);
        BinaryPrimitives.WriteUInt32BigEndian(b[8..], (uint)structOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b[12..], (uint)stringsOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b[16..], (uint)reserveOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b[20..], Version);
        BinaryPrimitives.WriteUInt32BigEndian(b[24..], LastCompatibleVersion);
        BinaryPrimitives.WriteUInt32BigEndian(b[28..], BootCpu);
        BinaryPrimitives.WriteUInt32BigEndian(b[32..], (uint)strings.Count);
        BinaryPrimitives.WriteUInt32BigEndian(b[36..], (uint)s.Count);
        for (int i = 0; i < reservations.Count; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(b[(reserveOffset + (i * 16))..], reservations[i].Address);
            BinaryPrimitives.WriteUInt64BigEndian(b[(reserveOffset + (i * 16) + 8)..], reservations[i].Size);
        }
        s.CopyTo(blob, structOffset);
        strings.CopyTo(blob, stringsOffset);
        return blob;
    }

    private int StringOffset(string name)
    {
        if (!stringOffsets.TryGetValue(name, out int offset))
        {
            offset = strings.Count;
            strings.AddRange(Encoding.ASCII.GetBytes(name));
            strings.Add(0);
            stringOffsets.Add(name, offset);
        }
        return offset;
    }

    private void Token(uint token) => Cell(token);

    private void Cell(uint value) => AppendCell(structure, value);

    private static void AppendCell(List<byte> to, uint value)
    {
        to.Add((byte)(value >> 24));
        to.Add((byte)(value >> 16));
        to.Add((byte)(value >> 8));
        to.Add((byte)value);
    }

    private void Pad()
    {
        while (structure.Count % 4 != 0)
        {
            structure.Add(0);
        }
    }
}
