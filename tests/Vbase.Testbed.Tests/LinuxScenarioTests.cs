using System.Buffers.Binary;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests;

/// <summary>A domain whose kernel is a Linux Image: initrd and bootargs, and a located error for each mistake.</summary>
public sealed class LinuxScenarioTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-linux-scenario-").FullName;

    public LinuxScenarioTests()
    {
        File.WriteAllBytes(Path.Combine(directory, "Image"), Image());
        File.WriteAllBytes(Path.Combine(directory, "initrd.cpio"), new byte[3 << 20]);
        byte[] elf = new byte[64];
        "\u007fELF"u8.CopyTo(elf);
        File.WriteAllBytes(Path.Combine(directory, "kernel.elf"), elf);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>A file with a RISC-V Image header (and nothing else of a kernel: the loader reads only the header).</summary>
    private static byte[] Image(uint version = 2, ulong imageSize = 4UL << 20)
    {
        byte[] b = new byte[4096];
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), 0x20_0000);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), imageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(32), version);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(56), 0x0543_5352);
        return b;
    }

    private string Write(string domain)
    {
        string path = Path.Combine(directory, "linux.yaml");
        File.WriteAllText(path, "name: l\ndomains:\n  - name: linux\n" + domain);
        return path;
    }

    private ScenarioException Fails(string domain)
    {
        string path = Write(domain);
        return Assert.Throws<ScenarioException>(() => ScenarioLoader.Load(path));
    }

    [Fact]
    public void ALinuxDomainTakesAnInitrdAndBootargs()
    {
        Scenario s = ScenarioLoader.Load(Write("    memory: 64M\n    kernel: Image\n    initrd: initrd.cpio\n    bootargs: console=hvc0 quiet\n"));
        DomainSpec d = Assert.Single(s.Domains);
        Assert.True(d.IsLinux);
        Assert.Equal(Path.Combine(directory, "initrd.cpio"), d.Initrd);
        Assert.Equal("console=hvc0 quiet", d.Cmdline);
        Assert.Empty(d.Programs);
        Assert.False(ScenarioLoader.Load(Write("    kernel: kernel.elf\n")).Domains[0].IsLinux);
    }

    [Fact]
    public void EachMistakeIsLocated()
    {
        ScenarioException missing = Fails("    memory: 64M\n    kernel: Image\n    initrd: nope.cpio\n");
        Assert.Equal((6, 13, "domains[0].initrd"), (missing.Line, missing.Column, missing.Field));
        Assert.Contains("not found", missing.Problem);

        ScenarioException small = Fails("    memory: 8M\n    kernel: Image\n    initrd: initrd.cpio\n");
        Assert.Equal((4, 13, "domains[0].memory"), (small.Line, small.Column, small.Field));
        Assert.Contains("too small", small.Problem);

        File.WriteAllBytes(Path.Combine(directory, "old"), Image(version: 1));
        ScenarioException old = Fails("    memory: 64M\n    kernel: old\n");
        Assert.Equal((5, 13, "domains[0].kernel"), (old.Line, old.Column, old.Field));
        Assert.Contains("not a bootable Linux Image", old.Problem);

        File.WriteAllBytes(Path.Combine(directory, "short"), Image(imageSize: 16));
        Assert.Contains("image_size", Fails("    kernel: short\n").Problem);

        ScenarioException elfInitrd = Fails("    kernel: kernel.elf\n    initrd: initrd.cpio\n");
        Assert.Equal("domains[0].initrd", elfInitrd.Field);
        Assert.Contains("only a Linux Image", elfInitrd.Problem);
        Assert.Contains("only a Linux Image", Fails("    kernel: kernel.elf\n    bootargs: quiet\n").Problem);
        Assert.Contains("'bootargs'", Fails("    memory: 64M\n    kernel: Image\n    cmdline: quiet\n").Problem);
        Assert.Contains("initrd", Fails("    memory: 64M\n    kernel: Image\n    programs: [kernel.elf]\n").Problem);
        Assert.Contains("1023", Fails($"    memory: 64M\n    kernel: Image\n    bootargs: {new string('x', 1024)}\n").Problem);
    }

    [Fact]
    public void ConsoleVirtioGivesTheDomainAVirtioConsoleAndNamesItInBootargs()
    {
        DomainSpec sbi = ScenarioLoader.Load(Write("    memory: 64M\n    kernel: Image\n    console: sbi\n    bootargs: console=hvc0\n")).Domains[0];
        Assert.False(sbi.VirtioConsole);
        Assert.Equal("console=hvc0", sbi.Cmdline);
        DomainSpec virtio = ScenarioLoader.Load(Write("    memory: 64M\n    kernel: Image\n    console: virtio\n    bootargs: earlycon=sbi quiet\n")).Domains[0];
        Assert.True(virtio.VirtioConsole);
        Assert.Equal("earlycon=sbi quiet console=hvc1", virtio.Cmdline);
        Assert.Equal("console=hvc1", ScenarioLoader.Load(Write("    memory: 64M\n    kernel: Image\n    console: virtio\n")).Domains[0].Cmdline);

        ScenarioException bad = Fails("    memory: 64M\n    kernel: Image\n    console: uart\n");
        Assert.Equal((6, 14, "domains[0].console"), (bad.Line, bad.Column, bad.Field));
        Assert.Contains("sbi (the default) or virtio", bad.Problem);
        ScenarioException twice = Fails("    memory: 64M\n    kernel: Image\n    console: virtio\n    bootargs: quiet console=hvc0\n");
        Assert.Equal((7, 15, "domains[0].bootargs"), (twice.Line, twice.Column, twice.Field));
        Assert.Contains("console=hvc1", twice.Problem);
        ScenarioException elf = Fails("    kernel: kernel.elf\n    console: virtio\n");
        Assert.Equal("domains[0].console", elf.Field);
        Assert.Contains("only a Linux Image", elf.Problem);
        Assert.Contains("1023", Fails($"    memory: 64M\n    kernel: Image\n    console: virtio\n    bootargs: {new string('x', 1015)}\n").Problem);
    }
}
