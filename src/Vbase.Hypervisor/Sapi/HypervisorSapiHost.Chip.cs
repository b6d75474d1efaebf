using System.Runtime.InteropServices;
using Vbase.Hypervisor.Chip;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.P2m;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Memory;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;

namespace Vbase.Hypervisor.Sapi;

// The DRAM boundary (docs/sapi.md): protected frames' lines live on chip in plaintext (ChipPage), in the modelled
// last-level cache; the plug-in is called when a line is filled from DRAM and when a dirty one is written back,
// never on a hit. Who sees what is the plug-in's DecideView, asked when a hart fills its TLB (and cached there) and
// on every slow-path access (hypercall copies, Dom0, grant copies, the Monitor).
//
// The golden shadow stays exact without a hook on hits: an untainted resident line holds what the application last
// wrote (only it stores to it on the fast path), so the shadow is brought up to date from it whenever it matters —
// before the line leaves the chip, before anyone else writes it, and when the shadow is read.
public sealed unsafe partial class HypervisorSapiHost
{
    private LastLevelCache? llc;
    private readonly Dictionary<ulong, ChipPage> chipPages = [];   // by MFN, for every frame of an active region
    private byte* abortPage;

    /// <summary>What crossed the chip boundary so far (data lines here, metadata lines by the plug-in's metadata cache).</summary>
    public override CostCounters Cost { get; } = new();

    /// <summary>The on-chip boundary's configuration (cache geometry, cost latencies).</summary>
    public override ChipOptions Chip => hv.Options.Chip;

    private LastLevelCache Llc => llc ??= new LastLevelCache(hv.Options.Chip);

    /// <summary>The run's traffic and work at the chip boundary so far, with the harts' on-chip hits and instructions.</summary>
    public override DramTraffic Traffic()
    {
        long hits = 0;
        ulong instructions = 0;
        foreach (Domain d in hv.Domains)
        {
            foreach (Vcpu v in d.Vcpus)
            {
                hits += v.Hart.LineHits;
                instructions += v.Hart.Instret;
            }
        }
        return Cost.Snapshot(hits, instructions);
    }

    /// <summary>Adds what crossed the chip boundary to the event log (<c>sapi.dram_traffic</c>).</summary>
    public void RecordDramTraffic(DramTraffic t) =>
        hv.Record(null, null, new DramTrafficData(architecture?.Name ?? "none", t, t.Cycles(Chip.Latencies)));

    /// <summary>Drops every cached view decision (the harts' TLBs): call it when the plug-in's own state changes one.</summary>
    public override void InvalidateViews() => FlushHarts();

    /// <summary>
    /// Writes back every dirty line of <paramref name="region"/> and takes its lines off chip, so that DRAM holds all
    /// of it (before a plug-in undoes its seal at exit).
    /// </summary>
    public override void FlushRegion(ProtectedRegion region)
    {
        foreach (Mfn m in region.Mfns)
        {
            if (chipPages.TryGetValue(m.Value, out ChipPage? cp))
            {
                for (int line = 0; line < ChipPage.Lines; line++)
                {
                    WriteBackLine(cp, line, invalidate: true);
                }
            }
        }
    }

    /// <summary>
    /// A physical attacker's first step: the lines covering [offset, offset + length) of <paramref name="region"/> are
    /// written back and leave the chip, and so does the plug-in's cached metadata (as an attacker forces eviction), so
    /// that what it does to DRAM is what the next fill sees.
    /// </summary>
    public void EvictForAttack(ProtectedRegion region, ulong offset, ulong length)
    {
        if (length == 0 || offset >= region.Length)
        {
            return;
        }
        ulong end = Math.Min(region.Length, offset + length);
        for (ulong at = offset & ~(ulong)(ChipOptions.LineBytes - 1); at < end; at += ChipOptions.LineBytes)
        {
            if (chipPages.TryGetValue(region.Mfns[(int)(at >> PageSize.Shift)].Value, out ChipPage? cp))
            {
                WriteBackLine(cp, (int)((at & PageSize.Mask) / ChipOptions.LineBytes), invalidate: true);
            }
        }
        architecture?.FlushMetadata();
    }

