using System.Globalization;
using Vbase.Architectures.Sev;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.SevSnp;

/// <summary>
/// AMD SEV-SNP: <c>sev</c>'s per-VM memory encryption plus a reverse-map table (<see cref="ReverseMapTable"/>, in
/// DRAM like SNP's). At <c>vbase_op(enter)</c> every frame of the region is assigned to its domain at its GFN and
/// validated. Afterwards writes to those frames from outside the VM (Dom0, devices, the hypervisor, another VM)
/// fault, and so does any p2m change that would map one of them anywhere else or change the mapping at its own GFN —
/// whoever asks (Dom0's <c>SetP2mEntry</c>, a foreign or grant mapping through the hypervisor); the VM's own
/// accesses are allowed only while the frame's entry assigns it to the VM at that GFN, validated (the check SNP
/// makes on the nested page walk). With <c>whole-vm</c> (the default) every frame of the VM is assigned at launch as
/// well: Dom0's writes to any of them fault, and so does any p2m change of them, except a grant map of a page the guest
/// granted (the guest shares it: its entry goes back to the hypervisor). There is still no cryptographic integrity: a
/// physical attacker below the RMP can overwrite, splice and replay DRAM undetected, and can overwrite the RMP itself.
/// </summary>
[Architecture("sev-snp", "AMD SEV-SNP: sev plus a reverse-map table refusing outside writes and p2m remaps of the VM's frames; no cryptographic integrity",
    SevArchitectureBase.TrustedPrincipals)]
public sealed class SevSnpArchitecture(ArchitectureOptions options) : SevArchitectureBase(options)
{
    private ReverseMapTable? rmp;

    public override string Name => "sev-snp";

    /// <summary>The reverse-map table (from attach on).</summary>
    public ReverseMapTable Rmp => rmp ?? throw new InvalidOperationException("sev-snp is not attached: no RMP yet");

    protected override string Label => "sev-snp: per-VM key, reverse-map table, no cryptographic integrity";

    /// <summary>The RMP covers all of machine memory, 16 bytes per frame, in the metadata area (SNP's firmware reserves it at boot).</summary>
    protected override void OnAttached()
    {
        base.OnAttached();
        ulong frames = Host.Dram.FrameCount;
        rmp = new ReverseMapTable(Host, Host.ReserveMetadata(ReverseMapTable.BytesFor(frames)), frames);
    }

