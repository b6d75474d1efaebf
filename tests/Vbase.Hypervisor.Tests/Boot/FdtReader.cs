using System.Buffers.Binary;
using System.Text;

namespace Vbase.Hypervisor.Tests.Boot;

/// <summary>
/// Decodes a DTB back into nodes and properties, independently of the writer (from the Devicetree Specification's
/// description of the format), so that tests check the blob, not the writer's own idea of it.
/// </summary>
internal sealed class FdtNode(string name)
{
    public string Name { get; } = name;
    public Dictionary<string, byte[]> Properties { get; } = new(StringComparer.Ordinal);
    public List<FdtNode> Children { get; } = [];

    public FdtNode Child(string name) => Children.Single(c => c.Name == name);

    public FdtNode At(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries).Aggregate(this, (n, part) => n.Child(part));

    public string String(string property) => Encoding.ASCII.GetString(Properties[property]).TrimEnd('\0');

    public uint[] Cells(string property)
    {
        byte[] b = Properties[property];
        return [.. Enumerable.Range(0, b.Length / 4).Select(i => BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(i * 4)))];
    }

    public ulong[] Cells64(string property)
    {
        byte[] b = Properties[property];
        return [.. Enumerable.Range(0, b.Length / 8).Select(i => BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(i * 8)))];
    }

    public static (FdtNode Root, List<(ulong, ulong)> Reserved, uint BootCpu) Parse(byte[] blob)
    {
        ReadOnlySpan<byte> b = blob;
        uint U32(int at) => BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(at));
        Assert.Equal(0xD00DFEEDu, U32(0));
        Assert.Equal((uint)blob.Length, U32(4));
        int structOffset = (int)U32(8), stringsOffset = (int)U32(12), reserveOffset = (int)U32(16);
        Assert.Equal(17u, U32(20));
        Assert.Equal(16u, U32(24));
        Assert.Equal((uint)(blob.Length - stringsOffset), U32(32));
        int structSize = (int)U32(36);
        Assert.Equal(0, structOffset % 4);
        Assert.Equal(0, reserveOffset % 8);
        var reserved = new List<(ulong, ulong)>();
        for (int at = reserveOffset; ; at += 16)
        {
            ulong addr = BinaryPrimitives.ReadUInt64BigEndian(b[at..]), size = BinaryPrimitives.ReadUInt64BigEndian(b[(at + 8)..]);
            if (addr == 0 && size == 0)
            {
                break;
            }
            reserved.Add((addr, size));
        }
        var stack = new Stack<FdtNode>();
        FdtNode? root = null;
        int p = structOffset;
        while (true)
        {
            uint token = U32(p);
            p += 4;
            switch (token)
            {
                case 1:
                    int end = blob.AsSpan(p).IndexOf((byte)0);
                    var node = new FdtNode(Encoding.ASCII.GetString(blob, p, end));
                    p = (p + end + 1 + 3) & ~3;
                    if (stack.Count == 0)
                    {
                        Assert.Null(root);
                        root = node;
                    }
                    else
                    {
                        stack.Peek().Children.Add(node);
                    }
                    stack.Push(node);
                    break;
                case 2:
                    stack.Pop();
                    break;
                case 3:
                    int len = (int)U32(p), nameOff = (int)U32(p + 4);
                    p += 8;
                    int nameEnd = blob.AsSpan(stringsOffset + nameOff).IndexOf((byte)0);
                    string name = Encoding.ASCII.GetString(blob, stringsOffset + nameOff, nameEnd);
                    stack.Peek().Properties.Add(name, blob[p..(p + len)]);
                    p = (p + len + 3) & ~3;
                    break;
                case 4:
                    break;
                case 9:
                    Assert.Empty(stack);
                    Assert.Equal(structOffset + structSize, p);
                    return (root!, reserved, U32(28));
                default:
                    Assert.Fail($"bad token {token} at 0x{p - 4:x}");
                    break;
            }
        }
    }
}
