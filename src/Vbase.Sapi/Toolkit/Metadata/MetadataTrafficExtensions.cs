using Vbase.Hypervisor.Sapi;

namespace Vbase.Sapi.Toolkit.Metadata;

/// <summary>An architecture's <see cref="ISecureArchitecture.Traffic"/> from its metadata cache.</summary>
public static class MetadataTrafficExtensions
{
    /// <summary>
    /// <paramref name="protectedAccesses"/> with the cache's statistics: DRAM reads as metadata reads, write-backs as
    /// metadata writes, and its hits and misses.
    /// </summary>
    public static MetadataTraffic Traffic(this MetadataCache cache, long protectedAccesses)
    {
        ArgumentNullException.ThrowIfNull(cache);
        MetadataCacheStatistics s = cache.Statistics;
        return new MetadataTraffic(protectedAccesses, s.DramReads, s.Writebacks, s.Hits, s.Misses);
    }
}