    /// <summary>End of a run: every dirty line, data and metadata, goes to DRAM (so that both directions are counted).</summary>
    public void FlushChip()
    {
        foreach (ProtectedRegion region in regions)
        {
            if (region.IsActive)
            {
                ReportCountedDrops(region);
            }
        }
        foreach (ChipPage cp in chipPages.Values)
        {
            for (int line = 0; line < ChipPage.Lines; line++)
            {
                WriteBackLine(cp, line, invalidate: false);
            }
        }
        architecture?.FlushMetadata();
    }

    /// <summary>
    /// What machine memory a plug-in may take for its metadata area: a fifth of it (the testbed adds that much to what
    /// the domains need), in whole frames.
    /// </summary>
    public override ulong MetadataBudget => hv.Machine.FrameCount / 5 * PageSize.Bytes;

    /// <summary>
    /// Reserves <paramref name="bytes"/> (rounded up to frames) of machine memory for the plug-in's off-chip metadata:
    /// contiguous, zeroed, at the top of machine memory (owned by the hypervisor), where physical attacks reach it
    /// like any DRAM. Throws if machine memory has no such run free.
    /// </summary>
    public override MetadataArea ReserveMetadata(ulong bytes)
    {
        ulong frames = (bytes + PageSize.Mask) >> PageSize.Shift;
        Mfn first = hv.Machine.AllocateTop(DomainId.Xen, frames)
            ?? throw new InvalidOperationException($"no {frames} contiguous free frames of machine memory for metadata");
        var area = new MetadataArea(hv.Machine, first, frames);
        hv.Record(null, null, new MetadataAreaData(first, frames));
        return area;
    }

    // ---- for the hypervisor ----

    private byte* AbortPage
    {
        get
        {
            if (abortPage is null)
            {
                abortPage = (byte*)NativeMemory.Alloc(PageSize.Bytes);
                new Span<byte>(abortPage, PageSize.Bytes).Fill(0xFF);
            }
            return abortPage;
        }
    }

    private void AttachChipPages(ProtectedRegion region)
    {
        for (int i = 0; i < region.Mfns.Count; i++)
        {
            chipPages[region.Mfns[i].Value] = new ChipPage(region, i, region.Mfns[i]);
        }
    }

    /// <summary>After the harts' TLBs dropped the region's pages: lines still on chip are lost (flush first to keep them).</summary>
    private void DetachChipPages(ProtectedRegion region)
    {
        foreach (Mfn m in region.Mfns)
        {
            if (chipPages.Remove(m.Value, out ChipPage? cp))
            {
                for (int line = 0; line < ChipPage.Lines; line++)
                {
                    if (ChipPage.Has(cp.Resident, line))
                    {
                        Llc.Remove(LineNumber(cp, line));
                    }
                }
                cp.Dispose();
            }
        }
    }

    /// <summary>
    /// The region's domain forgets decoded code of its pages. Only its own harts: the frames are its own RAM, and a
    /// whole-machine scan per frame (NotifyMachineWrite) would cost a guest looping on enter and exit dearly.
    /// </summary>
    private void InvalidateCode(ProtectedRegion region)
    {
        if (Find(region.Domain) is Domain d)
        {
            foreach (Gfn gfn in region.Gfns)
            {
                d.NotifyWritten(gfn.Address.Value, PageSize.Bytes);
            }
        }
    }

    private LineContext LineOf(ChipPage cp, int line) =>
        new() { Region = cp.Region, RegionPage = cp.Page, Line = line, Mfn = cp.Mfn, Time = Now };

    private Span<byte> DramLine(ChipPage cp, int line) =>
        hv.Machine.Frame(cp.Mfn).Slice(line * ChipOptions.LineBytes, ChipOptions.LineBytes);

    private static ulong LineNumber(ChipPage cp, int line) => (cp.Mfn.Value * ChipPage.Lines) + (ulong)line;

