using Vbase.Architectures.Sev;
using Vbase.Architectures.SevSnp;
using Vbase.Hypervisor.Dom0;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Sev;

/// <summary>
/// SEV and SEV-SNP encrypt the whole VM at launch (<c>whole-vm</c>, the default): outside the registered region Dom0's
/// foreign mappings and the bus see the ciphertext under the VM's key at the machine address, Dom0's raw writes decrypt
/// to garbage inside the VM (SEV) or are refused (SNP's RMP), while the VM itself, its hypercalls and the toolstack's
/// debug access see the plaintext. The expected ciphertext is computed here with a key of its own from the same seed.
/// </summary>
public sealed class SevWholeVmTests
{
    private const ulong Seed = 7;
    private static readonly Gfn KernelGfn = new(GuestLayout.KernelBase >> PageSize.Shift);
    /// <summary>A page of the 4 MiB VM the guest never touches (between its page tables and its result slots).</summary>
    private static readonly Gfn UnusedGfn = new(0x8038_0000 >> PageSize.Shift);

    private static ArchitectureOptions Options(bool wholeVm) => new()
    {
        Seed = Seed,
        Parameters = wholeVm ? new Dictionary<string, string>() : new Dictionary<string, string> { [SevArchitectureBase.WholeVmKey] = "false" },
    };

    private static byte[] Encrypted(DomainId domain, ReadOnlySpan<byte> plaintext, ulong machineAddress)
    {
        using var keys = new VmEncryptionKeys(Seed);
        byte[] dram = new byte[plaintext.Length];
        keys.Of(domain).EncryptAtAddress(plaintext, dram, machineAddress);
        return dram;
    }

    private static byte[] Decrypted(DomainId domain, ReadOnlySpan<byte> dram, ulong machineAddress)
    {
        using var keys = new VmEncryptionKeys(Seed);
        byte[] plaintext = new byte[dram.Length];
        keys.Of(domain).DecryptAtAddress(dram, plaintext, machineAddress);
        return plaintext;
    }

    private static byte[] DebugRead(SevGuestRun r, Gfn gfn)
    {
        byte[] page = new byte[PageSize.Bytes];
        Assert.Equal(0, r.Rig.Hv.Dom0.ReadGuest(r.Domain, gfn.Address, page));
        return page;
    }

    [Fact]
    public void AtLaunchEveryFrameOfTheVmIsCiphertextToDom0AndTheBus()
    {
        byte[] plain = [], foreign = [], bus = new byte[PageSize.Bytes];
        Mfn kernel = default;
        bool privateDuringRun = false;
        using SevGuestRun run = SevGuestRun.Start(new SevArchitecture(Options(wholeVm: true)), r =>
        {
            kernel = r.Rig.Hv.Dom0.GetP2mEntry(r.Domain, KernelGfn).Mfn;
            plain = DebugRead(r, KernelGfn);
            foreign = r.Rig.Hv.Dom0.MapForeign(r.Domain, [KernelGfn], writable: false).Read(0).ToArray();
            r.Rig.Hv.Sapi.ReadDram(kernel, 0, bus);
            privateDuringRun = r.Rig.Hv.Sapi.IsVmPrivate(kernel);
        });
        Assert.True(privateDuringRun);
        Assert.NotEqual(plain, foreign);
        Assert.Contains(plain, b => b != 0);   // the kernel's code, not an empty page
        Assert.Equal(Encrypted(run.Domain, plain, kernel.Value << PageSize.Shift), foreign);
        Assert.Equal(foreign, bus);
        HypervisorEventAssert(run, "sev.vm_encrypted", "frames", (4UL << 20) / PageSize.Bytes);
        // The application's page left the region at exit and is the VM's private memory again, under the same key.
        byte[] secretPage = [.. run.Rig.Hv.Dom0.MapForeign(run.Domain, [new Gfn(SecretGpa >> PageSize.Shift)], writable: false).Read(0)];
        Assert.Equal(Encrypted(run.Domain, DebugRead(run, new Gfn(SecretGpa >> PageSize.Shift)), run.Mfn.Value << PageSize.Shift), secretPage);
    }

    private static void HypervisorEventAssert(SevGuestRun run, string kind, string field, ulong value)
    {
        Hypervisor.HypervisorEvent e = Assert.Single(run.Of(kind));
        Assert.Contains(e.Data.Fields(), f => f.Name == field && f.TryGetUnsigned(out ulong v) && v == value);
    }

