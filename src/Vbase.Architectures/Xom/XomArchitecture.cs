using System.Globalization;
using System.Security.Cryptography;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Registers;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Xom;

/// <summary>
/// eXecute-Only Memory (Lie et al., ASPLOS 2000). Each secure process is a compartment with a symmetric key of its
/// own. Its lines live on chip in plaintext, visible to the compartment only; a line that leaves the chip is
/// encrypted with AES-128-CTR seeded by the line's machine address and nothing else (no version, no counter) and
/// carries a truncated HMAC over its ciphertext and its address, checked when the line comes back.
/// </summary>
/// <remarks>
/// <para>
/// Only the owning process (its vCPU, its address space, in U-mode) sees the on-chip plaintext. Every other principal
/// — other processes, the guest kernel, Dom0, devices, the hypervisor copying for a hypercall — is the "null
/// compartment": it sees the lines as DRAM holds them (ciphertext), and its stores push the line off chip, then land in
/// DRAM unencrypted and without a MAC. XOM lets those stores happen (the OS must be able to manage memory); they break
/// the line's MAC, so the owner's next fill of the line raises a violation and its access faults.
/// </para>
/// <para>
/// The tags sit in DRAM, in the metadata area (<see cref="XomMacStore.Dram"/>), read and written through an on-chip
/// tag cache. Nothing makes a (ciphertext, tag) pair fresh: a physical attacker who puts back an old line together
/// with its old tag has it accepted (phys-rollback), while the old line alone fails the current tag (phys-replay).
/// <see cref="XomMacStore.Chip"/> keeps every tag on chip instead, out of reach: an ablation, not XOM.
/// </para>
/// </remarks>
[Architecture("xom", "eXecute-Only Memory: a key per compartment, lines encrypted by address (no counter) and MACed; no freshness",
    Principal.Application)]
public sealed class XomArchitecture : RegionArchitectureBase, IDisposable
{
    private readonly RegisterShield registerShield = new();

    /// <summary>The unit of encryption and MAC.</summary>
    public const int LineBytes = ChipOptions.LineBytes;
    private const int LinesPerPage = PageSize.Bytes / LineBytes;

    private readonly byte[] processorSecret = new byte[32];
    private readonly Dictionary<SecureContext, Compartment> compartments = [];   // by identity: one per secure process
    private int compartmentCount;   // compartment ids (and so keys) are never reused
    private readonly Dictionary<int, RegionState> regions = [];   // on-chip registers: keys and where the tags are
    private readonly int tagsPerLine;
    private MetadataArea? area;
    private MetadataAllocator? allocator;
    private DramMetadataCache? tagCache;
    private ulong? admitted;   // tags allocated by Admit for the region Seal is about to get
    private long releasedViolations;

    public XomArchitecture(ArchitectureOptions options)
    {
        Parameters = XomParameters.From(options);
        tagsPerLine = LineBytes / Parameters.MacBytes;
        // The processor's secret, from which every compartment key derives; reproducible per run seed.
        SeedKeys.Derive(options.Seed, 0x584F_4D5F_5345_4352UL /* "XOM_SECR" */, processorSecret, tag: 0x4C69_6520_3230_3030UL /* "Lie 2000" */);
    }

    public override string Name => "xom";

    /// <summary>The knobs this instance was built with.</summary>
    public XomParameters Parameters { get; }

    /// <summary>Violations raised so far (MAC failures seen by the owner).</summary>
    public long Violations => regions.Values.Sum(r => r.Violations) + releasedViolations;

    /// <summary>The metadata area in machine memory (null with the tags on chip).</summary>
    internal MetadataArea? Area => area;

    /// <summary>Who holds which tags of the area (null with the tags on chip).</summary>
    internal MetadataAllocator? Allocator => allocator;

    /// <summary>The on-chip tag cache (null with the tags on chip).</summary>
    internal DramMetadataCache? TagCache => tagCache;

