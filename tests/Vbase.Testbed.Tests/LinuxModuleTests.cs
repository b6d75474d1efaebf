using System.Globalization;
using System.Text;
using Vbase.Hypervisor;
using Vbase.Sapi.Logging;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests;

/// <summary>
/// vbase.ko, the paper's kernel module in the Linux guest (guest/linux/vbase): secure-app's page goes VA → PFN
/// (pin_user_pages) → vbase_op → MFN and the paper's result holds; bad requests to /dev/vbase get errors; and the
/// guest-kernel attacks act from inside Linux through the module's mailbox.
/// </summary>
public sealed class LinuxModuleTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-linux-module-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Guest(string name) =>
        Path.GetFullPath(Path.Combine(ExampleScenarioTests.ScenariosFolder(), "..", "guest", "linux", name));

    private (TestbedResult Result, string Console, List<HypervisorEvent> Events) Run(string command, string? arch)
    {
        string yaml = $"""
            name: linux-module
            {(arch is null ? "" : $"arch: {arch}")}
            seed: 4
            limits:
              max_instructions: 400_000_000
              timeout: 120s
            domains:
              - name: app
                memory: 64M
                kernel: {Guest("Image")}
                initrd: {Guest("initramfs.cpio")}
                bootargs: 'console=hvc0 panic=-1 vbase_cmd={command}'
            """;
        string path = Path.Combine(directory, $"run-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        var events = new List<HypervisorEvent>();
        var console = new MemoryStream();
        TestbedResult result = new Running.Testbed(ScenarioLoader.Load(path), settings =>
        {
            var host = (HypervisorHost)HypervisorHost.Create(settings);
            host.AddEventSink(new Collect(events));
            return host;
        }).Run(new TestbedOptions(Stream.Null) { Console = console });
        return (result, Encoding.UTF8.GetString(console.ToArray()), events);
    }

    private sealed class Collect(List<HypervisorEvent> events) : IHypervisorEventSink
    {
        public void Record(HypervisorEvent e) => events.Add(e);
    }

    [Fact]
    public void ThePapersPageGoesFromVaThroughThePfnToAnMfnAndTheWriteIsDropped()
    {
        (TestbedResult result, string console, List<HypervisorEvent> events) = Run("/bin/secure-app", "vbase");
        Assert.True(result.Succeeded, console);
        string[] lines = console.Split('\n');
        Assert.Contains("[app] secure-app: The secret_key before system call is: 654321", lines);
        Assert.Contains("[app] secure-app: vbase(secure_mem, 4096, enter) = 1", lines);
        Assert.Contains("[app] secure-app: The secret_key after system call is: 654321", lines);
        Assert.Contains("[app] secure-app: vbase(secure_mem, 4096, exit) = 0", lines);

        // The frame the module pinned (its PFN, as it prints it) is the GFN the hypervisor translated and protected.
        RegionProtectedData region = Assert.Single(events.Select(e => e.Data).OfType<RegionProtectedData>());
        string module = Assert.Single(lines, l => l.Contains("vbase: enter 0x", StringComparison.Ordinal));
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"vbase: enter 0x{region.VirtualAddress:x} len 4096 by pid "), module);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $": 1 frames from pfn 0x{region.Gfn.Value:x} -> 1"), module);
        Assert.InRange(region.Gfn.Value, 0x80000UL, 0x80000UL + (64UL << 20 >> 12) - 1);
        Assert.NotEqual(region.Gfn.Value, region.Mfn.Value);

        // The paper's dropped write: secure-app's own store of 123456, by the p2m (ram_ro).
        WriteDroppedData dropped = Assert.Single(events.Select(e => e.Data).OfType<WriteDroppedData>());
        Assert.Equal("40e20100", dropped.Data);
        Assert.Single(events.Select(e => e.Data).OfType<RegionReleasedData>());
    }

    [Fact]
    public void WithNoArchitectureVbaseOpAnswersEnosysAndTheWriteLands()
    {
        (TestbedResult result, string console, _) = Run("/bin/secure-app", null);
        Assert.True(result.Succeeded, console);
        Assert.Contains("[app] secure-app: vbase(secure_mem, 4096, enter) = -38", console.Split('\n'));
        Assert.Contains("[app] secure-app: The secret_key after system call is: 123456", console.Split('\n'));
    }

    [Fact]
    public void BadRequestsToDevVbaseGetErrorsAndTheGuestRunsOn()
    {
        (TestbedResult result, string console, List<HypervisorEvent> events) = Run("/bin/vbase-check", "vbase");
        Assert.True(result.Succeeded, console);
        string[] lines = console.Split('\n');
        foreach ((string what, int code) in new[]
        {
            ("unaligned va", -22), ("zero length", -22), ("unaligned length", -22), ("too many pages", -22), ("kernel va", -22),
            ("unmapped va", -14), ("read-only va", -14), ("exit before enter", -22), ("bad op", -22), ("bad ioctl", -25),
            ("bad argument pointer", -14), ("enter", 1), ("enter again", -16), ("exit with another region", -22), ("exit", 0),
            ("enter, left at exit", 2),
        })
        {
            Assert.Contains($"[app] vbase-check: {what} -> {code}", lines);
        }
        Assert.Contains("[app] vbase-linux: command exited 0", lines);
        // The region left entered was left when the process's file closed: two registered, two released.
        Assert.Equal(2, events.Count(e => e.Data is RegionProtectedData));
        Assert.Equal(2, events.Count(e => e.Data is RegionReleasedData));
    }

    [Fact]
    public void TheCommandsExitStatusIsTheDomainsExitCode()
    {
        // /init hands the status to vbase.ko, whose power-off handler shuts the domain down with it.
        (TestbedResult result, string console, _) = Run("\"exit 3\"", null);
        Assert.Contains("[app] vbase-linux: command exited 3", console.Split('\n'));
        Assert.Equal(ShutdownReason.Poweroff, result.Domains[0].Outcome.Reason);
        Assert.Equal(3L, result.Domains[0].Outcome.ExitCode);
        Assert.False(result.Succeeded);
    }

    [Theory]
    [InlineData("vbase", "os-read", Verdict.Prevented)]
    [InlineData("vbase", "os-write", Verdict.Prevented)]
    [InlineData("vbase", "os-remap", Verdict.Prevented)]
    [InlineData("none", "os-read", Verdict.Breached)]
    [InlineData("sev", "os-read", Verdict.Breached)]
    public void EachGuestKernelAttackActsFromInsideLinux(string arch, string attack, Verdict expected)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest(arch, attack, "paper-linux", 1, Path.Combine(directory, $"{arch}-{attack}")));
        Assert.True(r.Verdict == expected, r.Evidence);
        // The module answered: the evidence names what the Linux kernel did, with the frame it found.
        Assert.Contains($"guest kernel {attack[3..]} va 0x", r.Evidence);
        Assert.DoesNotContain("did not answer", r.Evidence);
        if (attack == "os-write" && arch == "vbase")
        {
            // The kernel's store was the one the p2m dropped (the application's own 123456 is not the attacker's).
            Assert.Contains("accessor=guest_kernel owner=no", r.Evidence);
        }
    }

    /// <summary>A subset of the vault-linux matrix (the whole one is in docs/linux.md, with its command).</summary>
    [Theory]
    [InlineData("vbase", "phys-snoop", Verdict.Prevented)]
    [InlineData("none", "os-write", Verdict.Breached)]
    [InlineData("sgx-mee", "os-remap", Verdict.Detected)]
    public void TheVaultUnderLinuxMeetsTheSmallKernelsVerdicts(string arch, string attack, Verdict expected)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest(arch, attack, "vault-linux", 1, null));
        Assert.True(r.Verdict == expected, r.Evidence);
    }
}