    [Fact]
    public void RegionOnlyLeavesTheRestOfTheVmShared()
    {
        byte[] plain = [], foreign = [];
        using SevGuestRun run = SevGuestRun.Start(new SevArchitecture(Options(wholeVm: false)), r =>
        {
            plain = DebugRead(r, KernelGfn);
            foreign = r.Rig.Hv.Dom0.MapForeign(r.Domain, [KernelGfn], writable: false).Read(0).ToArray();
        });
        Assert.Equal(plain, foreign);
        Assert.Empty(run.Of("sev.vm_encrypted"));
    }

    [Fact]
    public void TheVmItsHypercallsAndItsKernelRunAsWithTheRegionAlone()
    {
        using SevGuestRun whole = SevGuestRun.Start(new SevArchitecture(Options(wholeVm: true)));
        using SevGuestRun region = SevGuestRun.Start(new SevArchitecture(Options(wholeVm: false)));
        Assert.Equal(region.Slots, whole.Slots);
        Assert.Equal(region.DramAtEnter, whole.DramAtEnter);
        Assert.Equal(Secret, whole.Slots[1]);
    }

    [Fact]
    public void ADom0WriteLandsRawInDramAndTheVmReadsItsDecryption()
    {
        byte[] before = [], after = [], dramAfter = [];
        Mfn mfn = default;
        using SevGuestRun run = SevGuestRun.Start(new SevArchitecture(Options(wholeVm: true)), r =>
        {
            mfn = r.Rig.Hv.Dom0.GetP2mEntry(r.Domain, UnusedGfn).Mfn;
            before = DebugRead(r, UnusedGfn);
            ForeignMapping m = r.Rig.Hv.Dom0.MapForeign(r.Domain, [UnusedGfn], writable: true);
            m.Write(0, 40, Enumerable.Repeat((byte)0x41, 8).ToArray());
            after = DebugRead(r, UnusedGfn);
            dramAfter = m.Read(0).ToArray();
        });
        ulong block = (mfn.Value << PageSize.Shift) + 32;
        byte[] dramBlock = Encrypted(run.Domain, before.AsSpan(32, 16), block);
        dramBlock.AsSpan(8, 8).Fill(0x41);
        // DRAM holds the raw bytes where they landed and the old ciphertext around them; the VM reads its decryption.
        Assert.Equal(dramBlock, dramAfter.AsSpan(32, 16).ToArray());
        Assert.Equal(Decrypted(run.Domain, dramBlock, block), after.AsSpan(32, 16).ToArray());
        Assert.NotEqual(Enumerable.Repeat((byte)0x41, 8).ToArray(), after.AsSpan(40, 8).ToArray());
        Assert.Equal(before.AsSpan(0, 32).ToArray(), after.AsSpan(0, 32).ToArray());     // the other blocks are untouched
        Assert.Equal(before.AsSpan(48).ToArray(), after.AsSpan(48).ToArray());
        Assert.Equal(Secret, run.Slots[1]);
    }

    [Fact]
    public void ABusWriteIsFoldedTheSameWay()
    {
        byte[] after = [], bus = new byte[16];
        using SevGuestRun run = SevGuestRun.Start(new SevArchitecture(Options(wholeVm: true)), r =>
        {
            Mfn mfn = r.Rig.Hv.Dom0.GetP2mEntry(r.Domain, UnusedGfn).Mfn;
            r.Rig.Hv.Sapi.WriteDram(mfn, 64, Enumerable.Repeat((byte)0x5A, 16).ToArray());
            r.Rig.Hv.Sapi.ReadDram(mfn, 64, bus);
            after = DebugRead(r, UnusedGfn);
        });
        Assert.All(bus, b => Assert.Equal(0x5A, b));
        Mfn frame = run.Rig.Hv.Dom0.GetP2mEntry(run.Domain, UnusedGfn).Mfn;
        Assert.Equal(Decrypted(run.Domain, bus, (frame.Value << PageSize.Shift) + 64), after.AsSpan(64, 16).ToArray());
    }

    [Fact]
    public void TheDebugAccessAndTheHypervisorSeeThePlaintext()
    {
        using SevGuestRun run = SevGuestRun.Start(new SevArchitecture(Options(wholeVm: true)), r =>
        {
            Assert.Equal(0, r.Rig.Hv.Dom0.WriteGuest(r.Domain, new GuestPhysicalAddress(UnusedGfn.Address.Value + 8), [1, 2, 3, 4]));
            byte[] back = new byte[4];
            Assert.Equal(0, r.Rig.Hv.Dom0.ReadGuest(r.Domain, new GuestPhysicalAddress(UnusedGfn.Address.Value + 8), back));
            Assert.Equal(new byte[] { 1, 2, 3, 4 }, back);
        });
        // The results the guest kernel wrote through its own stores and the hypervisor's copies read in plaintext.
        Assert.Equal(Secret, run.Slots[1]);
    }

