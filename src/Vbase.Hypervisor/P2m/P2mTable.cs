using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.P2m;

/// <summary>
/// A domain's p2m (guest frame → machine frame + type). Sparse, because grant and foreign mappings land at
/// GFNs outside RAM. Every change is reported through <see cref="Changed"/> so the domain's vCPUs drop what
/// their TLBs and decode caches hold for the old frame.
/// </summary>
public sealed class P2mTable
{
    private readonly Dictionary<ulong, P2mEntry> entries = [];

    /// <summary>Raised after every change, with the GFN that changed.</summary>
    internal event Action<Gfn>? Changed;

    public P2mEntry Lookup(Gfn gfn) => entries.TryGetValue(gfn.Value, out P2mEntry e) ? e : P2mEntry.Invalid;

    public int Count => entries.Count;

    public void Set(Gfn gfn, P2mEntry entry)
    {
        if (entry.Type == P2mType.Invalid)
        {
            entries.Remove(gfn.Value);
        }
        else
        {
            entries[gfn.Value] = entry;
        }
        Changed?.Invoke(gfn);
    }

    public void Remove(Gfn gfn) => Set(gfn, P2mEntry.Invalid);

    /// <summary>Every valid entry in no particular order, without copying (hypervisor-internal scans).</summary>
    internal Dictionary<ulong, P2mEntry> Entries => entries;

    /// <summary>A copy of every valid entry, ordered by GFN (for tests, the Monitor and the Oracle).</summary>
    public IReadOnlyList<KeyValuePair<Gfn, P2mEntry>> Snapshot() =>
        [.. entries.OrderBy(kv => kv.Key).Select(kv => new KeyValuePair<Gfn, P2mEntry>(new Gfn(kv.Key), kv.Value))];
}
