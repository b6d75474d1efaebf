using Vbase.Architectures.Sev;
using Vbase.Architectures.SevSnp;
using Vbase.Architectures.Tests.Sev;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Dom0;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.SevSnp;

/// <summary>
/// <c>sev-snp</c>'s mechanism with real guest code: <c>sev</c>'s encryption, plus a reverse-map table that refuses
/// writes from outside the VM and p2m changes that would move or alias the VM's assigned frames.
/// </summary>
public sealed class SevSnpMechanismTests
{
    private static SevSnpArchitecture Snp() => new(new ArchitectureOptions { Seed = 7 });

    /// <summary>The region-only variant: the RMP holds the region's frames and nothing else (the tests of the region's own life).</summary>
    private static SevSnpArchitecture RegionOnlySnp() =>
        new(new ArchitectureOptions { Seed = 7, Parameters = new Dictionary<string, string> { [SevArchitectureBase.WholeVmKey] = "false" } });

    [Fact]
    public void InsideTheVmItBehavesLikeSev()
    {
        using SevGuestRun snp = SevGuestRun.Start(Snp());
        using SevGuestRun sev = SevGuestRun.Start(new SevArchitecture(new ArchitectureOptions { Seed = 7 }));
        Assert.Equal(sev.Slots, snp.Slots);
        Assert.Equal(sev.DramAtEnter, snp.DramAtEnter);     // the same key and tweak: the same ciphertext
        Assert.Equal(KernelWrite, snp.Slots[5]);
        Assert.Empty(snp.Of(EventKind.ProtectedAccessRefused));
    }

    [Fact]
    public void TheRegionsFramesAreAssignedToTheirDomainAtEnterAndReleasedAtExit()
    {
        SevSnpArchitecture arch = RegionOnlySnp();
        RmpEntry atEnter = default;
        using SevGuestRun run = SevGuestRun.Start(arch, r => Assert.True(arch.Rmp.TryGet(r.Mfn, out atEnter)));
        Assert.Equal(new RmpEntry(run.Domain, new Gfn(SevGuestRun.SecretGfn), Validated: true), atEnter);
        Assert.False(arch.Rmp.TryGet(run.Mfn, out _));
        Assert.Contains(run.StateAtEnter, kv => kv.Key == "rmp" && kv.Value == "1 frame(s) assigned to dom 1");
    }

    [Fact]
    public void Dom0sWriteToAnAssignedFrameIsRefusedAndTheVmReadsItsOwnData()
    {
        UnauthorizedAccessException? refused = null;
        using SevGuestRun run = SevGuestRun.Start(Snp(), r =>
        {
            ForeignMapping m = r.Rig.Hv.Dom0.MapForeign(r.Domain, [new Gfn(SevGuestRun.SecretGfn)], writable: true);
            refused = Assert.Throws<UnauthorizedAccessException>(() => m.Write(0, 0, new byte[8]));
        });
        Assert.NotNull(refused);
        Assert.Equal(run.DramAtEnter, run.DramAfterDom0);  // nothing reached DRAM
        Assert.Equal(Secret, run.Slots[1]);
        HypervisorEvent e = Assert.Single(run.Of(EventKind.ProtectedAccessRefused));
        Assert.Equal(Accessor.Dom0, Assert.IsType<AccessRefusedData>(e.Data).Accessor);
        Assert.Empty(run.Of(EventKind.Violation));         // a refusal, not a detected tampering
    }

    [Fact]
    public void Dom0MayStillReadButOnlyCiphertext()
    {
        byte[] read = [];
        using SevGuestRun run = SevGuestRun.Start(Snp(), r =>
            read = r.Rig.Hv.Dom0.MapForeign(r.Domain, [new Gfn(SevGuestRun.SecretGfn)], writable: false).Read(0).ToArray());
        Assert.Equal(run.DramAtEnter, read);
        Assert.Equal(-1, read.AsSpan().IndexOf(BitConverter.GetBytes(Secret)));
    }

