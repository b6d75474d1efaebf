using System.Globalization;
using Vbase.Platform.Loading;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// The K-th of N subsets of a campaign's work (<c>--shard K/N</c>), 1-based as Slurm's array task ids are (a
/// Kubernetes Indexed Job's 0-based <c>JOB_COMPLETION_INDEX</c> is K − 1).
/// </summary>
public readonly record struct CampaignShard
{
    /// <summary>The most shards a campaign is split into (Slurm's default MaxArraySize is 1001).</summary>
    public const int MaxCount = 10_000;

    public CampaignShard(int index, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, count);
        Index = index;
        Count = count;
    }

    /// <summary>K, from 1 to <see cref="Count"/>.</summary>
    public int Index { get; }

    /// <summary>N, from 1 to <see cref="MaxCount"/>.</summary>
    public int Count { get; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    /// <summary>Parses <c>K/N</c> (decimal digits, optionally grouped by underscores); null and why when it is not one.</summary>
    public static CampaignShard? Parse(string text, out string? problem)
    {
        string[] parts = text.Split('/');
        if (parts.Length != 2 || !GroupedDigits.TryParse(parts[0], out ulong k) || !GroupedDigits.TryParse(parts[1], out ulong n))
        {
            problem = $"'{text}' is not K/N (the K-th of N shards, e.g. 2/3)";
            return null;
        }
        if (n < 1 || n > MaxCount)
        {
            problem = $"'{text}': N must be 1 to {MaxCount}";
            return null;
        }
        if (k < 1 || k > n)
        {
            problem = $"'{text}': K must be 1 to {n} (shards count from 1)";
            return null;
        }
        problem = null;
        return new CampaignShard((int)k, (int)n);
    }
}
