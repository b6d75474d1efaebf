namespace Vbase.Sapi.Chip;

/// <summary>
/// What crossed the chip boundary in a run, counted by the hypervisor (data lines) and by the architecture's
/// metadata cache (metadata lines), with the work the architecture did on them: the inputs of the cost model.
/// </summary>
public sealed class CostCounters
{
    /// <summary>Protected lines filled from DRAM (data reads).</summary>
    public long DataReads;
    /// <summary>Dirty protected lines written back to DRAM (data writes).</summary>
    public long DataWrites;
    /// <summary>Metadata lines (counters, MACs, tree nodes) read from DRAM on a metadata-cache miss.</summary>
    public long MetadataReads;
    /// <summary>Dirty metadata lines written back to DRAM.</summary>
    public long MetadataWrites;
    /// <summary>Accesses to protected lines served on chip by the hypervisor's slow path (the harts count theirs).</summary>
    public long SlowHits;
    /// <summary>Lines encrypted or decrypted.</summary>
    public long CipherOps;
    /// <summary>MACs and tree-node hashes computed or checked.</summary>
    public long MacOps;

    public DramTraffic Snapshot(long hartHits, ulong instructions) =>
        new(DataReads, DataWrites, MetadataReads, MetadataWrites, hartHits + SlowHits, CipherOps, MacOps, instructions);
}

/// <summary>
/// A run's DRAM traffic and work at the chip boundary, and the cycle estimate of the cost model: one cycle per
/// retired instruction, plus each protected hit, each line moved to or from DRAM and each cipher and MAC operation
/// at its latency (<see cref="CostLatencies"/>). Comparable between architectures on the same application: the
/// same instructions and data lines, different metadata and work.
/// </summary>
public sealed record DramTraffic(long DataReads, long DataWrites, long MetadataReads, long MetadataWrites, long Hits,
    long CipherOps, long MacOps, ulong Instructions)
{
    public static readonly DramTraffic None = new(0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>Lines moved between the chip and DRAM.</summary>
    public long Lines => DataReads + DataWrites + MetadataReads + MetadataWrites;

    /// <summary>The hit rate of protected accesses on chip (1 when there were none).</summary>
    public double HitRate => Hits + DataReads == 0 ? 1 : (double)Hits / (Hits + DataReads);

    public ulong Cycles(CostLatencies l) => Instructions
        + (ulong)(Hits * l.HitCycles)
        + (ulong)(Lines * l.DramCycles)
        + (ulong)(CipherOps * l.CipherCycles)
        + (ulong)(MacOps * l.MacCycles);
}
