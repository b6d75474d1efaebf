using Vbase.Platform.Loading;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Metadata;
using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Architectures.Bmt;

/// <summary>
/// The knobs of <see cref="BmtArchitecture"/>, read from <see cref="ArchitectureOptions.Parameters"/> (keys below);
/// the defaults are the paper's design point: 64-byte lines, 7-bit minor counters (64 per 4 KiB page plus a 64-bit
/// major fill one 64-byte counter block), 64-bit MACs, an 8-ary tree of 64-bit digests (one node = one 64-byte
/// line) and a 32 KiB 8-way metadata cache. Ranges follow from the lines in DRAM: minors of 1 to 7 bits (a counter
/// block is one line), MACs of 4, 8, 16 or 32 bytes (a MAC line holds whole tags), arity 2 to 8.
/// </summary>
public sealed record BmtParameters
{
    public const string MetadataCacheBytesKey = "metadata-cache-bytes";
    public const string MetadataCacheWaysKey = "metadata-cache-ways";
    public const string MacBytesKey = "mac-bytes";
    public const string TreeArityKey = "tree-arity";
    public const string MinorBitsKey = "minor-bits";

    /// <summary>The on-chip cache is modelled in host memory: 64 MiB of metadata at most, as for aegis and xom.</summary>
    public const int MaxMetadataCacheBytes = 1 << 26;
    public const int MaxMetadataCacheWays = 1024;

    private static readonly string[] Keys = [MetadataCacheBytesKey, MetadataCacheWaysKey, MacBytesKey, TreeArityKey, MinorBitsKey];

    public int MetadataCacheBytes { get; init; } = 32 * 1024;
    public int MetadataCacheWays { get; init; } = 8;
    public int MacBytes { get; init; } = 8;
    public int TreeArity { get; init; } = 8;
    public int MinorBits { get; init; } = 7;

    /// <summary>The defaults overridden by whichever keys <paramref name="options"/> sets.</summary>
    /// <exception cref="ArgumentException">A value is not an integer.</exception>
    public static BmtParameters From(ArchitectureOptions options)
    {
        IReadOnlyDictionary<string, string> p = options.Parameters;
        foreach (string key in p.Keys)
        {
            if (!Keys.Contains(key))
            {
                throw ParameterValues.Unknown("bmt", key, Keys);
            }
        }
        var defaults = new BmtParameters();
        var chosen = new BmtParameters
        {
            MetadataCacheBytes = Int(p, MetadataCacheBytesKey, defaults.MetadataCacheBytes),
            MetadataCacheWays = Int(p, MetadataCacheWaysKey, defaults.MetadataCacheWays),
            MacBytes = Int(p, MacBytesKey, defaults.MacBytes),
            TreeArity = Int(p, TreeArityKey, defaults.TreeArity),
            MinorBits = Int(p, MinorBitsKey, defaults.MinorBits),
        };
        chosen.Validate();
        return chosen;
    }

    /// <summary>Checks the values now, so that a bad scenario fails when the architecture is built, not when attached.</summary>
    /// <exception cref="ArgumentException">A value the toolkit would refuse.</exception>
    public void Validate()
    {
        Check(MacBytes is 4 or 8 or 16 or 32, MacBytesKey, MacBytes, "4, 8, 16 or 32 (a MAC line holds whole tags)");
        Check(TreeArity is >= 2 and <= DramMetadataCache.LineBytes / BmtEngine.TreeDigestBytes, TreeArityKey, TreeArity, "2 to 8 (a node is one line of 8-byte digests)");
        Check(MinorBits is >= 1 and <= 7, MinorBitsKey, MinorBits, "1 to 7 (64 minors and the 64-bit major fill one 64-byte counter block)");
        Check(MetadataCacheWays is >= 1 and <= MaxMetadataCacheWays, MetadataCacheWaysKey, MetadataCacheWays, $"1 to {MaxMetadataCacheWays}");
        Check(MetadataCacheBytes is >= 64 and <= MaxMetadataCacheBytes && MetadataCacheBytes % (MetadataCacheWays * 64L) == 0,
            MetadataCacheBytesKey, MetadataCacheBytes, $"a multiple of {MetadataCacheWaysKey} × 64 from 64 to {MaxMetadataCacheBytes}");
    }

    private static void Check(bool ok, string key, int value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentException($"bmt parameter {key} = {value}: expected {expected}");
        }
    }

    private static int Int(IReadOnlyDictionary<string, string> parameters, string key, int fallback)
    {
        if (!parameters.TryGetValue(key, out string? text))
        {
            return fallback;
        }
        return GroupedDigits.TryParse(text, out int value)
            ? value
            : throw new ArgumentException($"bmt parameter {key} = '{text}' is not an integer", nameof(parameters));
    }
}