    /// <summary>
    /// A hart's TLB fill for a protected frame: the page it may reach directly for <paramref name="access"/> (on-chip
    /// plaintext with its line mask, DRAM, the abort page), or null for the slow path. A fetch gets the plaintext
    /// with the load mask, and the hart keeps decodes of its lines until <see cref="ForgetCode"/> says they left.
    /// </summary>
    internal byte* PageFor(Accessor accessor, DomainId initiator, Vcpu? vcpu, Mfn mfn, MemoryAccess access, out ulong* lines)
    {
        lines = null;
        if (architecture is null || interposed[mfn.Value] != Protected
            || access is not (MemoryAccess.Load or MemoryAccess.Store or MemoryAccess.Fetch)
            || !chipPages.TryGetValue(mfn.Value, out ChipPage? cp))
        {
            return null;
        }
        AccessKind kind = DomainPhysicalMemory.KindOf(access);
        MemoryAccessContext ctx = Context(accessor, kind, initiator, vcpu, mfn, 0);
        switch (architecture.DecideView(ctx))
        {
            case PageView.Plaintext:
                if (kind == AccessKind.Store && !ctx.IsApplication)
                {
                    return null;   // someone else's store taints the line: the slow path keeps the shadow
                }
                cp.Fetched |= kind == AccessKind.Fetch;
                lines = cp.Masks + (kind == AccessKind.Store ? 1 : 0);
                return cp.Plaintext;
            // Code is not run from DRAM's ciphertext or the abort page directly: such fetches stay on the slow path.
            case PageView.Dram:
                return kind == AccessKind.Load ? hv.Machine.HostPointer(mfn) : null;
            case PageView.Abort:
                return kind == AccessKind.Load ? AbortPage : null;
            default:
                return null;
        }
    }

    /// <summary>The view of a slow-path access to a protected frame (null: not one the plug-in decides, e.g. observed).</summary>
    private PageView? ViewOf(in MemoryAccessContext ctx) =>
        architecture is not null && interposed[ctx.Mfn.Value] == Protected && chipPages.ContainsKey(ctx.Mfn.Value)
            ? architecture.DecideView(ctx)
            : null;

    private bool ReadOnChip(in MemoryAccessContext ctx, Span<byte> data)
    {
        ChipPage cp = chipPages[ctx.Mfn.Value];
        int done = 0;
        while (done < data.Length)
        {
            int at = ctx.Offset + done, line = at / ChipOptions.LineBytes, inLine = at % ChipOptions.LineBytes;
            int n = Math.Min(ChipOptions.LineBytes - inLine, data.Length - done);
            if (!EnsureOnChip(cp, line, ctx))
            {
                Refused(ctx, data.Length);
                return false;
            }
            ReadOnlySpan<byte> part = cp.Line(line).Slice(inLine, n);
            part.CopyTo(data.Slice(done, n));
            if (ctx.IsApplication && ChipPage.Has(cp.Tainted, line))
            {
                CompareWithShadow(ctx, ShadowOf(cp, line).Slice(inLine, n), part, ctx.Address.Value + (ulong)done);
            }
            done += n;
        }
        return true;
    }

    private bool WriteOnChip(in MemoryAccessContext ctx, ReadOnlySpan<byte> data)
    {
        ChipPage cp = chipPages[ctx.Mfn.Value];
        int done = 0;
        while (done < data.Length)
        {
            int at = ctx.Offset + done, line = at / ChipOptions.LineBytes, inLine = at % ChipOptions.LineBytes;
            int n = Math.Min(ChipOptions.LineBytes - inLine, data.Length - done);
            if (!EnsureOnChip(cp, line, ctx))   // write-allocate
            {
                Refused(ctx, data.Length);
                return false;
            }
            ulong bit = 1UL << line;
            Span<byte> shadow = ShadowOf(cp, line);
            bool tainted = ChipPage.Has(cp.Tainted, line);
            if (ctx.IsApplication)
            {
                if (tainted && shadow.Length != 0)
                {
                    data.Slice(done, n).CopyTo(shadow[inLine..]);
                }
            }
            else if (!tainted)
            {
                cp.Line(line).CopyTo(shadow);   // what the application wrote, before someone else changes it
            }
            data.Slice(done, n).CopyTo(cp.Line(line)[inLine..]);
            cp.Dirty |= bit;
            ForgetCode(cp, line);
            // The application's write to an untainted line keeps it so (on chip is what it wrote); otherwise the line
            // is tainted while it differs from the shadow.
            if (tainted || !ctx.IsApplication)
            {
                bool differs = shadow.Length != 0 && !cp.Line(line).SequenceEqual(shadow);
                cp.Tainted = differs ? cp.Tainted | bit : cp.Tainted & ~bit;
            }
            cp.UpdateMasks();
            done += n;
        }
        return true;
    }

