using System.Buffers.Binary;
using System.Text;
using Vbase.Hypervisor.Boot;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Csrs;
using Vbase.Isa.Traps;
using Vbase.Platform.Loading;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Domains;

/// <summary>
/// Turns a <see cref="DomainConfig"/> into a paused domain, stage by stage (memory, p2m, kernel, modules,
/// start info, vCPUs); a failing stage throws <see cref="DomainBuildException"/> naming it, and nothing is left
/// allocated.
/// </summary>
internal static class DomainBuilder
{
    /// <summary>Every exception a guest may handle itself: all delegable ones except ecall-from-S (the door).</summary>
    public const ulong Medeleg = 0xB1FF & ~(1UL << (int)ExceptionCause.EcallFromS);
    public const ulong Mideleg = (1UL << (int)InterruptCause.SupervisorSoftware) | (1UL << (int)InterruptCause.SupervisorTimer)
        | (1UL << (int)InterruptCause.SupervisorExternal);

    public static Domain Build(Hypervisor hv, DomainConfig config)
    {
        Validate(config);
        DomainId id = hv.NextDomainId();
        var d = new Domain(hv, id, config);
        ulong pages = config.MemoryBytes / PageSize.Bytes;
        Mfn[] frames = hv.Machine.Allocate(id, pages)
            ?? throw new DomainBuildException("memory", $"{config.MemoryBytes} bytes requested, machine memory is short");
        try
        {
            ulong firstGfn = GuestLayout.RamBase >> PageSize.Shift;
            for (ulong i = 0; i < pages; i++)
            {
                var gfn = new Gfn(firstGfn + i);
                P2mType type = gfn.Address.Value == GuestLayout.StartInfo ? P2mType.RamRo : P2mType.RamRw;
                d.P2m.Set(gfn, new P2mEntry(frames[i], type));
            }
            d.SharedInfoMfn = d.P2m.Lookup(new GuestPhysicalAddress(GuestLayout.SharedInfo).Gfn).Mfn;
            if (LinuxImage.IsImage(config.Kernel))
            {
                LinuxLayout linux = LoadLinux(d, config);
                for (int v = 0; v < config.VcpuCount; v++)
                {
                    d.Vcpus.Add(CreateLinuxVcpu(d, v, linux));
                }
                AddLinuxDevices(hv, d, config);
            }
            else
            {
                ElfImage kernel = LoadKernel(d, config);
                List<(ulong Gpa, ulong Size, string Name)> modules = PackModules(d, config);
                WriteStartInfo(d, config, modules);
                for (int v = 0; v < config.VcpuCount; v++)
                {
                    d.Vcpus.Add(CreateVcpu(d, v, kernel.Entry));
                }
            }
        }
        catch
        {
            foreach (Vcpu v in d.Vcpus)
            {
                v.Dispose();
            }
            hv.Machine.Free(id);
            throw;
        }
        return d;
    }

    private static void Validate(DomainConfig c)
    {
        if (string.IsNullOrWhiteSpace(c.Name))
        {
            throw new DomainBuildException("config", "a domain needs a name");
        }
        if (c.MemoryBytes % PageSize.Bytes != 0 || c.MemoryBytes < (GuestLayout.KernelBase - GuestLayout.RamBase) + PageSize.Bytes)
        {
            throw new DomainBuildException("config", $"memory must be whole pages and reach past the kernel base 0x{GuestLayout.KernelBase:x}");
        }
        if (c.VcpuCount is < 1 or > SharedInfoLayout.MaxVcpus)
        {
            throw new DomainBuildException("config", $"vCPU count must be 1..{SharedInfoLayout.MaxVcpus}");
        }
        if (c.Modules.Count > StartInfoLayout.MaxModules)
        {
            throw new DomainBuildException("modules", $"at most {StartInfoLayout.MaxModules} modules");
        }
        if (LinuxImage.IsImage(c.Kernel))
        {
            if (c.Modules.Count > 0)
            {
                throw new DomainBuildException("modules", "a Linux kernel takes an initrd, not modules");
            }
            if (Encoding.UTF8.GetByteCount(c.Cmdline) > LinuxBoot.MaxBootargsBytes || c.Cmdline.Contains('\0', StringComparison.Ordinal))
            {
                throw new DomainBuildException("cmdline", $"Linux's command line must be at most {LinuxBoot.MaxBootargsBytes} bytes, without NUL");
            }
            return;
        }
        if (c.Initrd is not null)
        {
            throw new DomainBuildException("initrd", "only a Linux Image kernel takes an initrd");
        }
        if (c.VirtioConsole)
        {
            throw new DomainBuildException("console", "only a Linux Image kernel has a virtio-console (the small kernel's console is the hypervisor's)");
        }
        if (Encoding.UTF8.GetByteCount(c.Cmdline) >= StartInfoLayout.CmdlineBytes)
        {
            throw new DomainBuildException("cmdline", $"the command line must be shorter than {StartInfoLayout.CmdlineBytes} bytes");
        }
        if (c.Network is DomainNetInfo net && (net.Ip.Length != 4 || net.Arp.Count > StartInfoLayout.MaxArp
            || net.Arp.Any(a => a.Ip.Length != 4 || a.Mac.Length != 6)))
        {
            throw new DomainBuildException("network", $"an IPv4 address is 4 bytes, a MAC 6, and the ARP table holds at most {StartInfoLayout.MaxArp} entries");
        }
    }

