using System.Buffers.Binary;
using System.Globalization;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Lines;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Xom;

/// <summary>
/// eXecute-Only Memory (Lie et al., ASPLOS 2000). Each secure process is a compartment with a symmetric key of its
/// own. Everything of the compartment that leaves the chip is encrypted: its region's DRAM holds AES-128-CTR
/// ciphertext whose seed is the line's machine address and nothing else (no version, no counter). Each 64-byte line
/// carries a truncated HMAC over its ciphertext and its address, checked on every read by the owner.
/// </summary>
/// <remarks>
/// <para>
/// On-chip tags bind the compartment's plaintext to the compartment: only the owning process (its vCPU, its address
/// space, in U-mode) gets plaintext. Every other principal — other processes, the guest kernel, Dom0, devices, the
/// hypervisor copying for a hypercall — is the "null compartment": it reads the ciphertext as DRAM holds it, and its
/// stores land there unencrypted and without a MAC. XOM lets those stores happen (the OS must be able to manage
/// memory); they break the line's MAC, so the owner's next read of the line raises a violation and is refused.
/// </para>
/// <para>
/// Nothing makes a line's (ciphertext, MAC) pair fresh: an old pair of the same line verifies again. In XOM the MAC sits
/// in DRAM beside its line, so a physical attacker replays both; the harness's physical attacks move data bytes
/// only, so with <see cref="XomMacStore.Dram"/> (the default) a line whose bytes are a ciphertext this compartment
/// once wrote there is accepted with the tag that went out with it, as if the attacker had restored that tag too.
/// </para>
/// <para>
/// The emulation checks on every access by the owner (there is no data cache model): tampering is seen at the first
/// read after it, where the hardware would see it at the next cache fill. Accesses that a remap sends to frames
/// outside the region never reach the plug-in, so XOM here, like XOM's physical-address check, does not notice them.
/// </para>
/// </remarks>
[Architecture("xom", "eXecute-Only Memory: a key per compartment, lines encrypted by address (no counter) and MACed; no freshness",
    Principal.Application)]
public sealed class XomArchitecture : RegionArchitectureBase, IDisposable
{
    /// <summary>The unit of encryption and MAC.</summary>
    public const int LineBytes = 64;
    private const int LinesPerPage = PageSize.Bytes / LineBytes;

    // Where MAC lines sit in the metadata cache's address space: region r's tags from MacBase + r * RegionStride.
    private const ulong MacBase = 0x4000_0000_0000UL;
    private const ulong RegionStride = 1UL << 32;

    private readonly byte[] processorSecret = new byte[32];
    private readonly MetadataCache metadataCache;
    private readonly Dictionary<SecureContext, Compartment> compartments = [];   // by identity: one per secure process
    private int compartmentCount;   // compartment ids (and so keys) are never reused
    private readonly Dictionary<int, RegionState> regions = [];
    private long protectedAccesses;
    private long releasedViolations;

    public XomArchitecture(ArchitectureOptions options)
    {
        Parameters = XomParameters.From(options);
        metadataCache = new MetadataCache(Parameters.MetadataCacheBytes, Parameters.MetadataCacheWays, LineBytes);
        // The processor's secret, from which every compartment key derives; reproducible per run seed.
        SeedKeys.Derive(options.Seed, 0x584F_4D5F_5345_4352UL /* "XOM_SECR" */, processorSecret, tag: 0x4C69_6520_3230_3030UL /* "Lie 2000" */);
    }

    public override string Name => "xom";

    /// <summary>The knobs this instance was built with.</summary>
    public XomParameters Parameters { get; }

    /// <summary>Violations raised so far (MAC failures seen by the owner).</summary>
    public long Violations => regions.Values.Sum(r => r.Violations) + releasedViolations;

    public override MetadataTraffic Traffic => metadataCache.Traffic(protectedAccesses);