    /// <summary>
    /// With the tags in DRAM: an area for the tags of a quarter of machine memory (at most an eighth of it: the room the
    /// testbed leaves above the domains), and the on-chip tag cache in front of it.
    /// </summary>
    protected override void OnAttached()
    {
        base.OnAttached();
        if (Parameters.MacStore == XomMacStore.Chip)
        {
            return;
        }
        ulong bytes = Math.Min(Host.Dram.FrameCount / 4 * TagLinesPerPage * LineBytes, Host.Dram.FrameCount / 8 * PageSize.Bytes);
        try
        {
            area = Host.ReserveMetadata(bytes);
        }
        catch (InvalidOperationException)
        {
            return;   // no room above the domains: every enter is refused with ENOMEM
        }
        allocator = new MetadataAllocator(area);
        tagCache = new DramMetadataCache(Host, area, Parameters.MetadataCacheBytes, Parameters.MetadataCacheWays);
    }

    /// <summary>The caller's own writable RAM, and room for its tags in the metadata area (else ENOMEM).</summary>
    protected override long Admit(VbaseOpCall call, RegionRequest request)
    {
        long rc = RequireCallersWritableRam(call, request);
        if (rc < 0 || Parameters.MacStore == XomMacStore.Chip)
        {
            return rc;
        }
        if (admitted is ulong stale)
        {
            allocator!.Free(stale);   // the hypervisor refused the last admitted region: Seal never took its tags
            admitted = null;
        }
        admitted = allocator?.Allocate((ulong)request.Gfns.Count * TagLinesPerPage * LineBytes);
        return admitted is null ? Errno.ENOMEM : 0;
    }

