using Vbase.Isa.Csrs;
using Vbase.Isa.Memory;
using Vbase.Isa.Traps;
using static Vbase.Isa.Memory.Sv39Walker;

namespace Vbase.Isa.Tests.Privileged;

/// <summary>
/// The Sv39 walker against hand-built tables (privileged spec §4.3.2, §4.4): each structural rule through both
/// <see cref="Sv39Walker.Lookup"/> and <see cref="Sv39Walker.Translate"/>, the leaf permission rules, and the A/D update.
/// </summary>
public sealed class Sv39WalkerTests
{
    private const ulong Root = 0x8000_1000, Mid = 0x8000_2000, Leaf = 0x8000_3000;
    private const ulong Satp = (ModeSv39 << 60) | (Root >> 12);
    private const ulong Rw = PteR | PteW | PteA | PteD;
    private const ulong ToMid = (Mid >> 12) << 10 | PteV, ToLeaf = (Leaf >> 12) << 10 | PteV;
    /// <summary>VPN[2] = 0, VPN[1] = 1, VPN[0] = 0x13.</summary>
    private const ulong Va4K = 0x21_3abc;

    /// <summary>PTEs by physical address; RAM from 0x8000_0000 reads as 0 where nothing was written, below it cannot be read.</summary>
    private sealed class Tables
    {
        public readonly Dictionary<ulong, ulong> Ptes = [];
        public readonly List<ulong> Reads = [];
        public readonly List<(ulong Address, ulong Pte)> Writes = [];
        public bool RefuseWrites;
    }

    private readonly struct TablePtes(Tables tables) : IPteMemory
    {
        public bool TryReadPte(ulong address, out ulong pte)
        {
            tables.Reads.Add(address);
            pte = tables.Ptes.GetValueOrDefault(address);
            return address >= 0x8000_0000;
        }

        public bool TryWritePte(ulong address, ulong pte)
        {
            if (tables.RefuseWrites)
            {
                return false;
            }
            tables.Writes.Add((address, pte));
            tables.Ptes[address] = pte;
            return true;
        }
    }

    private readonly Tables tables = new();

    private static ulong Pte(ulong pa, ulong flags) => ((pa >> 12) << 10) | flags | PteV;

    private static ulong Index(ulong va, int level) => ((va >> (12 + (9 * level))) & 511) * 8;

    /// <summary>Writes <paramref name="l2"/>, <paramref name="l1"/>, <paramref name="l0"/> where the walk of <paramref name="va"/> reads them.</summary>
    private void Place(ulong va, ulong l2, ulong l1 = 0, ulong l0 = 0)
    {
        tables.Ptes[Root + Index(va, 2)] = l2;
        tables.Ptes[Mid + Index(va, 1)] = l1;
        tables.Ptes[Leaf + Index(va, 0)] = l0;
    }

    private Sv39Status Translate(ulong va, MemoryAccess access, Privilege privilege, ulong mstatus, out ulong physical) =>
        Sv39Walker.Translate(new TablePtes(tables), Satp, va, access, privilege, mstatus, out physical);

