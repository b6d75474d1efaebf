using Vbase.Architectures.Xom;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Logging;
using Vbase.Hypervisor.Sapi;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Xom;

/// <summary>XOM's mechanism: compartment encryption by address, per-line MACs, the null compartment, no freshness.</summary>
public sealed class XomMechanismTests
{
    private static XomArchitecture Xom(params (string Name, string Value)[] parameters) =>
        new(new ArchitectureOptions { Seed = 7, Parameters = parameters.ToDictionary(p => p.Name, p => p.Value) });

    [Fact]
    public void TheOwnerReadsAndWritesPlaintextTheKernelSeesCiphertextAndItsStoreBreaksTheOwnersNextRead()
    {
        var rig = new Rig();
        rig.Hv.Plug(Xom());
        DomainId dom = rig.Add(Build(), memory: 4UL << 20);
        rig.Run(1_000_000);
        ulong Slot(int i) => rig.ReadU64(dom, GuestCode.Results + ((ulong)i * 8));

        Assert.Equal(1UL, Slot(0));                       // region 1 registered
        Assert.Equal(Secret, Slot(1));                    // the compartment reads its plaintext
        Assert.Equal(AppWrite, Slot(2));                  // and its own store landed (encrypted, re-MACed)
        Assert.NotEqual(AppWrite, Slot(3));               // the kernel reads ciphertext
        Assert.Equal(KernelWrite, Slot(4));               // the kernel's store landed in DRAM unencrypted: B reads it raw
        Assert.Equal(0UL, Slot(5));                       // A's next load of that line was refused (its slot never written)
        Assert.Equal((ulong)FunctionResult, Slot(8));     // code in the protected page ran, fetched through the MAC check
        ViolationData violation = Assert.IsType<ViolationData>(rig.Events.First(e => e.Kind == EventKind.Violation).Data);
        Assert.Equal(Accessor.GuestUser, violation.Accessor);
        Assert.StartsWith("xom: MAC mismatch on line 0 ", violation.Reason);
        Assert.Contains(rig.Events, e => e.Data is AccessRefusedData { Owner: true });
        Assert.Equal(0UL, Slot(6));                       // exit succeeded …
        Assert.Equal(0UL, Slot(7));                       // … and wiped the tampered line instead of decrypting it
    }

    [Fact]
    public void DramHoldsCiphertextBoundToTheAddressAndOthersReadItAsIs()
    {
        RegionProbe.Run(Xom(), p =>
        {
            Assert.NotEqual(Secret, BitConverter.ToUInt64(p.DramLine(0)));
            Assert.Equal(Secret, p.OwnerReadU64(0));
            // Equal plaintexts on two lines encrypt differently: the line address is in the seed.
            Assert.Equal(AccessVerdict.Transformed, p.OwnerWriteU64(64, 0x5555));
            Assert.Equal(AccessVerdict.Transformed, p.OwnerWriteU64(128, 0x5555));
            Assert.False(p.DramLine(1)[..8].SequenceEqual(p.DramLine(2)[..8]));
            Span<byte> seen = stackalloc byte[8];
            foreach (Accessor other in new[] { Accessor.GuestKernel, Accessor.Dom0, Accessor.Device, Accessor.Hypervisor })
            {
                Assert.Equal(AccessVerdict.Pass, p.OtherRead(other, 0, seen));
                Assert.True(seen.SequenceEqual(p.DramLine(0)[..8]));
            }
            // Inspection (the Monitor) sees what the owner would, and is not counted.
            long counted = p.Architecture.Traffic.ProtectedAccesses;
            Assert.Equal(AccessVerdict.Transformed, p.OtherRead(Accessor.Inspection, 0, seen));
            Assert.Equal(Secret, BitConverter.ToUInt64(seen));
            Assert.Equal(counted, p.Architecture.Traffic.ProtectedAccesses);
        });
    }

    [Fact]
    public void WithoutACounterRewritingAValueGivesTheSameCiphertextAgain()
    {
        RegionProbe.Run(Xom(), p =>
        {
            p.OwnerWriteU64(64, 0x1111);
            byte[] first = p.DramLine(1).ToArray();
            p.OwnerWriteU64(64, 0x2222);
            Assert.False(first.AsSpan().SequenceEqual(p.DramLine(1)));
            p.OwnerWriteU64(64, 0x1111);
            Assert.Equal(first, p.DramLine(1).ToArray());    // same plaintext, same address: same ciphertext
        });
    }

