using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Calls;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Sapi.Lifecycle;

/// <summary>
/// The region lifecycle every architecture of the library shares, with the design's own steps as hooks.
/// <list type="number">
/// <item><description>Attach: claims VIRQ_VBASE.</description></item>
/// <item><description><c>vbase_op(enter)</c>: reads the frame list (<see cref="FrameList.TryRead"/>), asks
/// <see cref="Admit"/> (by default: every GFN must be the caller's <c>ram_rw</c>, else EINVAL), registers the region
/// with <see cref="SapiHost.Protect"/> while DRAM still holds the plaintext (so the golden shadow is the plaintext;
/// null = <see cref="ProtectRefusedErrno"/>, EBUSY), lets <see cref="Seal"/> encrypt / MAC / grant it, sends
/// VIRQ_VBASE to Dom0 and returns the region's id.</description></item>
/// <item><description><c>vbase_op(exit)</c>: for each region of the calling process (none: ENOENT),
/// <see cref="Unseal"/> then <see cref="SapiHost.Release"/>; returns 0.</description></item>
/// <item><description>Sub-calls from <see cref="VbaseOpCommand.FirstPlugin"/> on go to <see cref="OnPluginCall"/>;
/// anything else is ENOSYS.</description></item>
/// </list>
/// </summary>
public abstract class RegionArchitectureBase : SecureArchitectureBase
{
    /// <summary>Claims VIRQ_VBASE; an override that sets up keys or tables calls this first.</summary>
    protected override void OnAttached() => Host.ClaimVirq(Virq.Vbase);

    public sealed override long OnVbaseOp(VbaseOpCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return call.Command switch
        {
            VbaseOpCommand.Enter => Enter(call),
            VbaseOpCommand.Exit => Exit(call),
            >= VbaseOpCommand.FirstPlugin => OnPluginCall(call),
            _ => Errno.ENOSYS,
        };
    }

    /// <summary>
    /// The design's refusals before anything is registered (a negative errno refuses, and leaves no trace of the
    /// region). Default: <see cref="RequireCallersWritableRam"/>.
    /// </summary>
    protected virtual long Admit(VbaseOpCall call, RegionRequest request) => RequireCallersWritableRam(call, request);

    /// <summary>What <c>enter</c> returns when the hypervisor refuses to protect the frames: EBUSY.</summary>
    protected virtual long ProtectRefusedErrno => Errno.EBUSY;

    /// <summary>
    /// After <see cref="SapiHost.Protect"/>, before Dom0 is told: the design's own protection of the new region
    /// (encrypt, MAC, build the tree, program the PMP, …) and its event-log line. Default: nothing.
    /// </summary>
    protected virtual void Seal(VbaseOpCall call, ProtectedRegion region)
    {
    }

