using System.Buffers.Binary;
using System.Globalization;
using Vbase.Architectures.Aegis;
using Vbase.Architectures.Tests.Xom;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Aegis;

/// <summary>
/// AEGIS's mechanism at the DRAM boundary: counter-mode encryption with per-line counters bumped at write-back, the
/// hash tree over (ciphertext, counter) in the metadata area with its root on chip, the untrusted OS's DRAM view.
/// </summary>
public sealed class AegisMechanismTests
{
    private static AegisArchitecture Aegis(params (string Name, string Value)[] parameters) =>
        new(new ArchitectureOptions { Seed = 7, Parameters = parameters.ToDictionary(p => p.Name, p => p.Value) });

    [Fact]
    public void TheOwnerReadsAndWritesPlaintextTheKernelSeesCiphertextAndItsStoreFailsTheOwnersNextFill()
    {
        var rig = new Rig();
        var aegis = Aegis();
        rig.Hv.Plug(aegis);
        DomainId dom = rig.Add(Build(), memory: 4UL << 20);
        rig.Run(1_000_000);
        ulong Slot(int i) => rig.ReadU64(dom, GuestCode.Results + ((ulong)i * 8));

        Assert.Equal(1UL, Slot(0));
        Assert.Equal(Secret, Slot(1));                    // the process reads its plaintext
        Assert.Equal(AppWrite, Slot(2));                  // its own store, on chip
        Assert.NotEqual(AppWrite, Slot(3));               // the untrusted kernel sees DRAM: ciphertext
        Assert.Equal(KernelWrite, Slot(4));               // the kernel's store landed as it is
        Assert.Equal(0UL, Slot(5));                       // A's next fill of that line failed its hash
        Assert.Equal((ulong)FunctionResult, Slot(8));     // code in the protected page runs, verified
        ViolationData violation = Assert.IsType<ViolationData>(rig.Events.First(e => e.Kind == EventKind.Violation).Data);
        Assert.Equal(Accessor.GuestUser, violation.Accessor);
        Assert.StartsWith("aegis: integrity tree mismatch on line 0", violation.Reason);
        Assert.Equal(0UL, Slot(6));
        Assert.Equal(0UL, Slot(7));                       // exit wiped the tampered line
        Assert.True(rig.Hv.Sapi.Traffic().Hits > rig.Hv.Sapi.Cost.SlowHits);   // some of the owner's loads and stores hit on the hart's fast path
        Assert.Equal(0UL, aegis.Allocator!.UsedBytes);    // the region's metadata left the area at exit
    }

