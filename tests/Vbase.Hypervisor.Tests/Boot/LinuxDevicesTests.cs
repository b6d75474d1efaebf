using Vbase.Hypervisor.Boot;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Platform.Devices;
using Vbase.Platform.Devices.Virtio;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Boot;

/// <summary>
/// A Linux domain's devices from the guest's side, driven by a few instructions instead of Linux: the virtual PLIC
/// raises and lowers the vCPU's SEIP as its gateway and claim/complete say, the virtio-console's output reaches
/// the domain's console, and the device tree names both.
/// </summary>
public sealed class LinuxDevicesTests
{
    private const ulong Ram = 16UL << 20;
    private const ulong Desc = 0x8080_0000, Avail = 0x8080_1000, Used = 0x8080_2000, Buffer = 0x8080_3000;
    private const long SeipBit = 1L << 9;
    private static readonly ulong Console = GuestLayout.VirtioMmioBase + (GuestLayout.VirtioConsoleSlot * GuestLayout.VirtioMmioStride);
    private static readonly int ConsoleSource = LinuxBoot.PlicSource((int)GuestLayout.VirtioConsoleSlot);

    private static DomainId AddLinux(Rig rig, byte[] image, bool virtioConsole, int vcpus = 1)
    {
        DomainHandle h = rig.Hv.Dom0.CreateDomain(new DomainConfig
        {
            Name = "linux",
            Kernel = image,
            Cmdline = "console=hvc1",
            MemoryBytes = Ram,
            VcpuCount = vcpus,
            VirtioConsole = virtioConsole,
        });
        rig.Hv.Dom0.Unpause(h.Id);
        return h.Id;
    }

    private static ProgramBuilder Store(ProgramBuilder p, ulong address, long value) =>
        p.Li(T0, (long)address).Li(T1, value).Emit(Sw(T1, T0, 0));

    private static ProgramBuilder Mmio(ProgramBuilder p, VirtioMmioRegister register, long value) => Store(p, Console + (ulong)register, value);

    /// <summary>What Linux's virtio_mmio and virtio_console do, reduced: features, the transmit queue, DRIVER_OK.</summary>
    private static void BringUpConsole(ProgramBuilder p)
    {
        Mmio(p, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver);
        Mmio(p, VirtioMmioRegister.DriverFeaturesSel, 1);
        Mmio(p, VirtioMmioRegister.DriverFeatures, 1);
        Mmio(p, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk);
        Mmio(p, VirtioMmioRegister.QueueSel, VirtioConsoleDevice.TransmitQueue);
        Mmio(p, VirtioMmioRegister.QueueNum, 8);
        Mmio(p, VirtioMmioRegister.QueueDescLow, (long)Desc);
        Mmio(p, VirtioMmioRegister.QueueDriverLow, (long)Avail);
        Mmio(p, VirtioMmioRegister.QueueDeviceLow, (long)Used);
        Mmio(p, VirtioMmioRegister.QueueReady, 1);
        Mmio(p, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk | Virtio.StatusDriverOk);
    }

    /// <summary>"hi\n" in one descriptor, offered on the transmit queue (not yet notified).</summary>
    private static void OfferOutput(ProgramBuilder p)
    {
        Store(p, Buffer, 0x0A_6968);
        p.Li(T0, (long)Desc).Li(T1, (long)Buffer).Emit(Sd(T1, T0, 0)).Li(T1, 3).Emit(Sw(T1, T0, 8), Sw(Zero, T0, 12));
        p.Li(T0, (long)Avail).Emit(Sh(Zero, T0, 4)).Li(T1, 1).Emit(Sh(T1, T0, 2));
    }

    private static ulong Claim(int context) => GuestLayout.PlicBase + VirtualPlic.ContextBase + ((ulong)context * VirtualPlic.ContextStride) + VirtualPlic.ClaimOffset;

