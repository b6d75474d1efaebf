namespace Vbase.Platform.Devices.Virtio;

/// <summary>What a virtio device's transport needs from whoever hosts it (the hypervisor, for a guest domain).</summary>
public interface IVirtioHost
{
    /// <summary>The driver's memory, as the device's DMA reaches it.</summary>
    IDmaMemory Memory { get; }

    /// <summary>The device's interrupt: InterruptStatus just gained a bit.</summary>
    void RaiseInterrupt();

    /// <summary>
    /// The driver acknowledged every bit of InterruptStatus (or reset the device): a level-triggered line (a PLIC
    /// source) falls. An edge-like delivery (an event channel) has nothing to do.
    /// </summary>
    void LowerInterrupt()
    {
    }

    /// <summary>The driver gave the device something malformed; the device carried on without it.</summary>
    void ReportFault(string device, int queue, VirtqueueFault fault, ushort head);
}

/// <summary>
/// A virtio device behind <see cref="VirtioMmioTransport"/> (virtio 1.x, section 5): its id, features, queues and
/// configuration space. The transport does the register protocol and owns the queues; a device only says what a
/// notification means and fills or drains its queues.
/// </summary>
public abstract class VirtioDevice
{
    /// <summary>The transport that hosts this device (set when the transport is built).</summary>
    public VirtioMmioTransport Transport { get; internal set; } = null!;

    /// <summary>The virtio device id (1 network card, 3 console…).</summary>
    public abstract uint DeviceId { get; }

    /// <summary>A short name for events ("virtio-net").</summary>
    public abstract string Name { get; }

    public abstract int QueueCount { get; }

    /// <summary>QueueNumMax of every queue.</summary>
    public virtual ushort QueueSizeMax => 256;

    /// <summary>The device features, VIRTIO_F_VERSION_1 included (the transport adds it).</summary>
    public abstract ulong Features { get; }

    /// <summary>The device-specific configuration space (read-only to the driver unless overridden).</summary>
    public abstract ReadOnlySpan<byte> Config { get; }

    /// <summary>The driver notified queue <paramref name="queue"/> (a valid, ready queue index).</summary>
    public abstract void QueueNotified(int queue);

    /// <summary>The driver reset the device (Status 0): forget every buffer.</summary>
    public virtual void Reset()
    {
    }

    /// <summary>DRIVER_OK was set: the driver is live.</summary>
    public virtual void DriverReady()
    {
    }
}
