using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Traps;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Dom0;

/// <summary>A VIRQ delivered to Dom0 (its C# programs bind VIRQs as Xen's Dom0 binds them to ports).</summary>
public sealed record Dom0Virq(int Virq, ulong Time);

/// <summary>
/// The privileged API of the MoCo domain, Dom0: domain control (libxc), foreign memory by GFN with per-page
/// errors (libxenforeignmemory), vCPU state, p2m changes, VIRQs and consoles. Dom0 is trusted C#: a bad
/// handle throws <see cref="ArgumentException"/>; guest-memory failures are per-page error codes.
/// </summary>
public sealed class Dom0Api
{
    private readonly Hypervisor hv;
    private readonly Dictionary<int, List<Action<Dom0Virq>>> virqHandlers = [];

    internal Dom0Api(Hypervisor hv) => this.hv = hv;

    // ---- the network (docs/network.md) ----

    private Network.NetworkBridge? network;

    /// <summary>Dom0's bridge between the guests' NICs and its own endpoint (created on first use).</summary>
    public Network.NetworkBridge Network => network ??= new Network.NetworkBridge(hv);

    /// <summary>
    /// Gives a (paused, not yet run) domain a virtio-net card with <paramref name="mac"/> in virtio-mmio slot 0
    /// (guest-physical <c>VBASE_VIRTIO_MMIO_BASE</c>), on the bridge. <exception cref="ArgumentException">The MAC is
    /// in use or not unicast, or the domain has a NIC.</exception>
    /// </summary>
    public Network.BridgePort AttachNic(DomainId id, Network.MacAddress mac)
    {
        Domain d = Get(id);
        Network.BridgePort port = Network.Attach(d, mac);
        hv.Record(id, null, new Network.NetAttachedData(mac.ToString(), GuestLayout.VirtioMmioBase, port.Index));
        return port;
    }

    // ---- domain control ----

    /// <summary>Builds a paused domain. <exception cref="DomainBuildException">A stage of the build failed.</exception></summary>
    public DomainHandle CreateDomain(DomainConfig config)
    {
        Domain d = DomainBuilder.Build(hv, config);
        hv.AddDomain(d);
        hv.Record(d.Id, null, new DomainCreatedData(config.Name, config.MemoryBytes, config.VcpuCount, config.Modules.Count));
        if (!d.Privileged)
        {
            hv.Sapi.DomainLaunched(d.Id);   // the image is in: a whole-VM design encrypts it now (SEV's LAUNCH_FINISH)
        }
        return new DomainHandle(d.Id, d.Name);
    }

    public void Unpause(DomainId id)
    {
        Domain d = Get(id);
        d.Paused = false;
        hv.Record(id, null, new DomainUnpausedData());
    }

    public void Pause(DomainId id)
    {
        Domain d = Get(id);
        d.Paused = true;
        foreach (Vcpu v in d.Vcpus)
        {
            v.Hart.RequestStop();
        }
        hv.Record(id, null, new DomainPausedData());
    }

    /// <summary>Removes the domain and scrubs and frees its frames. Grant mappings of them held elsewhere are removed.</summary>
    public void Destroy(DomainId id)
    {
        Domain d = Get(id);
        if (hv.Current?.Domain == d)
        {
            throw new InvalidOperationException("a domain cannot be destroyed from inside its own slice");
        }
        foreach (Domain other in hv.Domains.Where(o => o != d).ToList())
        {
            // No domain may keep a mapping of a frame that is about to be reused.
            foreach (var (gfn, e) in other.P2m.Snapshot())
            {
                if (e.Type is not (P2mType.RamRw or P2mType.RamRo) && hv.Machine.OwnerOf(e.Mfn) == id)
                {
                    other.P2m.Remove(gfn);
                }
            }
        }
        foreach (Vcpu v in d.Vcpus)
        {
            v.Dispose();
        }
        d.IsDestroyed = true;
        hv.RemoveDomain(d);
        hv.Sapi.DomainDestroyed(id);
        hv.Machine.Free(id);
        hv.Record(id, null, new DomainDestroyedData());
    }