    /// <summary>After <c>sev</c>'s encryption, every frame of the region is assigned to its domain at its GFN.</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        base.Seal(call, region);
        for (int i = 0; i < region.Mfns.Count; i++)
        {
            Rmp.Assign(region.Mfns[i], region.Domain, region.Gfns[i]);
        }
        Host.Record("sev-snp.rmp_assigned", region.Domain, region.Vcpu,
            EventField.Of("region", region.Id), EventField.Of("frames", region.Mfns.Count), EventField.Of("owner", region.Domain.Value),
            EventField.Hex("gfn", region.Gfns[0].Value), EventField.Hex("mfn", region.Mfns[0].Value));
    }

    /// <summary>
    /// The frames are unassigned (a VM encrypted at launch keeps them: they are still its private memory), then
    /// <c>sev</c> decrypts them.
    /// </summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        if (!IsEncryptedVm(region.Domain))
        {
            foreach (Mfn mfn in region.Mfns)
            {
                Rmp.Unassign(mfn);
            }
        }
        base.Unseal(call, region);
    }

    /// <summary>The launch's RMPUPDATE and PVALIDATE: every frame of the VM assigned to it at its GFN, validated.</summary>
    protected override void OnVmEncrypted(DomainId domain, IReadOnlyList<(Gfn Gfn, Mfn Mfn)> frames)
    {
        Rmp.SetByFirmware(domain, frames);
        Host.Record("sev-snp.rmp_assigned", domain, null, EventField.Of("region", 0), EventField.Of("frames", frames.Count),
            EventField.Of("owner", domain.Value), EventField.Hex("gfn", frames.Count > 0 ? frames[0].Gfn.Value : 0),
            EventField.Hex("mfn", frames.Count > 0 ? frames[0].Mfn.Value : 0));
    }

    /// <summary>The destroyed VM's entries go back to the hypervisor before its frames are reused.</summary>
    public override void OnDomainDestroyed(DomainId domain)
    {
        base.OnDomainDestroyed(domain);
        Rmp.SetByFirmware(null, Rmp.AssignedTo(domain));
    }

    /// <summary>Dom0 writing a private frame of the VM: refused while the RMP assigns the frame to a guest.</summary>
    public override bool AllowVmMemoryWrite(DomainId owner, Mfn mfn, Accessor writer)
    {
        if (!Rmp.TryGet(mfn, out RmpEntry hit))
        {
            return true;
        }
        Host.Record("sev-snp.rmp_refused", owner, null, EventField.Of("region", 0),
            EventField.Of("requester", SapiHost.Name(writer)), EventField.Of("owner", hit.Owner.Value),
            EventField.Hex("gfn", hit.Gfn.Value), EventField.Of("reason", $"write to {mfn}, assigned to dom{hit.Owner.Value} at {hit.Gfn}"));
        return false;
    }

    /// <summary>
    /// The VM's own access: plaintext while the RMP assigns the frame to it at this GFN, validated; otherwise the
    /// nested page fault SNP raises (refused, not reported as a violation: the RMP controls access, it does not
    /// authenticate data).
    /// </summary>
    protected override PageView DecideInside(in MemoryAccessContext access) =>
        Rmp.AllowsGuest(access.Mfn, access.Region.Domain, access.Gfn) ? PageView.Plaintext : PageView.Fault;

    /// <summary>The RMP check on a write by anyone outside the VM: the frame is not theirs, so the write faults.</summary>
    protected override PageView DecideOutsideStore(in MemoryAccessContext access) =>
        Rmp.TryGet(access.Mfn, out _) ? PageView.Fault : PageView.Dram;

    public override bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester)
    {
        RmpRefusal refusal = Rmp.Check(domain, gfn, current, proposed, out RmpEntry hit);
        if (refusal == RmpRefusal.None)
        {
            return true;
        }
        ProtectedRegion? region = RegionAt(hit);
        if (refusal == RmpRefusal.FrameElsewhere && region is null && IsEncryptedVm(hit.Owner)
            && proposed.Type is P2mType.GrantMapRo or P2mType.GrantMapRw)
        {
            // The guest granted the page, so it shares it (its page-state change to shared): the entry goes back to the
            // hypervisor and the mapping is made. A region's page is never shared this way.
            Rmp.Unassign(proposed.Mfn);
            Host.Record("sev-snp.rmp_shared", hit.Owner, null, EventField.Hex("gfn", hit.Gfn.Value), EventField.Hex("mfn", proposed.Mfn.Value),
                EventField.Of("mapped_by", domain.Value));
            return true;
        }
        if (region is not null)
        {
            Counters(region.Id).RefusedRemaps++;
        }
        string why = refusal == RmpRefusal.FrameElsewhere
            ? $"{proposed.Mfn} belongs to dom{hit.Owner.Value} at {hit.Gfn}, not dom{domain.Value} at {gfn}"
            : $"{gfn} is where dom{hit.Owner.Value}'s assigned {current.Mfn} lives";
        Host.Record("sev-snp.rmp_refused", domain, null, EventField.Of("region", region?.Id ?? 0),
            EventField.Of("requester", SapiHost.Name(requester)), EventField.Of("owner", hit.Owner.Value),
            EventField.Hex("gfn", gfn.Value), EventField.Of("reason", why));
        return false;
    }

    /// <summary>The RMP lines cached on chip go back to DRAM.</summary>
    public override void FlushMetadata() => Rmp.Flush();

    /// <summary>The one piece of off-chip metadata over a line: its frame's RMP entry.</summary>
    public override IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line) =>
        [new("rmp entry", Rmp.AddressOf(region.Mfns[page]), ReverseMapTable.EntryBytes)];

    protected override IEnumerable<KeyValuePair<string, string>> DescribeMore(ProtectedRegion region)
    {
        int assigned = 0;
        for (int i = 0; i < region.Mfns.Count; i++)
        {
            if (Rmp.Inspect(region.Mfns[i], out RmpEntry e) && e.Owner == region.Domain && e.Gfn == region.Gfns[i])
            {
                assigned++;
            }
        }
        return
        [
            new("rmp", $"{assigned} frame(s) assigned to dom {region.Domain.Value}"),
            new("outside_writes_refused", Counters(region.Id).RefusedWrites.ToString(CultureInfo.InvariantCulture)),
            new("p2m_changes_refused", Counters(region.Id).RefusedRemaps.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>The active region an RMP entry's frame belongs to (for the Monitor's counters; refusals are rare).</summary>
    private ProtectedRegion? RegionAt(RmpEntry entry)
    {
        foreach (ProtectedRegion r in Host.Regions)
        {
            if (r.IsActive && r.Domain == entry.Owner && r.Gfns.Contains(entry.Gfn))
            {
                return r;
            }
        }
        return null;
    }
}
