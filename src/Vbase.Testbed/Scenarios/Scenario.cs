namespace Vbase.Testbed.Scenarios;

/// <summary>
/// A run declared in a scenario file (docs/scenarios.md): guest domains, their images, a seed and limits.
/// Built only by <see cref="ScenarioLoader"/>, so every value here has been checked.
/// </summary>
/// <param name="Path">The scenario file as the user named it (messages quote it so).</param>
/// <param name="Name">The scenario's name (letters, digits, '-', '_', '.').</param>
/// <param name="Seed">Seeds every choice the run makes; same scenario and seed, same run.</param>
/// <param name="Domains">The guest domains, in the order they are created (domain ids 1, 2, …).</param>
public sealed record Scenario(string Path, string Name, ulong Seed, ScenarioLimits Limits, IReadOnlyList<DomainSpec> Domains)
{
    /// <summary>The secure architecture plugged into the hypervisor (a registry name); null: none plugged in.</summary>
    public string? Architecture { get; init; }

    /// <summary>The architecture's parameters (<c>arch_parameters</c>: name → value, e.g. a metadata cache size).</summary>
    public IReadOnlyDictionary<string, string> ArchitectureParameters { get; init; } = new Dictionary<string, string>();

    /// <summary>The on-chip boundary (last-level cache, cost latencies); the scenario's <c>chip:</c>.</summary>
    public Vbase.Sapi.Chip.ChipOptions Chip { get; init; } = new();

    /// <summary>Plug-ins whose architectures the run may use (full paths: <c>--plugin</c>, then <c>plugins:</c>).</summary>
    public IReadOnlyList<string> Plugins { get; init; } = [];

    /// <summary>The bridge's settings (the scenario's <c>network:</c>; docs/network.md).</summary>
    public NetworkSpec Network { get; init; } = NetworkSpec.Default;
}

/// <summary>Dom0's bridge: the one-way delivery latency in ticks of virtual time.</summary>
public sealed record NetworkSpec(ulong LatencyTicks)
{
    public static readonly NetworkSpec Default = new(Vbase.Hypervisor.Network.NetworkBridge.DefaultLatencyTicks);
}

/// <summary>A domain's virtio-net card: its MAC and IPv4 address, and the ARP table it gets (every other card).</summary>
public sealed record NicSpec(Vbase.Hypervisor.Network.MacAddress Mac, byte[] Ip, IReadOnlyList<(byte[] Ip, Vbase.Hypervisor.Network.MacAddress Mac)> Arp);

/// <summary>How far a run may go.</summary>
/// <param name="MaxInstructions">Instructions retired by all vCPUs together before the run is stopped; null: no limit.</param>
/// <param name="SliceInstructions">The scheduler's time slice in retired instructions; null: the hypervisor's default.</param>
/// <param name="Timeout">Wall-clock time before the run is stopped; null: none. The one limit that is not reproducible.</param>
public sealed record ScenarioLimits(ulong? MaxInstructions, ulong? SliceInstructions, TimeSpan? Timeout)
{
    public static readonly ScenarioLimits None = new(null, null, null);
}

/// <summary>One guest domain.</summary>
/// <param name="Name">Unique within the scenario; prefixes its console lines and names its log file.</param>
/// <param name="MemoryBytes">Guest RAM at guest-physical 0x8000_0000.</param>
/// <param name="Kernel">Full path of the kernel: an ELF, or a RISC-V Linux Image (recognised by its header).</param>
/// <param name="Programs">Full paths of the user program ELFs, packed as modules in this order.</param>
/// <param name="Cmdline">The start info's command line; for a Linux Image, its kernel command line (<c>bootargs:</c>).</param>
/// <param name="ConsoleInput">Bytes the domain's console reads, in order; empty: none.</param>
/// <param name="Initrd">Full path of a Linux Image's initramfs; null: none.</param>
public sealed record DomainSpec(
    string Name,
    ulong MemoryBytes,
    int Vcpus,
    string Kernel,
    IReadOnlyList<string> Programs,
    string Cmdline,
    string ConsoleInput,
    string? Initrd = null)
{
    /// <summary>The domain's NIC (<c>nic:</c>); null: none.</summary>
    public NicSpec? Nic { get; init; }

    /// <summary>
    /// The watchdog (<c>watchdog:</c>): instructions a vCPU may run without calling the hypervisor before the domain is
    /// ended as crashed; 0: off; null: the hypervisor's default (on for Linux, off for other kernels).
    /// </summary>
    public ulong? Watchdog { get; init; }

    /// <summary>Whether <see cref="Kernel"/> is a Linux Image (booted with a device tree, <see cref="Initrd"/> and bootargs).</summary>
    public bool IsLinux { get; init; }

    /// <summary>
    /// A Linux domain's console is its virtio-console (<c>console: virtio</c>): <see cref="Cmdline"/> already ends
    /// with <see cref="Vbase.Hypervisor.Boot.LinuxBoot.VirtioConsoleArgument"/>.
    /// </summary>
    public bool VirtioConsole { get; init; }
}
