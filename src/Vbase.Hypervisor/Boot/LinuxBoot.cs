using System.Text;
using Vbase.Isa.Harts;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Memory;

namespace Vbase.Hypervisor.Boot;

/// <summary>Where a Linux guest's pieces went in its RAM: the kernel (and its entry), the initrd and the DTB.</summary>
public sealed record LinuxLayout(ulong Kernel, ulong KernelEnd, ulong InitrdStart, ulong InitrdEnd, ulong Dtb, ulong DtbSize);

/// <summary>The virtio-mmio devices a Linux domain has, for its device tree (the PLIC is always there).</summary>
/// <param name="Nic">virtio-net in slot 0 (the scenario's <c>nic:</c>; Dom0 attaches it before the domain runs).</param>
/// <param name="Console">virtio-console in slot <see cref="GuestLayout.VirtioConsoleSlot"/> (<c>console: virtio</c>).</param>
public sealed record LinuxDevices(bool Nic = false, bool Console = false)
{
    public static readonly LinuxDevices None = new();

    /// <summary>The slots in use, in order.</summary>
    public IEnumerable<int> Slots()
    {
        if (Nic)
        {
            yield return 0;
        }
        if (Console)
        {
            yield return (int)GuestLayout.VirtioConsoleSlot;
        }
    }
}

/// <summary>
/// The RISC-V Linux boot protocol (Documentation/riscv/boot.rst) for a guest domain: the Image at RAM base +
/// text_offset, the initrd and a device tree generated for the domain placed in RAM where they do not overlap
/// it (as QEMU's virt machine places them), and vCPU 0 entered in S-mode with a0 = hart id, a1 = the DTB's
/// address, satp = 0. The other vCPUs start stopped and are started by Linux through SBI HSM.
/// </summary>
public static class LinuxBoot
{
    /// <summary>Linux's COMMAND_LINE_SIZE on RISC-V (1024, the NUL included).</summary>
    public const int MaxBootargsBytes = 1023;

    /// <summary>The initrd goes at least this far above the kernel's start (QEMU: min(RAM / 2, 128 MiB)).</summary>
    public const ulong MaxInitrdGap = 128UL << 20;

    /// <summary>
    /// Pages of guest RAM the hypervisor keeps for itself (start info, shared info), which Linux must neither map
    /// nor allocate: a /reserved-memory node with no-map, as OpenSBI reserves its own region.
    /// </summary>
    public const ulong HypervisorPages = GuestLayout.StartInfo, HypervisorPagesEnd = GuestLayout.SharedInfo + PageSize.Bytes;

    /// <summary>What the hart implements, as a device tree's <c>riscv,isa</c> string: rv64 + misa's letters in canonical order + Zicsr_Zifencei.</summary>
    public static string IsaString(ulong misa)
    {
        var s = new StringBuilder("rv64");
        foreach (char c in "imafdqcbvh")
        {
            if ((misa & (1UL << (c - 'a'))) != 0)
            {
                s.Append(c);
            }
        }
        return s.Append("_zicsr_zifencei").ToString();
    }

    /// <summary>
    /// Plans where the kernel, initrd and DTB go in <paramref name="ramBytes"/> of RAM at <see cref="GuestLayout.RamBase"/>.
    /// </summary>
    /// <exception cref="FormatException">They do not fit; the message says what is short.</exception>
    public static LinuxLayout Plan(LinuxImage image, ulong initrdBytes, ulong dtbBytes, ulong ramBytes)
    {
        ulong ramEnd = GuestLayout.RamBase + ramBytes;
        ulong kernel = GuestLayout.RamBase + image.TextOffset;
        ulong kernelEnd = kernel + image.ImageSize;
        ulong initrd = AlignUp(Math.Max(kernelEnd, kernel + Math.Min(ramBytes / 2, MaxInitrdGap)), PageSize.Bytes);
        ulong initrdEnd = initrd + initrdBytes;
        // The DTB at the top of RAM, on a 2 MiB boundary (as QEMU places it), and never below the initrd.
        ulong dtb = ramEnd >= dtbBytes ? (ramEnd - dtbBytes) & ~(LinuxImage.Alignment - 1) : 0;
        if (dtb < initrdEnd)
        {
            dtb = AlignUp(initrdEnd, 8);
        }
        ulong need = dtb + dtbBytes - GuestLayout.RamBase;
        if (kernel < GuestLayout.KernelBase || dtb + dtbBytes > ramEnd)
        {
            throw new FormatException(
                $"guest RAM of {ramBytes >> 20} MiB is too small for the kernel (0x{image.ImageSize:x} bytes at +0x{image.TextOffset:x}), " +
                $"the initrd ({initrdBytes} bytes) and the device tree: it needs at least {(need + (1UL << 20) - 1) >> 20} MiB");
        }
        return new LinuxLayout(kernel, kernelEnd, initrd, initrdEnd, dtb, dtbBytes);
    }