    [Fact]
    public void Dom0CannotRemapTheAssignedGfnNorAliasTheAssignedFrameButMayChangeOtherEntries()
    {
        using SevGuestRun run = SevGuestRun.Start(RegionOnlySnp(), r =>
        {
            Dom0Api dom0 = r.Rig.Hv.Dom0;
            var home = new Gfn(SevGuestRun.SecretGfn);
            var other = new Gfn(SevGuestRun.SecretGfn + 0x10);
            P2mEntry homeEntry = dom0.GetP2mEntry(r.Domain, home), otherEntry = dom0.GetP2mEntry(r.Domain, other);
            // The assigned GFN pointed at another frame, made read-only, or unmapped: refused.
            Assert.Throws<UnauthorizedAccessException>(() => dom0.SetP2mEntry(r.Domain, home, otherEntry));
            Assert.Throws<UnauthorizedAccessException>(() => dom0.SetP2mEntry(r.Domain, home, homeEntry with { Type = P2mType.RamRo }));
            Assert.Throws<UnauthorizedAccessException>(() => dom0.SetP2mEntry(r.Domain, home, P2mEntry.Invalid));
            // The assigned frame mapped at a second GFN (an alias a splice could use): refused.
            Assert.Throws<UnauthorizedAccessException>(() => dom0.SetP2mEntry(r.Domain, other, homeEntry));
            Assert.Equal(homeEntry, dom0.GetP2mEntry(r.Domain, home));
            // A frame the RMP does not hold is the hypervisor's to manage (a shared page).
            dom0.SetP2mEntry(r.Domain, other, otherEntry with { Type = P2mType.RamRo });
            dom0.SetP2mEntry(r.Domain, other, otherEntry);
        });
        Assert.Equal(4, run.Of(EventKind.P2mChangeRefused).Count());
        Assert.Equal(4, run.Of("sev-snp.rmp_refused").Count());
        Assert.Equal(Secret, run.Slots[1]);
        Assert.Contains(run.Rig.Hv.Dom0.QueryRegions()[0].State, kv => kv.Key == "p2m_changes_refused" && kv.Value == "4");
    }

    [Fact]
    public void TheRmpRefusesMappingAnAssignedFrameIntoAnotherDomain()
    {
        using var hv = new Hypervisor.Hypervisor(new HypervisorOptions { MachineMemory = 8UL << 20 });
        var rmp = new ReverseMapTable(hv.Sapi, hv.Sapi.ReserveMetadata(ReverseMapTable.BytesFor(hv.Machine.FrameCount)), hv.Machine.FrameCount);
        DomainId owner = new(1), other = new(2);
        var mfn = new Mfn(0x216);
        var gfn = new Gfn(0x80216);
        rmp.Assign(mfn, owner, gfn);
        var foreign = new P2mEntry(mfn, P2mType.MapForeignRw);
        var grant = new P2mEntry(mfn, P2mType.GrantMapRo);
        Assert.Equal(RmpRefusal.FrameElsewhere, rmp.Check(other, new Gfn(0x90000), P2mEntry.Invalid, foreign, out RmpEntry hit));
        Assert.Equal(owner, hit.Owner);
        Assert.Equal(RmpRefusal.FrameElsewhere, rmp.Check(other, gfn, P2mEntry.Invalid, grant, out _));   // same GFN, wrong domain
        Assert.Equal(RmpRefusal.None, rmp.Check(owner, gfn, new P2mEntry(mfn, P2mType.RamRw), new P2mEntry(mfn, P2mType.RamRw), out _));
        Assert.Equal(RmpRefusal.None, rmp.Check(other, new Gfn(0x90000), P2mEntry.Invalid, new P2mEntry(new Mfn(0x300), P2mType.MapForeignRw), out _));
        rmp.Unassign(mfn);
        Assert.Equal(RmpRefusal.None, rmp.Check(other, new Gfn(0x90000), P2mEntry.Invalid, foreign, out _));
    }

    [Fact]
    public void TheRmpIsInDramOneSixteenByteEntryPerFrameInLinuxsLayout()
    {
        SevSnpArchitecture arch = Snp();
        byte[] entry = [];
        IReadOnlyList<MetadataRange> described = [];
        using SevGuestRun run = SevGuestRun.Start(arch, r =>
        {
            ProtectedRegion region = r.Rig.Hv.Sapi.Regions[0];
            described = arch.DescribeMetadata(region, 0, 5);
            arch.FlushMetadata();   // what the RMP cache holds goes to DRAM, where the bytes are read
            entry = Dram(r, arch.Rmp.AddressOf(r.Mfn), ReverseMapTable.EntryBytes);
        });
        ulong low = BitConverter.ToUInt64(entry);
        Assert.Equal(1UL | (SevGuestRun.SecretGfn << 12) | (1UL << 51) | (1UL << 62), low);   // assigned, gfn, ASID 1, validated
        Assert.Equal(0UL, BitConverter.ToUInt64(entry, 8));
        MetadataRange range = Assert.Single(described);
        Assert.Equal(("rmp entry", arch.Rmp.AddressOf(run.Mfn), 16), (range.What, range.MachineAddress, range.Length));
        Assert.Equal(arch.Rmp.Area.BaseAddress + (run.Mfn.Value * 16), range.MachineAddress);
        Assert.True(run.Rig.Hv.Sapi.Cost.MetadataReads > 0);   // lookups go through the RMP cache, from DRAM
    }

