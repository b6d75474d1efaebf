using Vbase.Sapi.Memory;

namespace Vbase.Architectures.Pmp;

/// <summary>How a PMP entry encodes its range (RISC-V privileged spec, §3.7 "Physical Memory Protection").</summary>
public enum PmpAddressMode
{
    /// <summary>Naturally aligned power of two: one pmpaddr register, the range's size a power of two (≥ 8 bytes)
    /// and its base aligned to it.</summary>
    Napot,
    /// <summary>Top of range: the entry's pmpaddr is the top, the previous register the base, so an isolated range
    /// costs two entries.</summary>
    Tor,
}

/// <summary>One enclave range in the table.</summary>
/// <param name="Base">First byte (physical).</param>
/// <param name="Bytes">Length.</param>
/// <param name="Mode">Encoding.</param>
/// <param name="Owner">The region (enclave) the range is granted to.</param>
public readonly record struct PmpRange(ulong Base, ulong Bytes, PmpAddressMode Mode, int Owner)
{
    /// <summary>PMP entries the range occupies.</summary>
    public int Entries => Mode == PmpAddressMode.Tor ? 2 : 1;

    public bool Contains(ulong address) => address - Base < Bytes;
}

/// <summary>
/// The security monitor's PMP programming, Keystone-style: each enclave's frames are merged into contiguous
/// physical ranges, each range encoded in the fewest entries (one NAPOT entry if it is a naturally aligned power of
/// two, else two NAPOT entries if it splits into two such blocks, else a TOR pair), within a fixed number of hardware
/// entries. Like Keystone's SM, two entries are not the enclaves': entry 0 guards the monitor's own memory and the
/// last is the catch-all that gives the untrusted OS everything else, at the lowest priority. A registration that
/// does not fit is refused as a whole. Allocation happens at registration only; <see cref="Find"/> does not allocate.
/// </summary>
public sealed class PmpTable
{
    /// <summary>Entries of the monitor itself and of the OS's catch-all, not available to enclaves.</summary>
    public const int ReservedEntries = 2;

    private readonly List<PmpRange> ranges = [];

    /// <param name="hardwareEntries">PMP entries the hart has (16 in most implementations, up to 64).</param>
    public PmpTable(int hardwareEntries = 16)
    {
        if (hardwareEntries is <= ReservedEntries or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(hardwareEntries), hardwareEntries, $"a hart has {ReservedEntries + 1} to 64 PMP entries here");
        }
        HardwareEntries = hardwareEntries;
    }

    public int HardwareEntries { get; }
    /// <summary>Entries enclaves may use.</summary>
    public int EnclaveEntries => HardwareEntries - ReservedEntries;
    /// <summary>Entries in use by enclaves.</summary>
    public int UsedEntries { get; private set; }
    /// <summary>The enclave ranges, in priority order (the lowest-numbered entry matches first).</summary>
    public IReadOnlyList<PmpRange> Ranges => ranges;

    /// <summary>The ranges that would cover <paramref name="frames"/> (merged where contiguous), without granting them.</summary>
    public static IReadOnlyList<PmpRange> Plan(IReadOnlyList<Mfn> frames, int owner)
    {
        ulong[] sorted = [.. frames.Select(f => f.Value).Order()];
        var plan = new List<PmpRange>();
        int i = 0;
        while (i < sorted.Length)
        {
            int j = i + 1;
            while (j < sorted.Length && sorted[j] == sorted[j - 1] + 1)
            {
                j++;
            }
            Encode(sorted[i] << PageSize.Shift, (ulong)(j - i) << PageSize.Shift, owner, plan);
            i = j;
        }
        return plan;
    }

    /// <summary>Grants <paramref name="frames"/> to <paramref name="owner"/>; false (and nothing changes) if the ranges
    /// do not fit in the free entries.</summary>
    public bool TryGrant(IReadOnlyList<Mfn> frames, int owner)
    {
        IReadOnlyList<PmpRange> plan = Plan(frames, owner);
        int needed = plan.Sum(r => r.Entries);
        if (UsedEntries + needed > EnclaveEntries)
        {
            return false;
        }
        ranges.AddRange(plan);
        UsedEntries += needed;
        return true;
    }

    /// <summary>Frees the entries of <paramref name="owner"/>.</summary>
    public void Revoke(int owner)
    {
        ranges.RemoveAll(r => r.Owner == owner);
        UsedEntries = ranges.Sum(r => r.Entries);
    }

    /// <summary>The first range (by priority) that contains <paramref name="address"/>, or null: the OS's catch-all.</summary>
    public PmpRange? Find(ulong address)
    {
        foreach (PmpRange r in ranges)
        {
            if (r.Contains(address))
            {
                return r;
            }
        }
        return null;
    }

    /// <summary>One contiguous run: one NAPOT entry, two NAPOT entries, or a TOR pair — whichever is fewest.</summary>
    private static void Encode(ulong start, ulong bytes, int owner, List<PmpRange> into)
    {
        var blocks = new List<PmpRange>();
        ulong at = start, left = bytes;
        while (left > 0 && blocks.Count <= 2)
        {
            ulong size = LargestNaturalBlock(at, left);
            blocks.Add(new PmpRange(at, size, PmpAddressMode.Napot, owner));
            at += size;
            left -= size;
        }
        if (left == 0 && blocks.Count <= 2)
        {
            into.AddRange(blocks);
        }
        else
        {
            into.Add(new PmpRange(start, bytes, PmpAddressMode.Tor, owner));
        }
    }

    /// <summary>The largest power of two that <paramref name="at"/> is aligned to and that fits in <paramref name="left"/>.</summary>
    private static ulong LargestNaturalBlock(ulong at, ulong left)
    {
        ulong alignment = at == 0 ? 1UL << 63 : at & (~at + 1);
        ulong fit = 1UL << (63 - System.Numerics.BitOperations.LeadingZeroCount(left));
        return Math.Min(alignment, fit);
    }
}