    /// <summary>
    /// What a scenario's <c>console: virtio</c> adds to bootargs: Linux's virtio_console registers its port as the
    /// hvc console after the SBI's (hvc0), so it is hvc1.
    /// </summary>
    public const string VirtioConsoleArgument = "console=hvc1";

    /// <summary>The phandle of the PLIC; a vCPU's cpu-intc is its id + 1.</summary>
    public const uint PlicPhandle = 0x100;

    /// <summary>The S-mode external interrupt (scause 9): each PLIC context's line into its hart's cpu-intc.</summary>
    public const uint SupervisorExternalInterrupt = 9;

    /// <summary>
    /// The device tree of a domain: memory, CPUs and their interrupt controllers, /chosen, and /soc with the
    /// virtual PLIC and a <c>virtio,mmio</c> node per device in <paramref name="devices"/>.
    /// </summary>
    public static byte[] DeviceTree(ulong ramBytes, int vcpus, string bootargs, ulong initrdStart, ulong initrdEnd, LinuxDevices? devices = null)
    {
        devices ??= LinuxDevices.None;
        string isa = IsaString(Hart.MisaValue);
        var w = new FdtWriter { BootCpu = 0 };
        w.BeginNode("")
            .Cells("#address-cells", 2).Cells("#size-cells", 2)
            .Property("compatible", "vbase,guest-domain")
            .Property("model", "Vbase guest domain");

        w.BeginNode("chosen").Property("bootargs", bootargs);
        if (initrdEnd > initrdStart)
        {
            w.Cells64("linux,initrd-start", initrdStart).Cells64("linux,initrd-end", initrdEnd);
        }
        w.EndNode();

        w.BeginNode($"memory@{GuestLayout.RamBase:x}")
            .Property("device_type", "memory")
            .Cells64("reg", GuestLayout.RamBase, ramBytes)
            .EndNode();

        w.BeginNode("reserved-memory")
            .Cells("#address-cells", 2).Cells("#size-cells", 2).Property("ranges")
            .BeginNode($"vbase@{HypervisorPages:x}")
            .Cells64("reg", HypervisorPages, HypervisorPagesEnd - HypervisorPages)
            .Property("no-map")
            .EndNode()
            .EndNode();

        w.BeginNode("cpus")
            .Cells("#address-cells", 1).Cells("#size-cells", 0)
            .Cells("timebase-frequency", (uint)GuestLayout.TimebaseFrequency);
        for (int i = 0; i < vcpus; i++)
        {
            w.BeginNode($"cpu@{i:x}")
                .Property("device_type", "cpu")
                .Cells("reg", (uint)i)
                .Property("status", "okay")
                .Property("compatible", "riscv")
                .Property("riscv,isa", isa)
                .Property("mmu-type", "riscv,sv39")
                .BeginNode("interrupt-controller")
                .Cells("#address-cells", 0)
                .Cells("#interrupt-cells", 1)
                .Property("interrupt-controller")
                .Property("compatible", "riscv,cpu-intc")
                .Cells("phandle", (uint)(i + 1))
                .EndNode()
                .EndNode();
        }
        w.EndNode();

        // As QEMU virt's: the PLIC with one S-mode context per hart (context n: vCPU n's external interrupt), and
        // virtio-mmio slot n on source n + 1.
        w.BeginNode("soc")
            .Cells("#address-cells", 2).Cells("#size-cells", 2)
            .Property("compatible", "simple-bus")
            .Property("ranges");
        var contexts = new uint[vcpus * 2];
        for (int i = 0; i < vcpus; i++)
        {
            contexts[2 * i] = (uint)(i + 1);
            contexts[(2 * i) + 1] = SupervisorExternalInterrupt;
        }
        w.BeginNode($"plic@{GuestLayout.PlicBase:x}")
            .Property("compatible", "sifive,plic-1.0.0", "riscv,plic0")
            .Cells64("reg", GuestLayout.PlicBase, GuestLayout.PlicBytes)
            .Cells("#address-cells", 0)
            .Cells("#interrupt-cells", 1)
            .Property("interrupt-controller")
            .Cells("interrupts-extended", contexts)
            .Cells("riscv,ndev", (uint)GuestLayout.PlicSources)
            .Cells("phandle", PlicPhandle)
            .EndNode();
        foreach (int slot in devices.Slots())
        {
            ulong gpa = GuestLayout.VirtioMmioBase + ((ulong)slot * GuestLayout.VirtioMmioStride);
            w.BeginNode($"virtio_mmio@{gpa:x}")
                .Property("compatible", "virtio,mmio")
                .Cells64("reg", gpa, GuestLayout.VirtioMmioStride)
                .Cells("interrupts", (uint)PlicSource(slot))
                .Cells("interrupt-parent", PlicPhandle)
                .EndNode();
        }
        w.EndNode();
        return w.EndNode().ToArray();
    }

    /// <summary>The PLIC source of virtio-mmio slot <paramref name="slot"/> (as on QEMU virt: slot + 1).</summary>
    public static int PlicSource(int slot) => slot + 1;

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
