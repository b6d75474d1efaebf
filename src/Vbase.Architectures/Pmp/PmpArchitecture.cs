using System.Buffers.Binary;
using System.Globalization;
using Vbase.Isa.Memory;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Registers;
using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Architectures.Pmp;

/// <summary>
/// Keystone-style isolation (Lee et al., EuroSys 2020): a security monitor — here the plug-in, in the place of
/// Keystone's M-mode SM — grants the registered frames to the registering process alone with PMP range checks.
/// <list type="bullet">
/// <item><description>At <c>enter</c> the frames are merged into contiguous physical ranges and programmed into a
/// bounded <see cref="PmpTable"/> (default 16 entries, two reserved for the monitor and the OS's catch-all); a region
/// that does not fit is refused with ENOSPC.</description></item>
/// <item><description>Every access to a granted frame is range-checked: the owning process
/// (<see cref="MemoryAccessContext.IsApplication"/>) may read, write and fetch; everyone else — other processes, the
/// guest kernel (page-table walks included: the region holds data, so a walk into it means someone is using the
/// enclave's memory as a page table), hypervisor copies, Dom0, devices — gets an access fault. The check is the
/// page's view (<see cref="DecideView"/>), made when a translation is cached: the owner's hits then stay on the
/// hart's fast path, as a hardware PMP check costs nothing per access.</description></item>
/// <item><description>The enclave's memory stays bound to its frames: a p2m change of a granted GFN (Dom0, foreign or
/// grant mapping) is refused. Keystone keeps the enclave's page tables inside enclave memory, so the OS cannot
/// remap it; here the guest kernel owns the page tables, so the monitor pins the mapping it saw at <c>enter</c> and
/// re-walks it whenever the process resumes: a moved page is reported as a violation before the process runs
/// on.</description></item>
/// <item><description>No encryption and no integrity in DRAM: a physical attacker sees and changes plaintext.
/// Keystone trusts the hardware (it leaves memory encryption to an optional engine), so physical attacks are
/// outside the declared threat model.</description></item>
/// </list>
/// </summary>
[Architecture("pmp", "Keystone-style isolation: a security monitor grants the frames to their process alone with PMP range checks; plaintext in DRAM",
    Principal.Application | Principal.Physical)]
public sealed class PmpArchitecture : RegionArchitectureBase
{
    private readonly RegisterShield registerShield = new();

    /// <summary>Xen's ENOSPC: the PMP has no entries left for the region.</summary>
    public const long NoEntriesLeft = -28;
    /// <summary>The parameter that sets the number of hardware PMP entries.</summary>
    public const string EntriesKey = "pmp-entries";

    private readonly Dictionary<int, RegionState> states = [];
    private readonly Dictionary<(DomainId Domain, ulong Gfn), ProtectedRegion> regionOfGfn = [];

