namespace Vbase.Sapi.Logging;

/// <summary>
/// The event kinds the hypervisor records (stable strings: scenario reports match on them). Each has one record type
/// in this namespace whose <see cref="EventData.Kind"/> is the constant; docs/events.md gives the fields.
/// </summary>
public static class EventKind
{
    public const string DomainCreated = "domain.created";
    public const string DomainUnpaused = "domain.unpaused";
    public const string DomainPaused = "domain.paused";
    public const string DomainShutdown = "domain.shutdown";
    public const string DomainDestroyed = "domain.destroyed";
    public const string DomainCrashed = "domain.crashed";
    /// <summary>The watchdog found a vCPU that ran too long without a call to the hypervisor; the domain shuts down with <c>crash</c>.</summary>
    public const string DomainWedged = "domain.wedged";
    public const string P2mReadOnlyWrite = "p2m.write_to_readonly";
    public const string P2mChanged = "p2m.changed";
    public const string HypercallDenied = "hypercall.denied";
    public const string GrantMapped = "grant.mapped";
    public const string GrantUnmapped = "grant.unmapped";
    public const string GrantRefused = "grant.refused";
    public const string VirqSent = "virq.sent";
    public const string RunIdle = "run.idle";
    public const string ForeignWrite = "dom0.foreign_write";
    /// <summary>A domain's console passed its limit (<see cref="Domains.DomainConfig.ConsoleLimitBytes"/>): output dropped.</summary>
    public const string ConsoleDropped = "console.dropped";
    /// <summary>Events of one kind from one domain past the flood limit in an interval, counted instead of logged.</summary>
    public const string EventsSuppressed = "log.suppressed";
    /// <summary>A deadline past the representable virtual time was refused, or time reached its end.</summary>
    public const string TimeSaturated = "time.saturated";

    // The network (docs/network.md): Dom0's bridge and the guests' virtio devices.
    /// <summary>A frame entered the bridge (from a guest's NIC or Dom0's endpoint): its number in the pcap, ports, size.</summary>
    public const string NetFrame = "net.frame";
    /// <summary>A frame the bridge could not deliver (no receive buffer, the driver not up, the tap dropped it).</summary>
    public const string NetFrameDropped = "net.frame_dropped";
    /// <summary>A guest's NIC was attached to the bridge (its MAC and virtio-mmio window).</summary>
    public const string NetAttached = "net.attached";
    /// <summary>A guest gave a virtio device a malformed queue or buffer; the device dropped it and carried on.</summary>
    public const string VirtioQueueFault = "virtio.queue_fault";

    // SAPI: recorded by the hypervisor around the plugged-in architecture.
    public const string ArchitecturePlugged = "sapi.plugged";
    public const string ArchitectureFailed = "sapi.architecture_failed";
    public const string RegionProtected = "sapi.region_protected";
    public const string RegionReleased = "sapi.region_released";
    public const string SecureSuspend = "sapi.secure_suspend";
    public const string SecureResume = "sapi.secure_resume";
    public const string ProtectedWriteDropped = "sapi.write_dropped";
    /// <summary>Writes the harts dropped on their fast path after a reported one, counted (<c>sapi.writes_dropped</c>).</summary>
    public const string ProtectedWritesCounted = "sapi.writes_dropped";
    public const string ProtectedAccessRefused = "sapi.access_refused";
    public const string Violation = "sapi.violation";
    public const string VbaseOp = "sapi.vbase_op";
    public const string P2mChangeRefused = "sapi.p2m_refused";
    /// <summary>What crossed the chip boundary over a run: data and metadata lines, hits, cipher and MAC work, cycles.</summary>
    public const string DramTraffic = "sapi.dram_traffic";
    /// <summary>A plug-in reserved machine memory for its off-chip metadata.</summary>
    public const string MetadataArea = "sapi.metadata_area";

    /// <summary>Oracle: the application read protected data that differs from the golden shadow.</summary>
    public const string ShadowMismatch = "oracle.read_mismatch";
}
