namespace Vbase.Isa.Tests.Infrastructure;

/// <summary>
/// Builds Sv39 page tables in the test machine's RAM from C# (privileged spec 4.4): a root table plus tables
/// allocated on demand from a pool, so tests can map 4 KiB pages, 2 MiB and 1 GiB superpages and then poke
/// individual PTEs.
/// </summary>
public sealed class PageTables
{
    public const ulong V = 1, R = 2, W = 4, X = 8, U = 16, G = 32, A = 64, D = 128;
    public const ulong Rwx = R | W | X, AccessedDirty = A | D;

    /// <summary>The pool lies below the 2 MiB superpage area at RAM base + 2 MiB.</summary>
    public const ulong PoolBase = TestMachine.RamBase + 0x18_0000, PoolEnd = TestMachine.RamBase + 0x1F_F000;

    private readonly TestMachine machine;
    private ulong next;

    /// <summary>Tables come from <paramref name="pool"/> onwards: give a second instance its own part of the pool.</summary>
    public PageTables(TestMachine machine, ulong pool = PoolBase)
    {
        this.machine = machine;
        next = pool;
        Root = AllocateTable();
    }

    public ulong Root { get; }

    /// <summary>satp for Sv39 with this root and ASID 0.</summary>
    public ulong Satp => (8UL << 60) | (Root >> 12);

    private ulong AllocateTable()
    {
        if (next >= PoolEnd)
        {
            throw new InvalidOperationException("page-table pool exhausted");
        }
        ulong table = next;
        next += 0x1000;
        machine.WriteBytes(table, new byte[0x1000]);
        return table;
    }

    public static ulong Leaf(ulong physical, ulong flags) => ((physical >> 12) << 10) | flags | V;

    /// <summary>Maps one page of the given level (0: 4 KiB, 1: 2 MiB, 2: 1 GiB); flags exclude V.</summary>
    public void Map(ulong va, ulong pa, ulong flags, int level = 0) => SetPte(va, level, Leaf(pa, flags));

    /// <summary>Maps [va, va+size) to [pa, pa+size) with 4 KiB pages.</summary>
    public void MapRange(ulong va, ulong pa, ulong size, ulong flags)
    {
        for (ulong o = 0; o < size; o += 0x1000)
        {
            Map(va + o, pa + o, flags);
        }
    }

    /// <summary>Physical address of the PTE for <paramref name="va"/> at <paramref name="level"/>, creating tables above it.</summary>
    public ulong PteAddress(ulong va, int level)
    {
        ulong table = Root;
        for (int l = 2; l > level; l--)
        {
            ulong entry = table + (((va >> (12 + 9 * l)) & 511) * 8);
            ulong pte = machine.Read64(entry);
            if ((pte & V) == 0)
            {
                ulong child = AllocateTable();
                machine.Write64(entry, ((child >> 12) << 10) | V);
                table = child;
            }
            else
            {
                if ((pte & (R | X)) != 0)
                {
                    throw new InvalidOperationException($"va {va:x} is already mapped by a leaf at level {l}");
                }
                table = ((pte >> 10) & ((1UL << 44) - 1)) << 12;
            }
        }
        return table + (((va >> (12 + 9 * level)) & 511) * 8);
    }

    public void SetPte(ulong va, int level, ulong pte) => machine.Write64(PteAddress(va, level), pte);

    public ulong GetPte(ulong va, int level) => machine.Read64(PteAddress(va, level));
}
