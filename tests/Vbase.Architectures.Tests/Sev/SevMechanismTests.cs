using Vbase.Architectures.Sev;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Dom0;
using Vbase.Hypervisor.Domains;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Sev;

/// <summary>
/// <c>sev</c>'s mechanism with real guest code: a per-VM key, XTS with the machine address as tweak, plaintext to
/// everything inside the VM, raw bytes from everyone outside it, and no integrity.
/// </summary>
public sealed class SevMechanismTests
{
    private const ulong Seed = 7;

    private static SevArchitecture Sev() => new(new ArchitectureOptions { Seed = Seed });

    private static byte[] Encrypt(DomainId domain, ReadOnlySpan<byte> plaintext, ulong machineAddress)
    {
        using var keys = new VmEncryptionKeys(Seed);
        byte[] ciphertext = new byte[plaintext.Length];
        keys.Of(domain).EncryptAtAddress(plaintext, ciphertext, machineAddress);
        return ciphertext;
    }

    [Fact]
    public void EverythingInsideTheVmReadsPlaintextAndItsWritesAreEncryptedInPlace()
    {
        using SevGuestRun run = SevGuestRun.Start(Sev());
        Assert.Equal(1UL, run.Slots[0]);                  // region 1 registered
        Assert.Equal(Secret, run.Slots[1]);               // A reads plaintext
        Assert.Equal(AppWrite, run.Slots[2]);             // A's own write landed (encrypted in place)
        Assert.Equal(AppWrite, run.Slots[3]);             // the kernel is inside the VM: plaintext
        Assert.Equal(KernelWrite, run.Slots[4]);          // so is process B, and the kernel's write landed
        Assert.Equal(KernelWrite, run.Slots[5]);
        Assert.Equal(0UL, run.Slots[6]);                  // exit
        Assert.Equal(KernelWrite, run.Slots[7]);          // after exit DRAM holds the plaintext again
        Assert.Equal((ulong)FunctionResult, run.Slots[8]); // code in the encrypted page ran, fetched as plaintext
        Assert.Empty(run.Of(EventKind.ProtectedWriteDropped));
        Assert.Empty(run.Of(EventKind.ProtectedAccessRefused));
        // The trusted kernel's write is still not the application's: the Oracle sees A consume it (os-write).
        ShadowMismatch m = Assert.Single(run.Rig.Hv.Dom0.ShadowMismatches);
        Assert.Equal(KernelWrite, BitConverter.ToUInt64(m.Actual));
    }

    [Fact]
    public void DramHoldsTheXtsCiphertextOfEachBlockUnderTheVmKeyAtItsMachineAddress()
    {
        byte[] dom0Read = [];
        using SevGuestRun run = SevGuestRun.Start(Sev(), r =>
        {
            ForeignMapping m = r.Rig.Hv.Dom0.MapForeign(r.Domain, [new Gfn(SevGuestRun.SecretGfn)], writable: false);
            dom0Read = m.Read(0).ToArray();
        });
        byte[] firstBlock = new byte[16];
        BitConverter.TryWriteBytes(firstBlock, Secret);
        ulong frameAddress = run.Mfn.Value << PageSize.Shift;
        Assert.Equal(Encrypt(run.Domain, firstBlock, frameAddress), run.DramAtEnter[..16]);
        Assert.Equal(run.DramAtEnter, dom0Read);           // Dom0 has no key: it reads what DRAM holds
        Assert.Equal(-1, dom0Read.AsSpan().IndexOf(BitConverter.GetBytes(Secret)));
    }

    [Fact]
    public void EqualPlaintextsAtDifferentAddressesEncryptDifferently()
    {
        using SevGuestRun run = SevGuestRun.Start(Sev());
        // Offsets 16..63 of the page hold zeros in plaintext: three equal blocks, three different ciphertexts.
        byte[] a = run.DramAtEnter[16..32], b = run.DramAtEnter[32..48], c = run.DramAtEnter[48..64];
        Assert.NotEqual(a, b);
        Assert.NotEqual(b, c);
        Assert.NotEqual(a, c);
        ulong frameAddress = run.Mfn.Value << PageSize.Shift;
        Assert.Equal(Encrypt(run.Domain, new byte[16], frameAddress + 16), a);
        Assert.Equal(Encrypt(run.Domain, new byte[16], frameAddress + 32), b);
    }

    [Fact]
    public void ABlockMovedToAnotherAddressDecryptsToGarbage()
    {
        using var keys = new VmEncryptionKeys(Seed);
        AesXts key = keys.Of(new DomainId(1));
        byte[] plaintext = [.. Enumerable.Range(0, 16).Select(i => (byte)i)];
        byte[] ciphertext = new byte[16], back = new byte[16], spliced = new byte[16];
        key.EncryptAtAddress(plaintext, ciphertext, 0x21_6080);
        key.DecryptAtAddress(ciphertext, back, 0x21_6080);
        key.DecryptAtAddress(ciphertext, spliced, 0x21_6040);
        Assert.Equal(plaintext, back);
        Assert.NotEqual(plaintext, spliced);
    }

    [Fact]
    public void EachVmHasItsOwnKeyDerivedFromTheSeed()
    {
        byte[] block = new byte[16];
        byte[] Cipher(ulong seed, ushort domain)
        {
            using var keys = new VmEncryptionKeys(seed);
            byte[] c = new byte[16];
            keys.Of(new DomainId(domain)).EncryptAtAddress(block, c, 0x1000);
            return c;
        }
        Assert.Equal(Cipher(1, 1), Cipher(1, 1));          // reproducible
        Assert.NotEqual(Cipher(1, 1), Cipher(1, 2));       // another VM, another key
        Assert.NotEqual(Cipher(1, 1), Cipher(2, 1));       // another run seed, another key
    }