    [Fact]
    public void APrivateFrameIsNotMappedIntoAnotherDomainExceptByGrant()
    {
        using SevGuestRun run = SevGuestRun.Start(new SevArchitecture(Options(wholeVm: true)));
        DomainId other = run.Rig.Add(Build(), name: "other", unpause: false);
        Mfn mfn = run.Rig.Hv.Dom0.GetP2mEntry(run.Domain, UnusedGfn).Mfn;
        var hole = new Gfn(0x90000);
        Assert.Throws<UnauthorizedAccessException>(() => run.Rig.Hv.Dom0.SetP2mEntry(other, hole, new P2mEntry(mfn, P2mType.RamRw)));
        Assert.Contains(run.Rig.Events, e => e.Kind == EventKind.P2mChangeRefused && e.Domain == other);
        Assert.True(run.Rig.Hv.Sapi.IsVmPrivate(mfn));
    }

    [Fact]
    public void DestroyingTheVmForgetsItsPrivateMemory()
    {
        SevSnpArchitecture snp = new(Options(wholeVm: true));
        using SevGuestRun run = SevGuestRun.Start(snp);
        Mfn mfn = run.Rig.Hv.Dom0.GetP2mEntry(run.Domain, UnusedGfn).Mfn;
        Assert.True(run.Rig.Hv.Sapi.IsVmPrivate(mfn));
        Assert.NotEmpty(snp.Rmp.AssignedTo(run.Domain));
        run.Rig.Hv.Dom0.Destroy(run.Domain);
        Assert.False(run.Rig.Hv.Sapi.IsVmPrivate(mfn));
        Assert.Empty(snp.Rmp.AssignedTo(run.Domain));
    }

    [Fact]
    public void SnpRefusesDom0sWritesAndRemapsAnywhereInTheVm()
    {
        SevSnpArchitecture snp = new(Options(wholeVm: true));
        using SevGuestRun run = SevGuestRun.Start(snp, r =>
        {
            Dom0Api dom0 = r.Rig.Hv.Dom0;
            ForeignMapping m = dom0.MapForeign(r.Domain, [UnusedGfn], writable: true);
            Assert.Throws<UnauthorizedAccessException>(() => m.Write(0, 0, new byte[8]));
            P2mEntry unused = dom0.GetP2mEntry(r.Domain, UnusedGfn);
            Assert.Throws<UnauthorizedAccessException>(() => dom0.SetP2mEntry(r.Domain, UnusedGfn, unused with { Type = P2mType.RamRo }));
            Assert.Equal(0, dom0.WriteGuest(r.Domain, UnusedGfn.Address, [7]));   // the debug access is not Dom0's raw write
        });
        Assert.Equal(2, run.Of("sev-snp.rmp_refused").Count());
        Assert.Single(run.Of(EventKind.P2mChangeRefused));
        // The launch assigned every frame at its GFN; the region's exit leaves the page assigned (still private).
        Assert.True(snp.Rmp.TryGet(run.Mfn, out RmpEntry entry));
        Assert.Equal(new RmpEntry(run.Domain, new Gfn(SecretGpa >> PageSize.Shift), Validated: true), entry);
        Assert.Equal((int)((4UL << 20) / PageSize.Bytes), snp.Rmp.AssignedTo(run.Domain).Count);
        Assert.Equal(Secret, run.Slots[1]);
    }

    [Fact]
    public void SnpSharesAGrantedPageAndStillRefusesAForeignMappingOfOne()
    {
        SevSnpArchitecture snp = new(Options(wholeVm: true));
        using SevGuestRun run = SevGuestRun.Start(snp);
        Mfn unused = run.Rig.Hv.Dom0.GetP2mEntry(run.Domain, UnusedGfn).Mfn;
        Mfn kernel = run.Rig.Hv.Dom0.GetP2mEntry(run.Domain, KernelGfn).Mfn;
        var dom2 = new DomainId(2);
        Assert.False(snp.OnP2mChange(dom2, new Gfn(0x90000), P2mEntry.Invalid, new P2mEntry(kernel, P2mType.MapForeignRw), Accessor.Hypervisor));
        Assert.True(snp.OnP2mChange(dom2, new Gfn(0x90001), P2mEntry.Invalid, new P2mEntry(unused, P2mType.GrantMapRw), Accessor.Hypervisor));
        Assert.False(snp.Rmp.TryGet(unused, out _));
        Assert.Single(run.Of("sev-snp.rmp_shared"));
        // The region's page is never shared by a grant, whole VM or not.
        Assert.True(snp.Rmp.TryGet(run.Mfn, out _));
    }
}