    /// <summary>The line is on chip after this (filled if it was not); false: the fill failed its check.</summary>
    private bool EnsureOnChip(ChipPage cp, int line, in MemoryAccessContext cause)
    {
        if (ChipPage.Has(cp.Resident, line))
        {
            Cost.SlowHits++;
            return true;
        }
        ulong number = LineNumber(cp, line);
        if (Llc.Insert(number, out ulong victim) && chipPages.TryGetValue(victim / ChipPage.Lines, out ChipPage? owner))
        {
            WriteBackLine(owner, (int)(victim % ChipPage.Lines), invalidate: true);
        }
        LineContext lc = LineOf(cp, line) with { Cause = cause };
        if (!architecture!.OnFill(lc, DramLine(cp, line), cp.Line(line)))
        {
            Llc.Remove(number);
            return false;
        }
        Cost.DataReads++;
        ulong bit = 1UL << line;
        cp.Resident |= bit;
        cp.Dirty &= ~bit;
        Span<byte> shadow = ShadowOf(cp, line);
        cp.Tainted = shadow.Length != 0 && !cp.Line(line).SequenceEqual(shadow) ? cp.Tainted | bit : cp.Tainted & ~bit;
        cp.UpdateMasks();
        return true;
    }

    private void WriteBackLine(ChipPage cp, int line, bool invalidate)
    {
        ulong bit = 1UL << line;
        if ((cp.Resident & bit) == 0)
        {
            return;
        }
        if ((cp.Tainted & bit) == 0)
        {
            cp.Line(line).CopyTo(ShadowOf(cp, line));
        }
        if ((cp.Dirty & bit) != 0)
        {
            architecture!.OnWriteBack(LineOf(cp, line), cp.Line(line), DramLine(cp, line));
            Cost.DataWrites++;
            cp.Dirty &= ~bit;
        }
        if (invalidate)
        {
            cp.Resident &= ~bit;
            cp.Tainted &= ~bit;
            Llc.Remove(LineNumber(cp, line));
            ForgetCode(cp, line);
        }
        cp.UpdateMasks();
    }

    /// <summary>
    /// A line of a page the harts fetch from left the chip or changed: their decodes of it go (the next fetch fills
    /// it again, through the plug-in). Only the region's own domain fetches from its on-chip plaintext.
    /// </summary>
    private void ForgetCode(ChipPage cp, int line)
    {
        if (cp.Fetched && Find(cp.Region.Domain) is Domain d)
        {
            ulong gpa = cp.Region.Gfns[cp.Page].Address.Value + (ulong)(line * ChipOptions.LineBytes);
            foreach (Vcpu v in d.Vcpus)
            {
                v.Hart.ForgetCode(gpa, ChipOptions.LineBytes);
            }
        }
    }

    /// <summary>Before an access that bypasses the chip (DRAM view store, every-access hooks): the line leaves it first.</summary>
    private void PushOffChip(Mfn mfn, int offset, int length)
    {
        if (chipPages.TryGetValue(mfn.Value, out ChipPage? cp) && cp.Resident != 0)
        {
            for (int line = offset / ChipOptions.LineBytes; line <= (offset + length - 1) / ChipOptions.LineBytes; line++)
            {
                WriteBackLine(cp, line, invalidate: true);
            }
        }
    }

