using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Vbase.Isa.Memory;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Calls;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Registers;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.SgxMee;

/// <summary>
/// Intel SGX as seen from memory: Gueron's Memory Encryption Engine at the chip boundary (here: each registered region
/// is an enclave's EPC pages) plus the EPCM access checks.
/// <list type="bullet">
/// <item><description>MEE (<see cref="MemoryEncryptionEngine"/>): the enclave's lines live on chip in plaintext; a line
/// filled from DRAM is checked (its version line verified up an 8-ary tree whose root is on chip, its 56-bit
/// Carter–Wegman MAC over ciphertext, address and version) and decrypted (AES-128-CTR, seed = line address and
/// version); a dirty line written back gets a new version, is encrypted and MACed. Versions, MACs and tree nodes lie in
/// DRAM, in the MEE region of the metadata area (SGX's PRM), reached through an on-chip metadata cache. A failed
/// check is a violation and the access that needed the line faults.</description></item>
/// <item><description>EPCM (<see cref="EnclavePageCacheMap"/>), decided per page when a TLB entry is filled
/// (<see cref="DecideView"/>): the enclave reaches its page's plaintext only at the page's virtual address and with
/// the page's permissions (else the access faults and is reported); anyone else (the guest kernel, other processes,
/// the hypervisor's copies, Dom0, devices) gets the abort page: reads all 0xFF, writes dropped.</description></item>
/// <item><description>Remaps. Dom0 changing the p2m entry of an enclave GFN is refused (the hypervisor-level form of
/// the EPCM check that would make the remapped page fault). A guest kernel pointing the enclave's virtual page at a
/// frame outside the EPC cannot be refused, and accesses to that frame never reach the plug-in; at every resume of the
/// enclave the plug-in walks its page table over the enclave's virtual range, as SGX's TLB fills after ERESUME would,
/// and reports a page that does not translate to its EPC frame. It cannot fault the enclave's later accesses there
/// (see docs/architectures/sgx-mee.md).</description></item>
/// </list>
/// </summary>
/// <remarks>
/// SGX's MEE uses one key per boot over one fixed range; here each registration is a fresh range whose versions start
/// at 0, so its keys derive from (run seed, region id) — otherwise re-registering the same frames would reuse
/// (address, version) seeds under one key.
/// </remarks>
[Architecture("sgx-mee",
    "Intel SGX: MEE at the chip boundary (AES-CTR per line, 56-bit Carter-Wegman MAC, 8-ary tree over the version lines, all in DRAM, root on chip) and EPCM checks at TLB fill (owner, VA, permissions); outsiders read 0xFF, their writes are dropped",
    Principal.Application)]
public sealed class SgxMeeArchitecture : RegionArchitectureBase, IDisposable
{
    private readonly RegisterShield registerShield = new();

    /// <summary>What a read from outside the enclave returns: SGX's abort page semantics.</summary>
    public const byte AbortByte = 0xFF;

    private const int LinesPerPage = PageSize.Bytes / MemoryEncryptionEngine.LineBytes;

    private readonly ulong seed;
    private readonly EnclavePageCacheMap epcm = new();
    private readonly Dictionary<int, Enclave> enclaves = [];
    private MetadataArea? area;
    private MetadataAllocator? allocator;
    private DramMetadataCache? cache;
    private (ulong Time, ulong Mfn, ulong? Va, AccessKind Kind, int? Vcpu) lastEpcmRefusal;

    public SgxMeeArchitecture(ArchitectureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        seed = options.Seed;
        Parameters = SgxMeeParameters.Parse(options.Parameters);
    }

    public override string Name => "sgx-mee";

    /// <summary>The settings this instance runs with.</summary>
    public SgxMeeParameters Parameters { get; }

    /// <summary>The EPCM (read-only use: tests and introspection).</summary>
    public EnclavePageCacheMap Epcm => epcm;

