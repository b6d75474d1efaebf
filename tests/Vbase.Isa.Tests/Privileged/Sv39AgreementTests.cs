using Vbase.Isa.Memory;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;
using static Vbase.Isa.Tests.Infrastructure.PageTables;

namespace Vbase.Isa.Tests.Privileged;

/// <summary>
/// The hart's MMU and a plug-in's side-effect-free <see cref="Sv39Walker.Lookup"/> (what sgx-mee and pmp call to
/// re-walk a process's tables) give the same answer on the same tables in the same RAM: both are the one walker.
/// </summary>
public sealed class Sv39AgreementTests
{
    private const ulong Base = TestMachine.RamBase;
    private const ulong Data = TestMachine.DataBase;
    private const ulong Offset = 0x18;
    private const ulong Va4K = 0x1_0000_0000, Va2M = 0x1_4020_0000, Va1G = 0x3F_C000_0000;

    /// <summary>How a plug-in reads guest page tables: straight from RAM, with nothing written back.</summary>
    private readonly struct RamPtes(TestMachine machine) : IPteReader
    {
        public bool TryReadPte(ulong address, out ulong pte)
        {
            bool ram = TestMemory.IsRam(address) && TestMemory.IsRam(address + 7);
            pte = ram ? machine.Read64(address) : 0;
            return ram;
        }
    }

    public static TheoryData<string, ulong, int, ulong, int, ulong, bool> Tables() => new()
    {
        // name, va, leaf level, leaf PTE, level of a pointer to alter, bits to set in it, whether S-mode may load
        { "4 KiB page", Va4K, 0, Leaf(Data, R | W | AccessedDirty), 0, 0, true },
        { "2 MiB superpage", Va2M, 1, Leaf(Base + 0x20_0000, R | AccessedDirty), 0, 0, true },
        { "1 GiB superpage", Va1G, 2, Leaf(Base, R | X | AccessedDirty), 0, 0, true },
        { "misaligned 2 MiB superpage", Va2M, 1, Leaf(Base + 0x20_1000, R | W | AccessedDirty), 0, 0, false },
        { "misaligned 1 GiB superpage", Va1G, 2, Leaf(Base + 0x20_0000, R | W | AccessedDirty), 0, 0, false },
        { "W without R", Va4K, 0, Leaf(Data, W | AccessedDirty), 0, 0, false },
        { "reserved bit 54", Va4K, 0, Leaf(Data, R | AccessedDirty) | (1UL << 54), 0, 0, false },
        { "PBMT (bit 61) without Svpbmt", Va4K, 0, Leaf(Data, R | AccessedDirty) | (1UL << 61), 0, 0, false },
        { "N (bit 63) without Svnapot", Va4K, 0, Leaf(Data, R | AccessedDirty) | (1UL << 63), 0, 0, false },
        { "reserved bit in a pointer", Va4K, 0, Leaf(Data, R | AccessedDirty), 1, 1UL << 60, false },
        { "A in a pointer", Va4K, 0, Leaf(Data, R | AccessedDirty), 1, A, false },
        { "U in a pointer", Va4K, 0, Leaf(Data, R | AccessedDirty), 2, U, false },
        { "G in a pointer", Va4K, 0, Leaf(Data, R | AccessedDirty), 1, G, true },
        { "invalid", Va4K, 0, Leaf(Data, R | AccessedDirty) & ~V, 0, 0, false },
        { "pointer at level 0", Va4K, 0, ((Data >> 12) << 10) | V, 0, 0, false },
        { "user page without SUM", Va4K, 0, Leaf(Data, R | U | AccessedDirty), 0, 0, false },
        { "non-canonical address", 0x40_0000_0000 | Va4K, 0, Leaf(Data, R | AccessedDirty), 0, 0, false },
    };

    [Theory]
    [MemberData(nameof(Tables))]
    public void TheHartAndThePlugInLookupAgree(string what, ulong va, int leafLevel, ulong leaf, int pointerLevel, ulong pointerBits, bool allowed)
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, Rwx | AccessedDirty, level: 2);            // the code runs from an identity gigapage
        pt.SetPte(va & ((1UL << 39) - 1), leafLevel, leaf);
        if (pointerBits != 0)
        {
            pt.SetPte(va, pointerLevel, pt.GetPte(va, pointerLevel) | pointerBits);
        }
        m.SetCsr(Satp, pt.Satp);
        m.Write64(Data + Offset, 0x5EED_0000_0000_0001);

        Sv39Mapping lookup = Sv39Walker.Lookup(new RamPtes(m), pt.Satp, va + Offset);
        m[S0] = va + Offset;
        TrapInfo t = m.RunIn(Privilege.Supervisor, p => p.Emit(Ld(A0, S0, 0), Ecall()));

        bool hartLoaded = t.Cause == (ulong)ExceptionCause.EcallFromS;
        Assert.True(allowed == hartLoaded, $"{what}: the hart {(hartLoaded ? "loaded" : $"trapped ({t})")}");
        Assert.True(allowed == lookup.Allows(MemoryAccess.Load, Privilege.Supervisor), $"{what}: the lookup says {lookup.Status}");
        if (allowed)
        {
            Assert.Equal(m.Read64(lookup.PhysicalAddress), m[A0]);  // the same frame, the same offset
        }
        else
        {
            Assert.Equal((ulong)ExceptionCause.LoadPageFault, t.Cause);
            Assert.Equal(va + Offset, t.Tval);
        }
    }

    [Fact]
    public void OnlyTheHartSetsAccessedAndDirty()
    {
        using var m = new TestMachine();
        var pt = new PageTables(m);
        pt.Map(Base, Base, Rwx | AccessedDirty, level: 2);
        pt.Map(Va4K, Data, R | W);
        m.SetCsr(Satp, pt.Satp);

        Assert.True(Sv39Walker.Lookup(new RamPtes(m), pt.Satp, Va4K).IsMapped);
        Assert.Equal(0UL, pt.GetPte(Va4K, 0) & AccessedDirty);          // a plug-in's walk changes nothing
        m[S0] = Va4K;
        m.RunIn(Privilege.Supervisor, p => p.Emit(Sd(Zero, S0, 0), Ecall()));
        Assert.Equal(AccessedDirty, pt.GetPte(Va4K, 0) & AccessedDirty); // the hart's store sets both
    }
}
