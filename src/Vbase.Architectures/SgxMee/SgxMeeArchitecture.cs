using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.P2m;
using Vbase.Hypervisor.Sapi;
using Vbase.Isa.Memory;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Lines;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.SgxMee;

/// <summary>
/// Intel SGX as seen from memory: Gueron's Memory Encryption Engine over the protected range (here: each registered
/// region is an enclave's EPC pages) plus the EPCM access checks.
/// <list type="bullet">
/// <item><description>MEE (<see cref="MemoryEncryptionEngine"/>): AES-128-CTR per 64-byte line with seed = (line
/// address, line version), a 56-bit Carter–Wegman MAC per line over (ciphertext, address, version), an 8-ary
/// integrity tree over the version counters with its root on chip. Every enclave read verifies tree and MAC; every
/// enclave write is a read-modify-write of the line that bumps the version and updates MAC and tree. A failed check is
/// a violation and the access faults.</description></item>
/// <item><description>EPCM (<see cref="EnclavePageCacheMap"/>): per EPC frame the owning enclave, the virtual address
/// it must be reached at, and permissions. Anyone but the enclave (the guest kernel, other processes, the hypervisor's
/// copies, Dom0, devices) reads the abort page (all 0xFF) and has its writes dropped; an enclave access at the wrong
/// virtual address or without the permission faults and is reported.</description></item>
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
    "Intel SGX: MEE (AES-CTR per line, 56-bit Carter-Wegman MAC, 8-ary tree over version counters, root on chip) and EPCM checks (owner, VA, permissions); outsiders read 0xFF, their writes are dropped",
    Principal.Application)]
public sealed class SgxMeeArchitecture : RegionArchitectureBase, IDisposable
{
    /// <summary>What a read from outside the enclave returns: SGX's abort page semantics.</summary>
    public const byte AbortByte = 0xFF;

    private const int LinesPerPage = PageSize.Bytes / MemoryEncryptionEngine.LineBytes;

    private readonly ulong seed;
    private readonly MetadataCache cache;
    private readonly EnclavePageCacheMap epcm = new();
    private readonly Dictionary<int, Enclave> enclaves = [];
    private long protectedAccesses;

    public SgxMeeArchitecture(ArchitectureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        seed = options.Seed;
        Parameters = SgxMeeParameters.Parse(options.Parameters);
        cache = new MetadataCache(Parameters.MetadataCacheBytes, Parameters.MetadataCacheWays, MemoryEncryptionEngine.LineBytes);
    }

    public override string Name => "sgx-mee";

    /// <summary>The settings this instance runs with.</summary>
    public SgxMeeParameters Parameters { get; }

    /// <summary>The EPCM (read-only use: tests and introspection).</summary>
    public EnclavePageCacheMap Epcm => epcm;

    /// <summary>The MEE of a region (its off-chip metadata is what a physical attacker could tamper with), or null.</summary>
    public MemoryEncryptionEngine? EngineOf(int regionId) =>
        enclaves.TryGetValue(regionId, out Enclave? e) && e.Region.IsActive ? e.Engine : null;

    public override MetadataTraffic Traffic => cache.Traffic(protectedAccesses);

