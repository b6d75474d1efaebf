using System.Text;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;
using Vbase.Testbed.Tests.Support;

namespace Vbase.Testbed.Tests;

/// <summary>
/// The committed Linux with <c>console: virtio</c>: its console is the virtio-console behind the virtual PLIC
/// (hvc1). The SBI's earlycon prints the boot until hvc1 takes over and is then disabled, and hvc0 is no console,
/// so what follows (the shell's output and input) can only have gone through the virtqueues and the PLIC's line.
/// </summary>
public sealed class LinuxVirtioConsoleTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-linux-virtio-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private (TestbedResult Result, string[] Lines) Boot(string bootargs, string input = "", string? outDirectory = null, int vcpus = 1, string nic = "")
    {
        Assert.True(LinuxDriversFactAttribute.Missing().Length == 0,
            $"guest/linux/Image lacks {string.Join(", ", LinuxDriversFactAttribute.Missing())}");
        string initrd = Path.Combine(Path.GetDirectoryName(LinuxDriversFactAttribute.ImagePath)!, "initramfs.cpio");
        string yaml = $"""
            name: linux-virtio
            seed: 1
            limits:
              max_instructions: 400_000_000
              timeout: 120s
            domains:
              - name: linux
                memory: 64M
                vcpus: {vcpus}
                kernel: {LinuxDriversFactAttribute.ImagePath}
                initrd: {initrd}
                console: virtio
                console_input: "{input}"
                bootargs: '{bootargs}'
            {nic}
            """;
        string path = Path.Combine(directory, "linux.yaml");
        File.WriteAllText(path, yaml);
        var console = new MemoryStream();
        TestbedResult result = new Running.Testbed(ScenarioLoader.Load(path), HypervisorHost.Create)
            .Run(new TestbedOptions(Stream.Null) { Console = console, OutDirectory = outDirectory });
        return (result, Encoding.UTF8.GetString(console.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [LinuxDriversFact]
    public void LinuxPrintsTheShellsOutputThroughTheVirtioConsoleTheSameWayTwice()
    {
        const string bootargs = "earlycon=sbi panic=-1 vbase_cmd=\"echo $((6 * 7)) over virtio; grep virtio0 /proc/interrupts\"";
        string first = Path.Combine(directory, "first"), second = Path.Combine(directory, "second");
        (TestbedResult result, string[] lines) = Boot(bootargs, outDirectory: first);
        Assert.True(result.Succeeded, string.Join('\n', lines));
        Assert.Contains("[linux] Kernel command line: earlycon=sbi panic=-1 vbase_cmd=\"echo $((6 * 7)) over virtio; grep virtio0 /proc/interrupts\" console=hvc1", lines);
        int handover = Array.IndexOf(lines, "[linux] printk: bootconsole [sbi0] disabled");
        Assert.Equal("[linux] printk: console [hvc1] enabled", lines[handover - 1]);
        Assert.True(handover < Array.IndexOf(lines, "[linux] vbase-linux: init"));
        Assert.True(handover < Array.IndexOf(lines, "[linux] 42 over virtio"));
        // The console's interrupt is a PLIC line (source 2: slot 1), and it was taken.
        string line = Assert.Single(lines, l => l.EndsWith(" virtio0", StringComparison.Ordinal));
        string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["SiFive", "PLIC", "2"], fields[^5..^2]);
        Assert.True(long.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) > 0, line);
        Assert.Contains("[linux] vbase-linux: command exited 0", lines);
        Assert.Equal(ShutdownReason.Poweroff, result.Domains[0].Outcome.Reason);

        (TestbedResult again, string[] lines2) = Boot(bootargs, outDirectory: second);
        Assert.Equal(lines, lines2);
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "events.jsonl")), File.ReadAllBytes(Path.Combine(second, "events.jsonl")));
        Assert.Equal(result.Instructions, again.Instructions);
    }

    [LinuxDriversFact]
    public void TheScenariosConsoleInputReachesTheShellThroughTheReceiveQueueOnTwoVcpus()
    {
        (TestbedResult result, string[] lines) = Boot("panic=-1 vbase_cmd=\"read line; echo got: $line\"", input: "typed over virtio\\n", vcpus: 2);
        Assert.True(result.Succeeded, string.Join('\n', lines));
        Assert.Contains("[linux] got: typed over virtio", lines);
    }

    [LinuxDriversFact]
    public void LinuxsVirtioMmioFindsTheNicAndTheConsole()
    {
        // The kernel has no virtio_net driver; virtio_mmio still probes the card's slot and registers the device.
        (TestbedResult result, string[] lines) = Boot("earlycon=sbi panic=-1 vbase_cmd=\"cat /sys/bus/virtio/devices/*/device\"",
            nic: "    nic: {ip: 10.0.0.1}");
        Assert.True(result.Succeeded, string.Join('\n', lines));
        int at = Array.IndexOf(lines, "[linux] vbase-linux: init");
        Assert.Equal(["[linux] 0x0001", "[linux] 0x0003"], lines[(at + 1)..(at + 3)]);
    }
}