    public PmpArchitecture(ArchitectureOptions options)
    {
        int entries = 16;
        foreach (string key in options.Parameters.Keys)
        {
            if (key != EntriesKey)
            {
                throw ParameterValues.Unknown("pmp", key, [EntriesKey]);
            }
        }
        if (options.Parameters.TryGetValue(EntriesKey, out string? text)
            && !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out entries))
        {
            throw new ArgumentException($"pmp parameter {EntriesKey} = '{text}' is not an integer", nameof(options));
        }
        Table = new PmpTable(entries);
    }

    public override string Name => "pmp";

    /// <summary>The monitor's PMP programming.</summary>
    public PmpTable Table { get; }

    /// <summary>
    /// Besides the caller's own writable RAM: the region's frames, merged into ranges, must fit the free PMP entries.
    /// Checked before the region exists, so a refused registration leaves no trace.
    /// </summary>
    protected override long Admit(VbaseOpCall call, RegionRequest request)
    {
        long rc = RequireCallersWritableRam(call, request);
        if (rc < 0)
        {
            return rc;
        }
        List<Mfn> frames = [.. request.Gfns.Select(gfn => Host.Translate(call.Caller, gfn).Mfn)];
        if (PmpTable.Plan(frames, 0).Sum(r => r.Entries) > Table.EnclaveEntries - Table.UsedEntries)
        {
            Host.Record("pmp.no_entries", call.Caller, call.VcpuId,
                EventField.Of("frames", frames.Count), EventField.Of("free_entries", Table.EnclaveEntries - Table.UsedEntries));
            return NoEntriesLeft;
        }
        return 0;
    }

    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        Table.TryGrant(region.Mfns, region.Id);
        states[region.Id] = new RegionState(region);
        foreach (Gfn gfn in region.Gfns)
        {
            regionOfGfn[(region.Domain, gfn.Value)] = region;
        }
        Host.Record("pmp.granted", call.Caller, call.VcpuId, EventField.Of("region", region.Id),
            EventField.Of("ranges", Describe(Table.Ranges.Where(r => r.Owner == region.Id))), EventField.Of("used", Table.UsedEntries),
            EventField.Of("entries", Table.EnclaveEntries));
    }

    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        Table.Revoke(region.Id);
        foreach (Gfn gfn in region.Gfns)
        {
            regionOfGfn.Remove((region.Domain, gfn.Value));
        }
    }

    /// <summary>
    /// The PMP check, once per page when the accessor's translation is cached (the ranges are whole frames, so the
    /// page's answer is every byte's): the matching entry must be the region's and the accessor its owner, which then
    /// sees the lines on chip (DRAM holds plaintext: the default fill and write-back); everyone else faults.
    /// </summary>
    public override PageView DecideView(in MemoryAccessContext access)
    {
        ulong address = access.Mfn.Value << PageSize.Shift;
        bool granted = Table.Find(address) is PmpRange range && range.Owner == access.Region.Id;
        return granted && access.IsApplication ? PageView.Plaintext : PageView.Fault;
    }

    /// <summary>Granted GFNs stay bound to their frames: Dom0's p2m changes and foreign/grant mappings of them are refused.</summary>
    public override bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester)
    {
        if (!regionOfGfn.TryGetValue((domain, gfn.Value), out ProtectedRegion? region) || current == proposed)
        {
            return true;
        }
        states[region.Id].P2mRefused++;
        return false;
    }

    /// <summary>
    /// The security monitor saves the enclave's registers (integer and FP) when a trap takes it to the OS and puts them
    /// back when it returns (the toolkit's shield). When the process gets its hart back, the monitor re-walks its
    /// translation of the region.
    /// </summary>
    public override void OnSecureTransition(SecureTransition transition)
    {
        registerShield.OnTransition(transition);
        if (transition.Kind is not (SecureTransitionKind.Resume or SecureTransitionKind.Enter))
        {
            return;
        }
        foreach (ProtectedRegion region in transition.Context.Regions)
        {
            if (region.VirtualAddress.Value != 0 && states.TryGetValue(region.Id, out RegionState? state))
            {
                CheckMapping(region, state, transition.Context.Satp);
            }
        }
    }

    private void CheckMapping(ProtectedRegion region, RegionState state, ulong satp)
    {
        var ptes = new CachedPteReader<GuestPtes>(new GuestPtes(Host, region.Domain));   // the pages share upper levels
        for (int page = 0; page < region.Gfns.Count; page++)
        {
            ulong va = region.VirtualAddress.Value + (ulong)page * PageSize.Bytes;
            ulong? gfn = TranslateGuestVirtual(ptes, satp, va);
            bool pinned = gfn == region.Gfns[page].Value && Host.Translate(region.Domain, region.Gfns[page]).Mfn == region.Mfns[page];
            if (pinned)
            {
                state.Moved[page] = false;
                continue;
            }
            if (state.Moved[page])
            {
                continue;   // reported already; once per move
            }
            state.Moved[page] = true;
            state.MappingViolations++;
            Host.ReportViolation(new MemoryAccessContext
            {
                Accessor = Accessor.GuestKernel,
                Kind = AccessKind.PageWalk,
                Domain = region.Domain,
                Initiator = region.Domain,
                Vcpu = region.Vcpu,
                Satp = satp,
                VirtualAddress = va,
                Gfn = region.Gfns[page],
                Mfn = region.Mfns[page],
                Offset = 0,
                Region = region,
                RegionPage = page,
                Time = Host.Now,
            }, gfn is ulong now
                ? $"check=mapping va=0x{va:x} maps gfn 0x{now:x}, not the granted gfn 0x{region.Gfns[page].Value:x}"
                : $"check=mapping va=0x{va:x} is no longer mapped (granted gfn 0x{region.Gfns[page].Value:x})");
        }
    }

    /// <summary>
    /// The process's Sv39 translation of <paramref name="va"/> to a GFN, walked by the ISA's <see cref="Sv39Walker"/>
    /// in its tables as they are in guest memory (through the p2m); null if unmapped. A bare satp maps VA = GPA.
    /// </summary>
    private static ulong? TranslateGuestVirtual<TReader>(TReader ptes, ulong satp, ulong va) where TReader : struct, IPteReader
    {
        if (satp >> 60 == Sv39Walker.ModeBare)
        {
            return va >> PageSize.Shift;
        }
        Sv39Mapping mapping = Sv39Walker.Lookup(ptes, satp, va);   // any other mode than Sv39: not mapped
        return mapping.IsMapped ? mapping.PhysicalAddress >> PageSize.Shift : null;
    }

    /// <summary>PTE reads for the monitor's walk: guest RAM through the p2m.</summary>
    private readonly struct GuestPtes(SapiHost host, DomainId domain) : IPteReader
    {
        public bool TryReadPte(ulong address, out ulong pte)
        {
            pte = 0;
            P2mEntry frame = host.Translate(domain, new Gfn(address >> PageSize.Shift));
            if (frame.Type is not (P2mType.RamRw or P2mType.RamRo) || !host.Dram.IsValid(frame.Mfn))
            {
                return false;
            }
            pte = BinaryPrimitives.ReadUInt64LittleEndian(host.Dram.Frame(frame.Mfn)[(int)(address & (PageSize.Bytes - 1))..]);
            return true;
        }
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region)
    {
        RegionState? s = states.GetValueOrDefault(region.Id);
        string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
        return
        [
            new("pmp", region.IsActive ? Describe(Table.Ranges.Where(r => r.Owner == region.Id)) : "revoked"),
            new("pmp_entries_used", $"{Table.UsedEntries}/{Table.EnclaveEntries}"),
            new("dram", "plaintext (no encryption, no integrity)"),
            new("access", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode only"),
            new("p2m_changes_refused", Number(s?.P2mRefused ?? 0)),
            new("mapping_violations", Number(s?.MappingViolations ?? 0)),
        ];
    }

    private static string Describe(IEnumerable<PmpRange> ranges) => string.Join(" ", ranges.Select(r =>
        $"{(r.Mode == PmpAddressMode.Napot ? "napot" : "tor")}[0x{r.Base:x},+0x{r.Bytes:x})"));

    public override void OnRegionForgotten(ProtectedRegion region) => states.Remove(region.Id);

    private sealed class RegionState(ProtectedRegion region)
    {
        public long P2mRefused;
        public long MappingViolations;
        public readonly bool[] Moved = new bool[region.Gfns.Count];
    }
}