    public DomainInfo GetInfo(DomainId id)
    {
        Domain d = Get(id);
        return new DomainInfo(d.Id, d.Name, d.State, d.Reason, d.ExitCode, d.Instructions, d.Config.MemoryBytes, d.Vcpus.Count, d.Wedge);
    }

    public IReadOnlyList<DomainInfo> ListDomains() => [.. hv.Domains.Select(d => GetInfo(d.Id))];

    // ---- consoles ----

    /// <summary>Everything the domain has written to its console so far.</summary>
    public string ReadConsole(DomainId id) => Get(id).ConsoleText.ToString();

    /// <summary>Queues console input for the domain and sends it VIRQ_CONSOLE.</summary>
    public void PushConsoleInput(DomainId id, ReadOnlySpan<byte> bytes)
    {
        Domain d = Get(id);
        foreach (byte b in bytes)
        {
            d.ConsoleInput.Enqueue(b);
        }
        hv.SendVirq(id, Virq.Console);
        d.VirtioConsole?.InputQueued();
    }

    // ---- foreign memory ----

    /// <summary>
    /// Maps guest frames of <paramref name="id"/> into Dom0 (libxenforeignmemory's map): one error per page
    /// (0, or -EFAULT for a GFN that is not RAM of that domain, -EPERM to write a read-only one). The mapping sees
    /// what DRAM holds: an encrypted VM's private memory as ciphertext (<see cref="SapiHost.EncryptVm"/>).
    /// </summary>
    public ForeignMapping MapForeign(DomainId id, IReadOnlyList<Gfn> gfns, bool writable) => Map(id, gfns, writable, debug: false);

    private ForeignMapping Map(DomainId id, IReadOnlyList<Gfn> gfns, bool writable, bool debug)
    {
        Domain d = Get(id);
        var mfns = new Mfn[gfns.Count];
        var errors = new int[gfns.Count];
        for (int i = 0; i < gfns.Count; i++)
        {
            P2mEntry e = d.P2m.Lookup(gfns[i]);
            if (!e.Type.IsReadable())
            {
                errors[i] = (int)Errno.EFAULT;
            }
            else if (writable && !e.Type.IsWritable() && e.Type != P2mType.RamRo)
            {
                errors[i] = (int)Errno.EPERM;
            }
            else
            {
                mfns[i] = e.Mfn;
            }
        }
        return new ForeignMapping(hv, d, [.. gfns], mfns, errors, writable, debug);
    }

    // ReadGuest and WriteGuest are the toolstack's debug access (the Monitor, the GDB stub, the testbed's kernel
    // mailbox): an encrypted VM's private memory in plaintext, as SEV's DBG_DECRYPT and DBG_ENCRYPT give a VM whose
    // policy allows debugging. An attacker in Dom0 maps foreign frames (MapForeign) and sees DRAM.

    /// <summary>Reads guest-physical memory; returns 0 or the first page's error (-EFAULT).</summary>
    public int ReadGuest(DomainId id, GuestPhysicalAddress gpa, Span<byte> dest) =>
        Get(id).TryRead(gpa.Value, dest, Accessor.Dom0) ? 0 : (int)Errno.EFAULT;

    /// <summary>
    /// Writes guest-physical memory as Dom0 may: RAM of any type, ram_ro included (Dom0 builds start info);
    /// the domain's harts drop decoded code and reservations for the range.
    /// </summary>
    public int WriteGuest(DomainId id, GuestPhysicalAddress gpa, ReadOnlySpan<byte> source)
    {
        Domain d = Get(id);
        var gfns = new List<Gfn>();
        for (ulong a = gpa.Value & ~PageSize.Mask; a < gpa.Value + (ulong)source.Length; a += PageSize.Bytes)
        {
            gfns.Add(new Gfn(a >> PageSize.Shift));
        }
        ForeignMapping m = Map(id, gfns, writable: true, debug: true);
        if (m.Errors.FirstOrDefault(e => e != 0) is int err && err != 0)
        {
            return err;
        }
        int done = 0;
        for (int i = 0; i < gfns.Count; i++)
        {
            int off = i == 0 ? gpa.PageOffset : 0;
            int n = Math.Min(PageSize.Bytes - off, source.Length - done);
            m.Write(i, off, source.Slice(done, n));
            done += n;
        }
        hv.Record(id, null, new ForeignWriteData(gpa, source.Length));
        return 0;
    }

