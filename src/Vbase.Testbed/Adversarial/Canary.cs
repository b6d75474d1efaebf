using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Testbed.Adversarial;

/// <summary>
/// The domain a fuzzer must not reach. It fills <see cref="PatternSize"/> bytes at <see cref="PatternGpa"/> with an
/// xorshift stream of its seed, puts known values in s0..s11, grants one page read-only to the fuzzer (domain 2)
/// and one read-write to a domain that does not exist, then blocks forever (waking on any event, it blocks
/// again). After the fuzz, <see cref="Check"/> compares all of that (and its whole RAM, p2m and state, as they
/// were once it first blocked) with the domain as it is.
/// </summary>
internal sealed class Canary
{
    public const ulong Memory = 4UL << 20;
    public const ulong PatternGpa = 0x8030_0000, PatternSize = 64 * 1024;
    /// <summary>Granted read-only to the fuzzer as ref 0 (the first page of the pattern); ref 1 goes to domain 3.</summary>
    public const ulong SharedGpa = PatternGpa, OtherGpa = PatternGpa + 0x1000;
    public const ulong TableGpa = 0x8038_0000;
    /// <summary>The fuzzer's domain id (the canary is created first, as domain 1).</summary>
    public const ushort FuzzerDomain = 2;
    private static readonly int[] Saved = [S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10, S11];

    private readonly ulong seed;
    private byte[]? ram;
    private IReadOnlyList<KeyValuePair<Gfn, P2mEntry>>? p2m;

    public Canary(ulong seed) => this.seed = GuestAsm.Mix(seed, 0xCA);

    public DomainId Id { get; private set; }

    private ulong SavedValue(int register) => GuestAsm.Mix(seed, (ulong)register);

    public ProgramBuilder Program()
    {
        var p = GuestAsm.New();
        foreach (int r in Saved)
        {
            p.Li(r, (long)SavedValue(r));
        }
        p.Li(T1, (long)seed).Li(T0, (long)PatternGpa).Li(T2, (long)(PatternGpa + PatternSize));
        p.Label("fill").Jal(Ra, "next").Emit(Sd(T3, T0, 0), Addi(T0, T0, 8)).Bltu(T0, T2, "fill");
        p.Li(T0, (long)TableGpa);
        p.Li(T1, (long)(GrantEntryLayout.PermitAccess | GrantEntryLayout.ReadOnly) | ((long)FuzzerDomain << 16) | (long)((SharedGpa >> 12) << 32)).Emit(Sd(T1, T0, 0));
        p.Li(T1, GrantEntryLayout.PermitAccess | (3L << 16) | (long)((OtherGpa >> 12) << 32)).Emit(Sd(T1, T0, 8));
        p.Call(HypercallNumber.GrantTableOp, (long)GrantTableCommand.SetupTable, (long)TableGpa, 2);
        p.Label("sleep").Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block).J("sleep");
        p.XorShiftRoutine("next", T1, T3, T4);
        return p;
    }

    /// <summary>Creates the canary, runs it until it blocks, and snapshots it. Null, or why it did not get there.</summary>
    public string? Start(Hypervisor.Hypervisor hv)
    {
        DomainHandle h = hv.Dom0.CreateDomain(new DomainConfig { Name = "canary", Kernel = Program().ToArray(), MemoryBytes = Memory });
        Id = h.Id;
        if (Id.Value != 1)
        {
            return $"the canary is domain {Id.Value}, not 1";
        }
        hv.Dom0.Unpause(Id);
        HypervisorRunResult r = hv.Run(10_000_000);
        if (r.Stop != HypervisorStop.Idle || hv.Dom0.GetInfo(Id).State != DomainState.Blocked)
        {
            return $"the canary did not block: {r.Stop}, {hv.Dom0.GetInfo(Id).State}";
        }
        ram = ReadRam(hv);
        p2m = hv.Dom0.GetP2m(Id);
        return null;
    }

    private byte[] ReadRam(Hypervisor.Hypervisor hv)
    {
        byte[] all = new byte[Memory];
        int error = hv.Dom0.ReadGuest(Id, new GuestPhysicalAddress(GuestLayout.RamBase), all);
        return error == 0 ? all : throw new InvalidOperationException($"Dom0 cannot read the canary's RAM: {error}");
    }

    /// <summary>Every way the canary differs from what it wrote and what it was (empty: intact).</summary>
    public List<string> Check(Hypervisor.Hypervisor hv)
    {
        var problems = new List<string>();
        DomainInfo info = hv.Dom0.GetInfo(Id);
        if (info.State != DomainState.Blocked)
        {
            problems.Add($"canary state {info.State} ({info.Reason}, exit {info.ExitCode}), expected Blocked");
        }
        if (info.State == DomainState.Destroyed)
        {
            return problems;
        }
        foreach (int r in Saved)
        {
            ulong value = hv.Dom0.GetRegister(Id, 0, r);
            if (value != SavedValue(r))
            {
                problems.Add($"canary x{r} = 0x{value:x}, it wrote 0x{SavedValue(r):x}");
            }
        }
        byte[] now = ReadRam(hv);
        ulong state = seed;
        for (ulong off = 0; off < PatternSize; off += 8)
        {
            ulong expected = GuestAsm.XorShift(ref state);
            ulong actual = BitConverter.ToUInt64(now, (int)(PatternGpa - GuestLayout.RamBase + off));
            if (actual != expected)
            {
                problems.Add($"canary memory at 0x{PatternGpa + off:x} = 0x{actual:x}, it wrote 0x{expected:x}");
                break;
            }
        }
        int same = now.AsSpan().CommonPrefixLength(ram);
        if (same < now.Length)
        {
            problems.Add($"canary RAM at 0x{GuestLayout.RamBase + (ulong)same:x} changed: 0x{ram![same]:x2} → 0x{now[same]:x2}");
        }
        IReadOnlyList<KeyValuePair<Gfn, P2mEntry>> p2mNow = hv.Dom0.GetP2m(Id);
        if (!p2mNow.SequenceEqual(p2m!))
        {
            var first = p2mNow.Except(p2m!).Concat(p2m!.Except(p2mNow)).FirstOrDefault();
            problems.Add($"canary p2m changed ({p2mNow.Count} entries, was {p2m!.Count}; e.g. {first.Key} → {first.Value.Mfn} {first.Value.Type})");
        }
        return problems;
    }

    /// <summary>
    /// The fuzzer's p2m may hold only its own frames and, read-only, the canary's frame it was granted: anything
    /// else (a canary frame writable, or not granted) is a break.
    /// </summary>
    public List<string> CheckFuzzerMappings(Hypervisor.Hypervisor hv, DomainId fuzzer)
    {
        var problems = new List<string>();
        Mfn granted = hv.Dom0.GetP2mEntry(Id, new GuestPhysicalAddress(SharedGpa).Gfn).Mfn;
        foreach (var (gfn, e) in hv.Dom0.GetP2m(fuzzer))
        {
            DomainId? owner = hv.Machine.OwnerOf(e.Mfn);
            bool own = owner == fuzzer;
            bool grant = e.Mfn == granted && e.Type == P2mType.GrantMapRo;
            if (!own && !grant)
            {
                problems.Add($"fuzzer p2m {gfn} → {e.Mfn} {e.Type.ToXenName()} (owner {owner?.ToString() ?? "none"})");
                if (problems.Count == 3)
                {
                    break;
                }
            }
        }
        return problems;
    }
}