    /// <summary>Loads a Linux Image, its initrd and the domain's device tree (<see cref="LinuxBoot"/>).</summary>
    private static LinuxLayout LoadLinux(Domain d, DomainConfig config)
    {
        LinuxImage image;
        LinuxLayout layout;
        byte[] initrd = config.Initrd ?? [];
        byte[] dtb;
        try
        {
            image = LinuxImage.Parse(config.Kernel);
            // The tree's size does not depend on the addresses in it: plan with a draft, then write the real one.
            var devices = new LinuxDevices(Nic: config.Network is not null, Console: config.VirtioConsole);
            byte[] draft = LinuxBoot.DeviceTree(config.MemoryBytes, config.VcpuCount, config.Cmdline, 0, (ulong)initrd.Length, devices);
            layout = LinuxBoot.Plan(image, (ulong)initrd.Length, (ulong)draft.Length, config.MemoryBytes);
            dtb = LinuxBoot.DeviceTree(config.MemoryBytes, config.VcpuCount, config.Cmdline, layout.InitrdStart, layout.InitrdEnd, devices);
        }
        catch (FormatException e)
        {
            throw new DomainBuildException("kernel", e.Message);
        }
        WriteBuild(d, layout.Kernel, config.Kernel);
        WriteBuild(d, layout.InitrdStart, initrd);
        WriteBuild(d, layout.Dtb, dtb);
        return layout;
    }

    /// <summary>
    /// A Linux guest's devices: the virtual PLIC (one S-mode context per vCPU, driving its SEIP) and the
    /// virtio-console if asked for. The NIC, named in the device tree when the domain has an address, is
    /// attached by Dom0 afterwards, as for the small kernel.
    /// </summary>
    private static void AddLinuxDevices(Hypervisor hv, Domain d, DomainConfig config)
    {
        d.Plic = new Vbase.Platform.Devices.VirtualPlic((int)GuestLayout.PlicSources, config.VcpuCount, GuestLayout.PlicBytes,
            _ => d.Events.UpdateUpcallLines());
        d.MapMmio(GuestLayout.PlicBase, d.Plic);
        if (config.VirtioConsole)
        {
            d.VirtioConsole = new Devices.GuestConsole(hv, d);
        }
    }

    /// <summary>
    /// A vCPU of a Linux guest: vCPU 0 enters the kernel with a0 = hart id, a1 = the DTB, satp = 0; the others
    /// are HSM-stopped until Linux starts them (SBI hart_start).
    /// </summary>
    private static Vcpu CreateLinuxVcpu(Domain d, int id, LinuxLayout layout)
    {
        Vcpu v = CreateVcpu(d, id, layout.Kernel);
        v.Hart.SetRegister(11, layout.Dtb);
        v.Stopped = id != 0;
        return v;
    }

    private static ElfImage LoadKernel(Domain d, DomainConfig config)
    {
        ElfImage image;
        try
        {
            image = config.Kernel.AsSpan().StartsWith("\u007fELF"u8)
                ? ElfImage.Parse(config.Name, config.Kernel)
                : ElfImage.FromBinary(config.Name, GuestLayout.KernelBase, config.Kernel);
        }
        catch (ElfLoadException e)
        {
            throw new DomainBuildException("kernel", e.Message);
        }
        foreach (ElfSegment s in image.Segments)
        {
            if (s.Address < GuestLayout.KernelBase || !Fits(d, s.Address, Math.Max(s.MemorySize, (ulong)s.FileData.Length)))
            {
                throw new DomainBuildException("kernel", $"segment at 0x{s.Address:x} (0x{s.MemorySize:x} bytes) is outside the kernel area of guest RAM");
            }
            WriteBuild(d, s.Address, s.FileData);
        }
        return image;
    }

