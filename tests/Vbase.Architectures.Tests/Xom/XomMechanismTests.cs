using Vbase.Architectures.Xom;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Xom;

/// <summary>
/// XOM's mechanism at the DRAM boundary: compartment encryption by address, per-line tags in the metadata area, the
/// null compartment's DRAM view, no freshness.
/// </summary>
public sealed class XomMechanismTests
{
    private static XomArchitecture Xom(params (string Name, string Value)[] parameters) =>
        new(new ArchitectureOptions { Seed = 7, Parameters = parameters.ToDictionary(p => p.Name, p => p.Value) });

    [Fact]
    public void TheOwnerReadsAndWritesPlaintextTheKernelSeesCiphertextAndItsStoreBreaksTheOwnersNextFill()
    {
        var rig = new Rig();
        var xom = Xom();
        rig.Hv.Plug(xom);
        DomainId dom = rig.Add(Build(), memory: 4UL << 20);
        rig.Run(1_000_000);
        ulong Slot(int i) => rig.ReadU64(dom, GuestCode.Results + ((ulong)i * 8));

        Assert.Equal(1UL, Slot(0));                       // region 1 registered
        Assert.Equal(Secret, Slot(1));                    // the compartment reads its plaintext
        Assert.Equal(AppWrite, Slot(2));                  // and its own store, on chip
        Assert.NotEqual(AppWrite, Slot(3));               // the kernel sees DRAM: ciphertext
        Assert.Equal(KernelWrite, Slot(4));               // the kernel's store landed in DRAM unencrypted: B reads it raw
        Assert.Equal(0UL, Slot(5));                       // A's next fill of that line failed its MAC (its slot never written)
        Assert.Equal((ulong)FunctionResult, Slot(8));     // code in the protected page ran, filled through the MAC check
        ViolationData violation = Assert.IsType<ViolationData>(rig.Events.First(e => e.Kind == EventKind.Violation).Data);
        Assert.Equal(Accessor.GuestUser, violation.Accessor);
        Assert.StartsWith("xom: MAC mismatch on line 0", violation.Reason);
        Assert.Contains(rig.Events, e => e.Data is AccessRefusedData { Owner: true });
        Assert.Equal(0UL, Slot(6));                       // exit succeeded …
        Assert.Equal(0UL, Slot(7));                       // … and wiped the tampered line instead of decrypting it
        Assert.True(rig.Hv.Sapi.Traffic().Hits > rig.Hv.Sapi.Cost.SlowHits);   // some of the owner's loads and stores hit on the hart's fast path
        Assert.Equal(0UL, xom.Allocator!.UsedBytes);      // the region's tags left the area at exit
    }