    /// <summary>The region's golden shadow of one line (empty once released).</summary>
    private static Span<byte> ShadowOf(ChipPage cp, int line) => cp.Region.Shadow.Length == 0
        ? Span<byte>.Empty
        : cp.Region.Shadow.AsSpan((cp.Page * PageSize.Bytes) + (line * ChipOptions.LineBytes), ChipOptions.LineBytes);

    /// <summary>Brings the shadow of [offset, offset + length) of a region up to date from its untainted lines on chip.</summary>
    private void SyncShadow(ProtectedRegion region, ulong offset, int length)
    {
        if (length == 0 || region.Shadow.Length == 0)
        {
            return;
        }
        ulong end = offset + (ulong)length;
        for (ulong at = offset & ~(ulong)(ChipOptions.LineBytes - 1); at < end; at += ChipOptions.LineBytes)
        {
            if (chipPages.TryGetValue(region.Mfns[(int)(at >> PageSize.Shift)].Value, out ChipPage? cp) && cp.Region == region)
            {
                int line = (int)((at & PageSize.Mask) / ChipOptions.LineBytes);
                if (ChipPage.Has(cp.Resident & ~cp.Tainted, line))
                {
                    cp.Line(line).CopyTo(ShadowOf(cp, line));
                }
            }
        }
    }

    /// <summary>What the registering application sees of a page of its region (null: no plug-in decides it).</summary>
    private PageView? ApplicationView(ProtectedRegion region, int page)
    {
        if (architecture is null || !chipPages.ContainsKey(region.Mfns[page].Value))
        {
            return null;
        }
        var ctx = new MemoryAccessContext
        {
            Accessor = Accessor.GuestUser,
            Kind = AccessKind.Load,
            Domain = region.Domain,
            Initiator = region.Domain,
            Vcpu = region.Vcpu,
            Satp = region.Satp,
            VirtualAddress = region.VirtualAddress.Value == 0 ? null : region.VirtualAddress.Value + ((ulong)page << PageSize.Shift),
            Gfn = region.Gfns[page],
            Mfn = region.Mfns[page],
            Offset = 0,
            Region = region,
            RegionPage = page,
            Time = Now,
        };
        return architecture.DecideView(ctx);
    }

    /// <summary>The Application view of <paramref name="dest"/>.Length bytes at <paramref name="offset"/> of a page.</summary>
    private void InspectRange(ProtectedRegion region, int page, int offset, Span<byte> dest)
    {
        Span<byte> line = stackalloc byte[ChipOptions.LineBytes];
        for (int done = 0; done < dest.Length;)
        {
            int at = offset + done, inLine = at % ChipOptions.LineBytes;
            int n = Math.Min(ChipOptions.LineBytes - inLine, dest.Length - done);
            InspectLine(region, page, at / ChipOptions.LineBytes, line);
            line.Slice(inLine, n).CopyTo(dest[done..]);
            done += n;
        }
    }

    /// <summary>The Application view of one line for the Monitor: on chip if resident, else decrypted without side effects.</summary>
    private void InspectLine(ProtectedRegion region, int page, int line, Span<byte> dest)
    {
        Mfn mfn = region.Mfns[page];
        ReadOnlySpan<byte> dram = hv.Machine.Frame(mfn).Slice(line * ChipOptions.LineBytes, ChipOptions.LineBytes);
        if (chipPages.TryGetValue(mfn.Value, out ChipPage? cp) && ChipPage.Has(cp.Resident, line))
        {
            cp.Line(line).CopyTo(dest);
            return;
        }
        var lc = new LineContext { Region = region, RegionPage = page, Line = line, Mfn = mfn, Time = Now, Inspection = true };
        if (!region.Sealed || !architecture!.OnFill(lc, dram, dest))
        {
            dram.CopyTo(dest);   // not sealed yet (DRAM still holds plaintext), or the application's read would fault
        }
    }

    internal void FreeChip()
    {
        foreach (ChipPage cp in chipPages.Values)
        {
            cp.Dispose();
        }
        chipPages.Clear();
        if (abortPage is not null)
        {
            NativeMemory.Free(abortPage);
            abortPage = null;
        }
    }
}