    /// <summary>
    /// At <c>exit</c>, before <see cref="SapiHost.Release"/>: undo <see cref="Seal"/> (plaintext back in DRAM, grants
    /// revoked). Violations found here are reported with <see cref="ReleaseContext"/>. Default: nothing.
    /// </summary>
    protected virtual void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
    }

    /// <summary>The architecture's own sub-calls (a0 ≥ <see cref="VbaseOpCommand.FirstPlugin"/>). Default: ENOSYS.</summary>
    protected virtual long OnPluginCall(VbaseOpCall call) => Errno.ENOSYS;

    /// <summary>Only the caller's own writable RAM can be protected: 0, or EINVAL for the first GFN that is not.</summary>
    protected long RequireCallersWritableRam(VbaseOpCall call, RegionRequest request)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(request);
        foreach (Gfn gfn in request.Gfns)
        {
            if (Host.Translate(call.Caller, gfn).Type != P2mType.RamRw)
            {
                return Errno.EINVAL;
            }
        }
        return 0;
    }

    /// <summary>
    /// Calls <paramref name="action"/> with each frame of <paramref name="region"/> as DRAM holds it, in page order,
    /// and tells the harts after each that the plug-in rewrote it (<see cref="SapiHost.NotifyDramWritten"/>).
    /// </summary>
    protected void ForEachFrame(ProtectedRegion region, RegionFrameAction action)
    {
        ArgumentNullException.ThrowIfNull(region);
        ArgumentNullException.ThrowIfNull(action);
        for (int page = 0; page < region.Mfns.Count; page++)
        {
            Mfn mfn = region.Mfns[page];
            action(page, mfn, Host.Dram.Frame(mfn));
            Host.NotifyDramWritten(mfn);
        }
    }

    /// <summary>
    /// Calls <paramref name="action"/> with each <paramref name="lineBytes"/>-byte line of <paramref name="region"/>
    /// in DRAM, frame by frame and line by line (see <see cref="RegionLine"/>), notifying the harts after each frame.
    /// </summary>
    protected void ForEachLine(ProtectedRegion region, int lineBytes, RegionLineAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lineBytes);
        int linesPerPage = PageSize.Bytes / lineBytes;
        ForEachFrame(region, (page, mfn, frame) =>
        {
            for (int offset = 0; offset < PageSize.Bytes; offset += lineBytes)
            {
                action(new RegionLine(page, offset, (page * linesPerPage) + (offset / lineBytes),
                    (mfn.Value << PageSize.Shift) + (ulong)offset, frame.Slice(offset, lineBytes)));
            }
        });
    }

    /// <summary>
    /// The context a violation found while unsealing is reported with: the hypervisor, loading on the owner's behalf
    /// during its <c>exit</c> call, at <paramref name="offset"/> of page <paramref name="page"/> of the region.
    /// </summary>
    protected static MemoryAccessContext ReleaseContext(VbaseOpCall call, ProtectedRegion region, int page, int offset = 0)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(region);
        return new MemoryAccessContext
        {
            Accessor = Accessor.Hypervisor,
            Kind = AccessKind.Load,
            Domain = region.Domain,
            Initiator = call.Caller,
            Vcpu = call.VcpuId,
            Satp = call.Satp,
            Gfn = region.Gfns[page],
            Mfn = region.Mfns[page],
            Offset = offset,
            Region = region,
            RegionPage = page,
            Time = call.Time,
        };
    }

    private long Enter(VbaseOpCall call)
    {
        long rc = FrameList.TryRead(call, out RegionRequest? request);
        if (rc < 0)
        {
            return rc;
        }
        rc = Admit(call, request!);
        if (rc < 0)
        {
            return rc;
        }
        // The region (and its golden shadow) is taken while DRAM still holds the plaintext.
        if (Host.Protect(request!) is not ProtectedRegion region)
        {
            return ProtectRefusedErrno;
        }
        Seal(call, region);
        Host.MarkSealed(region);
        Host.SendVirq(DomainId.Dom0, Virq.Vbase);
        return region.Id;
    }

    private long Exit(VbaseOpCall call)
    {
        IReadOnlyList<ProtectedRegion> mine = Host.RegionsOf(call.Caller, call.VcpuId, call.Satp);
        if (mine.Count == 0)
        {
            return Errno.ENOENT;
        }
        foreach (ProtectedRegion region in mine.ToList())
        {
            // DRAM must hold all of the region (its dirty lines written back) before the seal is undone.
            Host.FlushRegion(region);
            Unseal(call, region);
            Host.Release(region);
        }
        return 0;
    }
}

/// <summary>One frame of a region: its page index in the region, its machine frame, and its bytes in DRAM.</summary>
public delegate void RegionFrameAction(int page, Mfn mfn, Span<byte> frame);

/// <summary>One line of a region (see <see cref="RegionLine"/>).</summary>
public delegate void RegionLineAction(RegionLine line);

/// <summary>
/// A line of a region in DRAM: <see cref="Page"/> of the region, <see cref="Offset"/> in that page,
/// <see cref="Index"/> in the region (page × lines per page + line), machine <see cref="Address"/>, and
/// <see cref="Bytes"/>, the line in DRAM itself.
/// </summary>
public readonly ref struct RegionLine(int page, int offset, int index, ulong address, Span<byte> bytes)
{
    public int Page { get; } = page;
    public int Offset { get; } = offset;
    public int Index { get; } = index;
    public ulong Address { get; } = address;
    public Span<byte> Bytes { get; } = bytes;
}