    /// <summary>The process becomes (or stays) a compartment; its region is encrypted and MACed line by line.</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        SecureContext context = Host.ContextOf(call)!;
        if (!compartments.TryGetValue(context, out Compartment? compartment))
        {
            compartment = new Compartment(++compartmentCount, processorSecret, Parameters.MacBytes);
            compartments.Add(context, compartment);
        }
        int lines = region.Gfns.Count * LinesPerPage;
        var state = Parameters.MacStore == XomMacStore.Chip
            ? new RegionState(region, compartment, 0, new byte[lines * Parameters.MacBytes])
            : new RegionState(region, compartment, admitted!.Value, null);
        admitted = null;
        byte[] tag = new byte[Parameters.MacBytes];
        ForEachLine(region, LineBytes, line =>
        {
            compartment.Cipher.Transform(line.Bytes, line.Bytes, line.Address, 0);
            compartment.Mac.Compute(line.Bytes, line.Address, 0, tag);
            tag.CopyTo(state.ChipTags is byte[] chip ? chip.AsSpan(line.Index * tag.Length) : area!.Slice(TagOffset(state, line.Index), tag.Length));
            Host.Cost.CipherOps++;
            Host.Cost.MacOps++;
        });
        regions[region.Id] = state;
        Host.Record("xom.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("compartment", compartment.Id), EventField.Of("frames", region.Mfns.Count),
            EventField.Of("lines", lines), EventField.Of("cipher", "aes-128-ctr(address)"), EventField.Of("mac", "hmac-sha256"),
            EventField.Of("mac_bits", Parameters.MacBytes * 8), EventField.Of("tags", TagsWhere(state)));
    }

    /// <summary>
    /// After the host wrote every dirty line back: each line verified and decrypted back into DRAM, then the tags
    /// leave the tag cache and the area.
    /// </summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        if (!regions.Remove(region.Id, out RegionState? state))
        {
            return;
        }
        byte[] expected = new byte[Parameters.MacBytes], stored = new byte[Parameters.MacBytes];
        ForEachLine(region, LineBytes, line =>
        {
            state.Compartment.Mac.Compute(line.Bytes, line.Address, 0, expected);
            ReadTag(state, line.Index, inspection: false, stored);
            Host.Cost.MacOps++;
            if (!CryptographicOperations.FixedTimeEquals(expected, stored))
            {
                // Tampered data is not handed back as if it were the compartment's: the line is wiped.
                state.Violations++;
                Host.ReportViolation(ReleaseContext(call, region, line.Page, line.Offset), Mismatch(state, line.Index, line.Address));
                line.Bytes.Clear();
                return;
            }
            state.Compartment.Cipher.Transform(line.Bytes, line.Bytes, line.Address, 0);
            Host.Cost.CipherOps++;
        });
        if (state.ChipTags is null)
        {
            ulong bytes = (ulong)region.Gfns.Count * TagLinesPerPage * LineBytes;
            tagCache!.Discard(state.TagOffset, bytes);
            allocator!.Free(state.TagOffset);
        }
        releasedViolations += state.Violations;
    }

    /// <summary>The compartment sees its on-chip plaintext; everyone else is the null compartment and sees DRAM.</summary>
    public override PageView DecideView(in MemoryAccessContext access) => access.IsApplication ? PageView.Plaintext : PageView.Dram;

    /// <summary>A line comes on chip: its MAC (over the DRAM bytes and the address) must be its tag, then it is decrypted.</summary>
    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        if (!regions.TryGetValue(line.Region.Id, out RegionState? state))
        {
            dram.CopyTo(plaintext);   // not sealed: DRAM holds the plaintext
            return true;
        }
        int index = Index(line);
        Span<byte> expected = stackalloc byte[Parameters.MacBytes];
        Span<byte> stored = stackalloc byte[Parameters.MacBytes];
        state.Compartment.Mac.Compute(dram, line.MachineAddress, 0, expected);
        ReadTag(state, index, line.Inspection, stored);
        if (!line.Inspection)
        {
            Host.Cost.MacOps++;
        }
        if (!CryptographicOperations.FixedTimeEquals(expected, stored))
        {
            if (!line.Inspection)
            {
                state.Violations++;
                Host.ReportViolation(line, Mismatch(state, index, line.MachineAddress));
            }
            return false;
        }
        state.Compartment.Cipher.Transform(dram, plaintext, line.MachineAddress, 0);
        if (!line.Inspection)
        {
            Host.Cost.CipherOps++;
        }
        return true;
    }

    /// <summary>A dirty line leaves the chip: encrypted by address, its new tag into the tag cache (or on chip).</summary>
    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        if (!regions.TryGetValue(line.Region.Id, out RegionState? state))
        {
            plaintext.CopyTo(dram);
            return;
        }
        int index = Index(line);
        state.Compartment.Cipher.Transform(plaintext, dram, line.MachineAddress, 0);
        Span<byte> tag = stackalloc byte[Parameters.MacBytes];
        state.Compartment.Mac.Compute(dram, line.MachineAddress, 0, tag);
        Host.Cost.CipherOps++;
        Host.Cost.MacOps++;
        if (state.ChipTags is byte[] chip)
        {
            tag.CopyTo(chip.AsSpan(index * tag.Length));
            return;
        }
        ulong offset = TagOffset(state, index);
        tagCache!.TryGet(offset, write: true, out Span<byte> tagLine);   // no verifier: a fetch always succeeds
        tag.CopyTo(tagLine[(int)(offset % LineBytes)..]);
    }

    public override void FlushMetadata() => tagCache?.Flush();

    /// <summary>The line's tag in the metadata area (nothing with the tags on chip).</summary>
    public override IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line)
    {
        ArgumentNullException.ThrowIfNull(region);
        if (!regions.TryGetValue(region.Id, out RegionState? state) || state.ChipTags is not null)
        {
            return [];
        }
        return [new MetadataRange("mac", area!.BaseAddress + TagOffset(state, (page * LinesPerPage) + line), Parameters.MacBytes)];
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        if (!regions.TryGetValue(region.Id, out RegionState? state))
        {
            return [new("dram", "plaintext (released)")];
        }
        return
        [
            new("compartment", state.Compartment.Id.ToString(CultureInfo.InvariantCulture)),
            new("dram", "ciphertext (aes-128-ctr, seed = line's machine address, no counter)"),
            new("mac", $"hmac-sha256/{Parameters.MacBytes * 8} over ciphertext and line address, per 64-byte line"),
            new("tags", TagsWhere(state)),
            new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
            new("others", "see DRAM (ciphertext); their stores land unencrypted and fail the owner's next fill"),
            new("violations", state.Violations.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>
    /// A compartment's registers on an interrupt or trap: XOM's hardware encrypts and MACs them with the compartment's
    /// key before the OS saves them, and checks them when the OS restores them; modelled by the toolkit's shield (the
    /// kernel sees zeros, nothing it writes reaches the compartment). A process whose last region is released is no
    /// compartment any more: its keys go.
    /// </summary>
    public override void OnSecureTransition(SecureTransition transition)
    {
        base.OnSecureTransition(transition);
        registerShield.OnTransition(transition);
        if (transition.Kind == SecureTransitionKind.Exit && compartments.Remove(transition.Context, out Compartment? gone))
        {
            gone.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (Compartment c in compartments.Values)
        {
            c.Dispose();
        }
        compartments.Clear();
    }

    /// <summary>Tag lines per page of a region: a line holds <c>64 / mac-bytes</c> whole tags.</summary>
    private ulong TagLinesPerPage => (ulong)((LinesPerPage + tagsPerLine - 1) / tagsPerLine);

    private static int Index(in LineContext line) => (line.RegionPage * LinesPerPage) + line.Line;

    /// <summary>The area offset of line <paramref name="index"/>'s tag: tags never straddle a metadata line.</summary>
    private ulong TagOffset(RegionState state, int index) =>
        state.TagOffset + ((ulong)(index / tagsPerLine) * LineBytes) + (ulong)(index % tagsPerLine * Parameters.MacBytes);

    /// <summary>The line's current tag: from the on-chip store, the tag cache (a fetch on a miss), or, inspecting, a peek.</summary>
    private void ReadTag(RegionState state, int index, bool inspection, Span<byte> tag)
    {
        if (state.ChipTags is byte[] chip)
        {
            chip.AsSpan(index * tag.Length, tag.Length).CopyTo(tag);
            return;
        }
        ulong offset = TagOffset(state, index);
        if (inspection)
        {
            tagCache!.Peek(offset, tag);
            return;
        }
        tagCache!.TryGet(offset, write: false, out Span<byte> tagLine);
        tagLine.Slice((int)(offset % LineBytes), tag.Length).CopyTo(tag);
    }

    private string TagsWhere(RegionState state) => state.ChipTags is not null
        ? "on chip (mac-store=chip, an ablation: out of a physical attacker's reach)"
        : string.Create(CultureInfo.InvariantCulture,
            $"in DRAM, metadata area 0x{area!.BaseAddress + state.TagOffset:x}, {tagsPerLine} per 64-byte line, through a {Parameters.MetadataCacheBytes}-byte {Parameters.MetadataCacheWays}-way tag cache");

    private static string Mismatch(RegionState state, int index, ulong address) => string.Create(CultureInfo.InvariantCulture,
        $"xom: MAC mismatch on line {index} (machine address 0x{address:x}) of compartment {state.Compartment.Id}: DRAM holds no ciphertext it wrote there with this tag");

    /// <summary>A secure process's keys: AES for its lines, HMAC for their tags.</summary>
    private sealed class Compartment : IDisposable
    {
        public Compartment(int id, ReadOnlySpan<byte> processorSecret, int macBytes)
        {
            Id = id;
            Span<byte> aesKey = stackalloc byte[32];
            Span<byte> macKey = stackalloc byte[32];
            using (var kdf = new TruncatedHmac(processorSecret, TruncatedHmac.MaxTagBytes))
            {
                kdf.Compute("xom compartment cipher key"u8, (ulong)id, 0, aesKey);
                kdf.Compute("xom compartment mac key"u8, (ulong)id, 1, macKey);
            }
            Cipher = new AesCtr(aesKey[..16]);
            Mac = new TruncatedHmac(macKey, macBytes);
        }

        public int Id { get; }
        public AesCtr Cipher { get; }
        /// <summary>Tags over <c>address ‖ 0 ‖ ciphertext</c>: XOM has no counter to bind.</summary>
        public TruncatedHmac Mac { get; }

        public void Dispose()
        {
            Cipher.Dispose();
            Mac.Dispose();
        }
    }

    /// <summary>A region's on-chip state: its compartment and where its tags are (the area, or the on-chip store).</summary>
    private sealed class RegionState(ProtectedRegion region, Compartment compartment, ulong tagOffset, byte[]? chipTags)
    {
        public ProtectedRegion Region { get; } = region;
        public Compartment Compartment { get; } = compartment;
        /// <summary>Area offset of the region's first tag line.</summary>
        public ulong TagOffset { get; } = tagOffset;
        /// <summary>With mac-store=chip: every tag of the region, on chip.</summary>
        public byte[]? ChipTags { get; } = chipTags;
        public long Violations { get; set; }
    }
}
