using Vbase.Isa.Harts;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Running;

/// <summary>
/// The hypervisor as the testbed drives it, through Dom0's privileged API: create paused domains, unpause them,
/// run the deterministic scheduler, read each domain's outcome. <see cref="HypervisorHost"/> adapts the real
/// hypervisor; tests may script one.
/// </summary>
public interface IGuestHost : IDisposable
{
    /// <summary>
    /// Builds a paused domain from its images and returns its domain id. Every byte the domain writes to its
    /// console is passed to <paramref name="console"/>, in order, on the thread that runs <see cref="Run"/>.
    /// </summary>
    int CreateDomain(DomainImages images, Action<ReadOnlySpan<byte>> console);

    void Unpause(int domainId);

    /// <summary>
    /// Runs the guests until every domain has shut down, <paramref name="maxInstructions"/> have retired (all
    /// vCPUs together), no vCPU can run ever again, or <see cref="RequestStop"/> is called.
    /// </summary>
    HostStop Run(ulong maxInstructions);

    /// <summary>Asks <see cref="Run"/> to return soon, at an instruction boundary. Callable from any thread.</summary>
    void RequestStop();

    /// <summary>Where a domain stands now.</summary>
    DomainOutcome Outcome(int domainId);

    /// <summary>Global virtual time in ticks (it advances with retired instructions, so it is reproducible).</summary>
    ulong VirtualTime { get; }

    /// <summary>
    /// The end of the run at the chip boundary: every dirty line (data and metadata) is written back, and what crossed
    /// the boundary over the run is returned (null: a host without one).
    /// </summary>
    Vbase.Sapi.Chip.DramTraffic? FinishChip() => null;
}

/// <summary>What the hypervisor is built with, besides the domains.</summary>
/// <param name="SliceInstructions">The scheduler's slice; null: the hypervisor's default.</param>
/// <param name="MachineMemoryBytes">Machine memory for all domains together.</param>
/// <param name="Events">Receives the hypervisor's event log, in order, on the thread that runs it; null: none.</param>
/// <param name="Architecture">The secure architecture to plug in (a registry name); null: none.</param>
public sealed record HostSettings(ulong Seed, ulong? SliceInstructions, ulong MachineMemoryBytes, Action<HostEvent>? Events = null,
    string? Architecture = null)
{
    /// <summary>The architecture's parameters (name → value).</summary>
    public IReadOnlyDictionary<string, string> ArchitectureParameters { get; init; } = new Dictionary<string, string>();
    /// <summary>How the harts run code (the interpreter alone is the reference; results are the same).</summary>
    public ExecutionEngine Engine { get; init; } = ExecutionEngine.Translator;
    /// <summary>The harts' translation threshold; null: the default.</summary>
    public int? TranslationThreshold { get; init; }
    /// <summary>The on-chip boundary.</summary>
    public Vbase.Sapi.Chip.ChipOptions Chip { get; init; } = new();
    /// <summary>Where <see cref="Architecture"/> is found; null: the built-in architectures.</summary>
    public Vbase.Sapi.Registry.ArchitectureRegistry? Registry { get; init; }
    /// <summary>The bridge's settings (docs/network.md).</summary>
    public NetworkSpec Network { get; init; } = NetworkSpec.Default;
    /// <summary>Where the bridge writes every frame (pcap); null: no capture.</summary>
    public string? CapturePath { get; init; }
}

/// <summary>One entry of the hypervisor's event log (docs/events.md, events.jsonl).</summary>
/// <param name="Time">Virtual time.</param>
/// <param name="DomainId">The domain involved, or null for hypervisor-wide events.</param>
/// <param name="Vcpu">The vCPU involved, or null.</param>
/// <param name="Data">The typed fields; the record names the kind.</param>
public sealed record HostEvent(ulong Time, int? DomainId, int? Vcpu, Sapi.Logging.EventData Data)
{
    public string Kind => Data.Kind;

    /// <summary>For people, derived from <see cref="Data"/>.</summary>
    public string Message => Data.Message();
}

/// <summary>A domain's images, read from disk by the testbed.</summary>
public sealed record DomainImages(DomainSpec Spec, byte[] Kernel, IReadOnlyList<GuestModule> Modules, byte[]? Initrd = null);

/// <summary>A user program packed into a domain's module area; <see cref="Name"/> is its file name.</summary>
public sealed record GuestModule(string Name, byte[] Image);

/// <summary>Why <see cref="IGuestHost.Run"/> returned.</summary>
public enum HostStop
{
    AllShutDown,
    InstructionLimit,
    /// <summary>Every remaining vCPU is blocked with no timer armed and no event that could ever come.</summary>
    Idle,
    /// <summary><see cref="IGuestHost.RequestStop"/> was called.</summary>
    Stopped,
}

public enum DomainState
{
    Paused,
    Running,
    Blocked,
    Shutdown,
    /// <summary>Destroyed by Dom0.</summary>
    Destroyed,
}

/// <summary>Why a domain shut down (sched_op shutdown's reason, docs/abi.md).</summary>
public enum ShutdownReason
{
    Poweroff,
    Reboot,
    Suspend,
    Crash,
}

/// <summary>A domain's state and, once it has shut down, why and with which exit code.</summary>
/// <param name="Instructions">Instructions its vCPUs have retired.</param>
/// <param name="Watchdog">Set when the hypervisor's watchdog ended it (a crash): the vCPU that stopped making progress.</param>
public sealed record DomainOutcome(DomainState State, ShutdownReason? Reason, long? ExitCode, ulong Instructions, WatchdogStop? Watchdog = null);

/// <summary>The watchdog's finding: vCPU <paramref name="Vcpu"/> ran <paramref name="Instructions"/> without calling the hypervisor, at <paramref name="Pc"/>.</summary>
public sealed record WatchdogStop(int Vcpu, ulong Pc, ulong Instructions);
