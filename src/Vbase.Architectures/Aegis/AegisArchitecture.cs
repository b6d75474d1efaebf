using System.Buffers.Binary;
using System.Globalization;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Counters;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Integrity;
using Vbase.Sapi.Toolkit.Lines;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Aegis;

/// <summary>
/// AEGIS (Suh et al., ICS 2003 / ISCA 2005) in its untrusted-OS mode: a "private tamper-resistant" process whose
/// memory the processor keeps secret and verified whatever the OS does. Each 64-byte line of the region is encrypted
/// with AES-128 in counter mode, seed = (line's machine address, the line's version counter); the counter is bumped
/// on every write-back (every accepted store of the owner). A hash tree over every line's (ciphertext, counter), its
/// root on chip, is checked on every read by the owner and updated on every write.
/// </summary>
/// <remarks>
/// <para>
/// Only the owning process (its vCPU, its address space, in U-mode) gets plaintext. The guest kernel, other
/// processes, Dom0, devices and the hypervisor's copies read the ciphertext as DRAM holds it; their stores land there
/// as they are — they cannot go through the process's key — so the owner's next read of the line fails the tree and
/// is refused with a violation. A replayed line is an old (ciphertext, counter) pair against a newer counter: the
/// tree catches it as well.
/// </para>
/// <para>
/// The counters and tree nodes live off chip (<see cref="VersionCounterStore"/>, <see cref="IntegrityNodeStore"/>);
/// the root, the keys and the metadata cache are on chip. The emulation checks every access by the owner (there is
/// no data-cache model), so tampering is seen at the first read after it. The tree covers the region's machine
/// frames: an access that a remap sends to a frame outside the region never reaches the plug-in and is not checked.
/// </para>
/// </remarks>
[Architecture("aegis", "AEGIS untrusted-OS mode: AES-CTR with per-line counters, hash tree over ciphertext and counters, root on chip",
    Principal.Application)]
public sealed class AegisArchitecture : RegionArchitectureBase, IDisposable
{
    /// <summary>The unit of encryption, counters and tree leaves.</summary>
    public const int LineBytes = 64;
    private const int LinesPerPage = PageSize.Bytes / LineBytes;
    /// <summary>A leaf's value: the line's ciphertext, then its counter (8 bytes little-endian).</summary>
    private const int LeafBytes = LineBytes + VersionCounterStore.ValueBytes;

    // Where metadata sits in the metadata cache's address space: region r's counters from CounterBase + r * RegionStride,
    // its tree level l from TreeBase + r * RegionStride + l * LevelStride.
    private const ulong CounterBase = 0x5000_0000_0000UL;
    private const ulong TreeBase = 0x6000_0000_0000UL;
    private const ulong RegionStride = 1UL << 36;
    private const ulong LevelStride = 1UL << 30;

    private readonly byte[] processorSecret = new byte[32];
    private readonly MetadataCache metadataCache;
    private readonly Dictionary<SecureContext, ProcessKey> keys = [];   // by identity: one per secure process
    private int keyCount;   // process key ids (and so keys) are never reused
    private readonly Dictionary<int, RegionState> regions = [];
    private long protectedAccesses;
    private long releasedViolations;

    public AegisArchitecture(ArchitectureOptions options)
    {
        Parameters = AegisParameters.From(options);
        metadataCache = new MetadataCache(Parameters.MetadataCacheBytes, Parameters.MetadataCacheWays, LineBytes);
        // The processor's secret, from which every process key derives; reproducible per run seed.
        SeedKeys.Derive(options.Seed, 0x4145_4749_535F_4B45UL /* "AEGIS_KE" */, processorSecret, tag: 0x5375_6820_3230_3033UL /* "Suh 2003" */);
    }

    public override string Name => "aegis";

    /// <summary>The knobs this instance was built with.</summary>
    public AegisParameters Parameters { get; }

    /// <summary>Violations raised so far (tree failures seen by the owner).</summary>
    public long Violations => regions.Values.Sum(r => r.Violations) + releasedViolations;

    public override MetadataTraffic Traffic => metadataCache.Traffic(protectedAccesses);

    /// <summary>The off-chip counters of an active region (for tests: tampering with them must be caught).</summary>
    internal VersionCounterStore? CountersOf(int regionId) => regions.TryGetValue(regionId, out RegionState? s) ? s.Counters : null;

    /// <summary>The integrity tree of an active region (for tests: its off-chip nodes).</summary>
    internal IntegrityTree? TreeOf(int regionId) => regions.TryGetValue(regionId, out RegionState? s) ? s.Tree : null;

