using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Architectures.Xom;

/// <summary>Where XOM's per-line MACs live, and so what a physical attacker can do to them.</summary>
public enum XomMacStore
{
    /// <summary>
    /// XOM as published: each tag sits in DRAM (the metadata area), read through an on-chip tag cache, so whoever puts
    /// back an old line can put back its old tag too (phys-rollback), or write chosen bytes over it (phys-meta-spoof).
    /// </summary>
    Dram,
    /// <summary>
    /// An ablation, not XOM: the current tag of every line is held on chip, out of an attacker's reach, so an old
    /// (ciphertext, tag) pair no longer verifies. Shows that XOM's replay weakness is its off-chip tags without
    /// freshness, not its MAC.
    /// </summary>
    Chip,
}

/// <summary>
/// XOM's knobs, read from <see cref="ArchitectureOptions.Parameters"/>:
/// <c>mac-bytes</c> (4–8, default 8), <c>mac-store</c> (<c>dram</c> | <c>chip</c>, default <c>dram</c>),
/// <c>metadata-cache-bytes</c> (default 32768) and <c>metadata-cache-ways</c> (default 8): the on-chip tag cache, whose
/// size must be a multiple of 64 bytes × its ways.
/// </summary>
public sealed record XomParameters
{
    public int MacBytes { get; init; } = 8;
    public XomMacStore MacStore { get; init; } = XomMacStore.Dram;
    public int MetadataCacheBytes { get; init; } = 32 * 1024;
    public int MetadataCacheWays { get; init; } = 8;

    /// <exception cref="ArgumentException">A parameter this architecture does not have, or a value out of range.</exception>
    public static XomParameters From(ArchitectureOptions options)
    {
        var p = new XomParameters();
        foreach ((string name, string value) in options.Parameters)
        {
            p = name switch
            {
                "mac-bytes" => p with { MacBytes = ParameterValues.Integer(name, value, 4, 8) },
                "mac-store" => p with
                {
                    MacStore = value switch
                    {
                        "dram" => XomMacStore.Dram,
                        "chip" => XomMacStore.Chip,
                        _ => throw new ArgumentException($"xom: mac-store is 'dram' or 'chip', not '{value}'", nameof(options)),
                    },
                },
                "metadata-cache-bytes" => p with { MetadataCacheBytes = ParameterValues.Integer(name, value, 64, 1 << 26) },
                "metadata-cache-ways" => p with { MetadataCacheWays = ParameterValues.Integer(name, value, 1, 1024) },
                _ => throw ParameterValues.Unknown("xom", name, ["mac-bytes", "mac-store", "metadata-cache-bytes", "metadata-cache-ways"]),
            };
        }
        if (p.MetadataCacheBytes % (64 * p.MetadataCacheWays) != 0)
        {
            throw new ArgumentException($"xom: metadata-cache-bytes ({p.MetadataCacheBytes}) must be a multiple of 64 bytes × metadata-cache-ways ({p.MetadataCacheWays})", nameof(options));
        }
        return p;
    }
}