    [Fact]
    public void AnRmpEntryOverwrittenInDramDeniesTheVmItsPageAndOpensItToOutsideWrites()
    {
        SevSnpArchitecture arch = Snp();
        using SevGuestRun run = SevGuestRun.Start(arch);
        ProtectedRegion region = run.Rig.Hv.Sapi.Regions[0];
        MemoryAccessContext Access(Accessor who, AccessKind kind) => new()
        {
            Accessor = who,
            Kind = kind,
            Domain = region.Domain,
            Initiator = who == Accessor.Dom0 ? DomainId.Dom0 : region.Domain,
            Vcpu = region.Vcpu,
            Satp = region.Satp,
            Gfn = region.Gfns[0],
            Mfn = region.Mfns[0],
            Offset = 0,
            Region = region,
            RegionPage = 0,
            Time = 0,
        };
        arch.Rmp.Assign(run.Mfn, run.Domain, region.Gfns[0]);
        Assert.Equal(PageView.Plaintext, arch.DecideView(Access(Accessor.GuestUser, AccessKind.Load)));
        Assert.Equal(PageView.Plaintext, arch.DecideView(Access(Accessor.GuestKernel, AccessKind.Store)));
        Assert.Equal(PageView.Dram, arch.DecideView(Access(Accessor.Dom0, AccessKind.Load)));
        Assert.Equal(PageView.Fault, arch.DecideView(Access(Accessor.Dom0, AccessKind.Store)));
        // A physical attacker's chosen bytes over the entry: the guest's own check fails (a nested page fault).
        arch.FlushMetadata();
        Span<byte> inDram = DramSpan(run.Rig, arch.Rmp.AddressOf(run.Mfn), ReverseMapTable.EntryBytes);
        inDram.Fill(0x41);
        Assert.Equal(PageView.Fault, arch.DecideView(Access(Accessor.GuestUser, AccessKind.Load)));
        // An entry cleared (unassigned): the frame is a shared page again as far as the RMP knows, Dom0 may write it.
        inDram.Clear();
        Assert.Equal(PageView.Fault, arch.DecideView(Access(Accessor.GuestUser, AccessKind.Load)));   // still the cached line
        arch.FlushMetadata();
        Assert.Equal(PageView.Dram, arch.DecideView(Access(Accessor.Dom0, AccessKind.Store)));
        Assert.Equal(PageView.Fault, arch.DecideView(Access(Accessor.GuestUser, AccessKind.Load)));
    }

    private static byte[] Dram(SevGuestRun run, ulong address, int length) => DramSpan(run.Rig, address, length).ToArray();

    private static Span<byte> DramSpan(Rig rig, ulong address, int length) =>
        rig.Hv.Machine.Frame(new Mfn(address >> PageSize.Shift)).Slice((int)(address & PageSize.Mask), length);

    [Fact]
    public void TheHookRefusesForEveryRequester()
    {
        SevSnpArchitecture arch = RegionOnlySnp();
        ProtectedRegion? region = null;
        using SevGuestRun run = SevGuestRun.Start(arch, r => region = r.Rig.Hv.Sapi.Regions[0]);
        // After exit the RMP is empty again: nothing is refused.
        Assert.True(arch.OnP2mChange(new DomainId(2), new Gfn(0x90000), P2mEntry.Invalid, new P2mEntry(run.Mfn, P2mType.GrantMapRw), Accessor.Hypervisor));
        arch.Rmp.Assign(run.Mfn, run.Domain, region!.Gfns[0]);
        foreach (Accessor requester in new[] { Accessor.Dom0, Accessor.Hypervisor })
        {
            Assert.False(arch.OnP2mChange(new DomainId(2), new Gfn(0x90000), P2mEntry.Invalid, new P2mEntry(run.Mfn, P2mType.GrantMapRw), requester));
        }
    }

    [Fact]
    public void TheRegistryDeclaresTheSameTrustAsSev()
    {
        ArchitectureRegistry registry = BuiltInArchitectures.CreateRegistry();
        Assert.Equal(registry.Get("sev").ThreatModel, registry.Get("sev-snp").ThreatModel);
        Assert.IsType<SevSnpArchitecture>(registry.Get("sev-snp").Create(new ArchitectureOptions()));
    }
}
