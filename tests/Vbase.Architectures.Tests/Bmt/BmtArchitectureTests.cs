using Vbase.Architectures.Bmt;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Dom0;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Bmt;

/// <summary>
/// <c>bmt</c> under real guest code (<see cref="Sapi.SecureProcessGuest"/>): the owner reads and writes plaintext,
/// the kernel and Dom0 see ciphertext, and the kernel's raw write is caught by the line's MAC on the owner's next read.
/// </summary>
public sealed class BmtArchitectureTests
{
    private static (Rig Rig, ulong[] Slots, byte[] Dom0Read) RunGuest()
    {
        var rig = new Rig();
        rig.Hv.Plug(new BmtArchitecture(new ArchitectureOptions { Seed = 3 }));
        byte[] dom0Read = [];
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
        {
            ForeignMapping m = rig.Hv.Dom0.MapForeign(new DomainId(1), [new Gfn(SecretGpa >> 12)], writable: false);
            dom0Read = m.Read(0)[..8].ToArray();
        });
        DomainId dom = rig.Add(Build(), memory: 4UL << 20);
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run(1_000_000).Stop);
        ulong[] slots = [.. Enumerable.Range(0, 9).Select(i => rig.ReadU64(dom, GuestCode.Results + (ulong)i * 8))];
        return (rig, slots, dom0Read);
    }

    [Fact]
    public void TheOwnerReadsAndWritesPlaintextAndEveryoneElseSeesCiphertext()
    {
        (Rig rig, ulong[] slots, byte[] dom0Read) = RunGuest();
        using (rig)
        {
            Assert.Equal(1UL, slots[0]);                       // registered
            Assert.Equal(Secret, slots[1]);                    // the owner reads plaintext
            Assert.Equal(AppWrite, slots[2]);                  // its own write lands (unlike vbase)
            Assert.Equal((ulong)FunctionResult, slots[8]);     // code in the protected page is fetched decrypted
            Assert.NotEqual(AppWrite, slots[3]);               // the kernel reads ciphertext
            Assert.NotEqual(Secret, slots[3]);
            Assert.NotEqual(Secret, BitConverter.ToUInt64(dom0Read));   // so does Dom0
            Assert.Equal(KernelWrite, slots[4]);               // the kernel's write went to DRAM raw, and B sees DRAM
        }
    }

    [Fact]
    public void TheKernelsRawWriteIsAViolationOnTheOwnersNextReadWhichFaults()
    {
        (Rig rig, ulong[] slots, _) = RunGuest();
        using (rig)
        {
            Assert.Equal(0UL, slots[5]);                       // the owner's second read faulted: nothing stored
            ViolationData violation = Assert.IsType<ViolationData>(rig.Events.First(e => e.Kind == EventKind.Violation).Data);
            Assert.Equal(Accessor.GuestUser, violation.Accessor);
            Assert.StartsWith("check=mac line=0 ", violation.Reason);
            Assert.Empty(rig.Hv.Dom0.ShadowMismatches);        // the tampered data never reached the owner
            Assert.Equal(0UL, slots[6]);                       // exit still works
            Assert.Contains(rig.Events, e => e.Data is ViolationData v && v.Reason.Contains("at exit"));
            Assert.True(rig.Hv.Sapi.Cost.DataReads > 0);        // the owner's lines came on chip through the engine
            Assert.True(rig.Hv.Sapi.Cost.MetadataReads > 0);    // with their counter blocks, MACs and tree nodes from DRAM
        }
    }

    [Fact]
    public void TheRegionDescribesTheMechanism()
    {
        (Rig rig, _, _) = RunGuest();
        using (rig)
        {
            RegionReport r = Assert.Single(rig.Hv.Dom0.QueryRegions());
            Assert.Contains(r.State, kv => kv.Key == "tree" && kv.Value.StartsWith("counter blocks only", StringComparison.Ordinal));
            Assert.Contains(r.State, kv => kv.Key == "violations" && kv.Value == "2");   // the owner's fill, and the line left at exit
            Assert.Contains(r.State, kv => kv.Key == "foreign_store_views" && kv.Value != "0");   // the kernel's store saw DRAM
            Assert.Contains(r.State, kv => kv.Key == "metadata" && kv.Value == "freed");
        }
    }
}