    private static List<(ulong, ulong, string)> PackModules(Domain d, DomainConfig config)
    {
        var result = new List<(ulong, ulong, string)>();
        ulong at = GuestLayout.ModulesBase;
        foreach (DomainModule m in config.Modules)
        {
            if (Encoding.UTF8.GetByteCount(m.Name) >= StartInfoLayout.ModuleNameBytes)
            {
                throw new DomainBuildException("modules", $"module name '{m.Name}' is longer than {StartInfoLayout.ModuleNameBytes - 1} bytes");
            }
            if (at + (ulong)m.Image.Length > GuestLayout.ModulesEnd)
            {
                throw new DomainBuildException("modules", $"module '{m.Name}' does not fit below 0x{GuestLayout.ModulesEnd:x}");
            }
            WriteBuild(d, at, m.Image);
            result.Add((at, (ulong)m.Image.Length, m.Name));
            at = (at + (ulong)m.Image.Length + 7) & ~7UL;
        }
        return result;
    }

    private static void WriteStartInfo(Domain d, DomainConfig config, List<(ulong Gpa, ulong Size, string Name)> modules)
    {
        byte[] page = new byte[PageSize.Bytes];
        Encoding.ASCII.GetBytes(StartInfoLayout.Magic).CopyTo(page, StartInfoLayout.MagicOffset);
        Span<byte> p = page;
        BinaryPrimitives.WriteUInt64LittleEndian(p[StartInfoLayout.DomId..], d.Id.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(p[StartInfoLayout.NrVcpus..], (ulong)config.VcpuCount);
        BinaryPrimitives.WriteUInt64LittleEndian(p[StartInfoLayout.RamBase..], GuestLayout.RamBase);
        BinaryPrimitives.WriteUInt64LittleEndian(p[StartInfoLayout.RamSize..], config.MemoryBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(p[StartInfoLayout.SharedInfoGpa..], GuestLayout.SharedInfo);
        BinaryPrimitives.WriteUInt64LittleEndian(p[StartInfoLayout.NrModules..], (ulong)modules.Count);
        for (int i = 0; i < modules.Count; i++)
        {
            Span<byte> m = p.Slice(StartInfoLayout.Modules + (i * StartInfoLayout.ModuleSize), StartInfoLayout.ModuleSize);
            BinaryPrimitives.WriteUInt64LittleEndian(m, modules[i].Gpa);
            BinaryPrimitives.WriteUInt64LittleEndian(m[8..], modules[i].Size);
            Encoding.UTF8.GetBytes(modules[i].Name).CopyTo(m[16..]);
        }
        Encoding.UTF8.GetBytes(config.Cmdline).CopyTo(p[StartInfoLayout.Cmdline..]);
        if (config.Network is DomainNetInfo net)
        {
            net.Ip.CopyTo(p[StartInfoLayout.NetIp..]);
            BinaryPrimitives.WriteUInt32LittleEndian(p[StartInfoLayout.NetNrArp..], (uint)net.Arp.Count);
            for (int i = 0; i < net.Arp.Count; i++)
            {
                Span<byte> a = p.Slice(StartInfoLayout.NetArp + (i * StartInfoLayout.ArpEntrySize), StartInfoLayout.ArpEntrySize);
                net.Arp[i].Ip.CopyTo(a);
                net.Arp[i].Mac.CopyTo(a[4..]);
            }
        }
        WriteBuild(d, GuestLayout.StartInfo, page);
    }

    private static Vcpu CreateVcpu(Domain d, int id, ulong entry)
    {
        var v = new Vcpu(d, id);
        var h = v.Hart;
        h.TrySetCsr(CsrAddress.Medeleg, Medeleg);
        h.TrySetCsr(CsrAddress.Mideleg, Mideleg);
        // The guest kernel may read time, cycle and instret itself, as under OpenSBI.
        h.TrySetCsr(CsrAddress.Mcounteren, 0x7);
        h.Enter(Privilege.Supervisor, entry);
        h.SetRegister(10, (ulong)id);
        h.SetRegister(11, GuestLayout.StartInfo);
        return v;
    }

    private static bool Fits(Domain d, ulong gpa, ulong length) =>
        gpa >= GuestLayout.RamBase && length <= d.Config.MemoryBytes && gpa - GuestLayout.RamBase <= d.Config.MemoryBytes - length;

    /// <summary>Builder writes go straight to the frames behind the p2m, whatever the entry's type (ram_ro included).</summary>
    private static unsafe void WriteBuild(Domain d, ulong gpa, ReadOnlySpan<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            ulong a = gpa + (ulong)done;
            P2mEntry e = d.P2m.Lookup(new Gfn(a >> PageSize.Shift));
            int off = (int)(a & PageSize.Mask);
            int n = Math.Min(PageSize.Bytes - off, data.Length - done);
            data.Slice(done, n).CopyTo(d.Machine.Frame(e.Mfn).Slice(off, n));
            done += n;
        }
    }
}
