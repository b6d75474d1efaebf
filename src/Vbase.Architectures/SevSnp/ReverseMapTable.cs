using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.P2m;

namespace Vbase.Architectures.SevSnp;

/// <summary>One RMP entry: the machine frame belongs to <paramref name="Owner"/> and is mapped only at <paramref name="Gfn"/>.</summary>
public readonly record struct RmpEntry(DomainId Owner, Gfn Gfn, int RegionId);

/// <summary>Why the RMP refused a p2m change.</summary>
public enum RmpRefusal
{
    None,
    /// <summary>The proposed entry maps a guest-owned frame at another GFN or into another domain (aliasing, splicing).</summary>
    FrameElsewhere,
    /// <summary>The entry being changed is a guest-owned frame's own GFN: remapping, retyping or unmapping it.</summary>
    HomeChanged,
}

/// <summary>
/// SEV-SNP's reverse-map table: per machine frame, the one domain that owns it and the one GFN it may appear at.
/// The hardware checks it on every hypervisor write and every nested-page-table walk; here it is consulted on the
/// hypervisor's and Dom0's writes to protected frames and on every p2m change made by someone other than the plug-in.
/// </summary>
public sealed class ReverseMapTable
{
    private readonly Dictionary<ulong, RmpEntry> byMfn = [];

    public int Count => byMfn.Count;

    /// <summary>Assigns <paramref name="mfn"/> to <paramref name="owner"/> at <paramref name="gfn"/> (RMPUPDATE + PVALIDATE).</summary>
    public void Assign(Mfn mfn, DomainId owner, Gfn gfn, int regionId) => byMfn[mfn.Value] = new RmpEntry(owner, gfn, regionId);

    /// <summary>Returns the frame to the hypervisor (a shared page again).</summary>
    public void Unassign(Mfn mfn) => byMfn.Remove(mfn.Value);

    public bool TryGet(Mfn mfn, out RmpEntry entry) => byMfn.TryGetValue(mfn.Value, out entry);

    /// <summary>
    /// Checks a p2m change of <paramref name="domain"/>'s <paramref name="gfn"/> from <paramref name="current"/> to
    /// <paramref name="proposed"/>; <see cref="RmpRefusal.None"/> if it is allowed, else why not and the entry it hit.
    /// </summary>
    public RmpRefusal Check(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, out RmpEntry hit)
    {
        if (proposed.Type != P2mType.Invalid && TryGet(proposed.Mfn, out hit) && (hit.Owner != domain || hit.Gfn != gfn))
        {
            return RmpRefusal.FrameElsewhere;
        }
        if (current.Type != P2mType.Invalid && current != proposed && TryGet(current.Mfn, out hit) && hit.Owner == domain && hit.Gfn == gfn)
        {
            return RmpRefusal.HomeChanged;
        }
        hit = default;
        return RmpRefusal.None;
    }
}
