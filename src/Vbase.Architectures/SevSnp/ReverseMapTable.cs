using System.Buffers.Binary;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.SevSnp;

/// <summary>One assigned RMP entry: the machine frame belongs to <paramref name="Owner"/> (its ASID) at <paramref name="Gfn"/>.</summary>
/// <param name="Validated">The guest accepted the page (PVALIDATE): its own accesses are allowed only then.</param>
public readonly record struct RmpEntry(DomainId Owner, Gfn Gfn, bool Validated);

/// <summary>Why the RMP refused a p2m change.</summary>
public enum RmpRefusal
{
    None,
    /// <summary>The proposed entry maps a guest-owned frame at another GFN or into another domain (aliasing, splicing).</summary>
    FrameElsewhere,
    /// <summary>The entry being changed is a guest-owned frame's own GFN: remapping, retyping or unmapping it.</summary>
    HomeChanged,
}

/// <summary>
/// SEV-SNP's reverse-map table: per machine frame, whether a guest owns it, which (its ASID, here the domain id),
/// at which GFN, and whether the guest validated it. As in SNP the table lives in DRAM — an array of 16-byte entries
/// indexed by frame number over all of machine memory, in the plug-in's metadata area — and the hardware reads it
/// through an on-chip cache (a <see cref="DramMetadataCache"/>, so lookups count as metadata traffic). SNP keeps
/// software away from it (only RMPUPDATE and PVALIDATE change it) but does not protect it from a physical attacker:
/// nothing here checks its integrity, so chosen bytes over an entry are what the next lookup reads.
/// </summary>
/// <remarks>
/// The entry layout is the one Linux reads on Zen 3/4 (<c>struct rmpentry</c>; AMD calls the format
/// non-architectural): low word bit 0 assigned, 1 page size (0: 4 KiB), 2 immutable, bits 12–50 the guest frame,
/// 51–60 the ASID, 61 VMSA, 62 validated; the high word is reserved.
/// </remarks>
public sealed class ReverseMapTable
{
    /// <summary>Bytes per entry.</summary>
    public const int EntryBytes = 16;

    private const ulong Assigned = 1, ValidatedBit = 1UL << 62;
    private const int GfnShift = 12, GfnBits = 39, AsidShift = 51, AsidBits = 10;

    private readonly DramMetadataCache cache;

    /// <param name="area">At least <see cref="BytesFor"/>(frames) bytes, zeroed (every frame unassigned).</param>
    /// <param name="frames">Machine frames the table covers (all of machine memory).</param>
    public ReverseMapTable(SapiHost host, MetadataArea area, ulong frames, int cacheBytes = 4096, int cacheWays = 4)
    {
        ArgumentNullException.ThrowIfNull(area);
        if (area.Bytes < BytesFor(frames))
        {
            throw new ArgumentException($"an RMP over {frames} frames needs {BytesFor(frames)} bytes, the area has {area.Bytes}", nameof(area));
        }
        Frames = frames;
        cache = new DramMetadataCache(host, area, cacheBytes, cacheWays);
    }

    /// <summary>The frames covered.</summary>
    public ulong Frames { get; }

    public MetadataArea Area => cache.Area;

    /// <summary>Bytes of DRAM a table over <paramref name="frames"/> frames takes.</summary>
    public static ulong BytesFor(ulong frames) => frames * EntryBytes;

    /// <summary>The machine address of <paramref name="mfn"/>'s entry (what a physical attacker overwrites).</summary>
    public ulong AddressOf(Mfn mfn) => Area.BaseAddress + (mfn.Value * EntryBytes);

    /// <summary>Assigns <paramref name="mfn"/> to <paramref name="owner"/> at <paramref name="gfn"/>, validated (RMPUPDATE + PVALIDATE).</summary>
    public void Assign(Mfn mfn, DomainId owner, Gfn gfn) => Write(mfn, Encode(mfn, owner, gfn));

    private ulong Encode(Mfn mfn, DomainId owner, Gfn gfn) =>
        owner.Value >= 1 << AsidBits || gfn.Value >= 1UL << GfnBits || mfn.Value >= Frames
            ? throw new ArgumentOutOfRangeException(nameof(owner), $"dom{owner.Value} at {gfn} on {mfn} does not fit an RMP entry")
            : Assigned | ValidatedBit | (gfn.Value << GfnShift) | ((ulong)owner.Value << AsidShift);

