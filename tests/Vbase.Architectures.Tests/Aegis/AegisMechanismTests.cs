using Vbase.Architectures.Aegis;
using Vbase.Architectures.Tests.Xom;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Logging;
using Vbase.Hypervisor.Sapi;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Aegis;

/// <summary>AEGIS's mechanism: counter-mode encryption with per-line counters, the hash tree, the untrusted OS.</summary>
public sealed class AegisMechanismTests
{
    private static AegisArchitecture Aegis(params (string Name, string Value)[] parameters) =>
        new(new ArchitectureOptions { Seed = 7, Parameters = parameters.ToDictionary(p => p.Name, p => p.Value) });

    [Fact]
    public void TheOwnerReadsAndWritesPlaintextTheKernelSeesCiphertextAndItsStoreFailsTheTree()
    {
        var rig = new Rig();
        rig.Hv.Plug(Aegis());
        DomainId dom = rig.Add(Build(), memory: 4UL << 20);
        rig.Run(1_000_000);
        ulong Slot(int i) => rig.ReadU64(dom, GuestCode.Results + ((ulong)i * 8));

        Assert.Equal(1UL, Slot(0));
        Assert.Equal(Secret, Slot(1));                    // the process reads its plaintext
        Assert.Equal(AppWrite, Slot(2));                  // its own store landed (new counter, tree updated)
        Assert.NotEqual(AppWrite, Slot(3));               // the untrusted kernel reads ciphertext
        Assert.Equal(KernelWrite, Slot(4));               // the kernel's store landed as it is
        Assert.Equal(0UL, Slot(5));                       // A's next load of that line was refused
        Assert.Equal((ulong)FunctionResult, Slot(8));     // code in the protected page runs, verified
        ViolationData violation = Assert.IsType<ViolationData>(rig.Events.First(e => e.Kind == EventKind.Violation).Data);
        Assert.Equal(Accessor.GuestUser, violation.Accessor);
        Assert.StartsWith("aegis: integrity tree mismatch on line 0", violation.Reason);
        Assert.Equal(0UL, Slot(6));
        Assert.Equal(0UL, Slot(7));                       // exit wiped the tampered line
    }

    [Fact]
    public void EveryWriteBumpsTheLinesCounterSoTheSameValueNeverEncryptsTheSameWay()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            var aegis = (AegisArchitecture)p.Architecture;
            Assert.Equal(1UL, aegis.CountersOf(p.Region.Id)!.Get(1));   // the write-back at registration
            p.OwnerWriteU64(64, 0x1111);
            byte[] first = p.DramLine(1).ToArray();
            p.OwnerWriteU64(64, 0x2222);
            p.OwnerWriteU64(64, 0x1111);
            Assert.Equal(4UL, aegis.CountersOf(p.Region.Id)!.Get(1));
            Assert.False(first.AsSpan().SequenceEqual(p.DramLine(1)));
            Assert.Equal(0x1111UL, p.OwnerReadU64(64));
            Assert.Equal(Secret, p.OwnerReadU64(0));
            Span<byte> seen = stackalloc byte[8];
            Assert.Equal(AccessVerdict.Pass, p.OtherRead(Accessor.Dom0, 0, seen));
            Assert.NotEqual(Secret, BitConverter.ToUInt64(seen));
        });
    }

    [Theory]
    [InlineData("spoof")]
    [InlineData("splice")]
    [InlineData("replay")]
    [InlineData("dom0-store")]
    [InlineData("counter")]
    public void EveryTamperingIsCaughtAtTheOwnersNextAccess(string tampering)
    {
        RegionProbe.Run(Aegis(), p =>
        {
            switch (tampering)
            {
                case "spoof":
                    p.Tamper(1, Enumerable.Repeat((byte)0x41, 64).ToArray());
                    break;
                case "splice":
                    p.Tamper(1, p.DramLine(2).ToArray());
                    break;
                case "replay":
                    byte[] old = p.DramLine(1).ToArray();
                    p.OwnerWriteU64(64, 0x2222);
                    p.Tamper(1, old);
                    break;
                case "dom0-store":
                    Assert.Equal(AccessVerdict.Pass, p.OtherWrite(Accessor.Dom0, 64, BitConverter.GetBytes(0x4141UL)));
                    break;
                default:
                    // The counters are off chip too: rolling one back is caught by the tree, which covers it.
                    ((AegisArchitecture)p.Architecture).CountersOf(p.Region.Id)!.Set(1, 0);
                    break;
            }
            Assert.Null(p.OwnerReadU64(64));
            Assert.Equal(AccessVerdict.Fault, p.OwnerWriteU64(72, 1));
            Assert.Equal(2, p.Violations);
            Assert.Equal(Secret, p.OwnerReadU64(0));
        });
    }

    [Theory]
    [InlineData(2, 6)]      // one page = 64 leaves
    [InlineData(8, 2)]
    [InlineData(64, 1)]
    public void TheTreeArityIsAParameter(int arity, int height)
    {
        RegionProbe.Run(Aegis(("tree-arity", arity.ToString(System.Globalization.CultureInfo.InvariantCulture))), p =>
        {
            Assert.Equal(height, ((AegisArchitecture)p.Architecture).TreeOf(p.Region.Id)!.Height);
            Assert.Equal(Secret, p.OwnerReadU64(0));
            p.OwnerWriteU64(8, 3);
            Assert.Equal(3UL, p.OwnerReadU64(8));
        });
    }

    [Fact]
    public void AnAccessWalksTheCounterAndTheTreePathUpToTheFirstCachedNode()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            p.OwnerReadU64(0);      // counter line, level-0 node, level-1 node: three misses
            p.OwnerReadU64(64);     // same counter line and level-0 node: two hits, the walk stops there
            p.OwnerWriteU64(64 * 8, 1);   // leaf 8: the next counter line and level-0 node miss, level 1 hits
            MetadataTraffic t = p.Architecture.Traffic;
            Assert.Equal(3, t.ProtectedAccesses);
            Assert.Equal(5, t.MetadataReads);
            Assert.Equal(3, t.CacheHits);
            Assert.Equal(0, t.MetadataWrites);   // nothing evicted from 32 KiB
        });
    }

    [Theory]
    [InlineData("tree-arity", "1")]
    [InlineData("tree-hash-bytes", "64")]
    [InlineData("mac-store", "chip")]
    public void BadParametersAreRefused(string name, string value) =>
        Assert.Throws<ArgumentException>(() => Aegis((name, value)));

    [Fact]
    public void TheRegistryListsAegisWithItsThreatModel()
    {
        ArchitectureInfo info = BuiltInArchitectures.CreateRegistry().Get("aegis");
        Assert.True(info.ThreatModel.Covers(Principal.GuestKernel | Principal.Dom0 | Principal.Physical | Principal.OtherProcesses));
        Assert.False(info.ThreatModel.Covers(Principal.Application));
    }
}