    public static TheoryData<string, ulong, ulong, ulong, ulong, Sv39Status, ulong> Walks()
    {
        var data = new TheoryData<string, ulong, ulong, ulong, ulong, Sv39Status, ulong>
        {
            { "4 KiB leaf", Va4K, ToMid, ToLeaf, Pte(0x8021_6000, Rw), Sv39Status.Translated, 0x8021_6abc },
            { "2 MiB leaf: low bits from the VA", 0x3F_1234, ToMid, Pte(0x8040_0000, Rw), 0, Sv39Status.Translated, 0x805F_1234 },
            { "1 GiB leaf: low bits from the VA", 0x8012_3456, Pte(0xC000_0000, Rw), 0, 0, Sv39Status.Translated, 0xC012_3456 },
            { "canonical negative VA", 0xFFFF_FFC0_0000_0123, Pte(0xC000_0000, PteR | PteA), 0, 0, Sv39Status.Translated, 0xC000_0123 },
            { "G in a pointer is allowed", Va4K, ToMid | PteG, ToLeaf | PteG, Pte(0x8021_6000, Rw | PteG), Sv39Status.Translated, 0x8021_6abc },
            { "RSW is ignored", Va4K, ToMid | (3 << 8), ToLeaf | (1 << 8), Pte(0x8021_6000, Rw | (2 << 8)), Sv39Status.Translated, 0x8021_6abc },
            { "V = 0 in the leaf", Va4K, ToMid, ToLeaf, Pte(0x8021_6000, Rw) & ~PteV, Sv39Status.Invalid, 0 },
            { "V = 0 in a pointer", Va4K, ToMid, ToLeaf & ~PteV, Pte(0x8021_6000, Rw), Sv39Status.Invalid, 0 },
            { "W without R", Va4K, ToMid, ToLeaf, Pte(0x8021_6000, PteW | PteA | PteD), Sv39Status.Reserved, 0 },
            { "W and X without R", Va4K, ToMid, ToLeaf, Pte(0x8021_6000, PteW | PteX | PteA | PteD), Sv39Status.Reserved, 0 },
            { "W without R where a pointer would be", Va4K, ToMid | PteW, ToLeaf, Pte(0x8021_6000, Rw), Sv39Status.Reserved, 0 },
            { "D in a pointer", Va4K, ToMid, ToLeaf | PteD, Pte(0x8021_6000, Rw), Sv39Status.Reserved, 0 },
            { "A in a pointer", Va4K, ToMid | PteA, ToLeaf, Pte(0x8021_6000, Rw), Sv39Status.Reserved, 0 },
            { "U in a pointer", Va4K, ToMid, ToLeaf | PteU, Pte(0x8021_6000, Rw), Sv39Status.Reserved, 0 },
            { "misaligned 2 MiB superpage (PPN 4 KiB-aligned)", 0x20_0000, ToMid, Pte(0x8040_1000, Rw), 0, Sv39Status.MisalignedSuperpage, 0 },
            { "misaligned 2 MiB superpage (PPN 1 MiB-aligned)", 0x20_0000, ToMid, Pte(0x8050_0000, Rw), 0, Sv39Status.MisalignedSuperpage, 0 },
            { "misaligned 1 GiB superpage (PPN 2 MiB-aligned)", 0x8000_0000, Pte(0x8020_0000, Rw), 0, 0, Sv39Status.MisalignedSuperpage, 0 },
            { "misaligned 1 GiB superpage (PPN 4 KiB-aligned)", 0x8000_0000, Pte(0x8000_1000, Rw), 0, 0, Sv39Status.MisalignedSuperpage, 0 },
            { "pointer at level 0", Va4K, ToMid, ToLeaf, Pte(0x8021_6000, 0), Sv39Status.NoLeaf, 0 },
            { "table outside readable memory", Va4K, Pte(0x1000_0000, 0), 0, 0, Sv39Status.AccessFault, 0 },
        };
        for (int bit = 54; bit <= 63; bit++)
        {
            data.Add($"reserved bit {bit} in the leaf", Va4K, ToMid, ToLeaf, Pte(0x8021_6000, Rw) | (1UL << bit), Sv39Status.Reserved, 0);
            data.Add($"reserved bit {bit} in a pointer", Va4K, ToMid, ToLeaf | (1UL << bit), Pte(0x8021_6000, Rw), Sv39Status.Reserved, 0);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Walks))]
    public void LookupAndTranslateFollowTheSpec(string what, ulong va, ulong l2, ulong l1, ulong l0, Sv39Status expected, ulong physical)
    {
        Place(va, l2, l1, l0);
        Sv39Mapping found = Lookup(new TablePtes(tables), Satp, va);
        Assert.True(expected == found.Status, $"{what}: lookup says {found.Status}");
        Assert.Equal(physical, found.PhysicalAddress);
        Assert.Equal(expected, Translate(va, MemoryAccess.Load, Privilege.Supervisor, 0, out ulong translated));
        Assert.Equal(physical, translated);
    }

    [Theory]
    [InlineData(0x40_0000_0000UL)]                  // bit 38 set, bits 63:39 clear
    [InlineData(0x8000_0000_0000_0000UL)]           // bit 63 alone
    [InlineData(0xFFFF_FF80_0000_0000UL - 0x1000)]  // bit 38 clear, bits 63:39 set
    public void NonCanonicalAddressesFaultBeforeAnyPteIsRead(ulong va)
    {
        Place(va & ((1UL << 39) - 1), Pte(0x8000_0000, Rw | PteX));   // the address the upper bits would alias to
        Assert.Equal(Sv39Status.NonCanonical, Lookup(new TablePtes(tables), Satp, va).Status);
        Assert.Equal(Sv39Status.NonCanonical, Translate(va, MemoryAccess.Fetch, Privilege.Supervisor, 0, out _));
        Assert.Empty(tables.Reads);
    }

    [Fact]
    public void ACachedReaderWalksARunOfPagesWithOneReadPerPageAndTheSameResults()
    {
        // 64 pages from VA 0x20_0000 (VPN[1] = 1) in one leaf table; every fourth unmapped, one a reserved leaf.
        const ulong Base = 0x20_0000;
        for (int i = 0; i < 64; i++)
        {
            ulong va = Base + ((ulong)i << 12);
            Place(va, ToMid, ToLeaf, i % 4 == 3 ? 0 : Pte(0x8100_0000 + ((ulong)i << 12), i == 10 ? PteW | PteA : Rw));
        }
        var plain = new List<Sv39Mapping>();
        for (int i = 0; i < 64; i++)
        {
            plain.Add(Sv39Walker.Lookup(new TablePtes(tables), Satp, Base + ((ulong)i << 12)));
        }
        int uncachedReads = tables.Reads.Count;
        tables.Reads.Clear();
        var cached = new CachedPteReader<TablePtes>(new TablePtes(tables));
        for (int i = 0; i < 64; i++)
        {
            Assert.Equal(plain[i], Sv39Walker.Lookup(cached, Satp, Base + ((ulong)i << 12)));
        }
        Assert.Equal(3 * 64, uncachedReads);
        Assert.Equal(64 + 2, tables.Reads.Count);   // the two upper entries once, each leaf once
        Assert.Equal(tables.Reads.Count, tables.Reads.Distinct().Count());
    }

    [Fact]
    public void TheMappingNamesTheLeafItsLevelAndItsPermissions()
    {
        Place(0x20_0000, ToMid, Pte(0x8040_0000, PteR | PteX | PteU | PteA));
        Sv39Mapping m = Lookup(new TablePtes(tables), Satp, 0x20_0008);
        Assert.True(m.IsMapped);
        Assert.Equal(1, m.Level);
        Assert.Equal(Mid + Index(0x20_0000, 1), m.PteAddress);
        Assert.True(m.Readable && m.Executable && m.User && !m.Writable);
        Assert.True(m.Allows(MemoryAccess.Fetch, Privilege.User));
        Assert.False(m.Allows(MemoryAccess.Load, Privilege.Supervisor));                // U page, SUM clear
        Assert.True(m.Allows(MemoryAccess.Load, Privilege.Supervisor, MStatus.Sum));

        Place(0x20_0000, ToMid, Pte(0x8040_1000, PteR | PteA));
        Sv39Mapping refused = Lookup(new TablePtes(tables), Satp, 0x20_0008);
        Assert.Equal(Sv39Status.MisalignedSuperpage, refused.Status);
        Assert.Equal(1, refused.Level);                                                   // where the walk stopped
        Assert.False(refused.Readable);
    }

    [Fact]
    public void LookupOnlyWalksSv39AndTranslatePassesBareAndMachineThrough()
    {
        Place(Va4K, ToMid, ToLeaf, Pte(0x8021_6000, Rw));
        Assert.Equal(Sv39Status.NotSv39, Lookup(new TablePtes(tables), Root >> 12, Va4K).Status);              // Bare
        Assert.Equal(Sv39Status.NotSv39, Lookup(new TablePtes(tables), (9UL << 60) | (Root >> 12), Va4K).Status); // Sv48
        Assert.Equal(Sv39Status.Translated, Sv39Walker.Translate(new TablePtes(tables), Root >> 12, Va4K, MemoryAccess.Load, Privilege.User, 0, out ulong bare));
        Assert.Equal(Va4K, bare);
        Assert.Equal(Sv39Status.Translated, Translate(0x40_0000_0000, MemoryAccess.Store, Privilege.Machine, 0, out ulong machine));
        Assert.Equal(0x40_0000_0000UL, machine);                                          // M-mode: no translation at all
        Assert.Equal(Sv39Status.NotSv39, Sv39Walker.Translate(new TablePtes(tables), 9UL << 60, Va4K, MemoryAccess.Load, Privilege.User, 0, out _));
        Assert.Empty(tables.Reads);
    }

    public static TheoryData<string, ulong, MemoryAccess, Privilege, ulong, bool> Permissions() => new()
    {
        { "S reads a readable S page", PteR, MemoryAccess.Load, Privilege.Supervisor, 0, true },
        { "S stores to a read-only page", PteR, MemoryAccess.Store, Privilege.Supervisor, 0, false },
        { "S stores to a writable page", PteR | PteW, MemoryAccess.Store, Privilege.Supervisor, 0, true },
        { "S fetches from a page without X", PteR | PteW, MemoryAccess.Fetch, Privilege.Supervisor, 0, false },
        { "S fetches from an execute-only page", PteX, MemoryAccess.Fetch, Privilege.Supervisor, 0, true },
        { "S reads an execute-only page", PteX, MemoryAccess.Load, Privilege.Supervisor, 0, false },
        { "S reads an execute-only page with MXR", PteX, MemoryAccess.Load, Privilege.Supervisor, MStatus.Mxr, true },
        { "MXR does not make a page writable", PteX, MemoryAccess.Store, Privilege.Supervisor, MStatus.Mxr, false },
        { "MXR does not make a readable page executable", PteR, MemoryAccess.Fetch, Privilege.Supervisor, MStatus.Mxr, false },
        { "S reads a U page without SUM", PteR | PteU, MemoryAccess.Load, Privilege.Supervisor, 0, false },
        { "S reads a U page with SUM", PteR | PteU, MemoryAccess.Load, Privilege.Supervisor, MStatus.Sum, true },
        { "S stores to a U page with SUM", PteR | PteW | PteU, MemoryAccess.Store, Privilege.Supervisor, MStatus.Sum, true },
        { "S never executes a U page, even with SUM", PteX | PteU, MemoryAccess.Fetch, Privilege.Supervisor, MStatus.Sum, false },
        { "U reads a U page", PteR | PteU, MemoryAccess.Load, Privilege.User, 0, true },
        { "U executes a U page", PteX | PteU, MemoryAccess.Fetch, Privilege.User, 0, true },
        { "U reads an S page", PteR, MemoryAccess.Load, Privilege.User, 0, false },
        { "U reads an S page with SUM (SUM is for S only)", PteR, MemoryAccess.Load, Privilege.User, MStatus.Sum, false },
        { "U reads an execute-only U page with MXR", PteX | PteU, MemoryAccess.Load, Privilege.User, MStatus.Mxr, true },
    };

    [Theory]
    [MemberData(nameof(Permissions))]
    public void LeafPermissionsFollowRwxUSumAndMxr(string what, ulong flags, MemoryAccess access, Privilege privilege, ulong mstatus, bool allowed)
    {
        Place(Va4K, ToMid, ToLeaf, Pte(0x8021_6000, flags | PteA | PteD));
        Assert.True(allowed == Sv39Walker.Allows(Pte(0x8021_6000, flags), access, privilege, mstatus), what);
        Assert.Equal(allowed, Lookup(new TablePtes(tables), Satp, Va4K).Allows(access, privilege, mstatus));
        Assert.Equal(allowed ? Sv39Status.Translated : Sv39Status.PermissionDenied, Translate(Va4K, access, privilege, mstatus, out _));
    }

    [Theory]
    [InlineData(MemoryAccess.Fetch, PteA)]
    [InlineData(MemoryAccess.Load, PteA)]
    [InlineData(MemoryAccess.Store, PteA | PteD)]
    public void TranslateSetsAccessedAndForAStoreDirty(MemoryAccess access, ulong set)
    {
        ulong pte = Pte(0x8021_6000, PteR | PteW | PteX);
        Place(Va4K, ToMid, ToLeaf, pte);
        Assert.Equal(Sv39Status.Translated, Translate(Va4K, access, Privilege.Supervisor, 0, out ulong physical));
        Assert.Equal(0x8021_6abcUL, physical);
        Assert.Equal([(Leaf + Index(Va4K, 0), pte | set)], tables.Writes);
        Assert.Equal(Sv39Status.Translated, Translate(Va4K, access, Privilege.Supervisor, 0, out _));
        Assert.Single(tables.Writes);                                                     // already set: no second write
    }

    [Fact]
    public void AStoreToAnAccessedCleanPageSetsDirty()
    {
        ulong pte = Pte(0x8021_6000, PteR | PteW | PteA);
        Place(Va4K, ToMid, ToLeaf, pte);
        Assert.Equal(Sv39Status.Translated, Translate(Va4K, MemoryAccess.Load, Privilege.Supervisor, 0, out _));
        Assert.Empty(tables.Writes);
        Assert.Equal(Sv39Status.Translated, Translate(Va4K, MemoryAccess.Store, Privilege.Supervisor, 0, out _));
        Assert.Equal([(Leaf + Index(Va4K, 0), pte | PteD)], tables.Writes);
    }

    [Fact]
    public void NoAccessedOrDirtyUpdateOnAFaultOrALookup()
    {
        Place(Va4K, ToMid, ToLeaf, Pte(0x8021_6000, PteR));
        Assert.True(Lookup(new TablePtes(tables), Satp, Va4K).IsMapped);                 // A = 0 is no reason to refuse
        Assert.Equal(Sv39Status.PermissionDenied, Translate(Va4K, MemoryAccess.Store, Privilege.Supervisor, 0, out _));
        Assert.Equal(Sv39Status.PermissionDenied, Translate(Va4K, MemoryAccess.Load, Privilege.User, 0, out _));
        Place(0x20_0000, ToMid, Pte(0x8040_1000, PteR | PteW), 0);                          // misaligned: refused before A/D
        Assert.Equal(Sv39Status.MisalignedSuperpage, Translate(0x20_0000, MemoryAccess.Store, Privilege.Supervisor, 0, out _));
        Assert.Empty(tables.Writes);
    }

    [Fact]
    public void ARefusedAccessedWriteIsAnAccessFault()
    {
        Place(Va4K, ToMid, ToLeaf, Pte(0x8021_6000, PteR | PteW));
        tables.RefuseWrites = true;
        Assert.Equal(Sv39Status.AccessFault, Translate(Va4K, MemoryAccess.Store, Privilege.Supervisor, 0, out ulong physical));
        Assert.Equal(0UL, physical);
        Assert.Equal(ExceptionCause.StoreAccessFault, FaultCause(Sv39Status.AccessFault, MemoryAccess.Store));
    }

    [Theory]
    [InlineData(Sv39Status.AccessFault, MemoryAccess.Fetch, ExceptionCause.InstructionAccessFault)]
    [InlineData(Sv39Status.AccessFault, MemoryAccess.Load, ExceptionCause.LoadAccessFault)]
    [InlineData(Sv39Status.AccessFault, MemoryAccess.Store, ExceptionCause.StoreAccessFault)]
    [InlineData(Sv39Status.NonCanonical, MemoryAccess.Fetch, ExceptionCause.InstructionPageFault)]
    [InlineData(Sv39Status.Reserved, MemoryAccess.Load, ExceptionCause.LoadPageFault)]
    [InlineData(Sv39Status.MisalignedSuperpage, MemoryAccess.Store, ExceptionCause.StorePageFault)]
    [InlineData(Sv39Status.PermissionDenied, MemoryAccess.Store, ExceptionCause.StorePageFault)]
    [InlineData(Sv39Status.NoLeaf, MemoryAccess.Fetch, ExceptionCause.InstructionPageFault)]
    [InlineData(Sv39Status.Invalid, MemoryAccess.Load, ExceptionCause.LoadPageFault)]
    public void FaultCausesFollowTheOriginalAccessType(Sv39Status status, MemoryAccess access, ExceptionCause cause) =>
        Assert.Equal(cause, FaultCause(status, access));
}
