using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
namespace Vbase.Hypervisor.Domains;

/// <summary>What Dom0 asks for when it builds a guest domain (Xen's domain config, xl's cfg file).</summary>
public sealed record DomainConfig
{
    public required string Name { get; init; }
    public ulong MemoryBytes { get; init; } = GuestLayout.DefaultRamBytes;
    public int VcpuCount { get; init; } = 1;
    /// <summary>
    /// The kernel: an ELF file (loaded at its physical addresses), a RISC-V Linux <c>Image</c> (recognised by its
    /// header, booted by the Linux boot protocol with a device tree: <see cref="Boot.LinuxBoot"/>) or raw code,
    /// loaded and entered at 0x8020_0000.
    /// </summary>
    public required byte[] Kernel { get; init; }
    /// <summary>A Linux Image's initramfs (placed in RAM and named in the device tree's /chosen); null: none.</summary>
    public byte[]? Initrd { get; init; }
    /// <summary>User programs packed at 0x8001_0000 (8-byte aligned, in order) and listed in the start info.</summary>
    public IReadOnlyList<DomainModule> Modules { get; init; } = [];
    /// <summary>The start info's command line; for a Linux Image, the kernel command line (/chosen/bootargs).</summary>
    public string Cmdline { get; init; } = "";
    /// <summary>
    /// Receives every byte the domain writes to its console, in order, on the thread that runs the hypervisor.
    /// </summary>
    public Action<DomainId, ReadOnlySpan<byte>>? ConsoleOutput { get; init; }
    /// <summary>
    /// Receives the console line by line (without the newline; Latin-1 decoded). A last line without a newline is
    /// passed when the domain shuts down.
    /// </summary>
    public Action<DomainId, string>? ConsoleLine { get; init; }
    /// <summary>
    /// Console bytes the domain may write in a run (to <see cref="ConsoleOutput"/>, <see cref="ConsoleLine"/> and its
    /// log); past it, output is dropped and one <c>console.dropped</c> event says so (another at shutdown with the count).
    /// </summary>
    public ulong ConsoleLimitBytes { get; init; } = DefaultConsoleLimitBytes;

    /// <summary>16 MiB: far more than any test program prints, little enough that a flood cannot fill the host.</summary>
    public const ulong DefaultConsoleLimitBytes = 16UL << 20;

    /// <summary>Whether privileged-only hypercalls (domctl, map_foreign) are allowed: Xen's "is_privileged".</summary>
    public bool Privileged { get; init; }

    /// <summary>
    /// The domain's network addresses, written into its start info (<c>net_ip</c>, <c>net_arp</c>); null: none. The
    /// card itself is attached by Dom0 (<see cref="Dom0.Dom0Api.AttachNic"/>), as xl attaches a vif.
    /// </summary>
    public DomainNetInfo? Network { get; init; }

    /// <summary>
    /// A Linux domain's console is a virtio-console (slot <see cref="GuestLayout.VirtioConsoleSlot"/>, on its PLIC)
    /// besides the SBI's; its output goes where the SBI console's goes. Only for a Linux Image kernel.
    /// </summary>
    public bool VirtioConsole { get; init; }

    /// <summary>
    /// The watchdog: a vCPU that runs this many instructions without a call to the hypervisor (an SBI call or a
    /// hypercall) has stopped making progress, and the domain is shut down as crashed with a <c>domain.wedged</c>
    /// event. Null: <see cref="LinuxWatchdogInstructions"/> for a Linux Image kernel, off for others. 0: off.
    /// </summary>
    public ulong? WatchdogInstructions { get; init; }

    /// <summary>
    /// 50 M instructions, 5 s of virtual time at the 10 MHz timebase: a running Linux reprograms its timer through SBI
    /// at every tick (4 ms at HZ=250), so only a wedged one (a panic without <c>panic=-1</c>, a kernel that died before
    /// its console, as with a bad device tree) goes that long without a call. The small kernel's applications may
    /// compute for longer without one, so it has no watchdog by default.
    /// </summary>
    public const ulong LinuxWatchdogInstructions = 50_000_000;
}

/// <summary>A domain's IPv4 address and its static ARP table (docs/network.md).</summary>
/// <param name="Ip">Four bytes, a.b.c.d in order.</param>
public sealed record DomainNetInfo(byte[] Ip, IReadOnlyList<ArpEntry> Arp);

/// <summary>One static ARP entry: four IPv4 bytes and six MAC bytes, in wire order.</summary>
public sealed record ArpEntry(byte[] Ip, byte[] Mac);

/// <summary>A packed user program: its name (≤ 47 bytes in the start info) and image.</summary>
public sealed record DomainModule(string Name, byte[] Image);

public enum DomainState
{
    /// <summary>Built (or paused by Dom0): its vCPUs do not run.</summary>
    Paused,
    /// <summary>At least one vCPU can run.</summary>
    Running,
    /// <summary>Every vCPU waits for an event or a timer.</summary>
    Blocked,
    /// <summary>Shut down (sched_op shutdown, a crash); <see cref="DomainInfo.Reason"/> and the exit code say why.</summary>
    Shutdown,
    /// <summary>Destroyed by Dom0; its frames are back in the free pool.</summary>
    Destroyed,
}

/// <summary>What Dom0 can learn about a domain (Xen's xc_dominfo).</summary>
/// <param name="Instructions">Instructions its vCPUs have retired.</param>
/// <param name="Wedge">Set when the watchdog ended the domain (<see cref="DomainConfig.WatchdogInstructions"/>).</param>
public sealed record DomainInfo(DomainId Id, string Name, DomainState State, ShutdownReason? Reason, long? ExitCode,
    ulong Instructions, ulong MemoryBytes, int VcpuCount, DomainWedge? Wedge = null);

/// <summary>Where the watchdog found a vCPU that had stopped making progress.</summary>
/// <param name="Instructions">Instructions it ran since its last call to the hypervisor.</param>
public sealed record DomainWedge(int Vcpu, ulong Pc, ulong Instructions);

/// <summary>Dom0's handle on a guest domain (libxc's domid, typed).</summary>
public sealed record DomainHandle(DomainId Id, string Name);

/// <summary>A domain could not be built: which stage failed and why.</summary>
public sealed class DomainBuildException(string stage, string message) : Exception($"{stage}: {message}")
{
    public string Stage { get; } = stage;
}
