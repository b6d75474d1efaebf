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

    /// <summary>
    /// Drains a queue of device-readable chains (a transmit queue): at most one table's worth per notification, so a
    /// driver that keeps refilling while the device drains cannot keep it here (the rest waits for its next
    /// notification). Every chain goes back used with length 0. A chain with writable buffers, of more than
    /// <paramref name="buffer"/>.Length or fewer than <paramref name="minBytes"/> bytes, or outside the driver's memory
    /// is reported and skipped; a good one is gathered into <paramref name="buffer"/> and handed to
    /// <see cref="ChainRead"/>. Returns how many chains were faulty.
    /// </summary>
    protected int DrainReadable(int queue, byte[] buffer, int minBytes = 0)
    {
        SplitVirtqueue q = Transport.Queue(queue);
        bool used = false;
        int faults = 0;
        for (uint n = 0; n < q.Size; n++)
        {
            if (!q.TryTake(out ushort head, out int count, out VirtqueueFault fault, out bool headValid))
            {
                if (fault == VirtqueueFault.None)
                {
                    break;
                }
                faults++;
                Transport.ReportFault(queue, fault, head);
                used |= headValid;
                if (q.Broken)
                {
                    break;
                }
                continue;
            }
            ulong bytes = q.Bytes(count, writable: false);
            fault = q.Bytes(count, writable: true) != 0 ? VirtqueueFault.WrongDirection
                : bytes > (ulong)buffer.Length ? VirtqueueFault.TooLong
                : bytes < (ulong)minBytes ? VirtqueueFault.TooShort
                : !q.Gather(count, buffer.AsSpan(0, (int)bytes)) ? VirtqueueFault.BufferOutOfBounds
                : VirtqueueFault.None;
            q.PutUsed(head, 0);
            used = true;
            if (fault != VirtqueueFault.None)
            {
                faults++;
                Transport.ReportFault(queue, fault, head);
                continue;
            }
            ChainRead(queue, buffer.AsSpan(0, (int)bytes));
        }
        if (used)
        {
            Transport.SignalUsed(queue);
        }
        return faults;
    }

    /// <summary>A good chain of <see cref="DrainReadable"/>'s queue, its bytes gathered.</summary>
    protected virtual void ChainRead(int queue, ReadOnlySpan<byte> chain)
    {
    }
}