    /// <summary>The region becomes private tamper-resistant memory: each line encrypted under counter 1 and its leaf set.</summary>
    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        SecureContext context = Host.ContextOf(call)!;
        if (!keys.TryGetValue(context, out ProcessKey? key))
        {
            key = new ProcessKey(++keyCount, processorSecret);
            keys.Add(context, key);
        }
        int lines = region.Gfns.Count * LinesPerPage;
        var state = new RegionState(region, key,
            new VersionCounterStore(lines, Parameters.CounterBits, CounterOverflowPolicy.Throw),
            // The trusted node cache is the metadata cache's share of tree nodes: verified nodes on chip.
            new IntegrityTree(lines, Parameters.TreeArity, Parameters.TreeHashBytes, Parameters.MetadataCacheBytes / LineBytes));
        byte[] leaf = new byte[LeafBytes];
        ForEachLine(region, LineBytes, line =>
        {
            ulong counter = state.Counters.Increment((ulong)line.Index).Value;       // the first write-back
            key.Cipher.Transform(line.Bytes, line.Bytes, line.Address, counter);
            state.Tree.Update(line.Index, Leaf(line.Bytes, counter, leaf));
        });
        regions[region.Id] = state;
        Host.Record("aegis.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("process_key", key.Id), EventField.Of("frames", region.Mfns.Count),
            EventField.Of("lines", lines), EventField.Of("cipher", "aes-128-ctr(address,counter)"), EventField.Of("tree_arity", Parameters.TreeArity),
            EventField.Of("tree_levels", state.Tree.Height));
    }

    /// <summary>Each line verified and decrypted back into DRAM.</summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region)
    {
        if (!regions.Remove(region.Id, out RegionState? state))
        {
            return;
        }
        byte[] leaf = new byte[LeafBytes];
        ForEachLine(region, LineBytes, line =>
        {
            ulong counter = state.Counters.Get((ulong)line.Index);
            if (!state.Tree.Verify(line.Index, Leaf(line.Bytes, counter, leaf)))
            {
                // Tampered data is not handed back as if it were the process's: the line is wiped.
                Violation(ReleaseContext(call, region, line.Page, line.Offset), state, line.Index, counter);
                line.Bytes.Clear();
                return;
            }
            state.Key.Cipher.Transform(line.Bytes, line.Bytes, line.Address, counter);
        });
        releasedViolations += state.Violations;
        state.Tree.Dispose();
    }

    /// <summary>Plaintext for the owner after the tree check (and, unchecked and uncounted, for inspection);
    /// ciphertext for every other principal.</summary>
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
        Span<byte> leaf = stackalloc byte[LeafBytes];
        ReadOnlySpan<byte> frame = Host.Dram.Frame(access.Mfn);
        foreach (AccessLine at in AccessLines.Of(access, data.Length, LineBytes))
        {
            ulong counter = state.Counters.Get((ulong)at.Index);
            frame.Slice(at.Start, LineBytes).CopyTo(line);
            if (!inspecting)
            {
                TouchMetadata(state, at.Index, isWrite: false);
                if (!state.Tree.Verify(at.Index, Leaf(line, counter, leaf)))
                {
                    Violation(access, state, at.Index, counter);
                    return AccessVerdict.Fault;
                }
            }
            state.Key.Cipher.Transform(line, line, at.Address, counter);
            line.Slice(at.InLine, at.Count).CopyTo(data.Slice(at.DataOffset, at.Count));
        }
        return AccessVerdict.Transformed;
    }

    /// <summary>
    /// The owner's store: a write-back of each line it touches (verify, decrypt, merge, bump the counter, encrypt under
    /// the new counter, update the tree). Any other principal's store lands in DRAM as it is.
    /// </summary>
    public override AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        if (!access.IsApplication || !regions.TryGetValue(access.Region.Id, out RegionState? state))
        {
            return AccessVerdict.Pass;
        }
        protectedAccesses++;
        Span<byte> line = stackalloc byte[LineBytes];
        Span<byte> leaf = stackalloc byte[LeafBytes];
        Span<byte> frame = Host.Dram.Frame(access.Mfn);
        // Every line is checked before any is written, so a refused store changes nothing.
        foreach (AccessLine at in AccessLines.Of(access, data.Length, LineBytes))
        {
            ulong counter = state.Counters.Get((ulong)at.Index);
            TouchMetadata(state, at.Index, isWrite: true);
            if (!state.Tree.Verify(at.Index, Leaf(frame.Slice(at.Start, LineBytes), counter, leaf)))
            {
                Violation(access, state, at.Index, counter);
                return AccessVerdict.Fault;
            }
        }
        foreach (AccessLine at in AccessLines.Of(access, data.Length, LineBytes))
        {
            ulong old = state.Counters.Get((ulong)at.Index);
            state.Key.Cipher.Transform(frame.Slice(at.Start, LineBytes), line, at.Address, old);
            data.Slice(at.DataOffset, at.Count).CopyTo(line[at.InLine..]);
            ulong counter;
            try
            {
                counter = state.Counters.Increment((ulong)at.Index).Value;
            }
            catch (CounterOverflowException e)
            {
                // AEGIS would re-key the process here; this emulation refuses the write instead of reusing a seed.
                Host.Record("aegis.counter_overflow", access.Domain, access.Vcpu,
                    EventField.Of("region", state.Region.Id), EventField.Of("line", at.Index), EventField.Of("reason", e.Message));
                return AccessVerdict.Fault;
            }
            state.Key.Cipher.Transform(line, line, at.Address, counter);
            if (!state.Tree.Update(at.Index, Leaf(line, counter, leaf)))
            {
                // A tampered sibling on the path: nothing is written, the counter goes back.
                state.Counters.Set((ulong)at.Index, old);
                Violation(access, state, at.Index, old);
                return AccessVerdict.Fault;
            }
            line.CopyTo(frame.Slice(at.Start, LineBytes));
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
            new("process_key", state.Key.Id.ToString(CultureInfo.InvariantCulture)),
            new("dram", "ciphertext (aes-128-ctr, seed = line's machine address and its version counter)"),
            new("counters", $"{Parameters.CounterBits}-bit per 64-byte line, off chip, bumped on every write-back"),
            new("tree", string.Create(CultureInfo.InvariantCulture,
                $"sha-256/{Parameters.TreeHashBytes * 8}, arity {Parameters.TreeArity}, {state.Tree.LeafCount} leaves (ciphertext, counter), {state.Tree.Height} off-chip levels, root on chip")),
            new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
            new("others", "read ciphertext; their stores land as they are and fail the owner's next tree check"),
            new("violations", state.Violations.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>A process whose last region is released is no secure process any more: its key goes.</summary>
    public override void OnSecureTransition(SecureTransition transition)
    {
        base.OnSecureTransition(transition);
        if (transition.Kind == SecureTransitionKind.Exit && keys.Remove(transition.Context, out ProcessKey? gone))
        {
            gone.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (ProcessKey k in keys.Values)
        {
            k.Dispose();
        }
        keys.Clear();
        foreach (RegionState s in regions.Values)
        {
            s.Tree.Dispose();
        }
        regions.Clear();
    }

    /// <summary>
    /// The metadata an access needs, through the metadata cache: the line's counter, then the tree path from the leaf's
    /// node up to the first node found on chip (a cached node is trusted, so the walk stops there). A write dirties
    /// what it touches.
    /// </summary>
    private void TouchMetadata(RegionState state, int leaf, bool isWrite)
    {
        ulong regionBase = (ulong)state.Region.Id * RegionStride;
        metadataCache.Access(CounterBase + regionBase + ((ulong)leaf * VersionCounterStore.ValueBytes), isWrite);
        long child = leaf;
        int nodeBytes = state.Tree.Store.NodeBytes;
        for (int level = 0; level < state.Tree.Height; level++)
        {
            long index = child / state.Tree.Arity;
            if (metadataCache.Access(TreeBase + regionBase + ((ulong)level * LevelStride) + ((ulong)index * (ulong)nodeBytes), isWrite))
            {
                break;
            }
            child = index;
        }
    }

    private void Violation(in MemoryAccessContext access, RegionState state, int index, ulong counter)
    {
        state.Violations++;
        Host.ReportViolation(access, string.Create(CultureInfo.InvariantCulture,
            $"aegis: integrity tree mismatch on line {index} (counter {counter}) of process key {state.Key.Id}: DRAM does not hold the line's current ciphertext"));
    }

    /// <summary>A tree leaf: the ciphertext, then the counter, in <paramref name="buffer"/>.</summary>
    private static ReadOnlySpan<byte> Leaf(ReadOnlySpan<byte> ciphertext, ulong counter, Span<byte> buffer)
    {
        ciphertext.CopyTo(buffer);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[LineBytes..], counter);
        return buffer[..LeafBytes];
    }

    /// <summary>A secure process's AES key, derived from the processor's secret.</summary>
    private sealed class ProcessKey : IDisposable
    {
        public ProcessKey(int id, ReadOnlySpan<byte> processorSecret)
        {
            Id = id;
            Span<byte> key = stackalloc byte[TruncatedHmac.MaxTagBytes];
            using (var kdf = new TruncatedHmac(processorSecret, TruncatedHmac.MaxTagBytes))
            {
                kdf.Compute("aegis process memory key"u8, (ulong)id, 0, key);
            }
            Cipher = new AesCtr(key[..16]);
        }

        public int Id { get; }
        public AesCtr Cipher { get; }

        public void Dispose() => Cipher.Dispose();
    }

    private sealed class RegionState(ProtectedRegion region, ProcessKey key, VersionCounterStore counters, IntegrityTree tree)
    {
        public ProtectedRegion Region { get; } = region;
        public ProcessKey Key { get; } = key;
        public VersionCounterStore Counters { get; } = counters;
        public IntegrityTree Tree { get; } = tree;
        public long Violations { get; set; }
    }
}
