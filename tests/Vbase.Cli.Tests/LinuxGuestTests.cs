using System.Diagnostics;
using System.Text;
using Vbase.Cli.Tests.Support;
using Vbase.Hypervisor.Boot;

namespace Vbase.Cli.Tests;

/// <summary>
/// The committed Linux guest (guest/linux) under <c>vbase run</c> and under QEMU's virt machine with OpenSBI (an
/// ordinary kernel, not one made for Vbase), and the generated device tree read by dtc.
/// </summary>
public sealed class LinuxGuestTests
{
    private static string Guest(string name) => Path.Combine(Repository.Root, "guest", "linux", name);

    [Fact]
    public void VbaseRunBootsTheLinuxScenario()
    {
        CliResult r = CliRunner.Run("run", Path.Combine(Repository.Root, "scenarios", "linux.yaml"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("[linux] vbase-linux: init", lines);
        Assert.Contains("[linux] hello from the Linux shell", lines);
        Assert.Equal("[linux] reboot: Power down", lines[^1]);
    }

    /// <param name="bootargs">
    /// With or without panic=-1: the kernel is built with CONFIG_PANIC_TIMEOUT=-1 (guest/linux/kernel.config), so the
    /// reset is its own default, not a flag the run adds.
    /// </param>
    [Theory]
    [InlineData("console=hvc0 panic=-1 rdinit=/bin/false")]
    [InlineData("console=hvc0 rdinit=/bin/false")]
    public void ALinuxPanicEndsTheRunWithTheReset(string bootargs)
    {
        string directory = Directory.CreateTempSubdirectory("vbase-linux-panic-").FullName;
        try
        {
            string scenario = Path.Combine(directory, "panic.yaml");
            File.WriteAllText(scenario, $"""
                name: panic
                limits:
                  max_instructions: 400_000_000
                domains:
                  - name: linux
                    memory: 64M
                    kernel: {Guest("Image")}
                    initrd: {Guest("initramfs.cpio")}
                    bootargs: {bootargs}
                """);
            CliResult r = CliRunner.Run("run", scenario);
            Assert.Equal(RunExitCodes.DomainFailed, r.ExitCode);
            Assert.Contains($"[linux] Kernel command line: {bootargs}", r.Stdout);
            Assert.Contains("[linux] Kernel panic - not syncing", r.Stdout);
            Assert.Equal("vbase: run failed: linux reset itself (a guest panic or reboot: SBI system reset)", Assert.Single(r.StderrLines));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [QemuFact]
    public void TheSameImageBootsUnderQemuWithOpenSbi()
    {
        string qemu = ToolFactAttribute.FindOnPath(QemuFactAttribute.Executable)!;
        var start = new ProcessStartInfo(qemu)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (string arg in new[]
        {
            "-machine", "virt", "-m", "128M", "-nographic", "-no-reboot", "-bios", "default",
            "-kernel", Guest("Image"), "-initrd", Guest("initramfs.cpio"),
            "-append", "console=hvc0 panic=-1 vbase_cmd=\"echo $((6 * 7)) from the shell\"",
        })
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("QEMU did not power off within 120 s");
        }
        process.WaitForExit();
        string[] lines = output.Result.ReplaceLineEndings("\n").Split('\n');
        Assert.Contains("OpenSBI", output.Result);
        Assert.Contains("vbase-linux: init", lines);
        Assert.Contains("42 from the shell", lines);
        Assert.Contains("reboot: Power down", lines);
        Assert.True(process.ExitCode == 0, errors.Result);
    }

    [ToolFactDtc]
    public void DtcReadsTheGeneratedDeviceTreeWithoutWarnings()
    {
        string dtb = Path.Combine(Path.GetTempPath(), $"vbase-{Environment.ProcessId}-{Guid.NewGuid():N}.dtb");
        File.WriteAllBytes(dtb, LinuxBoot.DeviceTree(64UL << 20, 2, "console=hvc0 panic=-1", 0x8400_0000, 0x8410_0000,
            new LinuxDevices(Nic: true, Console: true)));
        try
        {
            var start = new ProcessStartInfo(ToolFactAttribute.FindOnPath("dtc")!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { "-I", "dtb", "-O", "dts", dtb })
            {
                start.ArgumentList.Add(arg);
            }
            using Process process = Process.Start(start)!;
            string dts = process.StandardOutput.ReadToEnd();
            string warnings = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.Equal(0, process.ExitCode);
            Assert.Equal("", warnings);
            Assert.Contains("bootargs = \"console=hvc0 panic=-1\";", dts);
            Assert.Contains("linux,initrd-start = <0x00 0x84000000>;", dts);
            Assert.Contains("reg = <0x00 0x80000000 0x00 0x4000000>;", dts);
            Assert.Contains("timebase-frequency = <0x989680>;", dts);
            Assert.Contains("riscv,isa = \"rv64imafdc_zicsr_zifencei\";", dts);
            Assert.Contains("mmu-type = \"riscv,sv39\";", dts);
            Assert.Contains("compatible = \"riscv,cpu-intc\";", dts);
            Assert.Contains("cpu@1 {", dts);
            Assert.Contains("plic@c000000 {", dts);
            Assert.Contains("compatible = \"sifive,plic-1.0.0\\0riscv,plic0\";", dts);
            Assert.Contains("interrupts-extended = <0x01 0x09 0x02 0x09>;", dts);
            Assert.Contains("riscv,ndev = <0x1f>;", dts);
            Assert.Contains("virtio_mmio@10001000 {", dts);
            Assert.Contains("virtio_mmio@10002000 {", dts);
            Assert.Contains("interrupts = <0x02>;", dts);
            Assert.Contains("interrupt-parent = <0x100>;", dts);
        }
        finally
        {
            File.Delete(dtb);
        }
    }
}

/// <summary>A fact that needs dtc (Debian's device-tree-compiler).</summary>
public sealed class ToolFactDtcAttribute() : ToolFactAttribute("dtc");