    [Fact]
    public void TheConsolesInterruptRaisesSeipUntilClaimedAndItsOutputReachesTheConsole()
    {
        using var rig = new Rig();
        byte[] image = LinuxBootTests.FakeImage(p =>
        {
            BringUpConsole(p);
            OfferOutput(p);
            // Linux's PLIC driver: priority 1 for the source, enabled in this hart's S-mode context, threshold 0.
            Store(p, GuestLayout.PlicBase + (4UL * (ulong)ConsoleSource), 1);
            Store(p, GuestLayout.PlicBase + VirtualPlic.EnableBase, 1L << ConsoleSource);
            p.Emit(Csrr(S2, CsrAddress.Sip));
            Mmio(p, VirtioMmioRegister.QueueNotify, VirtioConsoleDevice.TransmitQueue);
            p.Emit(Csrr(S3, CsrAddress.Sip));
            p.Li(S1, (long)Claim(0)).Emit(Lw(S4, S1, 0), Csrr(S5, CsrAddress.Sip));
            // The handler: read and acknowledge InterruptStatus (the line falls), then complete.
            p.Li(T0, (long)Console).Emit(Lw(S6, T0, (long)VirtioMmioRegister.InterruptStatus), Sw(S6, T0, (long)VirtioMmioRegister.InterruptAck));
            p.Emit(Sw(S4, S1, 0), Csrr(S7, CsrAddress.Sip), Lw(S8, S1, 0));
            // A hostile guest: completions of a source never raised, of no source, a claim in a context with no vCPU.
            p.Li(T1, 5).Emit(Sw(T1, S1, 0)).Li(T1, -1).Emit(Sw(T1, S1, 0));
            p.Li(T0, (long)Claim(1)).Emit(Lw(S9, T0, 0), Csrr(S10, CsrAddress.Sip));
            p.Sbi(Sbi.Srst, Sbi.SrstSystemReset, (long)Sbi.SrstShutdown, (long)Sbi.SrstReasonNone);
            p.Hang();
        });
        DomainId d = AddLinux(rig, image, virtioConsole: true);
        rig.Run();
        Assert.Equal((DomainState.Shutdown, ShutdownReason.Poweroff), (rig.Info(d).State, rig.Info(d).Reason));
        Assert.Equal(0L, (long)rig.Reg(d, S2) & SeipBit);
        Assert.Equal(SeipBit, (long)rig.Reg(d, S3) & SeipBit);
        Assert.Equal((ulong)ConsoleSource, rig.Reg(d, S4));
        Assert.Equal(0L, (long)rig.Reg(d, S5) & SeipBit);     // in flight: the gateway holds it
        Assert.Equal(Virtio.InterruptUsedBuffer, rig.Reg(d, S6));
        Assert.Equal(0L, (long)rig.Reg(d, S7) & SeipBit);     // acknowledged, then completed: nothing pending
        Assert.Equal(0UL, rig.Reg(d, S8));
        Assert.Equal(0UL, rig.Reg(d, S9));
        Assert.Equal(0L, (long)rig.Reg(d, S10) & SeipBit);
        Assert.Equal("hi\n", rig.Console(d));
    }

    [Fact]
    public void AnUnackedInterruptIsPendingAgainAfterCompletion()
    {
        using var rig = new Rig();
        byte[] image = LinuxBootTests.FakeImage(p =>
        {
            BringUpConsole(p);
            OfferOutput(p);
            Store(p, GuestLayout.PlicBase + (4UL * (ulong)ConsoleSource), 1);
            Store(p, GuestLayout.PlicBase + VirtualPlic.EnableBase, 1L << ConsoleSource);
            Mmio(p, VirtioMmioRegister.QueueNotify, VirtioConsoleDevice.TransmitQueue);
            // Claim and complete without acknowledging InterruptStatus: the level is still high.
            p.Li(S1, (long)Claim(0)).Emit(Lw(S4, S1, 0), Sw(S4, S1, 0), Csrr(S5, CsrAddress.Sip), Lw(S6, S1, 0));
            p.Sbi(Sbi.Srst, Sbi.SrstSystemReset, (long)Sbi.SrstShutdown, (long)Sbi.SrstReasonNone);
            p.Hang();
        });
        DomainId d = AddLinux(rig, image, virtioConsole: true);
        rig.Run();
        Assert.Equal((ulong)ConsoleSource, rig.Reg(d, S4));
        Assert.Equal(SeipBit, (long)rig.Reg(d, S5) & SeipBit);
        Assert.Equal((ulong)ConsoleSource, rig.Reg(d, S6));
    }