    [Theory]
    [InlineData("spoof")]
    [InlineData("splice")]
    [InlineData("kernel-store")]
    public void TamperedLinesFailTheOwnersMacCheck(string tampering)
    {
        RegionProbe.Run(Xom(), p =>
        {
            switch (tampering)
            {
                case "spoof":
                    p.Tamper(1, Enumerable.Repeat((byte)0x41, 64).ToArray());
                    break;
                case "splice":
                    p.Tamper(1, p.DramLine(2).ToArray());          // a valid line of this compartment, from another address
                    break;
                default:
                    Assert.Equal(AccessVerdict.Pass, p.OtherWrite(Accessor.GuestKernel, 64, BitConverter.GetBytes(0x4141UL)));
                    break;
            }
            Assert.Null(p.OwnerReadU64(64));
            Assert.Equal(AccessVerdict.Fault, p.OwnerWriteU64(72, 1));   // a store to the line is refused too
            Assert.Equal(2, p.Violations);
            Assert.Equal(Secret, p.OwnerReadU64(0));                     // other lines are untouched
        });
    }

    [Fact]
    public void AReplayedLineIsAcceptedWithTheTagThatWentOutWithIt()
    {
        RegionProbe.Run(Xom(), p =>
        {
            p.OwnerWriteU64(64, 0x0001);
            byte[] old = p.DramLine(1).ToArray();
            p.OwnerWriteU64(64, 0x0002);
            p.Tamper(1, old);
            Assert.Equal(0x0001UL, p.OwnerReadU64(64));      // the old value comes back, unnoticed
            Assert.Equal(0, p.Violations);
            Assert.Contains(new KeyValuePair<string, string>("old_tags_accepted", "1"), p.Architecture.DescribeRegion(p.Region));
        });
    }

    [Fact]
    public void WithTheTagsOnChipTheSameReplayIsCaught()
    {
        RegionProbe.Run(Xom(("mac-store", "chip")), p =>
        {
            p.OwnerWriteU64(64, 0x0001);
            byte[] old = p.DramLine(1).ToArray();
            p.OwnerWriteU64(64, 0x0002);
            p.Tamper(1, old);
            Assert.Null(p.OwnerReadU64(64));
            Assert.Equal(1, p.Violations);
        });
    }

    [Fact]
    public void EveryOwnerAccessGoesThroughTheMetadataCache()
    {
        RegionProbe.Run(Xom(("metadata-cache-bytes", "128"), ("metadata-cache-ways", "1")), p =>
        {
            p.OwnerReadU64(0);                  // MAC line 0: miss
            p.OwnerReadU64(8);                  // hit
            p.OwnerWriteU64(64 * 16, 1);        // line 16's tag is in MAC line 2 (8 tags a line), same set as line 0: miss, dirty
            p.OwnerReadU64(0);                  // miss, evicting the dirty MAC line 2: one write-back
            p.OwnerReadU64(64 * 16);            // miss again (MAC line 0 was clean: nothing written)
            MetadataTraffic t = p.Architecture.Traffic;
            Assert.Equal(5, t.ProtectedAccesses);
            Assert.Equal(1, t.CacheHits);
            Assert.Equal(4, t.MetadataReads);
            Assert.Equal(1, t.MetadataWrites);
        });
    }

    [Theory]
    [InlineData("mac-bytes", "3")]
    [InlineData("mac-store", "sram")]
    [InlineData("tree-arity", "4")]
    public void BadParametersAreRefused(string name, string value) =>
        Assert.Throws<ArgumentException>(() => Xom((name, value)));

    [Fact]
    public void TheRegistryListsXomWithItsThreatModel()
    {
        ArchitectureInfo info = BuiltInArchitectures.CreateRegistry().Get("xom");
        Assert.True(info.ThreatModel.Covers(Principal.GuestKernel | Principal.Dom0 | Principal.Physical | Principal.OtherProcesses));
        Assert.False(info.ThreatModel.Covers(Principal.Application));
    }
}
