using System.Buffers.Binary;
using System.Globalization;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Bmt;

/// <summary>
/// Bonsai Merkle Trees (Rogers, Chhabra, Solihin, Prvulovic, MICRO 2007) as a plug-in: the registered frames are
/// kept in DRAM as AES-CTR ciphertext under split counters, each 64-byte line has an off-chip MAC over (ciphertext,
/// address, counter), and a Merkle tree whose leaves are the frames' counter blocks (not the data) has its root on
/// chip. The mechanism is in <see cref="BmtEngine"/>; this class decides who goes through it.
/// <list type="bullet">
/// <item><description>The owning application (<see cref="MemoryAccessContext.IsApplication"/>) reads verified
/// plaintext and writes through the engine (read-modify-write of the line, counter bump, re-encryption, MAC and tree
/// update). A line that fails verification is a violation: reported, and the access faults.</description></item>
/// <item><description>Everyone else (guest kernel, other processes, hypervisor copies, Dom0, devices) is outside the
/// processor's secure context: reads see the ciphertext in DRAM, writes go to DRAM as they are, bypassing the key
/// — and are caught by the line's MAC on the owner's next read.</description></item>
/// </list>
/// </summary>
/// <remarks>
/// The engine covers every machine frame (as BMT covers all of physical memory): counters persist across
/// registrations and each registration starts a page under a fresh major counter, so no keystream is ever reused.
/// BMT protects memory contents, not translations: a remap of the application's page (guest page table or p2m) to
/// another frame is outside what it can see.
/// </remarks>
[Architecture("bmt", "Bonsai Merkle Trees: AES-CTR with split counters, a MAC per line, a Merkle tree over the counter blocks (root on chip)",
    Principal.Application)]
public sealed class BmtArchitecture : RegionArchitectureBase, IDisposable
{
    private readonly ulong seed;
    private readonly Dictionary<int, RegionCounts> counts = [];
    private BmtEngine? engine;

    public BmtArchitecture(ArchitectureOptions options)
    {
        seed = options.Seed;
        Parameters = BmtParameters.From(options);
    }

    public override string Name => "bmt";

    public BmtParameters Parameters { get; }

    /// <summary>The engine (counters, MACs, tree, metadata cache); available once attached.</summary>
    public BmtEngine Engine => engine ?? throw new InvalidOperationException("bmt is not attached to a hypervisor");

    public override MetadataTraffic Traffic
    {
        get
        {
            if (engine is null)
            {
                return MetadataTraffic.None;
            }
            return engine.Cache.Traffic(engine.ProtectedAccesses);
        }
    }