    [Fact]
    public void TheOwnerSeesTheChipsPlaintextEveryoneElseSeesDram()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            Assert.Equal(PageView.Plaintext, p.View(Accessor.GuestUser));
            Assert.Equal(PageView.Plaintext, p.View(Accessor.GuestUser, AccessKind.Store));
            foreach (Accessor other in new[] { Accessor.GuestKernel, Accessor.Dom0, Accessor.Device, Accessor.Hypervisor })
            {
                Assert.Equal(PageView.Dram, p.View(other));
                Assert.Equal(PageView.Dram, p.View(other, AccessKind.Store));
            }
        });
    }

    [Fact]
    public void EveryWriteBackBumpsTheLinesCounterInDramSoTheSameValueNeverEncryptsTheSameWay()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            MetadataRange counter = p.Metadata(1).First(r => r.What == "counter");
            Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(p.Bytes(counter)));   // the write-back at registration
            p.WriteBack(1, 0x1111);
            byte[] first = p.DramLine(1).ToArray();
            p.WriteBack(1, 0x2222);
            p.WriteBack(1, 0x1111);
            Assert.False(first.AsSpan().SequenceEqual(p.DramLine(1)));
            Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(p.Bytes(counter)));   // still in the metadata cache
            p.Architecture.FlushMetadata();
            Assert.Equal(4UL, BinaryPrimitives.ReadUInt64LittleEndian(p.Bytes(counter)));
            Assert.Equal(0x1111UL, p.FillU64(1));
            Assert.Equal(Secret, p.FillU64(0));
            Assert.NotEqual(Secret, BitConverter.ToUInt64(p.DramLine(0)));
        });
    }

    [Fact]
    public void TheMetadataOfALineIsItsCounterItsHashAndTheTreeNodesAboveThem()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            var aegis = (AegisArchitecture)p.Architecture;
            // One page, arity 8: 8 counter lines and 8 hash lines (16 leaves) under 2 level-1 nodes and 1 level-2 node.
            Assert.Equal(2, aegis.TreeOf(p.Region.Id)!.Height);
            Assert.Equal(["counter", "line hash", "tree level 1", "tree level 2", "tree level 1"], p.Metadata(1).Select(r => r.What));
            Assert.Equal([8, 8, 64, 64, 64], p.Metadata(1).Select(r => r.Length));
            Assert.All(p.Metadata(1), r => Assert.InRange(r.MachineAddress, aegis.Area!.BaseAddress, aegis.Area.BaseAddress + aegis.Area.Bytes - 1));
            Assert.Equal(p.Metadata(0)[0].MachineAddress + 8, p.Metadata(1)[0].MachineAddress);
        });
    }

    [Theory]
    [InlineData("spoof")]
    [InlineData("splice")]
    [InlineData("replay")]
    [InlineData("other-store")]
    public void ATamperedLineFailsItsHash(string tampering)
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
                    p.WriteBack(1, 0x2222);
                    p.Tamper(1, old);
                    break;
                default:
                    BitConverter.GetBytes(0x4141UL).CopyTo(p.DramLine(1));
                    break;
            }
            Assert.Null(p.FillU64(1));
            Assert.Equal(1, p.Violations);
            Assert.Contains(p.Rig.Events, e => e.Data is ViolationData v && v.Reason.Contains("mismatch on line 1 (counter", StringComparison.Ordinal));
            Assert.Null(p.FillU64(1, inspection: true));   // the Monitor's look is refused too, unreported
            Assert.Equal(1, p.Violations);
            Assert.Equal(Secret, p.FillU64(0));
        });
    }

    [Theory]
    [InlineData("counter", "its counter line")]
    [InlineData("line hash", "its hash line")]
    public void ACounterOrHashChangedInDramFailsTheTree(string what, string evidence)
    {
        RegionProbe.Run(Aegis(), p =>
        {
            p.WriteBack(1, 0x2222);                  // counter 2
            p.Architecture.FlushMetadata();
            Span<byte> bytes = p.Bytes(p.Metadata(1).First(r => r.What == what));
            bytes[0] ^= 3;                           // the counter back to 1, or another hash
            Assert.Null(p.FillU64(1));
            Assert.Contains(p.Rig.Events, e => e.Data is ViolationData v && v.Reason.Contains(evidence, StringComparison.Ordinal));
            Assert.Equal(0UL, p.FillU64(40));        // line 40's counter and hash are in other leaves
        });
    }

    [Fact]
    public void AWriteBackBumpsOnlyAVerifiedCounter()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            p.WriteBack(1, 0x1111);                  // counter 2
            p.Architecture.FlushMetadata();
            byte[] before = p.DramLine(1).ToArray();
            // Counter 0 in DRAM: bumped unchecked, the next write-back would reuse the seal's seed (counter 1).
            p.Bytes(p.Metadata(1).First(r => r.What == "counter")).Clear();
            p.WriteBack(1, 0x2222);
            Assert.Equal(1, p.Violations);
            Assert.Contains(p.Rig.Events, e => e.Data is ViolationData v && v.Reason.Contains("its counter line", StringComparison.Ordinal)
                && v.Reason.Contains("at write-back", StringComparison.Ordinal));
            Assert.Equal(before, p.DramLine(1).ToArray());   // nothing was encrypted under the tampered counter
        });
    }

    [Fact]
    public void ARollbackOfTheLineWithAllItsMetadataIsCaughtAtTheRoot()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            p.WriteBack(1, 0x0001);
            var old = p.Snapshot(1);
            p.WriteBack(1, 0x0002);
            p.Restore(1, old);
            Assert.Null(p.FillU64(1));
            Assert.Equal(1, p.Violations);
            Assert.Null(p.FillU64(0));               // the rolled-back top node no longer matches the on-chip root
        });
    }

    [Fact]
    public void ChosenBytesOverEveryMetadataRangeOfALineAreCaught()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            p.Architecture.FlushMetadata();
            foreach (MetadataRange r in p.Metadata(1))
            {
                p.Bytes(r).Fill(0x41);
            }
            Assert.Null(p.FillU64(1));
            Assert.Equal(1, p.Violations);
        });
    }

    [Theory]
    [InlineData(2, 8, 6)]      // one page: 8 counter lines + 32 hash lines = 40 leaves → 20 → 10 → 5 → 3 → 2 → 1
    [InlineData(4, 8, 3)]      // 8 + 16 = 24 → 6 → 2 → 1
    [InlineData(8, 8, 2)]      // 8 + 8 = 16 → 2 → 1
    [InlineData(16, 4, 1)]     // 8 + 4 = 12 → 1
    public void TheTreeArityAndHashSizeAreParameters(int arity, int hashBytes, int height)
    {
        RegionProbe.Run(Aegis(("tree-arity", arity.ToString(CultureInfo.InvariantCulture)),
            ("tree-hash-bytes", hashBytes.ToString(CultureInfo.InvariantCulture)), ("metadata-cache-ways", "16")), p =>
        {
            Assert.Equal(height, ((AegisArchitecture)p.Architecture).TreeOf(p.Region.Id)!.Height);
            Assert.Equal(hashBytes, p.Metadata(1).First(r => r.What == "line hash").Length);
            Assert.Equal(Secret, p.FillU64(0));
            p.WriteBack(1, 3);
            p.Architecture.FlushMetadata();
            Assert.Equal(3UL, p.FillU64(1));
            p.Tamper(1, new byte[64]);
            Assert.Null(p.FillU64(1));
        });
    }

    [Fact]
    public void AFillFetchesTheCounterAndHashLinesAndTheirPathUpToTheFirstCachedNode()
    {
        RegionProbe.Run(Aegis(), p =>
        {
            long reads = p.Cost.MetadataReads, macs = p.Cost.MacOps, ciphers = p.Cost.CipherOps;
            p.FillU64(0);   // counter line 0, level-1 node 0, level-2 node; hash line 0, level-1 node 1: five misses
            Assert.Equal(5, p.Cost.MetadataReads - reads);
            Assert.Equal(6, p.Cost.MacOps - macs);          // five tree digests and the line's hash
            p.FillU64(1);   // the same counter and hash lines: hits
            Assert.Equal(5, p.Cost.MetadataReads - reads);
            p.FillU64(8);   // counter line 1 and hash line 1 miss; their level-1 nodes are on chip
            Assert.Equal(7, p.Cost.MetadataReads - reads);
            Assert.Equal(3, p.Cost.CipherOps - ciphers);
            Assert.Equal(0, p.Cost.MetadataWrites);
            long before = p.Cost.MetadataReads + p.Cost.MacOps + p.Cost.CipherOps;
            Assert.Equal(0UL, p.FillU64(40, inspection: true));   // an inspection counts nothing
            Assert.Equal(before, p.Cost.MetadataReads + p.Cost.MacOps + p.Cost.CipherOps);
        });
    }

    [Fact]
    public void ACounterAtItsMaximumReKeysTheRegion()
    {
        RegionProbe.Run(Aegis(("counter-bits", "8")), p =>
        {
            var aegis = (AegisArchitecture)p.Architecture;
            byte[] line0 = p.DramLine(0).ToArray();
            for (int i = 0; i < 254; i++)
            {
                p.WriteBack(1, (ulong)i);          // counter 2 … 255
            }
            Assert.Equal(0, aegis.EpochOf(p.Region.Id));
            Assert.Equal(line0, p.DramLine(0).ToArray());
            for (int i = 0; i < 6; i++)
            {
                p.WriteBack(1, 1000UL + (ulong)i);   // the first of these re-keys: every counter back to 1, then bumped
            }
            Assert.Equal(1, aegis.EpochOf(p.Region.Id));
            Assert.Contains(p.Rig.Events, e => e.Kind == "aegis.rekeyed");
            Assert.NotEqual(line0, p.DramLine(0).ToArray());   // line 0 re-encrypted under the new key
            Assert.Equal(Secret, p.FillU64(0));
            Assert.Equal(1005UL, p.FillU64(1));
            p.Architecture.FlushMetadata();
            Assert.Equal(7UL, BinaryPrimitives.ReadUInt64LittleEndian(p.Bytes(p.Metadata(1)[0])));
            Assert.Equal(0, p.Violations);
        });
    }

    [Fact]
    public void ATreeTallerThanTheMetadataCacheCanHoldIsRefused()
    {
        var rig = new Rig();
        rig.Hv.Plug(Aegis(("metadata-cache-ways", "2")));   // a tree of 2 levels needs 4 ways
        DomainId dom = rig.Add(Build(), memory: 4UL << 20);
        rig.Run(1_000_000);
        Assert.Equal(unchecked((ulong)Errno.ENOMEM), rig.ReadU64(dom, GuestCode.Results));
        Assert.Contains(rig.Events, e => e.Kind == "aegis.refused");
    }

    [Theory]
    [InlineData("tree-arity", "1")]
    [InlineData("tree-hash-bytes", "64")]
    [InlineData("tree-arity", "16")]           // 16 × 8-byte digests do not fit a 64-byte node
    [InlineData("metadata-cache-bytes", "1000")]
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
