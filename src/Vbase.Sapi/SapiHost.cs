using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Sapi;

/// <summary>
/// The hypervisor's services to a plug-in: everything an architecture may do to the machine, given to
/// <see cref="ISecureArchitecture.Attach"/>. The hypervisor implements it (<c>Vbase.Hypervisor.Sapi.HypervisorSapiHost</c>);
/// a plug-in references only this project.
/// </summary>
/// <remarks>
/// An abstract class rather than an interface so that members can be added without breaking plug-ins built
/// against an older SAPI. Plug-ins call it per registration, fill and write-back, never per cache hit.
/// </remarks>
public abstract class SapiHost
{
    /// <summary>
    /// Released regions the hypervisor still lists (for the Monitor's and the Oracle's look back); older ones are
    /// forgotten, with the plug-in's state for them (<see cref="IIntrospection.OnRegionForgotten"/>).
    /// </summary>
    public const int ReleasedRegionHistory = 64;

    /// <summary>Machine memory, raw: what the architecture writes to DRAM goes here.</summary>
    public abstract MachineMemory Dram { get; }

    /// <summary>Global virtual time (the accessing vCPU's, inside a slice).</summary>
    public abstract ulong Now { get; }

    /// <summary>The active regions and the last <see cref="ReleasedRegionHistory"/> released ones, in registration order.</summary>
    public abstract IReadOnlyList<ProtectedRegion> Regions { get; }

    /// <summary>The secure contexts (processes) that hold a region now.</summary>
    public abstract IReadOnlyList<SecureContext> Contexts { get; }

    /// <summary>The p2m entry of <paramref name="gfn"/> in <paramref name="domain"/> (Invalid if none).</summary>
    public abstract P2mEntry Translate(DomainId domain, Gfn gfn);

    /// <summary>Changes the p2m type of a guest frame (Xen's p2m_change_type), recorded in the event log.</summary>
    public abstract void ChangeP2mType(DomainId domain, Gfn gfn, P2mType type);

    /// <summary>
    /// Registers a region and interposes on its frames. Call it before changing the frames' DRAM contents
    /// (e.g. encrypting): the golden shadow starts as the plaintext in DRAM now. Null (and nothing changes) if a
    /// GFN is not the domain's own RAM or a frame is already protected.
    /// </summary>
    public abstract ProtectedRegion? Protect(RegionRequest request);

    /// <summary>Ends the protection of <paramref name="region"/>: its frames go back to the fast path.</summary>
    public abstract void Release(ProtectedRegion region);

    /// <summary>The active regions registered by this process (domain, vCPU, address space).</summary>
    public abstract IReadOnlyList<ProtectedRegion> RegionsOf(DomainId domain, int vcpu, ulong satp);

    /// <summary>The secure context of the calling process, or null if it has registered nothing.</summary>
    public abstract SecureContext? ContextOf(VbaseOpCall call);

    /// <summary>Sends a VIRQ to a domain, or to Dom0's handlers (<see cref="DomainId.Dom0"/>).</summary>
    public abstract bool SendVirq(DomainId domain, int virq);

    /// <summary>Reserves a plug-in VIRQ (16–23).</summary>
    public abstract void ClaimVirq(int virq);

    /// <summary>Adds an event to the log; its record names the kind (docs/events.md).</summary>
    public abstract void Record(DomainId? domain, int? vcpu, EventData data);

    /// <summary>
    /// Adds an event of the plug-in's own kind (<c>prefix.name</c>, e.g. <c>mine.sealed</c>) with its typed fields,
    /// <c>EventField.Of("region", region.Id)</c>…: no record type needed. Document the kind in docs/events.md.
    /// </summary>
    public void Record(string kind, DomainId? domain, int? vcpu, params ReadOnlySpan<EventField> fields) =>
        Record(domain, vcpu, new PlugInEventData(kind, fields));

    /// <summary>Reports a violation the architecture detected (e.g. a MAC mismatch), with what it saw in words.</summary>
    public void ReportViolation(in MemoryAccessContext access, string reason) =>
        Record(access.Domain, access.Vcpu,
            new ViolationData(access.Region.Id, access.Accessor, access.Kind, access.Address, access.Mfn, reason));

