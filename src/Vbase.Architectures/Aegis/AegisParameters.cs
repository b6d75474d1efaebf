using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Integrity;
using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Architectures.Aegis;

/// <summary>
/// AEGIS's knobs, read from <see cref="ArchitectureOptions.Parameters"/>: <c>tree-arity</c> (2–64, default 8),
/// <c>tree-hash-bytes</c> (4–32, default 8), <c>counter-bits</c> (8–64, default 56), <c>metadata-cache-bytes</c>
/// (default 32768) and <c>metadata-cache-ways</c> (default 8).
/// </summary>
public sealed record AegisParameters
{
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
                "tree-arity" => p with { TreeArity = ParameterValues.Integer(name, value, IntegrityTree.MinArity, IntegrityTree.MaxArity) },
                "tree-hash-bytes" => p with { TreeHashBytes = ParameterValues.Integer(name, value, IntegrityTree.MinNodeHashBytes, IntegrityTree.MaxNodeHashBytes) },
                "counter-bits" => p with { CounterBits = ParameterValues.Integer(name, value, 8, 64) },
                "metadata-cache-bytes" => p with { MetadataCacheBytes = ParameterValues.Integer(name, value, 64, 1 << 26) },
                "metadata-cache-ways" => p with { MetadataCacheWays = ParameterValues.Integer(name, value, 1, 1024) },
                _ => throw ParameterValues.Unknown("aegis", name, ["tree-arity", "tree-hash-bytes", "counter-bits", "metadata-cache-bytes", "metadata-cache-ways"]),
            };
        }
        return p;
    }
}