    protected override void OnAttached()
    {
        base.OnAttached();
        // Two keys from the run's seed (reproducible runs): one for the cipher, one for the MACs.
        Span<byte> encryptionKey = stackalloc byte[16];
        Span<byte> macKey = stackalloc byte[32];
        SeedKeys.Derive(seed, 0x424D_545F_4145_534BUL /* "BMT_AESK" */, encryptionKey);
        for (int i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(macKey[(i * 8)..], (seed + (ulong)i) * 0xD6E8_FEB8_6659_FD93UL ^ 0x424D_545F_4D41_434BUL); // "BMT_MACK"
        }
        engine = new BmtEngine(Parameters, Host.Dram.FrameCount, encryptionKey, macKey);
    }

    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        ForEachFrame(region, (_, mfn, frame) => Engine.Protect(mfn.Value, frame));
        counts[region.Id] = new RegionCounts();
        Host.Record("bmt.encrypted", call.Caller, call.VcpuId,
            EventField.Of("region", region.Id), EventField.Of("frames", region.Mfns.Count), EventField.Of("cipher", "aes-128-ctr"),
            EventField.Of("major_bits", 64), EventField.Of("minor_bits", Parameters.MinorBits), EventField.Of("mac_bits", Parameters.MacBytes * 8),
            EventField.Of("tree", "counters"), EventField.Of("arity", Engine.Tree.Arity), EventField.Of("height", Engine.Tree.Height));
    }

    /// <summary>Verified lines are decrypted back to plaintext in DRAM.</summary>
    protected override void Unseal(VbaseOpCall call, ProtectedRegion region) =>
        ForEachFrame(region, (page, mfn, frame) =>
        {
            int failed = Engine.Unprotect(mfn.Value, frame);
            if (failed > 0)
            {
                Host.ReportViolation(ReleaseContext(call, region, page),
                    $"check=mac lines_failed={failed.ToString(CultureInfo.InvariantCulture)} at exit; left undecrypted");
            }
        });

    public override AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data)
    {
        if (access.Accessor == Accessor.Inspection)
        {
            Engine.Inspect(access.Mfn.Value, Host.Dram.Frame(access.Mfn), access.Offset, data);
            return AccessVerdict.Transformed;
        }
        if (!access.IsApplication)
        {
            return AccessVerdict.Pass;   // ciphertext, as the bus carries it
        }
        BmtCheck check = Engine.Read(access.Mfn.Value, Host.Dram.Frame(access.Mfn), access.Offset, data, out int line);
        return check == BmtCheck.Verified ? AccessVerdict.Transformed : Violation(access, check, line);
    }

    public override AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        if (!access.IsApplication)
        {
            // Outside the secure context the engine is not in the path: the bytes land in DRAM as they are, and the
            // line's MAC no longer matches.
            if (access.Accessor != Accessor.Inspection && counts.TryGetValue(access.Region.Id, out RegionCounts? c))
            {
                c.ForeignWrites++;
            }
            return AccessVerdict.Pass;
        }
        long reencryptions = Engine.PageReencryptions;
        BmtCheck check = Engine.Write(access.Mfn.Value, Host.Dram.Frame(access.Mfn), access.Offset, data, out int line);
        if (Engine.PageReencryptions != reencryptions)
        {
            Host.Record("bmt.page_reencrypted", access.Domain, access.Vcpu,
                EventField.Of("region", access.Region.Id), EventField.Hex("mfn", access.Mfn.Value),
                EventField.Of("line", access.Offset / BmtEngine.LineBytes), EventField.Of("major", Engine.Counters.GetMajor(access.Mfn.Value)));
        }
        return check == BmtCheck.Verified ? AccessVerdict.Transformed : Violation(access, check, line);
    }

    /// <summary>An integrity failure: reported, and the access refused (the processor raises a security exception).</summary>
    private AccessVerdict Violation(in MemoryAccessContext access, BmtCheck check, int line)
    {
        if (counts.TryGetValue(access.Region.Id, out RegionCounts? c))
        {
            c.Violations++;
        }
        Host.ReportViolation(access, string.Create(CultureInfo.InvariantCulture,
            $"check={(check == BmtCheck.MacMismatch ? "mac" : "counter_tree")} line={line} offset={line * BmtEngine.LineBytes}"));
        return AccessVerdict.Fault;
    }

    public override IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region)
    {
        RegionCounts c = counts.GetValueOrDefault(region.Id) ?? new RegionCounts();
        string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
        return
        [
            new("dram", region.IsActive ? "ciphertext (aes-128-ctr, seed = line address, split counter)" : "plaintext"),
            new("counters", $"split: 64-bit major per page, {Parameters.MinorBits}-bit minor per 64-byte line"),
            new("mac", $"{Parameters.MacBytes * 8}-bit truncated HMAC-SHA-256 over (ciphertext, address, counter), off-chip"),
            new("tree", $"counter blocks only, arity {Engine.Tree.Arity}, {Engine.Tree.Height} off-chip levels, root on chip"),
            new("plaintext_to", $"dom {region.Domain.Value} vcpu {region.Vcpu} satp 0x{region.Satp:x} in U-mode"),
            new("violations", Number(c.Violations)),
            new("foreign_writes", Number(c.ForeignWrites)),
            new("page_reencryptions", Number(Engine.PageReencryptions)),
        ];
    }

    public void Dispose() => engine?.Dispose();

    public override void OnRegionForgotten(ProtectedRegion region) => counts.Remove(region.Id);

    private sealed class RegionCounts
    {
        public long Violations;
        public long ForeignWrites;
    }
}
