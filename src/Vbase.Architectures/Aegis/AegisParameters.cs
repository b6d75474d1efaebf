using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Architectures.Aegis;

/// <summary>
/// AEGIS's knobs, read from <see cref="ArchitectureOptions.Parameters"/>: <c>tree-arity</c> (2–64, default 8) and
/// <c>tree-hash-bytes</c> (4–32, default 8), whose product must fit a 64-byte node line (a node is one line of DRAM:
/// arity 16 at most, with 4-byte digests);
/// <c>counter-bits</c> (8–64, default 56: a counter at its maximum re-keys the region); <c>metadata-cache-bytes</c>
/// (default 32768) and <c>metadata-cache-ways</c> (default 8), the on-chip cache of counters, hashes and nodes, whose
/// size must be a multiple of 64 bytes × its ways.
/// </summary>
public sealed record AegisParameters
{
    /// <summary>Bytes of a tree node: one line.</summary>
    public const int NodeBytes = 64;

    public int TreeArity { get; init; } = 8;
    public int TreeHashBytes { get; init; } = 8;
    public int CounterBits { get; init; } = 56;
    public int MetadataCacheBytes { get; init; } = 32 * 1024;
    public int MetadataCacheWays { get; init; } = 8;

    /// <exception cref="ArgumentException">A parameter this architecture does not have, or a value out of range.</exception>
    public static AegisParameters From(ArchitectureOptions options)
    {
        var p = new AegisParameters();
        foreach ((string name, string value) in options.Parameters)
        {
            p = name switch
            {
                "tree-arity" => p with { TreeArity = ParameterValues.Integer(name, value, 2, 64) },
                "tree-hash-bytes" => p with { TreeHashBytes = ParameterValues.Integer(name, value, 4, 32) },
                "counter-bits" => p with { CounterBits = ParameterValues.Integer(name, value, 8, 64) },
                "metadata-cache-bytes" => p with { MetadataCacheBytes = ParameterValues.Integer(name, value, 64, 1 << 26) },
                "metadata-cache-ways" => p with { MetadataCacheWays = ParameterValues.Integer(name, value, 1, 1024) },
                _ => throw ParameterValues.Unknown("aegis", name, ["tree-arity", "tree-hash-bytes", "counter-bits", "metadata-cache-bytes", "metadata-cache-ways"]),
            };
        }
        if (p.TreeArity * p.TreeHashBytes > NodeBytes)
        {
            throw new ArgumentException($"aegis: tree-arity ({p.TreeArity}) × tree-hash-bytes ({p.TreeHashBytes}) must fit a {NodeBytes}-byte node", nameof(options));
        }
        if (p.MetadataCacheBytes % (64 * p.MetadataCacheWays) != 0)
        {
            throw new ArgumentException($"aegis: metadata-cache-bytes ({p.MetadataCacheBytes}) must be a multiple of 64 bytes × metadata-cache-ways ({p.MetadataCacheWays})", nameof(options));
        }
        return p;
    }
}
