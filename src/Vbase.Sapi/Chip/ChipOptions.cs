namespace Vbase.Sapi.Chip;

/// <summary>
/// The on-chip boundary a secure architecture acts at: the last-level cache that holds protected lines in
/// plaintext, and the latencies of the cost model. Set from the scenario (<c>chip:</c>) and <c>--llc-*</c>.
/// </summary>
public sealed record ChipOptions
{
    /// <summary>Bytes per line: the unit of fills, write-backs, encryption and MACs.</summary>
    public const int LineBytes = 64;

    /// <summary>The last-level cache's capacity (default 1 MiB).</summary>
    public int CacheBytes { get; init; } = 1 << 20;

    /// <summary>Ways per set (default 16).</summary>
    public int Ways { get; init; } = 16;

    /// <summary>The cost model's latencies.</summary>
    public CostLatencies Latencies { get; init; } = new();

    public int Sets => CacheBytes / (LineBytes * Ways);

    /// <summary>Why the options cannot build a cache, or null.</summary>
    public string? Problem()
    {
        if (Ways <= 0 || Ways > 64)
        {
            return $"the cache's ways must be 1..64 (got {Ways})";
        }
        if (CacheBytes < LineBytes * Ways || CacheBytes % (LineBytes * Ways) != 0)
        {
            return $"the cache size must be a positive multiple of {LineBytes} bytes × {Ways} ways (got {CacheBytes})";
        }
        return Latencies.Problem();
    }
}

/// <summary>
/// Latencies in cycles for the cost model's estimate (docs/architectures.md, "cost model"). Defaults follow the
/// usual figures of the memory-encryption literature for a ~3 GHz core: an LLC hit ~40 cycles, a DRAM access ~200,
/// a line's AES pass ~40 (pipelined, off the critical path only partly), a MAC or tree hash ~80.
/// </summary>
public sealed record CostLatencies
{
    /// <summary>An access served on chip from a protected line.</summary>
    public int HitCycles { get; init; } = 0;
    /// <summary>One line moved between the chip and DRAM (data or metadata, read or write).</summary>
    public int DramCycles { get; init; } = 200;
    /// <summary>Encrypting or decrypting one line.</summary>
    public int CipherCycles { get; init; } = 40;
    /// <summary>One MAC or tree-node hash computed or checked.</summary>
    public int MacCycles { get; init; } = 80;

    public string? Problem() => HitCycles < 0 || DramCycles < 0 || CipherCycles < 0 || MacCycles < 0
        ? "latencies cannot be negative"
        : null;
}
