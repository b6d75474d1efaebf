using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Hypercalls;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Sapi;

/// <summary>
/// The hypervisor side of the SAPI. Public members are what a plug-in may use; internal ones are how the
/// hypervisor routes every access to a protected frame through the plug-in, keeps the secure contexts and
/// the golden shadow, and answers the Monitor.
/// </summary>
/// <remarks>
/// Only frames inside a protected region are "interposed": their pages never reach a hart's TLB as host
/// pointers, so each access comes here. Every other frame keeps the fast path.
/// </remarks>
public sealed partial class HypervisorSapiHost : SapiHost
{
    private readonly Hypervisor hv;
    private readonly byte[] interposed;                       // per MFN: Protected, Observed, or 0
    private const byte Protected = 1, Observed = 2;
    private readonly Dictionary<ulong, (ProtectedRegion Region, int Page)> regionOfMfn = [];
    private readonly List<ProtectedRegion> regions = [];
    private readonly List<SecureContext> contexts = [];
    private readonly List<ShadowMismatch> mismatches = [];
    private readonly Queue<ProtectedRegion> released = [];
    private int nextRegionId = 1;
    private long mismatchCount;

    /// <summary>Shadow mismatches kept for the Oracle (the first ones, which decide a verdict); later ones are only counted.</summary>
    public const int MismatchHistory = 1024;
    private GuardedArchitecture? architecture;   // every hook call goes through the guard

    internal HypervisorSapiHost(Hypervisor hv)
    {
        this.hv = hv;
        interposed = new byte[hv.Machine.FrameCount];
    }

    /// <summary>The plugged-in architecture, or null.</summary>
    public ISecureArchitecture? Architecture => architecture?.PlugIn;

