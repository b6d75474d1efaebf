using System.Buffers.Binary;
using System.Text;
using Vbase.Hypervisor.Boot;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Boot;

/// <summary>The Linux boot protocol, the generated device tree and the SBI a Linux guest uses (HSM, IPI, RFENCE, SRST).</summary>
public sealed class LinuxBootTests
{
    private const ulong Ram = 16UL << 20;
    private const ulong Flag = GuestCode.Results + 0x100;

    /// <summary>
    /// A Linux Image whose "kernel" is <paramref name="body"/>: a jump over a 64-byte Image header, as the real one
    /// starts (code0 jumps to the kernel proper).
    /// </summary>
    internal static byte[] FakeImage(Action<ProgramBuilder> body, ulong imageSize = 1UL << 20, uint version = 2, ulong flags = 0, ulong textOffset = 0x20_0000)
    {
        var p = GuestCode.New();
        p.J("start").Bytes(new byte[LinuxImage.HeaderBytes - 4]).Label("start");
        body(p);
        byte[] image = p.ToArray();
        Span<byte> h = image;
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], textOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], imageSize);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[32..], version);
        Encoding.ASCII.GetBytes("RISCV\0\0\0").CopyTo(h[48..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[56..], LinuxImage.Magic2);
        return image;
    }

    private static DomainId AddLinux(Rig rig, byte[] image, int vcpus = 1, byte[]? initrd = null, string bootargs = "console=hvc0", ulong memory = Ram)
    {
        DomainHandle h = rig.Hv.Dom0.CreateDomain(new DomainConfig
        {
            Name = "linux",
            Kernel = image,
            Initrd = initrd,
            Cmdline = bootargs,
            MemoryBytes = memory,
            VcpuCount = vcpus,
        });
        rig.Hv.Dom0.Unpause(h.Id);
        return h.Id;
    }

    private static ProgramBuilder Srst(ProgramBuilder p, ulong type, ulong reason) =>
        p.Sbi(Sbi.Srst, Sbi.SrstSystemReset, (long)type, (long)reason);

    [Fact]
    public void TheImageHeaderIsReadAndABadOneRefused()
    {
        byte[] image = FakeImage(p => p.Hang(), imageSize: 0x12_3000);
        Assert.True(LinuxImage.IsImage(image));
        LinuxImage header = LinuxImage.Parse(image);
        Assert.Equal(0x20_0000UL, header.TextOffset);
        Assert.Equal(0x12_3000UL, header.ImageSize);
        Assert.False(LinuxImage.IsImage(new byte[128]));
        Assert.Contains("0.2", Assert.Throws<FormatException>(() => LinuxImage.Parse(FakeImage(p => p.Hang(), version: 1))).Message);
        Assert.Contains("big-endian", Assert.Throws<FormatException>(() => LinuxImage.Parse(FakeImage(p => p.Hang(), flags: 1))).Message);
        Assert.Contains("2 MiB", Assert.Throws<FormatException>(() => LinuxImage.Parse(FakeImage(p => p.Hang(), textOffset: 0x1000))).Message);
        Assert.Contains("smaller", Assert.Throws<FormatException>(() => LinuxImage.Parse(FakeImage(p => p.Hang(), imageSize: 16))).Message);
    }

    [Fact]
    public void TheDeviceTreeDecodesToTheDomain()
    {
        byte[] dtb = LinuxBoot.DeviceTree(64UL << 20, 2, "console=hvc0 panic=-1", 0x8400_0000, 0x8412_3456);
        var (root, reserved, bootCpu) = FdtNode.Parse(dtb);
        Assert.Empty(reserved);
        Assert.Equal(0u, bootCpu);
        Assert.Equal("", root.Name);
        Assert.Equal([2u], root.Cells("#address-cells"));
        Assert.Equal([2u], root.Cells("#size-cells"));
        FdtNode chosen = root.Child("chosen");
        Assert.Equal("console=hvc0 panic=-1", chosen.String("bootargs"));
        Assert.Equal([0x8400_0000UL], chosen.Cells64("linux,initrd-start"));
        Assert.Equal([0x8412_3456UL], chosen.Cells64("linux,initrd-end"));
        FdtNode memory = root.Child("memory@80000000");
        Assert.Equal("memory", memory.String("device_type"));
        Assert.Equal([GuestLayout.RamBase, 64UL << 20], memory.Cells64("reg"));
        FdtNode hv = root.At("reserved-memory/vbase@80001000");
        Assert.Equal([GuestLayout.StartInfo, 2UL * PageSize.Bytes], hv.Cells64("reg"));
        Assert.Empty(hv.Properties["no-map"]);
        FdtNode cpus = root.Child("cpus");
        Assert.Equal([(uint)GuestLayout.TimebaseFrequency], cpus.Cells("timebase-frequency"));
        Assert.Equal(["cpu@0", "cpu@1"], cpus.Children.Select(c => c.Name));
        for (uint i = 0; i < 2; i++)
        {
            FdtNode cpu = cpus.Children[(int)i];
            Assert.Equal([i], cpu.Cells("reg"));
            Assert.Equal("cpu", cpu.String("device_type"));
            Assert.Equal("okay", cpu.String("status"));
            Assert.Equal("riscv", cpu.String("compatible"));
            Assert.Equal("rv64imafdc_zicsr_zifencei", cpu.String("riscv,isa"));
            Assert.Equal("riscv,sv39", cpu.String("mmu-type"));
            FdtNode intc = cpu.Child("interrupt-controller");
            Assert.Equal("riscv,cpu-intc", intc.String("compatible"));
            Assert.Equal([1u], intc.Cells("#interrupt-cells"));
            Assert.True(intc.Properties.ContainsKey("interrupt-controller"));
        }
        // The same inputs give the same bytes.
        Assert.Equal(dtb, LinuxBoot.DeviceTree(64UL << 20, 2, "console=hvc0 panic=-1", 0x8400_0000, 0x8412_3456));
    }

    [Fact]
    public void TheIsaStringFollowsMisa()
    {
        Assert.Equal("rv64imafdc_zicsr_zifencei", LinuxBoot.IsaString(Isa.Harts.Hart.MisaValue));
        Assert.Equal("rv64imac_zicsr_zifencei", LinuxBoot.IsaString((1 << 0) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 18)));
    }

    [Fact]
    public void Vcpu0EntersTheImageWithTheHartIdAndTheDeviceTree()
    {
        using var rig = new Rig();
        byte[] initrd = Encoding.ASCII.GetBytes("an initramfs, as far as this test cares");
        byte[] image = FakeImage(p =>
        {
            p.Emit(Mv(S2, A0), Mv(S3, A1), Csrr(S4, CsrAddress.Satp));
            Srst(p, Sbi.SrstShutdown, Sbi.SrstReasonNone);
            p.Hang();
        });
        DomainId d = AddLinux(rig, image, initrd: initrd, bootargs: "console=hvc0 vbase_cmd=\"echo hi\"");
        rig.Run();
        DomainInfo info = rig.Info(d);
        Assert.Equal((DomainState.Shutdown, ShutdownReason.Poweroff, 0L), (info.State, info.Reason, info.ExitCode));
        Assert.Equal(0UL, rig.Reg(d, S2));
        Assert.Equal(0UL, rig.Reg(d, S4));
        ulong dtbAddress = rig.Reg(d, S3);
        Assert.Equal(0UL, dtbAddress % 8);
        byte[] header = new byte[FdtWriter.HeaderBytes];
        Assert.Equal(0, rig.Hv.Dom0.ReadGuest(d, new GuestPhysicalAddress(dtbAddress), header));
        byte[] dtb = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4))];
        Assert.Equal(0, rig.Hv.Dom0.ReadGuest(d, new GuestPhysicalAddress(dtbAddress), dtb));
        FdtNode chosen = FdtNode.Parse(dtb).Root.Child("chosen");
        Assert.Equal("console=hvc0 vbase_cmd=\"echo hi\"", chosen.String("bootargs"));
        ulong start = chosen.Cells64("linux,initrd-start")[0], end = chosen.Cells64("linux,initrd-end")[0];
        Assert.Equal((ulong)initrd.Length, end - start);
        Assert.True(start >= GuestLayout.KernelBase + (1UL << 20), "the initrd is above the kernel's image_size");
        Assert.True(end <= dtbAddress && dtbAddress + (ulong)dtb.Length <= GuestLayout.RamBase + Ram);
        byte[] placed = new byte[initrd.Length];
        Assert.Equal(0, rig.Hv.Dom0.ReadGuest(d, new GuestPhysicalAddress(start), placed));
        Assert.Equal(initrd, placed);
    }

    [Fact]
    public void ABadImageAMissingFitOrAnInitrdForAnElfIsRefused()
    {
        using var rig = new Rig();
        DomainBuildException Build(DomainConfig c) => Assert.Throws<DomainBuildException>(() => rig.Hv.Dom0.CreateDomain(c));
        DomainBuildException bad = Build(new DomainConfig { Name = "l", Kernel = FakeImage(p => p.Hang(), version: 1), MemoryBytes = Ram });
        Assert.Equal("kernel", bad.Stage);
        DomainBuildException small = Build(new DomainConfig
        {
            Name = "l",
            Kernel = FakeImage(p => p.Hang(), imageSize: 6UL << 20),
            Initrd = new byte[1 << 20],
            MemoryBytes = 8UL << 20,
        });
        Assert.Contains("too small", small.Message);
        Assert.Equal("initrd", Build(new DomainConfig { Name = "e", Kernel = GuestCode.New().Hang().ToArray(), Initrd = [1], MemoryBytes = Ram }).Stage);
        Assert.Equal("modules", Build(new DomainConfig
        {
            Name = "l",
            Kernel = FakeImage(p => p.Hang()),
            MemoryBytes = Ram,
            Modules = [new DomainModule("m", [1])],
        }).Stage);
    }

    [Fact]
    public void HsmStartsAStoppedVcpuAndReportsItsState()
    {
        using var rig = new Rig();
        byte[] image = FakeImage(p =>
        {
            p.WithResults();
            p.Sbi(Sbi.Hsm, Sbi.HsmHartGetStatus, 1).Emit(Mv(S2, A1));
            p.Sbi(Sbi.Hsm, Sbi.HsmHartGetStatus, 9).Emit(Mv(S3, A0));
            p.La(A1, "second").Li(A0, 1).Li(A2, 0x1234).Li(A6, (long)Sbi.HsmHartStart).Li(A7, (long)Sbi.Hsm).Emit(Ecall(), Mv(S4, A0));
            p.La(A1, "second").Li(A0, 1).Li(A2, 0).Li(A6, (long)Sbi.HsmHartStart).Li(A7, (long)Sbi.Hsm).Emit(Ecall(), Mv(S5, A0));
            p.Sbi(Sbi.Hsm, Sbi.HsmHartStart, 7, (long)GuestLayout.KernelBase, 0).Emit(Mv(S6, A0));
            p.Sbi(Sbi.Hsm, Sbi.HsmHartStart, 0, (long)GuestLayout.KernelBase, 0).Emit(Mv(S7, A0));
            // Wait until vCPU 1 has run and stopped itself again.
            p.Label("wait").Li(T0, (long)Flag).Emit(Ld(T1, T0, 0)).Beq(T1, Zero, "wait");
            p.Label("stopped").Sbi(Sbi.Hsm, Sbi.HsmHartGetStatus, 1).Li(T2, (long)Sbi.HsmStopped).Bne(A1, T2, "stopped");
            Srst(p, Sbi.SrstShutdown, Sbi.SrstReasonNone);
            p.Hang();
            p.Label("second");
            p.WithResults().Emit(Sd(A0, S11, 0), Sd(A1, S11, 8), Csrr(T0, CsrAddress.Satp), Sd(T0, S11, 16));
            p.Li(T0, (long)Flag).Li(T1, 1).Emit(Sd(T1, T0, 0));
            p.Sbi(Sbi.Hsm, Sbi.HsmHartStop);
            p.Print("hart_stop returned");
            p.Hang();
        });
        DomainId d = AddLinux(rig, image, vcpus: 2);
        rig.Run();
        Assert.Equal((DomainState.Shutdown, ShutdownReason.Poweroff), (rig.Info(d).State, rig.Info(d).Reason));
        Assert.Equal(Sbi.HsmStopped, rig.Reg(d, S2));
        Assert.Equal(Sbi.ErrInvalidParam, (long)rig.Reg(d, S3));
        Assert.Equal(0UL, rig.Reg(d, S4));
        Assert.Equal(Sbi.ErrAlreadyAvailable, (long)rig.Reg(d, S5));
        Assert.Equal(Sbi.ErrInvalidParam, (long)rig.Reg(d, S6));
        Assert.Equal(Sbi.ErrAlreadyAvailable, (long)rig.Reg(d, S7));
        Assert.Equal([1UL, 0x1234UL, 0UL], [rig.ReadU64(d, GuestCode.Results), rig.ReadU64(d, GuestCode.Results + 8), rig.ReadU64(d, GuestCode.Results + 16)]);
        Assert.DoesNotContain("hart_stop returned", rig.Console(d));
    }

    [Fact]
    public void AnIpiRaisesASupervisorSoftwareInterruptOnItsTarget()
    {
        using var rig = new Rig();
        byte[] image = FakeImage(p =>
        {
            p.La(A1, "second").Li(A0, 1).Li(A2, 0).Li(A6, (long)Sbi.HsmHartStart).Li(A7, (long)Sbi.Hsm).Emit(Ecall());
            p.Label("wait").Li(T0, (long)Flag).Emit(Ld(T1, T0, 0)).Beq(T1, Zero, "wait");
            p.Sbi(Sbi.Ipi, Sbi.IpiSendIpi, 1 << 5, 0).Emit(Mv(S2, A0));            // hart 5: none
            p.Sbi(Sbi.Ipi, Sbi.IpiSendIpi, 1, 1).Emit(Mv(S3, A0));                 // hart 1 (base 1, bit 0)
            p.Label("idle").Emit(Wfi()).J("idle");
            p.Label("second");
            p.La(T0, "handler").Emit(Csrw(CsrAddress.Stvec, T0));
            p.Li(T0, 1 << 1).Emit(Csrw(CsrAddress.Sie, T0));                      // SSIE
            p.Emit(Csrsi(CsrAddress.Sstatus, 1 << 1));                              // SIE
            p.Li(T0, (long)Flag).Li(T1, 1).Emit(Sd(T1, T0, 0));
            p.Label("sleep").Emit(Wfi()).J("sleep");
            p.Align(4).Label("handler");
            p.WithResults().Emit(Csrr(T0, CsrAddress.Scause), Sd(T0, S11, 0), Csrr(T0, CsrAddress.Sip), Sd(T0, S11, 8));
            Srst(p, Sbi.SrstShutdown, Sbi.SrstReasonNone);
            p.Hang();
        });
        DomainId d = AddLinux(rig, image, vcpus: 2);
        rig.Run();
        Assert.Equal((DomainState.Shutdown, ShutdownReason.Poweroff), (rig.Info(d).State, rig.Info(d).Reason));
        Assert.Equal(Sbi.ErrInvalidParam, (long)rig.Reg(d, S2));
        Assert.Equal(0UL, rig.Reg(d, S3));
        Assert.Equal((1UL << 63) | 1, rig.ReadU64(d, GuestCode.Results));
        Assert.Equal(2UL, rig.ReadU64(d, GuestCode.Results + 8) & 2);
    }

    [Fact]
    public void RemoteFencesCheckTheirHartsAndRefuseHypervisorFences()
    {
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Sbi(Sbi.Rfence, Sbi.RfenceFenceI, 1, 0).Emit(Mv(S2, A0));
        p.Sbi(Sbi.Rfence, Sbi.RfenceSfenceVma, -1, -1, 0, -1).Emit(Mv(S3, A0));
        p.Sbi(Sbi.Rfence, Sbi.RfenceSfenceVmaAsid, 1, 0, 0, 4096, 3).Emit(Mv(S4, A0));
        p.Sbi(Sbi.Rfence, Sbi.RfenceSfenceVma, 1 << 3, 0, 0, 4096).Emit(Mv(S5, A0));
        p.Sbi(Sbi.Rfence, 3, 1, 0, 0, 4096).Emit(Mv(S6, A0));
        p.Sbi(Sbi.Base, 3, (long)Sbi.Rfence).Emit(Mv(S7, A1));
        p.Shutdown();
        DomainId d = rig.Add(p, vcpus: 2);
        rig.Run();
        Assert.Equal([0UL, 0UL, 0UL], [rig.Reg(d, S2), rig.Reg(d, S3), rig.Reg(d, S4)]);
        Assert.Equal(Sbi.ErrInvalidParam, (long)rig.Reg(d, S5));
        Assert.Equal(Sbi.ErrNotSupported, (long)rig.Reg(d, S6));
        Assert.Equal(1UL, rig.Reg(d, S7));
    }

    [Fact]
    public void RemoteSfenceVmaDropsTheTargetsCachedTranslation()
    {
        // vCPU 0 maps a page, reads through it (cached), remaps it in the page table without a local sfence.vma,
        // then asks for a remote sfence.vma on itself: the next read must see the new mapping.
        const ulong root = 0x8030_0000, l1 = 0x8030_1000, l0 = 0x8030_2000;
        const ulong va = 0x4000_0000, pageA = 0x8031_0000, pageB = 0x8031_1000;
        static long Pte(ulong pa, ulong flags) => (long)(((pa >> 12) << 10) | flags);
        using var rig = new Rig();
        var p = GuestCode.New();
        p.Li(T0, (long)root).Li(T1, Pte(GuestLayout.RamBase, 0xCF)).Emit(Sd(T1, T0, 16)); // VPN2 = 2: RAM, identity (RWX)
        p.Li(T0, (long)root).Li(T1, Pte(l1, 1)).Emit(Sd(T1, T0, 8));             // VPN2 = 1 → l1
        p.Li(T0, (long)l1).Li(T1, Pte(l0, 1)).Emit(Sd(T1, T0, 0));
        p.Li(T0, (long)l0).Li(T1, Pte(pageA, 0xC7)).Emit(Sd(T1, T0, 0));        // V R W A D
        p.Li(T0, (long)pageA).Li(T1, 0xAA).Emit(Sd(T1, T0, 0));
        p.Li(T0, (long)pageB).Li(T1, 0xBB).Emit(Sd(T1, T0, 0));
        p.Li(T0, unchecked((long)((8UL << 60) | (root >> 12)))).Emit(Csrw(CsrAddress.Satp, T0), SfenceVma(Zero, Zero));
        p.Li(T3, (long)va).Emit(Ld(S2, T3, 0));
        p.Li(T0, (long)l0).Li(T1, Pte(pageB, 0xC7)).Emit(Sd(T1, T0, 0));
        p.Li(T3, (long)va).Emit(Ld(S3, T3, 0));
        p.Sbi(Sbi.Rfence, Sbi.RfenceSfenceVma, 1, 0, (long)va, 4096);
        p.Li(T3, (long)va).Emit(Ld(S4, T3, 0));
        p.Emit(Csrw(CsrAddress.Satp, Zero));
        p.Shutdown();
        DomainId d = rig.Add(p);
        rig.Run();
        Assert.Equal(DomainState.Shutdown, rig.Info(d).State);
        Assert.Equal(0xAAUL, rig.Reg(d, S2));
        // Without an sfence.vma the hart keeps the cached translation (as the privileged spec allows): what lets
        // this test fail if the remote fence did nothing.
        Assert.Equal(0xAAUL, rig.Reg(d, S3));
        Assert.Equal(0xBBUL, rig.Reg(d, S4));
    }

    [Fact]
    public void SystemResetEndsTheDomainWithItsTypeAndReason()
    {
        (ShutdownReason?, long?, ulong) Run(ulong type, ulong reason)
        {
            using var rig = new Rig();
            var p = GuestCode.New();
            Srst(p, type, reason).Emit(Mv(S2, A0));
            p.Shutdown(42);
            DomainId d = rig.Add(p);
            rig.Run();
            return (rig.Info(d).Reason, rig.Info(d).ExitCode, rig.Reg(d, S2));
        }
        Assert.Equal((ShutdownReason.Poweroff, 0L), Pick(Run(Sbi.SrstShutdown, Sbi.SrstReasonNone)));
        Assert.Equal((ShutdownReason.Poweroff, 1L), Pick(Run(Sbi.SrstShutdown, Sbi.SrstReasonSystemFailure)));
        Assert.Equal((ShutdownReason.Reboot, 0L), Pick(Run(Sbi.SrstColdReboot, Sbi.SrstReasonNone)));
        Assert.Equal((ShutdownReason.Reboot, 1L), Pick(Run(Sbi.SrstWarmReboot, Sbi.SrstReasonSystemFailure)));
        // Refused: the domain goes on to its own shutdown (exit code 42) with the error in a0.
        var (reason, code, error) = Run(5, 0);
        Assert.Equal((ShutdownReason.Poweroff, 42L, Sbi.ErrInvalidParam), (reason, code, (long)error));
        Assert.Equal(Sbi.ErrNotSupported, (long)Run(0xF000_0000, 0).Item3);
        Assert.Equal(Sbi.ErrInvalidParam, (long)Run(0, 7).Item3);
    }

    private static (ShutdownReason?, long?) Pick((ShutdownReason?, long?, ulong) r) => (r.Item1, r.Item2);
}
