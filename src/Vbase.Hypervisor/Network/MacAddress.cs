using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Vbase.Hypervisor.Network;

/// <summary>A 48-bit Ethernet address, kept in the low 48 bits in wire order (the first byte is the highest).</summary>
public readonly record struct MacAddress(ulong Value)
{
    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFFUL);

    public static MacAddress FromBytes(ReadOnlySpan<byte> six)
    {
        Span<byte> b = stackalloc byte[8];
        b.Clear();
        six[..6].CopyTo(b[2..]);
        return new MacAddress(BinaryPrimitives.ReadUInt64BigEndian(b));
    }

    public void CopyTo(Span<byte> six)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, Value);
        b[2..].CopyTo(six);
    }

    public byte[] ToBytes()
    {
        byte[] six = new byte[6];
        CopyTo(six);
        return six;
    }

    /// <summary>The group bit (broadcast and multicast): the first byte's lowest bit.</summary>
    public bool IsGroup => ((Value >> 40) & 1) != 0;

    /// <summary>Parses <c>02:00:00:00:00:01</c> (six pairs of hex digits separated by ':').</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out MacAddress? mac)
    {
        mac = null;
        string[] parts = text.Split(':');
        if (parts.Length != 6)
        {
            return false;
        }
        ulong v = 0;
        foreach (string p in parts)
        {
            if (p.Length != 2 || !byte.TryParse(p, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                return false;
            }
            v = (v << 8) | b;
        }
        mac = new MacAddress(v);
        return true;
    }

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        CopyTo(b);
        return string.Create(CultureInfo.InvariantCulture, $"{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}:{b[4]:x2}:{b[5]:x2}");
    }
}
