using System.Globalization;
using Vbase.Architectures.Sev;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.P2m;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.SevSnp;

/// <summary>
/// AMD SEV-SNP: <c>sev</c>'s per-VM memory encryption plus a reverse-map table (<see cref="ReverseMapTable"/>). At
/// <c>vbase_op(enter)</c> every frame of the region is assigned to its domain at its GFN. Afterwards writes to those
/// frames from outside the VM (Dom0, devices, the hypervisor, another VM) are refused, and so is any p2m change that
/// would map one of them anywhere else or change the mapping at its own GFN — whoever asks (Dom0's
/// <c>SetP2mEntry</c>, a foreign or grant mapping through the hypervisor). There is still no cryptographic
/// integrity: a physical attacker below the RMP can overwrite, splice and replay DRAM undetected.
/// </summary>
[Architecture("sev-snp", "AMD SEV-SNP: sev plus a reverse-map table refusing outside writes and p2m remaps of the VM's frames; no cryptographic integrity",
    SevArchitectureBase.TrustedPrincipals)]
public sealed class SevSnpArchitecture(ArchitectureOptions options) : SevArchitectureBase(options)
{
    public override string Name => "sev-snp";

    /// <summary>The reverse-map table (for tests and the Monitor).</summary>
    public ReverseMapTable Rmp { get; } = new();

    protected override string Label => "sev-snp: per-VM key, reverse-map table, no cryptographic integrity";

    /// <summary>After <c>sev</c>'s encryption, every frame of the region is assigned to its domain at its GFN.</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        base.Seal(call, region);
        for (int i = 0; i < region.Mfns.Count; i++)
        {
            Rmp.Assign(region.Mfns[i], region.Domain, region.Gfns[i], region.Id);
        }
        Host.Record("sev-snp.rmp_assigned", region.Domain, region.Vcpu,
            EventField.Of("region", region.Id), EventField.Of("frames", region.Mfns.Count), EventField.Of("owner", region.Domain.Value),
            EventField.Hex("gfn", region.Gfns[0].Value), EventField.Hex("mfn", region.Mfns[0].Value));
    }

    /// <summary>The frames are unassigned, then <c>sev</c> decrypts them.</summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        foreach (Mfn mfn in region.Mfns)
        {
            Rmp.Unassign(mfn);
        }
        base.Unseal(call, region);
    }

    /// <summary>The RMP check on a write by anyone outside the VM: the frame is not theirs, so the write faults.</summary>
    protected override AccessVerdict OnWriteFromOutside(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        Counters(access.Region.Id).RefusedWrites++;
        return AccessVerdict.Fault;
    }

    public override bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester)
    {
        RmpRefusal refusal = Rmp.Check(domain, gfn, current, proposed, out RmpEntry hit);
        if (refusal == RmpRefusal.None)
        {
            return true;
        }
        Counters(hit.RegionId).RefusedRemaps++;
        string why = refusal == RmpRefusal.FrameElsewhere
            ? $"{proposed.Mfn} belongs to dom{hit.Owner.Value} at {hit.Gfn}, not dom{domain.Value} at {gfn}"
            : $"{gfn} is where dom{hit.Owner.Value}'s assigned {current.Mfn} lives";
        Host.Record("sev-snp.rmp_refused", domain, null, EventField.Of("region", hit.RegionId),
            EventField.Of("requester", SapiHost.Name(requester)), EventField.Of("owner", hit.Owner.Value),
            EventField.Hex("gfn", gfn.Value), EventField.Of("reason", why));
        return false;
    }

    protected override IEnumerable<KeyValuePair<string, string>> DescribeMore(ProtectedRegion region)
    {
        int assigned = region.Mfns.Count(m => Rmp.TryGet(m, out RmpEntry e) && e.RegionId == region.Id);
        return
        [
            new("rmp", $"{assigned} frame(s) assigned to dom {region.Domain.Value}"),
            new("outside_writes_refused", Counters(region.Id).RefusedWrites.ToString(CultureInfo.InvariantCulture)),
            new("p2m_changes_refused", Counters(region.Id).RefusedRemaps.ToString(CultureInfo.InvariantCulture)),
        ];
    }
}