    // ---- vCPU state ----

    public int VcpuCount(DomainId id) => Get(id).Vcpus.Count;

    public ulong GetRegister(DomainId id, int vcpu, int index) => Vcpu(id, vcpu).Hart.GetRegister(index);

    public void SetRegister(DomainId id, int vcpu, int index, ulong value) => Vcpu(id, vcpu).Hart.SetRegister(index, value);

    /// <summary>f<paramref name="index"/> of a vCPU, all 64 bits (as Xen's getvcpucontext gives Dom0 the FPU context).</summary>
    public ulong GetFloatRegister(DomainId id, int vcpu, int index) => Vcpu(id, vcpu).Hart.GetFloatRegister(index);

    public ulong GetPc(DomainId id, int vcpu) => Vcpu(id, vcpu).Hart.Pc;

    public void SetPc(DomainId id, int vcpu, ulong pc) => Vcpu(id, vcpu).Hart.Pc = pc;

    public Privilege GetPrivilege(DomainId id, int vcpu) => Vcpu(id, vcpu).Hart.Privilege;

    public bool TryGetCsr(DomainId id, int vcpu, ushort csr, out ulong value) => Vcpu(id, vcpu).Hart.TryGetCsr(csr, out value);

    public bool TrySetCsr(DomainId id, int vcpu, ushort csr, ulong value) => Vcpu(id, vcpu).Hart.TrySetCsr(csr, value);

    /// <summary>Instructions the vCPU has retired.</summary>
    public ulong GetInstret(DomainId id, int vcpu) => Vcpu(id, vcpu).Hart.Instret;

    // ---- p2m ----

    public P2mEntry GetP2mEntry(DomainId id, Gfn gfn) => Get(id).P2m.Lookup(gfn);

    public IReadOnlyList<KeyValuePair<Gfn, P2mEntry>> GetP2m(DomainId id) => Get(id).P2m.Snapshot();

    /// <summary>
    /// Changes one p2m entry (type and/or frame); the domain's vCPUs drop their cached translations.
    /// Throws <see cref="UnauthorizedAccessException"/> if the plugged-in architecture refuses the change.
    /// </summary>
    public void SetP2mEntry(DomainId id, Gfn gfn, P2mEntry entry)
    {
        Domain d = Get(id);
        if (entry.Type != P2mType.Invalid && !hv.Machine.IsValid(entry.Mfn))
        {
            throw new ArgumentOutOfRangeException(nameof(entry), $"{entry.Mfn} is outside machine memory");
        }
        P2mEntry old = d.P2m.Lookup(gfn);
        if (!hv.Sapi.AllowP2mChange(id, gfn, old, entry, Accessor.Dom0))
        {
            throw new UnauthorizedAccessException($"the architecture refused to change {gfn} of domain {id.Value}");
        }
        d.P2m.Set(gfn, entry);
        hv.Record(id, null, new P2mChangeData(gfn, old, entry));
    }