    /// <summary>The MEE region in machine memory (versions, MACs, tree nodes of every enclave); available once attached.</summary>
    public MetadataArea MetadataArea => area ?? throw new InvalidOperationException("sgx-mee is not attached to a hypervisor");

    /// <summary>The on-chip metadata cache; available once attached.</summary>
    public DramMetadataCache MetadataCache => cache ?? throw new InvalidOperationException("sgx-mee is not attached to a hypervisor");

    /// <summary>The MEE of a live enclave (its metadata is what a physical attacker could tamper with), or null.</summary>
    public MemoryEncryptionEngine? EngineOf(int regionId) =>
        enclaves.TryGetValue(regionId, out Enclave? e) && e.Region.IsActive ? e.Engine : null;

    /// <summary>The MEE region: a fifth of machine memory at its top (the PRM, set aside before any domain is built).</summary>
    protected override void OnAttached()
    {
        base.OnAttached();
        area = Host.ReserveMetadata(Host.MetadataBudget);
        allocator = new MetadataAllocator(area);
        cache = new DramMetadataCache(Host, area, Parameters.MetadataCacheBytes, Parameters.MetadataCacheWays);
    }

    /// <summary>
    /// The caller's own RAM, and room in the MEE region for the enclave's versions, MACs and tree (ENOMEM otherwise:
    /// the EPC is full, or the metadata cache has too few ways to hold one tree walk).
    /// </summary>
    protected override long Admit(VbaseOpCall call, RegionRequest request)
    {
        long rc = RequireCallersWritableRam(call, request);
        if (rc < 0)
        {
            return rc;
        }
        long lines = (long)request.Gfns.Count * LinesPerPage;
        if (MemoryEncryptionEngine.TreeHeight(lines, Parameters.TreeArity) + 2 > Parameters.MetadataCacheWays)
        {
            return Errno.ENOMEM;
        }
        ulong? at = allocator!.Allocate(MemoryEncryptionEngine.MetadataBytes(lines, Parameters.TreeArity));
        if (at is not ulong offset)
        {
            return Errno.ENOMEM;
        }
        allocator.Free(offset);   // taken for good at Seal, once the hypervisor has protected the frames
        return 0;
    }