    /// <summary>Reports an integrity failure found when a line was filled (the access that needed it, if any).</summary>
    public void ReportViolation(in LineContext line, string details)
    {
        if (line.Inspection)
        {
            return;
        }
        if (line.Cause is MemoryAccessContext cause)
        {
            ReportViolation(cause, details);
            return;
        }
        // A write-back or a flush: the chip itself moved the line, on nobody's access.
        Record(line.Region.Domain, null, new ViolationData(line.Region.Id, Accessor.Hypervisor, AccessKind.Store,
            new GuestPhysicalAddress(line.Gfn.Address.Value + (ulong)(line.Line * ChipOptions.LineBytes)), line.Mfn, details));
    }

    /// <summary>After a plug-in rewrote DRAM outside an access hook (e.g. encrypting at enter): harts drop stale code.</summary>
    public abstract void NotifyDramWritten(Mfn mfn);

    // ---- the DRAM boundary ----

    /// <summary>What crossed the chip boundary so far (data lines here, metadata lines by the plug-in's metadata cache).</summary>
    public abstract CostCounters Cost { get; }

    /// <summary>The on-chip boundary's configuration (cache geometry, cost latencies).</summary>
    public abstract ChipOptions Chip { get; }

    /// <summary>The run's traffic and work at the chip boundary so far, with the harts' on-chip hits and instructions.</summary>
    public abstract DramTraffic Traffic();

    /// <summary>Drops every cached view decision (the harts' TLBs): call it when the plug-in's own state changes one.</summary>
    public abstract void InvalidateViews();

    /// <summary>
    /// Writes back every dirty line of <paramref name="region"/> and takes its lines off chip, so that DRAM holds all
    /// of it (before a plug-in undoes its seal at exit).
    /// </summary>
    public abstract void FlushRegion(ProtectedRegion region);

    /// <summary>
    /// What machine memory a plug-in may take for its metadata area: a fifth of it (the testbed adds that much to what
    /// the domains need), in whole frames.
    /// </summary>
    public abstract ulong MetadataBudget { get; }

    /// <summary>
    /// Reserves <paramref name="bytes"/> (rounded up to frames) of machine memory for the plug-in's off-chip metadata:
    /// contiguous, zeroed, at the top of machine memory (owned by the hypervisor), where physical attacks reach it
    /// like any DRAM. Throws if machine memory has no such run free.
    /// </summary>
    public abstract MetadataArea ReserveMetadata(ulong bytes);

    // ---- whole-VM memory ----

    /// <summary>
    /// Makes every RAM frame <paramref name="domain"/> owns and maps now (outside protected regions) the VM's private
    /// memory, which DRAM holds encrypted by <paramref name="cipher"/> (a whole-VM design, e.g. SEV, at launch). The
    /// VM's own accesses see the plaintext at full speed; so do the bytes it hands the hypervisor for its hypercalls and
    /// its devices for DMA, and frames it grants (the pages a SEV guest shares: GHCB, swiotlb). Dom0's foreign mappings
    /// and the bus see the ciphertext, and their raw writes decrypt to garbage inside the VM
    /// (<see cref="ISecureArchitecture.OnDomainLaunched"/>, <see cref="IVmmuHooks.AllowVmMemoryWrite"/>). A region
    /// registered later inside that memory is the plug-in's as any region: it seals and unseals it with the same cipher.
    /// Returns the frames taken, in GFN order.
    /// </summary>
    public abstract IReadOnlyList<(Gfn Gfn, Mfn Mfn)> EncryptVm(DomainId domain, VmMemoryCipher cipher);

    /// <summary>Whether <paramref name="mfn"/> is private memory of an encrypted VM (<see cref="EncryptVm"/>), outside any region.</summary>
    public abstract bool IsVmPrivate(Mfn mfn);

    /// <summary>Marks <paramref name="region"/> sealed: the plug-in's per-region state exists, inspection may use it.</summary>
    public void MarkSealed(ProtectedRegion region) => region.Sealed = true;

    /// <summary>The accessor's name in events (<c>guest_user</c>; docs/events.md).</summary>
    public static string Name(Accessor a) => a switch
    {
        Accessor.GuestUser => "guest_user",
        Accessor.GuestKernel => "guest_kernel",
        Accessor.Hypervisor => "hypervisor",
        Accessor.Dom0 => "dom0",
        Accessor.Device => "device",
        _ => "inspection",
    };

    /// <summary>The access kind's name in events (<c>load</c>, <c>page_walk</c>).</summary>
    public static string Name(AccessKind k) => k switch
    {
        AccessKind.Fetch => "fetch",
        AccessKind.Load => "load",
        AccessKind.Store => "store",
        _ => "page_walk",
    };
}