    [Fact]
    public void ABadAccessToThePlicIsAnAccessFaultTheGuestTakes()
    {
        using var rig = new Rig();
        byte[] image = LinuxBootTests.FakeImage(p =>
        {
            p.La(T0, "trap").Emit(Csrw(CsrAddress.Stvec, T0));
            p.Li(T0, (long)GuestLayout.PlicBase + 4).Emit(Lb(S2, T0, 0));
            p.Sbi(Sbi.Srst, Sbi.SrstSystemReset, (long)Sbi.SrstShutdown, (long)Sbi.SrstReasonNone);
            p.Hang();
            p.Align(4).Label("trap").Emit(Csrr(S3, CsrAddress.Scause), Csrr(S4, CsrAddress.Stval));
            p.Sbi(Sbi.Srst, Sbi.SrstSystemReset, (long)Sbi.SrstShutdown, (long)Sbi.SrstReasonNone);
            p.Hang();
        });
        DomainId d = AddLinux(rig, image, virtioConsole: false);
        rig.Run();
        Assert.Equal((DomainState.Shutdown, ShutdownReason.Poweroff), (rig.Info(d).State, rig.Info(d).Reason));
        Assert.Equal(5UL, rig.Reg(d, S3));                      // load access fault
        Assert.Equal(GuestLayout.PlicBase + 4, rig.Reg(d, S4));
    }

    [Fact]
    public void OnlyALinuxDomainTakesAVirtioConsole()
    {
        using var rig = new Rig();
        DomainBuildException e = Assert.Throws<DomainBuildException>(() => rig.Hv.Dom0.CreateDomain(new DomainConfig
        {
            Name = "small",
            Kernel = GuestCode.New().Hang().ToArray(),
            VirtioConsole = true,
        }));
        Assert.Equal("console", e.Stage);
    }

    [Fact]
    public void TheDeviceTreeNamesThePlicPerVcpuAndEachVirtioDevice()
    {
        byte[] dtb = LinuxBoot.DeviceTree(64UL << 20, 2, "console=hvc1", 0, 0, new LinuxDevices(Nic: true, Console: true));
        FdtNode soc = FdtNode.Parse(dtb).Root.Child("soc");
        Assert.Equal("simple-bus", soc.String("compatible"));
        FdtNode plic = soc.Child("plic@c000000");
        Assert.Equal("sifive,plic-1.0.0\0riscv,plic0", plic.String("compatible"));
        Assert.Equal([GuestLayout.PlicBase, GuestLayout.PlicBytes], plic.Cells64("reg"));
        Assert.Equal([1u, 9u, 2u, 9u], plic.Cells("interrupts-extended"));   // cpu0's and cpu1's intc, S-mode external
        Assert.Equal([(uint)GuestLayout.PlicSources], plic.Cells("riscv,ndev"));
        Assert.Equal([LinuxBoot.PlicPhandle], plic.Cells("phandle"));
        Assert.True(plic.Properties.ContainsKey("interrupt-controller"));
        Assert.Equal(["plic@c000000", "virtio_mmio@10001000", "virtio_mmio@10002000"], soc.Children.Select(c => c.Name));
        for (int slot = 0; slot < 2; slot++)
        {
            FdtNode v = soc.Children[slot + 1];
            Assert.Equal("virtio,mmio", v.String("compatible"));
            Assert.Equal([GuestLayout.VirtioMmioBase + ((ulong)slot * 0x1000), 0x1000UL], v.Cells64("reg"));
            Assert.Equal([(uint)slot + 1], v.Cells("interrupts"));
            Assert.Equal([LinuxBoot.PlicPhandle], v.Cells("interrupt-parent"));
        }
        // Without devices, the PLIC alone; the cpu-intc phandles are what interrupts-extended names.
        FdtNode bare = FdtNode.Parse(LinuxBoot.DeviceTree(64UL << 20, 1, "", 0, 0)).Root;
        Assert.Equal(["plic@c000000"], bare.Child("soc").Children.Select(c => c.Name));
        Assert.Equal([1u], bare.At("cpus/cpu@0/interrupt-controller").Cells("phandle"));
    }
}