    [Fact]
    public void Dom0sWriteLandsAsRawBytesThatTheVmDecryptsToGarbageUndetected()
    {
        byte[] chosen = [.. Enumerable.Repeat((byte)0x41, 8)];
        using SevGuestRun run = SevGuestRun.Start(Sev(), r =>
            r.Rig.Hv.Dom0.MapForeign(r.Domain, [new Gfn(SevGuestRun.SecretGfn)], writable: true).Write(0, 0, chosen));
        Assert.Equal(chosen, run.DramAfterDom0[..8]);     // raw in DRAM, not encrypted with the VM's key
        Assert.NotEqual(Secret, run.Slots[1]);             // A reads neither the secret …
        Assert.NotEqual(BitConverter.ToUInt64(chosen), run.Slots[1]);   // … nor Dom0's chosen bytes: garbage
        Assert.Empty(run.Of(EventKind.Violation));         // no integrity: nothing notices
        Assert.Empty(run.Of(EventKind.ProtectedAccessRefused));
        Assert.NotEmpty(run.Rig.Hv.Dom0.ShadowMismatches);
        Assert.Contains(run.Rig.Hv.Dom0.QueryRegions()[0].State, kv => kv.Key == "raw_writes_from_outside" && kv.Value == "1");
    }

    [Fact]
    public void TheWorkIsOneCipherPassPerLineCrossingTheChipAndThereIsNoMetadata()
    {
        SevArchitecture sev = Sev();
        using SevGuestRun run = SevGuestRun.Start(sev);
        DramTraffic t = run.Rig.Hv.Sapi.Traffic();
        Assert.True(t.DataReads > 0 && t.DataWrites > 0);
        // Every fill decrypts a line, every write-back encrypts one; enter and exit pass over the page's 64 lines once each.
        Assert.Equal(t.DataReads + t.DataWrites + (2 * 64), t.CipherOps);
        Assert.Equal((0L, 0L, 0L), (t.MetadataReads, t.MetadataWrites, t.MacOps));
        Assert.Empty(sev.DescribeMetadata(run.Rig.Hv.Sapi.Regions[0], 0, 0));
        Assert.True(t.Hits > 0);   // the VM's accesses to lines on chip
    }

    [Fact]
    public void InsideTheVmEveryoneSeesTheChipAndOutsideTheDram()
    {
        SevArchitecture sev = Sev();
        using SevGuestRun run = SevGuestRun.Start(sev);
        ProtectedRegion region = run.Rig.Hv.Sapi.Regions[0];
        PageView View(Accessor who, AccessKind kind, DomainId initiator) => sev.DecideView(new MemoryAccessContext
        {
            Accessor = who,
            Kind = kind,
            Domain = region.Domain,
            Initiator = initiator,
            Vcpu = 0,
            Satp = 0x1234,
            Gfn = region.Gfns[0],
            Mfn = region.Mfns[0],
            Offset = 0,
            Region = region,
            RegionPage = 0,
            Time = 0,
        });
        DomainId vm = region.Domain, other = new(2);
        Assert.Equal(PageView.Plaintext, View(Accessor.GuestUser, AccessKind.Store, vm));     // another process, too
        Assert.Equal(PageView.Plaintext, View(Accessor.GuestKernel, AccessKind.PageWalk, vm));
        Assert.Equal(PageView.Dram, View(Accessor.GuestUser, AccessKind.Load, other));        // another VM's code
        Assert.Equal(PageView.Dram, View(Accessor.Hypervisor, AccessKind.Load, vm));           // a hypercall copy: no key
        Assert.Equal(PageView.Dram, View(Accessor.Dom0, AccessKind.Store, DomainId.Dom0));     // lands raw
        Assert.Equal(PageView.Dram, View(Accessor.Device, AccessKind.Store, other));
    }

    [Fact]
    public void TheMonitorIsToldTheKeyTheCipherAndThatThereIsNoIntegrity()
    {
        using SevGuestRun run = SevGuestRun.Start(Sev());
        Dictionary<string, string> state = run.StateAtEnter.ToDictionary();
        Assert.StartsWith("ciphertext (xts-aes-128", state["dram"]);
        Assert.Equal("dom 1's VM encryption key", state["key"]);
        Assert.Equal("none", state["integrity"]);
        Assert.Contains(run.Rig.Events, e => e.Kind == "sev.encrypted" && e.Data.Fields()["frames"].Integer == 1);
    }

    [Fact]
    public void TheRegistryDeclaresThatSevTrustsTheWholeVm()
    {
        ArchitectureInfo info = BuiltInArchitectures.CreateRegistry().Get("sev");
        Assert.False(info.ThreatModel.Covers(Principal.GuestKernel));
        Assert.False(info.ThreatModel.Covers(Principal.OtherProcesses));
        Assert.True(info.ThreatModel.Covers(Principal.Dom0));
        Assert.True(info.ThreatModel.Covers(Principal.Physical));
        Assert.True(info.ThreatModel.Covers(Principal.OtherVms));
        Assert.IsType<SevArchitecture>(info.Create(new ArchitectureOptions { Seed = 1 }));
    }
}