    /// <summary>
    /// The firmware's RMPUPDATE and the guest's PVALIDATE for every frame of a VM being launched (or, with
    /// <paramref name="owner"/> null, the reclaim of a destroyed VM's entries): written to DRAM directly once the
    /// cache is written back, since the launch runs before the guest and its traffic is not the workload's.
    /// </summary>
    public void SetByFirmware(DomainId? owner, IReadOnlyList<(Gfn Gfn, Mfn Mfn)> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        cache.Flush();
        foreach ((Gfn gfn, Mfn mfn) in frames)
        {
            ulong low = owner is DomainId o ? Encode(mfn, o, gfn) : 0;
            Span<byte> entry = Area.Slice(mfn.Value * EntryBytes, EntryBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, low);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], 0);
        }
    }

    /// <summary>The frames whose entries assign them to <paramref name="owner"/> (for the reclaim at destroy; counts nothing).</summary>
    public IReadOnlyList<(Gfn Gfn, Mfn Mfn)> AssignedTo(DomainId owner)
    {
        var found = new List<(Gfn, Mfn)>();
        for (ulong m = 0; m < Frames; m++)
        {
            if (Inspect(new Mfn(m), out RmpEntry e) && e.Owner == owner)
            {
                found.Add((e.Gfn, new Mfn(m)));
            }
        }
        return found;
    }

    /// <summary>Returns the frame to the hypervisor (a shared page again).</summary>
    public void Unassign(Mfn mfn) => Write(mfn, 0);

    /// <summary>The entry of <paramref name="mfn"/> if it is assigned, as DRAM (or the RMP cache) holds it.</summary>
    public bool TryGet(Mfn mfn, out RmpEntry entry)
    {
        entry = default;
        if (mfn.Value >= Frames || !cache.TryGet(mfn.Value * EntryBytes, write: false, out Span<byte> line))
        {
            return false;
        }
        return Decode(BinaryPrimitives.ReadUInt64LittleEndian(line[(int)(mfn.Value * EntryBytes % DramMetadataCache.LineBytes)..]), out entry);
    }

    /// <summary>As <see cref="TryGet"/>, for the Monitor: reads without moving lines or counting traffic.</summary>
    public bool Inspect(Mfn mfn, out RmpEntry entry)
    {
        entry = default;
        if (mfn.Value >= Frames)
        {
            return false;
        }
        Span<byte> low = stackalloc byte[8];
        cache.Peek(mfn.Value * EntryBytes, low);
        return Decode(BinaryPrimitives.ReadUInt64LittleEndian(low), out entry);
    }

    /// <summary>
    /// The check of a guest's own access (SNP makes it on the nested page walk): the frame must be assigned to the
    /// guest, at the GFN it is reached through, and validated; anything else is a nested page fault.
    /// </summary>
    public bool AllowsGuest(Mfn mfn, DomainId guest, Gfn gfn) =>
        TryGet(mfn, out RmpEntry e) && e.Owner == guest && e.Gfn == gfn && e.Validated;

    /// <summary>
    /// Checks a p2m change of <paramref name="domain"/>'s <paramref name="gfn"/> from <paramref name="current"/> to
    /// <paramref name="proposed"/>; <see cref="RmpRefusal.None"/> if it is allowed, else why not and the entry it hit.
    /// </summary>
    public RmpRefusal Check(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, out RmpEntry hit)
    {
        if (proposed.Type != P2mType.Invalid && TryGet(proposed.Mfn, out hit) && (hit.Owner != domain || hit.Gfn != gfn))
        {
            return RmpRefusal.FrameElsewhere;
        }
        if (current.Type != P2mType.Invalid && current != proposed && TryGet(current.Mfn, out hit) && hit.Owner == domain && hit.Gfn == gfn)
        {
            return RmpRefusal.HomeChanged;
        }
        hit = default;
        return RmpRefusal.None;
    }

    /// <summary>Writes the cached RMP lines back to DRAM and empties the cache.</summary>
    public void Flush() => cache.Flush();

    private static bool Decode(ulong low, out RmpEntry entry)
    {
        entry = (low & Assigned) == 0
            ? default
            : new RmpEntry(new DomainId((ushort)((low >> AsidShift) & ((1UL << AsidBits) - 1))),
                new Gfn((low >> GfnShift) & ((1UL << GfnBits) - 1)), (low & ValidatedBit) != 0);
        return (low & Assigned) != 0;
    }

    private void Write(Mfn mfn, ulong low)
    {
        cache.TryGet(mfn.Value * EntryBytes, write: true, out Span<byte> line);   // no verifier: never refused
        Span<byte> entry = line.Slice((int)(mfn.Value * EntryBytes % DramMetadataCache.LineBytes), EntryBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(entry, low);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], 0);
    }
}