    /// <summary>ECREATE + EADD of every page + EINIT in one: the region's frames become EPC pages of this enclave.</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        SecureContext owner = Host.ContextOf(call) ?? throw new InvalidOperationException("a protected region without a secure context");
        Span<byte> encryptionKey = stackalloc byte[16], macKey = stackalloc byte[16], treeKey = stackalloc byte[16];
        DeriveKey(region.Id, 1, encryptionKey);
        DeriveKey(region.Id, 2, macKey);
        DeriveKey(region.Id, 3, treeKey);
        long lines = (long)region.Mfns.Count * LinesPerPage;
        ulong offset = allocator!.Allocate(MemoryEncryptionEngine.MetadataBytes(lines, Parameters.TreeArity))
            ?? throw new InvalidOperationException("the MEE region filled up between admission and seal");
        var engine = new MemoryEncryptionEngine(Host, cache!, offset, lines, encryptionKey, macKey, treeKey, Parameters.TreeArity);
        var enclave = new Enclave(region, engine);
        ForEachLine(region, MemoryEncryptionEngine.LineBytes, line => engine.Seal(line.Index, line.Address, line.Bytes));
        engine.BuildTree();
        for (int page = 0; page < region.Mfns.Count; page++)
        {
            Mfn mfn = region.Mfns[page];
            epcm.Add(mfn, new EpcmEntry(region, owner, page, ExpectedVirtualAddress(region, page), Parameters.Permissions));
            enclave.LastReportedMapping[page] = mfn.Value;
        }
        enclaves[region.Id] = enclave;
        Host.Record("sgx_mee.enclave_created", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("epc_pages", region.Mfns.Count), EventField.Of("lines", engine.LineCount),
            EventField.Hex("va", region.VirtualAddress.Value), EventField.Of("permissions", EnclavePageCacheMap.Format(Parameters.Permissions)),
            EventField.Hex("metadata", MetadataArea.BaseAddress + offset), EventField.Of("metadata_bytes", engine.Bytes),
            EventField.Of("tree_levels", engine.Tree.Height));
    }

    /// <summary>
    /// EREMOVE of every page (the host has written every dirty line back): plaintext back in DRAM (the vault wipes it
    /// itself), the enclave's metadata dropped from the cache and its MEE-region bytes freed, frames back to the OS.
    /// </summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        if (!enclaves.TryGetValue(region.Id, out Enclave? enclave))
        {
            return;
        }
        MemoryEncryptionEngine engine = enclave.Engine;
        int failed = 0;
        ForEachLine(region, MemoryEncryptionEngine.LineBytes, line => failed += engine.Unseal(line.Index, line.Address, line.Bytes) ? 0 : 1);
        if (failed > 0)
        {
            Violation(enclave, ReleaseContext(call, region, 0),
                string.Create(CultureInfo.InvariantCulture, $"mee: {failed} line(s) whose version line fails the tree at EREMOVE; left encrypted"));
        }
        foreach (Mfn mfn in region.Mfns)
        {
            epcm.Remove(mfn);
        }
        engine.Release();
        allocator!.Free(engine.AreaOffset);
        enclave.Remove();
    }

    /// <summary>
    /// The EPCM check at TLB fill: the enclave (the registering process, in U-mode) sees its page's plaintext if the
    /// page's virtual address and permissions allow the access, else the access faults and is reported; everyone
    /// else gets the abort page. Before EADD and after EREMOVE DRAM holds plaintext, seen as it is.
    /// </summary>
    public override PageView DecideView(in MemoryAccessContext access)
    {
        if (!enclaves.TryGetValue(access.Region.Id, out Enclave? enclave) || !enclave.IsLive || !epcm.TryGet(access.Mfn, out EpcmEntry entry))
        {
            return PageView.Dram;
        }
        if (!access.IsApplication)
        {
            enclave.AbortViews++;
            return PageView.Abort;
        }
        return EpcmAllows(enclave, entry, access, isWrite: access.Kind == AccessKind.Store) ? PageView.Plaintext : PageView.Fault;
    }

    /// <summary>A line of an EPC page enters the chip: version verified up the tree, MAC checked, decrypted.</summary>
    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        if (!enclaves.TryGetValue(line.Region.Id, out Enclave? enclave) || !enclave.IsLive)
        {
            dram.CopyTo(plaintext);
            return true;
        }
        long index = ((long)line.RegionPage * LinesPerPage) + line.Line;
        LineCheck check = enclave.Engine.Fill(index, line.MachineAddress, dram, plaintext, line.Inspection);
        if (check == LineCheck.Valid)
        {
            return true;
        }
        if (!line.Inspection)
        {
            enclave.Violations++;
            Host.ReportViolation(line, Describe(check, index, line.MachineAddress));
        }
        return false;
    }

    /// <summary>
    /// A dirty line of an EPC page leaves the chip: new version, encrypted, MACed. If its version line fails the tree
    /// the line is dropped (DRAM keeps the old line, which fails again at its next fill) and the failure reported:
    /// the real MEE drops the write and locks the memory controller.
    /// </summary>
    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        if (!enclaves.TryGetValue(line.Region.Id, out Enclave? enclave) || !enclave.IsLive)
        {
            plaintext.CopyTo(dram);
            return;
        }
        long index = ((long)line.RegionPage * LinesPerPage) + line.Line;
        if (enclave.Engine.WriteBack(index, line.MachineAddress, plaintext, dram))
        {
            enclave.WriteBacks++;
            return;
        }
        enclave.Violations++;
        Host.ReportViolation(line, string.Create(CultureInfo.InvariantCulture,
            $"mee: the version line of line {index} (0x{line.MachineAddress:x}) fails the tree at write-back; the line is dropped"));
    }

    /// <summary>Every dirty version, MAC and tree line to DRAM (the tree's root follows), and the cache emptied.</summary>
    public override void FlushMetadata() => cache?.Flush();

    /// <summary>The line's version and MAC slots and the tree nodes above its version line.</summary>
    public override IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line) =>
        enclaves.TryGetValue(region.Id, out Enclave? e) && e.IsLive ? e.Engine.Describe(((long)page * LinesPerPage) + line) : [];

    /// <summary>
    /// Dom0 (or a hypervisor mapping path) changing the p2m entry of an enclave's GFN is refused: in SGX the EPCM would
    /// make the remapped page fault on the enclave's next access; the trusted hypervisor simply does not let it happen.
    /// Mappings of EPC frames elsewhere (foreign, grant) are allowed: whoever reads through them reads the abort page.
    /// </summary>
    public override bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester)
    {
        if (!Parameters.RefuseEpcRemap || current.Type == P2mType.Invalid || current == proposed
            || !epcm.TryGet(current.Mfn, out EpcmEntry entry) || entry.Enclave.Domain != domain || entry.Enclave.Gfns[entry.Page] != gfn)
        {
            return true;
        }
        if (enclaves.TryGetValue(entry.Enclave.Id, out Enclave? enclave))
        {
            enclave.RemapsRefused++;
        }
        return false;
    }

    /// <summary>
    /// At every resume of an enclave (SGX flushes the enclave's TLB entries on entry and exit, so its next access to
    /// each page is a TLB fill that the EPCM checks), the enclave's virtual pages are walked: one that translates to a
    /// frame other than its EPC page is reported once per new mapping. The access itself cannot be faulted here when the
    /// frame is not an EPC page: the plug-in never sees accesses to frames it does not protect.
    /// </summary>
    public override void OnSecureTransition(SecureTransition transition)
    {
        registerShield.OnTransition(transition);   // AEX: the state goes to the SSA, the OS sees a synthetic one
        if (transition.Kind != SecureTransitionKind.Resume || !Parameters.CheckMappingsOnResume)
        {
            return;
        }
        foreach (ProtectedRegion region in transition.Context.Regions)
        {
            if (region.VirtualAddress.Value != 0 && enclaves.TryGetValue(region.Id, out Enclave? enclave))
            {
                CheckMappings(enclave, transition.Context);
            }
        }
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region)
    {
        if (!enclaves.TryGetValue(region.Id, out Enclave? e))
        {
            return [];
        }
        string Count(long n) => n.ToString(CultureInfo.InvariantCulture);
        return
        [
            new("dram", region.IsActive ? "ciphertext (aes-128-ctr per 64-byte line, seed = line address, version)" : "plaintext (enclave removed)"),
            new("integrity", $"56-bit carter-wegman mac per line over (ciphertext, address, version); {e.TreeArity}-ary tree over the version lines, root on chip"),
            new("metadata", e.IsLive
                ? string.Create(CultureInfo.InvariantCulture, $"dram 0x{MetadataArea.BaseAddress + e.Engine.AreaOffset:x}+{e.Engine.Bytes}: {e.Engine.MetadataLines} version lines, {e.Engine.MetadataLines} mac lines, {e.Engine.Tree.Height} tree levels")
                : "freed"),
            new("epcm", $"owner dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x}, va 0x{region.VirtualAddress.Value:x}, {EnclavePageCacheMap.Format(Parameters.Permissions)}"),
            new("outsiders", "read 0xff (abort page), writes dropped"),
            new("write_backs", Count(e.WriteBacks)),
            new("abort_views", Count(e.AbortViews)),
            new("violations", Count(e.Violations)),
            new("remaps_refused", Count(e.RemapsRefused)),
        ];
    }

    /// <summary>A released enclave's counters go once the hypervisor forgets the region (its engine went at EREMOVE).</summary>
    public override void OnRegionForgotten(ProtectedRegion region) => enclaves.Remove(region.Id);

    public void Dispose()
    {
        foreach (Enclave e in enclaves.Values)
        {
            e.Remove();
        }
        enclaves.Clear();
    }

    /// <summary>The EPCM check of an enclave access: the page's virtual address and its permissions.</summary>
    private bool EpcmAllows(Enclave enclave, in EpcmEntry entry, in MemoryAccessContext access, bool isWrite)
    {
        // Page-granular, like the EPCM's linear-address field (and robust to the hart reporting a 32-bit instruction's
        // upper parcel at the instruction's address).
        if (entry.Enclave.VirtualAddress.Value != 0 && access.VirtualAddress is ulong va && (va & ~(ulong)(PageSize.Bytes - 1)) != entry.VirtualAddress)
        {
            EpcmViolation(enclave, access, $"epcm: enclave access at va 0x{va:x} to the EPC page of va 0x{entry.VirtualAddress:x} (page {entry.Page}): wrong linear address");
            return false;
        }
        EpcmPermissions needed = EnclavePageCacheMap.Required(access.Kind, isWrite);
        if ((entry.Permissions & needed) != needed)
        {
            EpcmViolation(enclave, access, $"epcm: {needed} denied on page {entry.Page} ({EnclavePageCacheMap.Format(entry.Permissions)})");
            return false;
        }
        return true;
    }

    /// <summary>
    /// An EPCM refusal, reported once per access: a hart asks at its TLB fill and, refused, once more on its slow path
    /// for the same access (same time, frame, address and kind).
    /// </summary>
    private void EpcmViolation(Enclave enclave, in MemoryAccessContext access, string details)
    {
        var key = (access.Time, access.Mfn.Value, access.VirtualAddress, access.Kind, access.Vcpu);
        if (key == lastEpcmRefusal)
        {
            return;
        }
        lastEpcmRefusal = key;
        Violation(enclave, access, details);
    }

    private void CheckMappings(Enclave enclave, SecureContext context)
    {
        ProtectedRegion region = enclave.Region;
        var guestPtes = new CachedPteReader<GuestPtes>(new GuestPtes(this, region.Domain));   // the pages share upper levels
        for (int page = 0; page < region.Gfns.Count; page++)
        {
            ulong va = ExpectedVirtualAddress(region, page);
            if (Sv39Walker.Lookup(guestPtes, context.Satp, va) is not { IsMapped: true, PhysicalAddress: var gpa })
            {
                continue;   // not mapped: the enclave's access page-faults to its kernel, which SGX allows
            }
            var gfn = new Gfn(gpa >> PageSize.Shift);
            P2mEntry p2m = Host.Translate(region.Domain, gfn);
            if (p2m.Type == P2mType.Invalid || p2m.Mfn.Value == enclave.LastReportedMapping[page])
            {
                continue;
            }
            if (p2m.Mfn == region.Mfns[page])
            {
                enclave.LastReportedMapping[page] = p2m.Mfn.Value;   // back to its EPC page: a later remap is news again
                continue;
            }
            enclave.LastReportedMapping[page] = p2m.Mfn.Value;
            string what = epcm.TryGet(p2m.Mfn, out EpcmEntry other)
                ? $"the EPC page of va 0x{other.VirtualAddress:x} (region {other.Enclave.Id} page {other.Page}); the enclave's accesses there fault on the EPCM check"
                : "a frame outside the EPC; SGX faults the enclave's access there, this plug-in cannot (the frame is not interposed)";
            var at = new MemoryAccessContext
            {
                Accessor = Accessor.GuestUser,
                Kind = AccessKind.PageWalk,
                Domain = region.Domain,
                Initiator = region.Domain,
                Vcpu = region.Vcpu,
                Satp = context.Satp,
                VirtualAddress = va,
                Gfn = gfn,
                Mfn = p2m.Mfn,
                Offset = 0,
                Region = region,
                RegionPage = page,
                Time = Host.Now,
            };
            Violation(enclave, at, $"epcm: at resume, enclave va 0x{va:x} (page {page}, EPC gfn 0x{region.Gfns[page].Value:x} mfn 0x{region.Mfns[page].Value:x}) translates to gfn 0x{gfn.Value:x} mfn 0x{p2m.Mfn.Value:x}, {what}");
        }
    }

    /// <summary>The resume walk's PTE reads (the ISA's <see cref="Sv39Walker"/> does the walking).</summary>
    private readonly struct GuestPtes(SgxMeeArchitecture owner, DomainId domain) : IPteReader
    {
        public bool TryReadPte(ulong address, out ulong pte) => owner.TryReadGuestPte(domain, address, out pte);
    }

    /// <summary>A PTE read for the resume walk: from DRAM through the p2m; page tables inside the EPC are not readable.</summary>
    private bool TryReadGuestPte(DomainId domain, ulong gpa, out ulong pte)
    {
        pte = 0;
        P2mEntry e = Host.Translate(domain, new Gfn(gpa >> PageSize.Shift));
        if (!e.Type.IsReadable() || epcm.Contains(e.Mfn) || !Host.Dram.IsValid(e.Mfn))
        {
            return false;
        }
        pte = BinaryPrimitives.ReadUInt64LittleEndian(Host.Dram.Frame(e.Mfn)[(int)(gpa & (PageSize.Bytes - 8))..]);
        return true;
    }

    private void Violation(Enclave enclave, in MemoryAccessContext access, string details)
    {
        enclave.Violations++;
        Host.ReportViolation(access, details);
    }

    private static string Describe(LineCheck check, long index, ulong address) => check switch
    {
        LineCheck.TreeMismatch => $"mee: the version line of line {index} (0x{address:x}) does not verify against the tree (on-chip root)",
        _ => $"mee: mac mismatch on line {index} (0x{address:x}): ciphertext, address or version is not what the enclave wrote",
    };

    private void DeriveKey(int regionId, byte purpose, Span<byte> key)
    {
        Span<byte> input = stackalloc byte[8 + 8 + 4 + 1];
        "SGX-MEE\0"u8.CopyTo(input);
        BinaryPrimitives.WriteUInt64LittleEndian(input[8..], seed);
        BinaryPrimitives.WriteInt32LittleEndian(input[16..], regionId);
        input[20] = purpose;
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, digest);
        digest[..key.Length].CopyTo(key);
    }

    private static ulong ExpectedVirtualAddress(ProtectedRegion region, int page) =>
        region.VirtualAddress.Value + ((ulong)page * PageSize.Bytes);

    /// <summary>One enclave: its region (its owner is in the EPCM entries), its engine and what happened to it.</summary>
    private sealed class Enclave(ProtectedRegion region, MemoryEncryptionEngine engine)
    {
        private MemoryEncryptionEngine? engine = engine;

        public ProtectedRegion Region { get; } = region;
        /// <summary>The engine while the enclave exists (EREMOVE drops it and frees its metadata).</summary>
        public MemoryEncryptionEngine Engine => engine ?? throw new InvalidOperationException($"enclave {Region.Id} was removed");
        public bool IsLive => engine is not null;
        public int TreeArity { get; } = engine.Tree.Arity;

        public void Remove()
        {
            engine?.Dispose();
            engine = null;
        }

        /// <summary>Per page, the frame its VA last translated to at a resume check (reported once per change).</summary>
        public ulong[] LastReportedMapping { get; } = new ulong[region.Gfns.Count];
        public long WriteBacks;
        public long AbortViews;
        public long Violations;
        public long RemapsRefused;
    }
}
