using System.Text;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests;

/// <summary>
/// The committed Linux guest (guest/linux/Image and initramfs.cpio) boots in a domain of the real hypervisor to
/// its /init, runs a shell command from the kernel command line and powers off; deterministically; and a Linux
/// that panics ends the run with the reset it asks for, not a hang.
/// </summary>
public sealed class LinuxBootRunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-linux-run-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Committed(string name) =>
        Path.GetFullPath(Path.Combine(ExampleScenarioTests.ScenariosFolder(), "..", "guest", "linux", name));

    private (TestbedResult Result, string Console) Boot(string bootargs, string? outDirectory = null, int vcpus = 1, string memory = "64M")
    {
        string yaml = $"""
            name: linux-test
            seed: 1
            limits:
              max_instructions: 400_000_000
              timeout: 120s
            domains:
              - name: linux
                memory: {memory}
                vcpus: {vcpus}
                kernel: {Committed("Image")}
                initrd: {Committed("initramfs.cpio")}
                bootargs: '{bootargs}'
            """;
        string path = Path.Combine(directory, "linux.yaml");
        File.WriteAllText(path, yaml);
        Scenario scenario = ScenarioLoader.Load(path);
        var console = new MemoryStream();
        TestbedResult result = new Running.Testbed(scenario, HypervisorHost.Create)
            .Run(new TestbedOptions(Stream.Null) { Console = console, OutDirectory = outDirectory });
        return (result, Encoding.UTF8.GetString(console.ToArray()));
    }

    [Fact]
    public void LinuxBootsToInitRunsAShellCommandAndPowersOffTheSameWayTwice()
    {
        const string bootargs = "console=hvc0 panic=-1 vbase_cmd=\"echo $((6 * 7)) from the shell; uname -sr\"";
        string first = Path.Combine(directory, "first"), second = Path.Combine(directory, "second");
        (TestbedResult result, string console) = Boot(bootargs, first);
        Assert.True(result.Succeeded, console);
        string[] lines = console.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("[linux] vbase-linux: init", lines);
        // The shell evaluated the command: the arithmetic is not in the command line.
        Assert.Contains("[linux] 42 from the shell", lines);
        Assert.Contains("[linux] Linux 6.1.192", lines);
        Assert.Contains("[linux] vbase-linux: command exited 0", lines);
        Assert.Equal(ShutdownReason.Poweroff, result.Domains[0].Outcome.Reason);
        Assert.Equal(0L, result.Domains[0].Outcome.ExitCode);

        (TestbedResult again, string console2) = Boot(bootargs, second);
        Assert.True(again.Succeeded, console2);
        Assert.Equal(console, console2);
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "events.jsonl")), File.ReadAllBytes(Path.Combine(second, "events.jsonl")));
        Assert.Equal(result.Instructions, again.Instructions);
    }

    [Fact]
    public void LinuxUsesAGuestOf512MiB()
    {
        (TestbedResult result, string console) = Boot("console=hvc0 vbase_cmd=\"grep MemTotal /proc/meminfo\"", memory: "512M");
        Assert.True(result.Succeeded, console);
        string line = Assert.Single(console.Split('\n'), l => l.StartsWith("[linux] MemTotal:", StringComparison.Ordinal));
        long kib = long.Parse(line["[linux] MemTotal:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(kib, 500_000, 512 * 1024);   // all of it but the kernel's own reservations
    }

    [Fact]
    public void LinuxStartsASecondVcpuThroughHsmAndRunsOnBoth()
    {
        (TestbedResult result, string console) = Boot("console=hvc0 panic=-1", vcpus: 2);
        Assert.True(result.Succeeded, console);
        Assert.Contains("[linux] smp: Brought up 1 node, 2 CPUs", console.Split('\n'));
        Assert.Contains("[linux] vbase-linux: init", console.Split('\n'));
    }

    [Fact]
    public void ALinuxWithABadDeviceTreeIsStoppedByTheWatchdogNotRunToTheLimit()
    {
        // The device tree's magic overwritten before the first instruction: Linux finds no memory and panics before it
        // has a console or its command line (so panic=-1 cannot apply) and spins in panic(); the watchdog ends it.
        using var hv = new Hypervisor.Hypervisor(new Hypervisor.HypervisorOptions { MachineMemory = 96UL << 20 });
        Hypervisor.Domains.DomainHandle h = hv.Dom0.CreateDomain(new Hypervisor.Domains.DomainConfig
        {
            Name = "linux",
            Kernel = File.ReadAllBytes(Committed("Image")),
            Initrd = File.ReadAllBytes(Committed("initramfs.cpio")),
            MemoryBytes = 64UL << 20,
            Cmdline = "console=hvc0 earlycon=sbi panic=-1",
        });
        ulong dtb = hv.Dom0.GetRegister(h.Id, 0, 11);   // a1 at entry: the device tree's address
        Assert.Equal(0, hv.Dom0.WriteGuest(h.Id, new Sapi.Memory.GuestPhysicalAddress(dtb), [0xde, 0xad, 0xbe, 0xef]));
        hv.Dom0.Unpause(h.Id);
        Hypervisor.HypervisorRunResult r = hv.Run(400_000_000);
        Assert.Equal(Hypervisor.HypervisorStop.AllShutDown, r.Stop);
        Hypervisor.Domains.DomainInfo info = hv.Dom0.GetInfo(h.Id);
        Assert.Equal(Sapi.Abi.ShutdownReason.Crash, info.Reason);
        Hypervisor.Domains.DomainWedge wedge = Assert.IsType<Hypervisor.Domains.DomainWedge>(info.Wedge);
        Assert.True(wedge.Pc >= 0xffff_ffff_8000_0000, $"pc 0x{wedge.Pc:x} is not in the kernel's image");
        Assert.InRange(r.Instructions, Hypervisor.Domains.DomainConfig.LinuxWatchdogInstructions, 2 * Hypervisor.Domains.DomainConfig.LinuxWatchdogInstructions);
        Assert.Equal("", hv.Dom0.ReadConsole(h.Id));   // it never reached a console: only the watchdog says why it stopped
    }

    [Fact]
    public void ALinuxPanicResetsTheDomainAndEndsTheRun()
    {
        // An init that exits at once: Linux panics ("Attempted to kill init!"), and panic=-1 reboots through SBI SRST.
        (TestbedResult result, string console) = Boot("console=hvc0 panic=-1 rdinit=/bin/false");
        Assert.Equal(RunOutcome.AllShutDown, result.Outcome);
        Assert.False(result.Succeeded);
        Assert.Contains("Kernel panic - not syncing", console);
        Assert.Equal(ShutdownReason.Reboot, result.Domains[0].Outcome.Reason);
    }
}