    /// <summary>
    /// Where the off-chip metadata covering a data line lies (the plug-in's <see cref="IDramBoundaryHooks.DescribeMetadata"/>,
    /// guarded): for physical attacks and the Monitor.
    /// </summary>
    public IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line) =>
        architecture?.DescribeMetadata(region, page, line) ?? [];

    // ---- for plug-ins ----

    /// <summary>Machine memory, raw: what the architecture writes to DRAM goes here.</summary>
    public override MachineMemory Dram => hv.Machine;

    /// <summary>Global virtual time (the accessing vCPU's, inside a slice).</summary>
    public override ulong Now => Math.Min(hv.Current is Vcpu v ? v.Hart.Time : hv.Now, Vcpu.MaxTime);

    /// <summary>
    /// The active regions and the last <see cref="ReleasedRegionHistory"/> released ones, in registration order.
    /// </summary>
    public override IReadOnlyList<ProtectedRegion> Regions => regions;

    /// <summary>The secure contexts (processes) that hold a region now.</summary>
    public override IReadOnlyList<SecureContext> Contexts => contexts;

    /// <summary>The p2m entry of <paramref name="gfn"/> in <paramref name="domain"/> (Invalid if none).</summary>
    public override P2mEntry Translate(DomainId domain, Gfn gfn) => Find(domain)?.P2m.Lookup(gfn) ?? P2mEntry.Invalid;

    /// <summary>Changes the p2m type of a guest frame (Xen's p2m_change_type), recorded in the event log.</summary>
    public override void ChangeP2mType(DomainId domain, Gfn gfn, P2mType type)
    {
        Domain d = Find(domain) ?? throw new ArgumentException($"no domain {domain}", nameof(domain));
        P2mEntry old = d.P2m.Lookup(gfn);
        if (old.Type == type)
        {
            return;
        }
        P2mEntry changed = old with { Type = type };
        d.P2m.Set(gfn, changed);
        hv.Record(domain, hv.CurrentVcpuId, new P2mChangeData(gfn, old, changed));
    }

    /// <summary>
    /// Registers a region and interposes on its frames. Call it before changing the frames' DRAM contents
    /// (e.g. encrypting): the golden shadow starts as the plaintext in DRAM now. Null (and nothing changes) if a
    /// GFN is not the domain's own RAM or a frame is already protected.
    /// </summary>
    public override ProtectedRegion? Protect(RegionRequest request)
    {
        Domain? d = Find(request.Domain);
        if (d is null || request.Gfns.Count == 0 || request.Vcpu < 0 || request.Vcpu >= d.Vcpus.Count)
        {
            return null;
        }
        var mfns = new Mfn[request.Gfns.Count];
        var seen = new HashSet<ulong>(mfns.Length);
        for (int i = 0; i < mfns.Length; i++)
        {
            P2mEntry e = d.P2m.Lookup(request.Gfns[i]);
            if (e.Type is not (P2mType.RamRw or P2mType.RamRo) || hv.Machine.OwnerOf(e.Mfn) != d.Id
                || interposed[e.Mfn.Value] != 0 || !seen.Add(e.Mfn.Value))
            {
                return null;
            }
            mfns[i] = e.Mfn;
        }
        var region = new ProtectedRegion(nextRegionId++, d.Id, request.Vcpu, request.Satp, request.VirtualAddress,
            [.. request.Gfns], mfns, Now);
        for (int i = 0; i < mfns.Length; i++)
        {
            hv.Machine.Frame(mfns[i]).CopyTo(region.Shadow.AsSpan(i * PageSize.Bytes));
            interposed[mfns[i].Value] = Protected;
            regionOfMfn[mfns[i].Value] = (region, i);
        }
        AttachChipPages(region);
        InvalidateCode(region);   // decoded code of its frames goes: they are fetched through the boundary now
        regions.Add(region);
        SecureContext context = ContextOf(d.Id, request.Vcpu, request.Satp) ?? NewContext(d, request.Vcpu, request.Satp);
        context.Regions.Add(region);
        FlushHarts();
        hv.Record(d.Id, request.Vcpu,
            new RegionProtectedData(region.Id, request.VirtualAddress.Value, mfns.Length, request.Gfns[0], mfns[0], request.Satp));
        Transition(SecureTransitionKind.Enter, context, region);
        return region;
    }

    /// <summary>Ends the protection of <paramref name="region"/>: its frames go back to the fast path.</summary>
    public override void Release(ProtectedRegion region)
    {
        if (!region.IsActive)
        {
            return;
        }
        region.ReleasedAt = Now;
        foreach (Mfn m in region.Mfns.Concat(region.ObservedFrames))
        {
            interposed[m.Value] = 0;
            regionOfMfn.Remove(m.Value);
        }
        FlushHarts();
        ReportCountedDrops(region);   // after the harts let go of its counters
        DetachChipPages(region);   // after the harts dropped their pointers into it
        InvalidateCode(region);    // what the chip wrote back changed DRAM behind the decoded-code cache
        hv.Record(region.Domain, region.Vcpu, new RegionReleasedData(region.Id));
        SecureContext? context = ContextOf(region.Domain, region.Vcpu, region.Satp);
        if (context is not null)
        {
            context.Regions.Remove(region);
            if (context.Regions.Count == 0)
            {
                bool suspended = !context.Running;
                context.Running = false;
                Transition(SecureTransitionKind.Exit, context, region);
                contexts.Remove(context);
                if (suspended)
                {
                    Leaving(context);
                }
            }
        }
        // What a guest looping on enter and exit could grow without bound: the shadow (up to 2 MiB a region) goes
        // now, the region's record after a short history.
        region.FreeShadow();
        released.Enqueue(region);
        while (released.Count > ReleasedRegionHistory)
        {
            ProtectedRegion old = released.Dequeue();
            regions.Remove(old);
            architecture?.OnRegionForgotten(old);
        }
    }

    /// <summary>
    /// For the Oracle, not for plug-ins: after an attacker made a page of <paramref name="region"/> resolve to
    /// another frame (a remap in the guest's page table or in the p2m), the application's reads and writes of
    /// <paramref name="mfn"/> are compared with and recorded in the region's golden shadow (page
    /// <paramref name="page"/>) as if it were the region's own frame. The plug-in is not consulted for it: it did
    /// not protect that frame. False if the frame is already interposed or not machine memory.
    /// </summary>
    public bool Observe(ProtectedRegion region, int page, Mfn mfn)
    {
        if (!region.IsActive || page < 0 || page >= region.Gfns.Count || !hv.Machine.IsValid(mfn) || interposed[mfn.Value] != 0)
        {
            return false;
        }
        interposed[mfn.Value] = Observed;
        regionOfMfn[mfn.Value] = (region, page);
        region.ObservedFrames.Add(mfn);
        FlushHarts();
        return true;
    }

    /// <summary>The active regions registered by this process (domain, vCPU, address space).</summary>
    public override IReadOnlyList<ProtectedRegion> RegionsOf(DomainId domain, int vcpu, ulong satp) =>
        ContextOf(domain, vcpu, satp)?.Regions ?? [];

    /// <summary>The secure context of the calling process, or null if it has registered nothing.</summary>
    public override SecureContext? ContextOf(VbaseOpCall call) => ContextOf(call.Caller, call.VcpuId, call.Satp);

    /// <summary>Sends a VIRQ to a domain, or to Dom0's handlers (<see cref="DomainId.Dom0"/>).</summary>
    public override bool SendVirq(DomainId domain, int virq) => hv.SendVirq(domain, virq);

    /// <summary>Reserves a plug-in VIRQ (16–23).</summary>
    public override void ClaimVirq(int virq) => hv.Extensions.ClaimVirq(virq, architecture?.Name ?? "plug-in");

    /// <summary>Adds an event to the log; its record names the kind (docs/events.md).</summary>
    public override void Record(DomainId? domain, int? vcpu, EventData data) => hv.Record(domain, vcpu, data);

    /// <summary>After a plug-in rewrote DRAM outside an access hook (e.g. encrypting at enter): harts drop stale code.</summary>
    public override void NotifyDramWritten(Mfn mfn) => hv.NotifyMachineWrite(mfn, 0, PageSize.Bytes);

    // ---- for the hypervisor ----

    internal void Plug(ISecureArchitecture arch)
    {
        if (architecture is not null)
        {
            throw new InvalidOperationException($"an architecture ({architecture.Name}) is already plugged in");
        }
        if (hv.Domains.Any())
        {
            throw new InvalidOperationException("plug the architecture in before creating domains");
        }
        architecture = new GuardedArchitecture(arch);
        hv.Extensions.ClaimVbaseOp(HandleVbaseOp);
        architecture.Attach(this);
        hv.Record(null, null, new ArchitecturePluggedData(arch.Name));
    }

    private long HandleVbaseOp(in HypercallContext c)
    {
        ulong command = c.Arg(0);
        if (command == VbaseOpCommand.Query && !c.Domain.Privileged)
        {
            hv.Record(c.Caller, c.VcpuId, new HypercallDeniedData("vbase_op", "query"));
            return Errno.EPERM;
        }
        long result = architecture!.OnVbaseOp(new HypercallVbaseOp(c));
        hv.Record(c.Caller, c.VcpuId, new VbaseOpData(command, c.Arg(1), c.Arg(2), c.Arg(3), result));
        return result;
    }

    /// <summary>Dom0's <c>vbase_op(query)</c>: every region with the architecture's description of it.</summary>
    internal IReadOnlyList<RegionReport> Query()
    {
        hv.Record(DomainId.Dom0, null, new VbaseOpData(VbaseOpCommand.Query, 0, 0, 0, regions.Count));
        var list = new List<RegionReport>(regions.Count);
        foreach (ProtectedRegion r in regions)
        {
            list.Add(new RegionReport(r.Id, r.Domain, r.Vcpu, r.Satp, r.VirtualAddress, r.Gfns, r.Mfns, r.IsActive, r.ProtectedAt,
                architecture?.DescribeRegion(r) ?? []));
        }
        return list;
    }

    /// <summary>
    /// Asks the plug-in about a p2m change made by someone else; false (and a <c>sapi.p2m_refused</c> event) if it
    /// refuses. The plug-in's own changes (<see cref="ChangeP2mType"/>) do not come here.
    /// </summary>
    internal bool AllowP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester)
    {
        if (!MapsVmPrivateElsewhere(domain, proposed)
            && (architecture is null || architecture.OnP2mChange(domain, gfn, current, proposed, requester)))
        {
            return true;
        }
        hv.Record(domain, hv.CurrentVcpuId, new P2mChangeRefusedData(gfn, current, proposed, requester));
        return false;
    }

    internal bool IsInterposed(Mfn mfn) => mfn.Value < (ulong)interposed.Length && interposed[mfn.Value] != 0;

    /// <summary>
    /// A read of a protected frame: DRAM bytes, then the plug-in. False = refused (fault). Reads by the
    /// application are compared against the golden shadow.
    /// </summary>
    internal unsafe bool Read(Accessor accessor, AccessKind kind, DomainId initiator, Vcpu? vcpu, Mfn mfn, int offset, Span<byte> data)
    {
        MemoryAccessContext ctx = Context(accessor, kind, initiator, vcpu, mfn, offset);
        switch (ViewOf(ctx))
        {
            case PageView.Plaintext:
                return ReadOnChip(ctx, data);
            case PageView.Abort:
                data.Fill(0xFF);
                return true;
            case PageView.Fault:
                Refused(ctx, data.Length);
                return false;
            case PageView.EveryAccess:
                PushOffChip(mfn, offset, data.Length);
                break;
        }
        new ReadOnlySpan<byte>(hv.Machine.HostPointer(mfn) + offset, data.Length).CopyTo(data);
        AccessVerdict verdict = interposed[mfn.Value] == Protected ? architecture?.OnRead(ctx, data) ?? AccessVerdict.Pass : AccessVerdict.Pass;
        if (verdict is AccessVerdict.Fault or AccessVerdict.Dropped)
        {
            Refused(ctx, data.Length);
            return false;
        }
        if (ctx.IsApplication)
        {
            ulong at = ((ulong)ctx.RegionPage * PageSize.Bytes) + (ulong)offset;
            SyncShadow(ctx.Region, at, data.Length);
            CompareWithShadow(ctx, ctx.Region.Shadow.AsSpan((int)at, data.Length), data, ctx.Address.Value);
        }
        return true;
    }

    /// <summary>The application read <paramref name="actual"/> at <paramref name="gpa"/>: a mismatch if the shadow differs.</summary>
    private void CompareWithShadow(in MemoryAccessContext ctx, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, ulong gpa)
    {
        if (expected.Length == 0 || expected.SequenceEqual(actual))
        {
            return;
        }
        var m = new ShadowMismatch(ctx.Time, ctx.Region.Id, new GuestPhysicalAddress(gpa), expected.ToArray(), actual.ToArray());
        mismatchCount++;
        if (mismatches.Count < MismatchHistory)
        {
            mismatches.Add(m);
        }
        hv.Record(ctx.Domain, ctx.Vcpu,
            new ShadowMismatchData(m.RegionId, m.Address, Convert.ToHexStringLower(m.Expected), Convert.ToHexStringLower(m.Actual)));
    }

    /// <summary>A write to a protected frame through the plug-in. False = refused (fault); a dropped write is true.</summary>
    internal unsafe bool Write(Accessor accessor, AccessKind kind, DomainId initiator, Vcpu? vcpu, Mfn mfn, int offset, ReadOnlySpan<byte> data)
    {
        MemoryAccessContext ctx = Context(accessor, kind, initiator, vcpu, mfn, offset);
        switch (ViewOf(ctx))
        {
            case PageView.Plaintext:
                return WriteOnChip(ctx, data);
            case PageView.Abort:
                Dropped(ctx, data, DropCause.Architecture);
                return true;
            case PageView.Fault:
                Refused(ctx, data.Length);
                return false;
            case PageView.Dram:
                // A coherent interconnect: the on-chip copy goes (written back) before the raw bytes land in DRAM.
                PushOffChip(mfn, offset, data.Length);
                data.CopyTo(new Span<byte>(hv.Machine.HostPointer(mfn) + offset, data.Length));
                return true;
            case PageView.EveryAccess:
                PushOffChip(mfn, offset, data.Length);
                break;
        }
        AccessVerdict verdict = interposed[mfn.Value] == Protected ? architecture?.OnWrite(ctx, data) ?? AccessVerdict.Pass : AccessVerdict.Pass;
        switch (verdict)
        {
            case AccessVerdict.Fault:
                Refused(ctx, data.Length);
                return false;
            case AccessVerdict.Dropped:
                Dropped(ctx, data, DropCause.Architecture);
                return true;
            case AccessVerdict.Pass:
                data.CopyTo(new Span<byte>(hv.Machine.HostPointer(mfn) + offset, data.Length));
                break;
        }
        if (ctx.IsApplication && ctx.Region.Shadow.Length != 0)
        {
            data.CopyTo(ctx.Region.Shadow.AsSpan(ctx.RegionPage * PageSize.Bytes + offset));
        }
        return true;
    }

    /// <summary>
    /// A guest store to a protected frame that the p2m maps read-only: the hypervisor drops it before the plug-in
    /// sees it (no answer of a plug-in can weaken the p2m) and reports it as a dropped write of the region.
    /// </summary>
    internal void ReadOnlyWriteDropped(Accessor accessor, DomainId initiator, Vcpu? vcpu, Mfn mfn, int offset, int size, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BitConverter.TryWriteBytes(bytes, value);
        Dropped(Context(accessor, AccessKind.Store, initiator, vcpu, mfn, offset), bytes[..size], DropCause.P2m);
    }

    /// <summary>
    /// The counter a hart increments for each further store it drops itself to <paramref name="mfn"/> (read-only in
    /// the p2m, inside a region) once one was reported: null for accessors other than the guest's.
    /// </summary>
    internal unsafe ulong* DropCounterFor(Accessor accessor, DomainId initiator, Vcpu? vcpu, Mfn mfn)
    {
        if (accessor is not (Accessor.GuestUser or Accessor.GuestKernel) || !regionOfMfn.ContainsKey(mfn.Value))
        {
            return null;
        }
        MemoryAccessContext ctx = Context(accessor, AccessKind.Store, initiator, vcpu, mfn, 0);
        int slot = ProtectedRegion.FastDropSlot(accessor == Accessor.GuestUser, ctx.IsApplication);
        return (ulong*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(ctx.Region.FastDrops)) + slot;
    }

    /// <summary>Records the stores the harts dropped and counted for <paramref name="region"/> since the last report.</summary>
    private void ReportCountedDrops(ProtectedRegion region)
    {
        ulong[] counts = region.FastDrops;
        for (int slot = 0; slot < counts.Length; slot++)
        {
            if (counts[slot] == 0)
            {
                continue;
            }
            long n = (long)counts[slot];
            counts[slot] = 0;
            region.CountDropped(n);
            hv.Record(region.Domain, region.Vcpu, new WritesDroppedData(region.Id,
                (slot & 2) != 0 ? Accessor.GuestUser : Accessor.GuestKernel, (slot & 1) != 0, n));
        }
    }

    private void Dropped(in MemoryAccessContext ctx, ReadOnlySpan<byte> data, DropCause by)
    {
        ctx.Region.CountDropped(1);
        hv.Record(ctx.Domain, ctx.Vcpu, new WriteDroppedData(ctx.Region.Id, ctx.Accessor,
            ctx.IsApplication, ctx.Address, ctx.Mfn, data.Length, Convert.ToHexStringLower(data[..Math.Min(data.Length, 16)]),
            Translate(ctx.Domain, ctx.Gfn).Type, by));
    }

    private void Refused(in MemoryAccessContext ctx, int size) =>
        hv.Record(ctx.Domain, ctx.Vcpu,
            new AccessRefusedData(ctx.Region.Id, ctx.Accessor, ctx.IsApplication, ctx.Kind, ctx.Address, ctx.Mfn, size));

    private MemoryAccessContext Context(Accessor accessor, AccessKind kind, DomainId initiator, Vcpu? vcpu, Mfn mfn, int offset)
    {
        (ProtectedRegion region, int page) = regionOfMfn[mfn.Value];
        return new MemoryAccessContext
        {
            Accessor = accessor,
            Kind = kind,
            Domain = region.Domain,
            Initiator = initiator,
            Vcpu = vcpu?.Id,
            Satp = vcpu?.Hart.Satp ?? 0,
            VirtualAddress = vcpu is not null && accessor is Accessor.GuestUser or Accessor.GuestKernel ? vcpu.Hart.SlowPathVirtualAddress : null,
            Gfn = region.Gfns[page],
            Mfn = mfn,
            Offset = offset,
            Region = region,
            RegionPage = page,
            Time = Now,
        };
    }

    /// <summary>The first <see cref="MismatchHistory"/> mismatches between what the application read and the golden shadow, in order.</summary>
    internal IReadOnlyList<ShadowMismatch> Mismatches => mismatches;

    /// <summary>Every mismatch so far, counted (<see cref="Mismatches"/> keeps only the first ones).</summary>
    internal long MismatchCount => mismatchCount;

    /// <summary>Reads a region through a view, for the Monitor and the Oracle (no events, no plug-in side effects).</summary>
    internal bool ReadView(ProtectedRegion region, ulong offset, Span<byte> dest, MemoryView view)
    {
        if (offset > region.Length || (ulong)dest.Length > region.Length - offset)
        {
            return false;
        }
        if (view == MemoryView.Shadow)
        {
            if (region.Shadow.Length == 0)
            {
                return false;   // freed at release
            }
            SyncShadow(region, offset, dest.Length);
            region.Shadow.AsSpan((int)offset, dest.Length).CopyTo(dest);
            return true;
        }
        Domain? d = Find(region.Domain);
        int done = 0;
        while (done < dest.Length)
        {
            ulong at = offset + (ulong)done;
            int page = (int)(at / PageSize.Bytes), off = (int)(at % PageSize.Bytes);
            int n = Math.Min(PageSize.Bytes - off, dest.Length - done);
            Mfn mfn = region.Mfns[page];
            Span<byte> chunk = dest.Slice(done, n);
            hv.Machine.Frame(mfn).Slice(off, n).CopyTo(chunk);
            if (view == MemoryView.Application && region.IsActive && architecture is not null && d is not null
                && ApplicationView(region, page) is PageView appView && appView != PageView.EveryAccess)
            {
                if (appView == PageView.Plaintext)
                {
                    InspectRange(region, page, off, chunk);
                }
                else if (appView == PageView.Abort)
                {
                    chunk.Fill(0xFF);
                }
            }
            else if (view == MemoryView.Application && region.IsActive && region.Sealed && architecture is not null && d is not null)
            {
                var ctx = new MemoryAccessContext
                {
                    Accessor = Accessor.Inspection,
                    Kind = AccessKind.Load,
                    Domain = region.Domain,
                    Initiator = region.Domain,
                    Vcpu = region.Vcpu,
                    Satp = region.Satp,
                    Gfn = region.Gfns[page],
                    Mfn = mfn,
                    Offset = off,
                    Region = region,
                    RegionPage = page,
                    Time = Now,
                };
                architecture.OnRead(ctx, chunk);
            }
            done += n;
        }
        return true;
    }

    // ---- secure contexts ----

    private SecureContext? ContextOf(DomainId domain, int vcpu, ulong satp)
    {
        foreach (SecureContext c in contexts)
        {
            if (c.Domain == domain && c.Vcpu == vcpu && c.Satp == satp && c.Regions.Count != 0)
            {
                return c;
            }
        }
        return null;
    }

    private SecureContext NewContext(Domain d, int vcpu, ulong satp)
    {
        var c = new SecureContext(d.Id, vcpu, satp, architecture?.SecureRegisterCount ?? 0);
        contexts.Add(c);
        Hart hart = d.Vcpus[vcpu].Hart;
        hart.PrivilegeChanged ??= OnPrivilegeChanged;
        return c;
    }

    /// <summary>
    /// Contexts that ended (<see cref="SecureTransitionKind.Exit"/>) while their process was suspended: the plug-in
    /// hears <see cref="SecureTransitionKind.Leave"/> when the process next runs. Bounded: a process that never runs
    /// again (it exited) is forgotten after <see cref="LeavingHistory"/> more.
    /// </summary>
    private readonly List<SecureContext> leaving = [];

    private const int LeavingHistory = 64;

    private void Leaving(SecureContext context)
    {
        if (leaving.Count == LeavingHistory)
        {
            leaving.RemoveAt(0);
        }
        leaving.Add(context);
    }

    private HartRegisterView? registerView;

    private HartRegisterView RegistersOf(Hart hart)
    {
        registerView ??= new HartRegisterView();
        registerView.Hart = hart;
        return registerView;
    }

    /// <summary>A hart of a domain with secure contexts changed privilege: its secure process may have left or come back.</summary>
    private void OnPrivilegeChanged(Hart hart)
    {
        Vcpu? v = hv.Current;
        if (v is null || v.Hart != hart)
        {
            return;
        }
        if (leaving.Count != 0 && hart.Privilege == Privilege.User)
        {
            for (int i = 0; i < leaving.Count; i++)
            {
                SecureContext c = leaving[i];
                if (c.Domain == v.Domain.Id && c.Vcpu == v.Id && c.Satp == hart.Satp)
                {
                    leaving.RemoveAt(i--);
                    architecture?.OnSecureTransition(new SecureTransition(SecureTransitionKind.Leave, c, null, Now, RegistersOf(hart)));
                }
            }
        }
        foreach (SecureContext c in contexts)
        {
            if (c.Domain != v.Domain.Id || c.Vcpu != v.Id || c.Regions.Count == 0)
            {
                continue;
            }
            bool running = hart.Privilege == Privilege.User && hart.Satp == c.Satp;
            if (running != c.Running)
            {
                c.Running = running;
                Transition(running ? SecureTransitionKind.Resume : SecureTransitionKind.Suspend, c, null, RegistersOf(hart));
            }
        }
    }

    private void Transition(SecureTransitionKind kind, SecureContext context, ProtectedRegion? region, VcpuRegisters? registers = null)
    {
        if (kind is SecureTransitionKind.Suspend or SecureTransitionKind.Resume)
        {
            hv.Record(context.Domain, context.Vcpu, kind == SecureTransitionKind.Suspend
                ? new SecureSuspendData(context.Satp) : new SecureResumeData(context.Satp));
        }
        architecture?.OnSecureTransition(new SecureTransition(kind, context, region, Now, registers));
    }

    /// <summary>A hart's registers for the plug-in at a transition (one view, re-aimed each time: no allocation per transition).</summary>
    private sealed class HartRegisterView : VcpuRegisters
    {
        public Hart Hart = null!;

        public override ulong GetX(int index) => Hart.GetRegister(index);

        public override void SetX(int index, ulong value) => Hart.SetRegister(index, value);

        public override ulong GetF(int index) => Hart.GetFloatRegister(index);

        public override void SetF(int index, ulong value) => Hart.SetFloatRegister(index, value);

        public override uint Fcsr
        {
            get => Hart.Fcsr;
            set => Hart.SetFcsr(value);
        }

        public override bool FpEnabled => (Hart.Mstatus & Isa.Csrs.MStatus.Fs) != 0;

        public override ulong TrapCause => Hart.TryGetCsr(Isa.Csrs.CsrAddress.Scause, out ulong cause) ? cause : 0;
    }

    private void FlushHarts()
    {
        foreach (Domain d in hv.Domains)
        {
            foreach (Vcpu v in d.Vcpus)
            {
                v.Hart.FlushTranslationCaches();
            }
        }
    }

    private Domain? Find(DomainId id) => hv.FindDomain(id);
}

/// <summary>A <c>vbase_op</c> hypercall handed to the plug-in: its registers and the caller's memory.</summary>
internal sealed class HypercallVbaseOp(in HypercallContext context)
    : VbaseOpCall(context.Arg(0), context.Caller, context.VcpuId, context.Vcpu.Hart.Satp, context.Now)
{
    private readonly HypercallContext context = context;

    public override ulong Arg(int index) => context.Arg(index);

    public override bool TryRead(ulong gpa, Span<byte> dest) => context.TryRead(gpa, dest);

    public override bool TryWrite(ulong gpa, ReadOnlySpan<byte> source) => context.TryWrite(gpa, source);
}