    /// <summary>ECREATE + EADD of every page + EINIT in one: the region's frames become EPC pages of this enclave.</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        SecureContext owner = Host.ContextOf(call) ?? throw new InvalidOperationException("a protected region without a secure context");
        Span<byte> encryptionKey = stackalloc byte[16], macKey = stackalloc byte[16];
        DeriveKey(region.Id, 1, encryptionKey);
        DeriveKey(region.Id, 2, macKey);
        var engine = new MemoryEncryptionEngine((long)region.Mfns.Count * LinesPerPage, encryptionKey, macKey, cache,
            metadataWindow: (ulong)region.Id, Parameters.TreeArity, trustedTreeNodes: Parameters.MetadataCacheBytes / MemoryEncryptionEngine.LineBytes);
        var enclave = new Enclave(region, engine);
        ForEachLine(region, MemoryEncryptionEngine.LineBytes, line => engine.Seal(line.Index, line.Address, line.Bytes));
        for (int page = 0; page < region.Mfns.Count; page++)
        {
            Mfn mfn = region.Mfns[page];
            epcm.Add(mfn, new EpcmEntry(region, owner, page, ExpectedVirtualAddress(region, page), Parameters.Permissions));
            enclave.LastReportedMapping[page] = mfn.Value;
        }
        enclaves[region.Id] = enclave;
        Host.Record("sgx_mee.enclave_created", call.Caller, call.VcpuId, string.Create(CultureInfo.InvariantCulture,
            $"region={region.Id} epc_pages={region.Mfns.Count} lines={engine.LineCount} va=0x{region.VirtualAddress.Value:x} permissions={EnclavePageCacheMap.Format(Parameters.Permissions)} tree_levels={engine.Tree.Height}"));
    }

    /// <summary>EREMOVE of every page: plaintext back in DRAM (the vault wipes it itself), frames back to the OS.</summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        if (!enclaves.TryGetValue(region.Id, out Enclave? enclave))
        {
            return;
        }
        ForEachLine(region, MemoryEncryptionEngine.LineBytes, line => enclave.Engine.Unseal(line.Index, line.Address, line.Bytes));
        foreach (Mfn mfn in region.Mfns)
        {
            epcm.Remove(mfn);
        }
        enclave.Remove();
    }

    public override AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data)
    {
        if (!enclaves.TryGetValue(access.Region.Id, out Enclave? enclave) || !epcm.TryGet(access.Mfn, out EpcmEntry entry))
        {
            return AccessVerdict.Pass;
        }
        if (access.Accessor == Accessor.Inspection)
        {
            // The Monitor's "what the owner would read": decrypted, unchecked, uncounted.
            return Decrypt(enclave, access, data, inspect: true) ? AccessVerdict.Transformed : AccessVerdict.Fault;
        }
        if (!access.IsApplication)
        {
            enclave.AbortedReads++;
            data.Fill(AbortByte);
            return AccessVerdict.Transformed;
        }
        protectedAccesses++;
        if (!EpcmAllows(enclave, entry, access, isWrite: false))
        {
            return AccessVerdict.Fault;
        }
        return Decrypt(enclave, access, data, inspect: false) ? AccessVerdict.Transformed : AccessVerdict.Fault;
    }

    public override AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        if (!enclaves.TryGetValue(access.Region.Id, out Enclave? enclave) || !epcm.TryGet(access.Mfn, out EpcmEntry entry))
        {
            return AccessVerdict.Pass;
        }
        if (!access.IsApplication)
        {
            enclave.DroppedWrites++;
            return AccessVerdict.Dropped;
        }
        protectedAccesses++;
        if (!EpcmAllows(enclave, entry, access, isWrite: true))
        {
            return AccessVerdict.Fault;
        }
        MemoryEncryptionEngine engine = enclave.Engine;
        Span<byte> frame = Host.Dram.Frame(access.Mfn);
        Span<byte> line = stackalloc byte[MemoryEncryptionEngine.LineBytes];
        // Line by line (a hart's store spans two lines at most, when misaligned): fetch and verify, merge, re-seal.
        foreach (AccessLine at in AccessLines.Of(access, data.Length, MemoryEncryptionEngine.LineBytes))
        {
            Span<byte> dram = frame.Slice(at.Start, MemoryEncryptionEngine.LineBytes);
            LineCheck check = engine.Open(at.Index, at.Address, dram, line);
            if (check != LineCheck.Valid)
            {
                Violation(enclave, access, Describe(check, at.Index, at.Address));
                return AccessVerdict.Fault;
            }
            data.Slice(at.DataOffset, at.Count).CopyTo(line[at.InLine..]);
            if (!engine.Store(at.Index, at.Address, line, dram))
            {
                Violation(enclave, access, $"mee: the tree path of line {at.Index} (0x{at.Address:x}) fails its check on update (tampered tree nodes)");
                return AccessVerdict.Fault;
            }
            enclave.Writes++;
        }
        return AccessVerdict.Transformed;
    }

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
            new("integrity", $"56-bit carter-wegman mac per line over (ciphertext, address, version); {e.TreeArity}-ary tree over 40-bit version counters, root on chip"),
            new("epcm", $"owner dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x}, va 0x{region.VirtualAddress.Value:x}, {EnclavePageCacheMap.Format(Parameters.Permissions)}"),
            new("outsiders", "read 0xff (abort page), writes dropped"),
            new("enclave_writes", Count(e.Writes)),
            new("aborted_reads", Count(e.AbortedReads)),
            new("dropped_writes", Count(e.DroppedWrites)),
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

    /// <summary>Decrypts (and unless inspecting, verifies) every line the access covers into <paramref name="data"/>.</summary>
    private bool Decrypt(Enclave enclave, in MemoryAccessContext access, Span<byte> data, bool inspect)
    {
        Span<byte> frame = Host.Dram.Frame(access.Mfn);
        Span<byte> plaintext = stackalloc byte[MemoryEncryptionEngine.LineBytes];
        foreach (AccessLine at in AccessLines.Of(access, data.Length, MemoryEncryptionEngine.LineBytes))
        {
            LineCheck check = enclave.Engine.Open(at.Index, at.Address, frame.Slice(at.Start, MemoryEncryptionEngine.LineBytes), plaintext, inspect);
            if (check != LineCheck.Valid)
            {
                Violation(enclave, access, Describe(check, at.Index, at.Address));
                return false;
            }
            plaintext.Slice(at.InLine, at.Count).CopyTo(data[at.DataOffset..]);
        }
        return true;
    }

    /// <summary>The EPCM check of an enclave access: the page's virtual address and its permissions.</summary>
    private bool EpcmAllows(Enclave enclave, in EpcmEntry entry, in MemoryAccessContext access, bool isWrite)
    {
        // Page-granular, like the EPCM's linear-address field (and robust to the hart reporting a 32-bit instruction's
        // upper parcel at the instruction's address).
        if (entry.Enclave.VirtualAddress.Value != 0 && access.VirtualAddress is ulong va && (va & ~(ulong)(PageSize.Bytes - 1)) != entry.VirtualAddress)
        {
            Violation(enclave, access, $"epcm: enclave access at va 0x{va:x} to the EPC page of va 0x{entry.VirtualAddress:x} (page {entry.Page}): wrong linear address");
            return false;
        }
        EpcmPermissions needed = EnclavePageCacheMap.Required(access.Kind, isWrite);
        if ((entry.Permissions & needed) != needed)
        {
            Violation(enclave, access, $"epcm: {needed} denied on page {entry.Page} ({EnclavePageCacheMap.Format(entry.Permissions)})");
            return false;
        }
        return true;
    }

    private void CheckMappings(Enclave enclave, SecureContext context)
    {
        ProtectedRegion region = enclave.Region;
        var guestPtes = new GuestPtes(this, region.Domain);
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
        LineCheck.TreeMismatch => $"mee: the version counter of line {index} (0x{address:x}) does not verify against the on-chip tree root",
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
        /// <summary>The engine while the enclave exists (EREMOVE drops it: its tags and tree are megabytes).</summary>
        public MemoryEncryptionEngine Engine => engine ?? throw new InvalidOperationException($"enclave {Region.Id} was removed");
        public int TreeArity { get; } = engine.Tree.Arity;

        public void Remove()
        {
            engine?.Dispose();
            engine = null;
        }

        /// <summary>Per page, the frame its VA last translated to at a resume check (reported once per change).</summary>
        public ulong[] LastReportedMapping { get; } = new ulong[region.Gfns.Count];
        public long Writes;
        public long AbortedReads;
        public long DroppedWrites;
        public long Violations;
        public long RemapsRefused;
    }
}