    /// <summary>
    /// Adds one fresh zeroed machine frame to the domain, mapped <c>ram_rw</c> at <paramref name="gfn"/>, as Xen's
    /// toolstack does with <c>xc_domain_populate_physmap_exact</c>; the domain owns it, so <see cref="Destroy"/>
    /// frees it with the rest. Returns the frame.
    /// <exception cref="ArgumentException"><paramref name="gfn"/> is not a hole (mapped, or at or past
    /// <see cref="Grants.GrantTable.MaxGfn"/>).</exception>
    /// <exception cref="InvalidOperationException">Machine memory has no free frame.</exception>
    /// <exception cref="UnauthorizedAccessException">The plugged-in architecture refuses the change.</exception>
    /// </summary>
    public Mfn PopulatePhysmap(DomainId id, Gfn gfn)
    {
        Domain d = Get(id);
        P2mEntry old = d.P2m.Lookup(gfn);
        if (old.Type != P2mType.Invalid || gfn.Value >= Grants.GrantTable.MaxGfn)
        {
            throw new ArgumentException($"{gfn} of domain {id.Value} is not a hole ({old.Type.ToXenName()})", nameof(gfn));
        }
        Mfn frame = hv.Machine.Allocate(id, 1)?[0]
            ?? throw new InvalidOperationException($"machine memory has no free frame for {gfn} of domain {id.Value}");
        var entry = new P2mEntry(frame, P2mType.RamRw);
        if (!hv.Sapi.AllowP2mChange(id, gfn, old, entry, Accessor.Dom0))
        {
            hv.Machine.Free(id, frame);   // refused: the frame goes back, untouched and still zero
            throw new UnauthorizedAccessException($"the architecture refused to populate {gfn} of domain {id.Value}");
        }
        d.P2m.Set(gfn, entry);
        hv.Record(id, null, new P2mChangeData(gfn, old, entry));
        return entry.Mfn;
    }

    // ---- SAPI (the Monitor's view) ----

    /// <summary>
    /// The privileged <c>vbase_op(query)</c>: every protected region (VA, GFNs, MFNs, state) with the plugged-in
    /// architecture's description of it — what the paper's Monitor asks for after VIRQ_VBASE.
    /// </summary>
    public IReadOnlyList<RegionReport> QueryRegions() => hv.Sapi.Query();

    /// <summary>
    /// Reads a protected region in one of three views (DRAM, what the application would read, the golden
    /// shadow) without side effects; -ENOENT for an unknown region, -EINVAL for a range outside it.
    /// </summary>
    public int ReadRegion(int regionId, ulong offset, Span<byte> dest, MemoryView view)
    {
        ProtectedRegion? r = hv.Sapi.Regions.FirstOrDefault(x => x.Id == regionId);
        if (r is null)
        {
            return (int)Errno.ENOENT;
        }
        return hv.Sapi.ReadView(r, offset, dest, view) ? 0 : (int)Errno.EINVAL;
    }

    /// <summary>The Oracle's record: the application's reads of protected data that differed from the golden shadow, the first ones.</summary>
    public IReadOnlyList<ShadowMismatch> ShadowMismatches => hv.Sapi.Mismatches;

    /// <summary>Every such read so far, counted (<see cref="ShadowMismatches"/> keeps the first <see cref="SapiHost.MismatchHistory"/>).</summary>
    public long ShadowMismatchCount => hv.Sapi.MismatchCount;

    // ---- VIRQs ----

    /// <summary>Receives <paramref name="virq"/> when the hypervisor sends it to Dom0 (e.g. VIRQ_DOM_EXC on a shutdown).</summary>
    public void BindVirq(int virq, Action<Dom0Virq> handler)
    {
        if (!virqHandlers.TryGetValue(virq, out List<Action<Dom0Virq>>? list))
        {
            virqHandlers[virq] = list = [];
        }
        list.Add(handler);
    }

    /// <summary>Sends a VIRQ to a guest domain without its cooperation; false if the guest has not bound it.</summary>
    public bool SendVirq(DomainId id, int virq, int vcpu = 0) => hv.SendVirq(Get(id).Id, virq, vcpu);

    internal bool IsVirqBound(int virq) => virqHandlers.ContainsKey(virq);

    internal bool DeliverVirq(int virq)
    {
        if (!virqHandlers.TryGetValue(virq, out List<Action<Dom0Virq>>? list))
        {
            return false;
        }
        var e = new Dom0Virq(virq, hv.Current?.Hart.Time ?? hv.Now);
        foreach (Action<Dom0Virq> h in list.ToList())
        {
            h(e);
        }
        return true;
    }