    /// <summary>The process becomes (or stays) a compartment; its region is encrypted and MACed line by line.</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        SecureContext context = Host.ContextOf(call)!;
        if (!compartments.TryGetValue(context, out Compartment? compartment))
        {
            compartment = new Compartment(++compartmentCount, processorSecret, Parameters.MacBytes);
            compartments.Add(context, compartment);
        }
        var state = new RegionState(region, compartment, region.Gfns.Count * LinesPerPage);
        ForEachLine(region, LineBytes, line =>
        {
            compartment.Cipher.Transform(line.Bytes, line.Bytes, line.Address, 0);
            state.Seal(line.Index, compartment.TagOf(line.Bytes, line.Address));
        });
        regions[region.Id] = state;
        Host.Record("xom.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("compartment", compartment.Id), EventField.Of("frames", region.Mfns.Count),
            EventField.Of("lines", state.Tags.Length), EventField.Of("cipher", "aes-128-ctr(address)"), EventField.Of("mac", "hmac-sha256"),
            EventField.Of("mac_bits", Parameters.MacBytes * 8));
    }

    /// <summary>Each line verified and decrypted back into DRAM.</summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        if (!regions.Remove(region.Id, out RegionState? state))
        {
            return;
        }
        ForEachLine(region, LineBytes, line =>
        {
            if (!Verify(state, line.Index, line.Bytes, line.Address))
            {
                // Tampered data is not handed back as if it were the compartment's: the line is wiped.
                Violation(ReleaseContext(call, region, line.Page, line.Offset), state, line.Index, line.Address);
                line.Bytes.Clear();
                return;
            }
            state.Compartment.Cipher.Transform(line.Bytes, line.Bytes, line.Address, 0);
        });
        releasedViolations += state.Violations;
    }

    /// <summary>Plaintext for the owner after its MAC check (and, unchecked and uncounted, for inspection); ciphertext
    /// for every other principal.</summary>
    public override AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data)
    {
        bool inspecting = access.Accessor == Accessor.Inspection;
        if ((!access.IsApplication && !inspecting) || !regions.TryGetValue(access.Region.Id, out RegionState? state))
        {
            return AccessVerdict.Pass;
        }
        if (!inspecting)
        {
            protectedAccesses++;
        }
        Span<byte> line = stackalloc byte[LineBytes];
        ReadOnlySpan<byte> frame = Host.Dram.Frame(access.Mfn);
        foreach (AccessLine at in AccessLines.Of(access, data.Length, LineBytes))
        {
            frame.Slice(at.Start, LineBytes).CopyTo(line);
            if (!inspecting)
            {
                metadataCache.Access(MacAddress(state, at.Index), isWrite: false);
                if (!Verify(state, at.Index, line, at.Address))
                {
                    Violation(access, state, at.Index, at.Address);
                    return AccessVerdict.Fault;
                }
            }
            state.Compartment.Cipher.Transform(line, line, at.Address, 0);
            line.Slice(at.InLine, at.Count).CopyTo(data.Slice(at.DataOffset, at.Count));
        }
        return AccessVerdict.Transformed;
    }

    /// <summary>
    /// The owner's store: read-modify-write of each line it touches (verify, decrypt, merge, encrypt, new MAC). Any
    /// other principal's store lands in DRAM as it is, the null compartment's unencrypted data.
    /// </summary>
    public override AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        if (!access.IsApplication || !regions.TryGetValue(access.Region.Id, out RegionState? state))
        {
            return AccessVerdict.Pass;
        }
        protectedAccesses++;
        Span<byte> line = stackalloc byte[LineBytes];
        Span<byte> frame = Host.Dram.Frame(access.Mfn);
        // Every line is checked before any is written, so a refused store changes nothing.
        foreach (AccessLine at in AccessLines.Of(access, data.Length, LineBytes))
        {
            metadataCache.Access(MacAddress(state, at.Index), isWrite: true);
            if (!Verify(state, at.Index, frame.Slice(at.Start, LineBytes), at.Address))
            {
                Violation(access, state, at.Index, at.Address);
                return AccessVerdict.Fault;
            }
        }
        foreach (AccessLine at in AccessLines.Of(access, data.Length, LineBytes))
        {
            Span<byte> stored = frame.Slice(at.Start, LineBytes);
            state.Compartment.Cipher.Transform(stored, line, at.Address, 0);
            data.Slice(at.DataOffset, at.Count).CopyTo(line[at.InLine..]);
            state.Compartment.Cipher.Transform(line, stored, at.Address, 0);
            state.Seal(at.Index, state.Compartment.TagOf(stored, at.Address));
        }
        return AccessVerdict.Transformed;
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region)
    {
        if (!regions.TryGetValue(region.Id, out RegionState? state))
        {
            return [new("dram", "plaintext (released)")];
        }
        return
        [
            new("compartment", state.Compartment.Id.ToString(CultureInfo.InvariantCulture)),
            new("dram", "ciphertext (aes-128-ctr, seed = line's machine address, no counter)"),
            new("mac", $"hmac-sha256/{Parameters.MacBytes * 8} over ciphertext and line address, per 64-byte line, in {(Parameters.MacStore == XomMacStore.Dram ? "dram beside the line" : "on-chip storage (ablation)")}"),
            new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
            new("others", "read ciphertext; their stores land unencrypted and fail the owner's next MAC check"),
            new("violations", state.Violations.ToString(CultureInfo.InvariantCulture)),
            new("old_tags_accepted", state.OldTagsAccepted.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>A process whose last region is released is no compartment any more: its keys go.</summary>
    public override void OnSecureTransition(SecureTransition transition)
    {
        base.OnSecureTransition(transition);
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

    /// <summary>
    /// Is <paramref name="ciphertext"/> what the compartment wrote at <paramref name="address"/>? Its MAC must be the
    /// line's tag — or, with the tags in DRAM, any tag the line ever had: the attacker who replays the line replays
    /// the tag that went out with it, and nothing tells an old pair from the current one.
    /// </summary>
    private bool Verify(RegionState state, int index, ReadOnlySpan<byte> ciphertext, ulong address)
    {
        ulong tag = state.Compartment.TagOf(ciphertext, address);
        if (tag == state.Tags[index])
        {
            return true;
        }
        if (Parameters.MacStore == XomMacStore.Dram && state.IssuedTags.Contains((index, tag)))
        {
            state.Tags[index] = tag;   // the replayed tag is now the one beside the line
            state.OldTagsAccepted++;
            return true;
        }
        return false;
    }

    private void Violation(in MemoryAccessContext access, RegionState state, int index, ulong address)
    {
        state.Violations++;
        Host.ReportViolation(access, string.Create(CultureInfo.InvariantCulture,
            $"xom: MAC mismatch on line {index} (machine address 0x{address:x}) of compartment {state.Compartment.Id}: DRAM holds no ciphertext it wrote there"));
    }

    private ulong MacAddress(RegionState state, int index) =>
        MacBase + ((ulong)state.Region.Id * RegionStride) + ((ulong)index * (ulong)Parameters.MacBytes);

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
        public TruncatedHmac Mac { get; }

        /// <summary>The line's MAC over its ciphertext and address (no counter: XOM has none), as a number.</summary>
        public ulong TagOf(ReadOnlySpan<byte> ciphertext, ulong address)
        {
            Span<byte> tag = stackalloc byte[sizeof(ulong)];
            tag.Clear();
            Mac.Compute(ciphertext, address, 0, tag);
            return BinaryPrimitives.ReadUInt64LittleEndian(tag);
        }

        public void Dispose()
        {
            Cipher.Dispose();
            Mac.Dispose();
        }
    }

    /// <summary>A region's tags: the one beside each line now, and every one the processor ever wrote out.</summary>
    private sealed class RegionState(ProtectedRegion region, Compartment compartment, int lines)
    {
        public ProtectedRegion Region { get; } = region;
        public Compartment Compartment { get; } = compartment;
        public ulong[] Tags { get; } = new ulong[lines];
        /// <summary>(line, tag) pairs that went out on the bus: what a recording attacker can put back.</summary>
        public HashSet<(int Line, ulong Tag)> IssuedTags { get; } = new(lines * 4);
        public long Violations { get; set; }
        public long OldTagsAccepted { get; set; }

        public void Seal(int index, ulong tag)
        {
            Tags[index] = tag;
            IssuedTags.Add((index, tag));
        }
    }
}