    [Fact]
    public void TheOwnerSeesTheChipsPlaintextEveryoneElseSeesDram()
    {
        RegionProbe.Run(Xom(), p =>
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
    public void DramHoldsCiphertextBoundToTheAddressWithoutACounter()
    {
        RegionProbe.Run(Xom(), p =>
        {
            Assert.NotEqual(Secret, BitConverter.ToUInt64(p.DramLine(0)));
            Assert.Equal(Secret, p.FillU64(0));
            // Equal plaintexts on two lines encrypt differently: the line address is in the seed.
            p.WriteBack(1, 0x5555);
            p.WriteBack(2, 0x5555);
            Assert.False(p.DramLine(1).SequenceEqual(p.DramLine(2)));
            // The same plaintext written back to the same line gives the same ciphertext again: no version.
            byte[] first = p.DramLine(1).ToArray();
            p.WriteBack(1, 0x2222);
            Assert.False(first.AsSpan().SequenceEqual(p.DramLine(1)));
            p.WriteBack(1, 0x5555);
            Assert.Equal(first, p.DramLine(1).ToArray());
            Assert.Equal(0x5555UL, p.FillU64(1));
        });
    }

    [Fact]
    public void TheTagIsInTheMetadataAreaAndAWriteBackRewritesIt()
    {
        RegionProbe.Run(Xom(), p =>
        {
            var xom = (XomArchitecture)p.Architecture;
            MetadataRange tag = Assert.Single(p.Metadata(1));
            Assert.Equal("mac", tag.What);
            Assert.Equal(8, tag.Length);
            Assert.InRange(tag.MachineAddress, xom.Area!.BaseAddress, xom.Area.BaseAddress + xom.Area.Bytes - 8);
            Assert.Equal(tag.MachineAddress + 8, Assert.Single(p.Metadata(2)).MachineAddress);
            byte[] before = p.Bytes(tag).ToArray();
            p.WriteBack(1, 0x1234);
            Assert.Equal(before, p.Bytes(tag).ToArray());        // the new tag is in the on-chip tag cache …
            p.Architecture.FlushMetadata();
            Assert.NotEqual(before, p.Bytes(tag).ToArray());     // … until the cache writes it back
        });
    }

    [Theory]
    [InlineData("spoof")]
    [InlineData("splice")]
    [InlineData("other-store")]
    [InlineData("tag-spoof")]
    public void TamperedLinesAndTagsFailTheFill(string tampering)
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
                case "other-store":
                    BitConverter.GetBytes(0x4141UL).CopyTo(p.DramLine(1));   // the null compartment's store, as it lands
                    break;
                default:
                    p.Architecture.FlushMetadata();
                    p.Bytes(p.Metadata(1)[0]).Fill(0x41);
                    break;
            }
            Assert.Null(p.FillU64(1));
            Assert.Equal(1, p.Violations);
            Assert.Null(p.FillU64(1, inspection: true));              // the Monitor's look is refused too, unreported
            Assert.Equal(1, p.Violations);
            Assert.Equal(Secret, p.FillU64(0));                       // other lines are untouched
        });
    }

    [Fact]
    public void AnOldLineAloneFailsButWithItsOldTagItIsAccepted()
    {
        RegionProbe.Run(Xom(), p =>
        {
            p.WriteBack(1, 0x0001);
            var old = p.Snapshot(1);
            p.WriteBack(1, 0x0002);
            p.Architecture.FlushMetadata();
            p.Tamper(1, old.Line);                            // phys-replay: the line without its tag
            Assert.Null(p.FillU64(1));
            Assert.Equal(1, p.Violations);
            p.Restore(1, old);                                // phys-rollback: the line with its tag
            Assert.Equal(0x0001UL, p.FillU64(1));             // the old value comes back, unnoticed
            Assert.Equal(1, p.Violations);
        });
    }

    [Fact]
    public void WithTheTagsOnChipNothingIsOffChipAndARollbackOfTheLineIsCaught()
    {
        RegionProbe.Run(Xom(("mac-store", "chip")), p =>
        {
            var xom = (XomArchitecture)p.Architecture;
            Assert.Null(xom.Area);
            Assert.Empty(p.Metadata(1));
            p.WriteBack(1, 0x0001);
            var old = p.Snapshot(1);
            p.WriteBack(1, 0x0002);
            p.Restore(1, old);
            Assert.Null(p.FillU64(1));
            Assert.Equal(1, p.Violations);
            Assert.Equal(0, p.Cost.MetadataReads);
        });
    }

    [Fact]
    public void FillsAndWriteBacksGoThroughTheTagCacheAndAreCounted()
    {
        RegionProbe.Run(Xom(("metadata-cache-bytes", "128"), ("metadata-cache-ways", "1")), p =>
        {
            // 2 sets of 1 way; 8 tags a line: lines 0–7 have tag line 0, lines 16–23 tag line 2, both in set 0.
            long reads = p.Cost.MetadataReads, writes = p.Cost.MetadataWrites, macs = p.Cost.MacOps, ciphers = p.Cost.CipherOps;
            p.FillU64(0);                 // tag line 0: miss
            p.FillU64(1);                 // hit
            p.WriteBack(16, 1);           // tag line 2: miss, evicts clean tag line 0, dirty now
            p.FillU64(0);                 // miss, evicting dirty tag line 2: one write
            p.FillU64(16);                // miss again (tag line 0 was clean: nothing written)
            Assert.Equal(4, p.Cost.MetadataReads - reads);
            Assert.Equal(1, p.Cost.MetadataWrites - writes);
            Assert.Equal(5, p.Cost.MacOps - macs);
            Assert.Equal(5, p.Cost.CipherOps - ciphers);
            Assert.Equal(1UL, p.FillU64(16));
            // An inspection counts nothing.
            long before = p.Cost.MetadataReads + p.Cost.MacOps + p.Cost.CipherOps;
            Assert.Equal(Secret, p.FillU64(0, inspection: true));
            Assert.Equal(before, p.Cost.MetadataReads + p.Cost.MacOps + p.Cost.CipherOps);
        });
    }

    [Theory]
    [InlineData("mac-bytes", "3")]
    [InlineData("mac-store", "sram")]
    [InlineData("tree-arity", "4")]
    [InlineData("metadata-cache-bytes", "100")]
    public void BadParametersAreRefused(string name, string value) =>
        Assert.Throws<ArgumentException>(() => Xom((name, value)));

    [Fact]
    public void ShortTagsPackWholeTagsPerLine()
    {
        RegionProbe.Run(Xom(("mac-bytes", "6")), p =>
        {
            // 10 six-byte tags a line: line 10's tag starts the next tag line.
            Assert.Equal(p.Metadata(0)[0].MachineAddress + 54, p.Metadata(9)[0].MachineAddress);
            Assert.Equal(p.Metadata(0)[0].MachineAddress + 64, p.Metadata(10)[0].MachineAddress);
            p.WriteBack(10, 0x77);
            Assert.Equal(0x77UL, p.FillU64(10));
            Assert.Equal(Secret, p.FillU64(0));
        });
    }

    [Fact]
    public void TheRegistryListsXomWithItsThreatModel()
    {
        ArchitectureInfo info = BuiltInArchitectures.CreateRegistry().Get("xom");
        Assert.True(info.ThreatModel.Covers(Principal.GuestKernel | Principal.Dom0 | Principal.Physical | Principal.OtherProcesses));
        Assert.False(info.ThreatModel.Covers(Principal.Application));
    }
}