    private Domain Get(DomainId id) =>
        hv.FindDomain(id) ?? throw new ArgumentException($"no domain {id}", nameof(id));

    private Vcpu Vcpu(DomainId id, int vcpu)
    {
        Domain d = Get(id);
        return vcpu >= 0 && vcpu < d.Vcpus.Count ? d.Vcpus[vcpu] : throw new ArgumentOutOfRangeException(nameof(vcpu));
    }
}

/// <summary>
/// Guest frames mapped into Dom0. Reads see the frames as they are now in DRAM; writes go through <see cref="Write"/>
/// so that the owning domain's harts drop decoded code and reservations.
/// </summary>
public sealed class ForeignMapping
{
    private readonly Hypervisor hv;
    private readonly Domain domain;
    private readonly Gfn[] gfns;
    private readonly Mfn[] mfns;
    private readonly bool writable;
    private readonly bool debug;   // the toolstack's debug access: an encrypted VM's plaintext, not DRAM

    internal ForeignMapping(Hypervisor hv, Domain domain, Gfn[] gfns, Mfn[] mfns, int[] errors, bool writable, bool debug)
    {
        this.debug = debug;
        this.hv = hv;
        this.domain = domain;
        this.gfns = gfns;
        this.mfns = mfns;
        Errors = errors;
        this.writable = writable;
    }

    /// <summary>Per page: 0, or a negative errno (the page is not mapped).</summary>
    public IReadOnlyList<int> Errors { get; }

    public int Count => gfns.Length;

    /// <summary>The page as Dom0 sees it: a protected frame is read through the plugged-in architecture.</summary>
    public ReadOnlySpan<byte> Read(int page)
    {
        Check(page);
        Mfn mfn = mfns[page];
        byte[] copy;
        if (hv.Sapi.IsInterposed(mfn))
        {
            copy = new byte[PageSize.Bytes];
            if (!hv.Sapi.Read(Accessor.Dom0, AccessKind.Load, DomainId.Dom0, null, mfn, 0, copy))
            {
                throw new UnauthorizedAccessException($"page {page} ({gfns[page]}): the architecture refused the read");
            }
            return copy;
        }
        if (debug || !hv.Sapi.IsVmPrivate(mfn))
        {
            return hv.Machine.Frame(mfn);
        }
        copy = new byte[PageSize.Bytes];
        hv.Sapi.ReadVmPrivate(mfn, 0, copy);   // an encrypted VM's private frame: DRAM's ciphertext
        return copy;
    }

    public void Write(int page, int offset, ReadOnlySpan<byte> data)
    {
        Check(page);
        if (!writable)
        {
            throw new InvalidOperationException("mapped read-only");
        }
        if (offset < 0 || offset + data.Length > PageSize.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }
        if (hv.Sapi.IsInterposed(mfns[page]))
        {
            if (!hv.Sapi.Write(Accessor.Dom0, AccessKind.Store, DomainId.Dom0, null, mfns[page], offset, data))
            {
                throw new UnauthorizedAccessException($"page {page} ({gfns[page]}): the architecture refused the write");
            }
        }
        else if (!debug && hv.Sapi.IsVmPrivate(mfns[page]))
        {
            if (!hv.Sapi.WriteVmPrivate(mfns[page], offset, data, Accessor.Dom0))
            {
                throw new UnauthorizedAccessException($"page {page} ({gfns[page]}): the architecture refused the write to the VM's private memory");
            }
        }
        else
        {
            data.CopyTo(hv.Machine.Frame(mfns[page])[offset..]);
        }
        hv.NotifyMachineWrite(mfns[page], (uint)offset, (uint)data.Length);
    }

    private void Check(int page)
    {
        if (page < 0 || page >= gfns.Length || Errors[page] != 0 || domain.IsDestroyed)
        {
            throw new InvalidOperationException($"page {page} is not mapped (error {(page >= 0 && page < gfns.Length ? Errors[page] : 0)})");
        }
    }
}
