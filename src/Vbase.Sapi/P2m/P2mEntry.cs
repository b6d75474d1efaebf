using Vbase.Sapi.Memory;

namespace Vbase.Sapi.P2m;

/// <summary>One p2m entry: the machine frame behind a guest frame and what the guest may do with it.</summary>
public readonly record struct P2mEntry(Mfn Mfn, P2mType Type)
{
    public static readonly P2mEntry Invalid = new(default, P2mType.Invalid);
}

/// <summary>The kind of a p2m entry, as Xen's <c>p2m_type_t</c>.</summary>
public enum P2mType : byte
{
    Invalid,
    RamRw,
    RamRo,
    GrantMapRw,
    GrantMapRo,
    MapForeignRw,
    MapForeignRo,
    Mmio,
}

public static class P2mTypeExtensions
{
    public static bool IsReadable(this P2mType t) => t is not (P2mType.Invalid or P2mType.Mmio);

    public static bool IsWritable(this P2mType t) => t is P2mType.RamRw or P2mType.GrantMapRw or P2mType.MapForeignRw;

    /// <summary>Readable but a store is dropped and reported.</summary>
    public static bool IsReadOnly(this P2mType t) => t is P2mType.RamRo or P2mType.GrantMapRo or P2mType.MapForeignRo;

    /// <summary>The log name Xen uses (<c>ram_rw</c>, <c>grant_map_ro</c>, …).</summary>
    public static string ToXenName(this P2mType t) => t switch
    {
        P2mType.Invalid => "invalid",
        P2mType.RamRw => "ram_rw",
        P2mType.RamRo => "ram_ro",
        P2mType.GrantMapRw => "grant_map_rw",
        P2mType.GrantMapRo => "grant_map_ro",
        P2mType.MapForeignRw => "map_foreign_rw",
        P2mType.MapForeignRo => "map_foreign_ro",
        _ => "mmio",
    };
}
