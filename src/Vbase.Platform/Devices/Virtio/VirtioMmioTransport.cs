using System.Buffers.Binary;

namespace Vbase.Platform.Devices.Virtio;

/// <summary>
/// The virtio-mmio transport, version 2 (virtio 1.x, 4.2): one 4 KiB window of 32-bit registers in front of a
/// <see cref="VirtioDevice"/>, with feature negotiation, the device status protocol and split virtqueues set up by
/// their guest-physical addresses. Reusable for any virtio device; nothing here knows what a network card is.
/// </summary>
/// <remarks>
/// Registers below the configuration space take aligned 32-bit accesses only (4.2.2: "the driver MUST use only
/// 32 bit wide and aligned reads and writes"); any other access answers an access fault. Offsets the layout does
/// not name read as 0 and ignore writes (as QEMU does), so a probing driver never faults for looking. The
/// configuration space takes naturally aligned 1, 2, 4 and 8-byte accesses.
/// </remarks>
public sealed class VirtioMmioTransport : IDevice
{
    private readonly VirtioDevice device;
    private readonly IVirtioHost host;
    private readonly SplitVirtqueue[] queues;
    private readonly ulong deviceFeatures;
    private uint deviceFeaturesSel, driverFeaturesSel, queueSel, status, interruptStatus;
    private ulong driverFeatures;

    public VirtioMmioTransport(VirtioDevice device, IVirtioHost host)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(host);
        this.device = device;
        this.host = host;
        device.Transport = this;
        deviceFeatures = device.Features | (1UL << Virtio.FeatureVersion1);
        queues = new SplitVirtqueue[device.QueueCount];
        for (int i = 0; i < queues.Length; i++)
        {
            queues[i] = new SplitVirtqueue(host.Memory, device.QueueSizeMax);
        }
    }

    public string Name => device.Name;
    public ulong Size => Virtio.WindowBytes;

    /// <summary>The device's status register (2.1).</summary>
    public uint Status => status;

    /// <summary>The features the driver accepted (valid once FEATURES_OK holds).</summary>
    public ulong NegotiatedFeatures => driverFeatures;

    /// <summary>True once the driver set DRIVER_OK and the device has not failed.</summary>
    public bool DriverOk => (status & Virtio.StatusDriverOk) != 0 && (status & Virtio.StatusFailed) == 0;

    public SplitVirtqueue Queue(int index) => queues[index];

    public uint InterruptStatus => interruptStatus;

    /// <summary>The device returned buffers on a queue: tell the driver unless it asked not to be told.</summary>
    public void SignalUsed(int queue)
    {
        if (queues[queue].InterruptSuppressed())
        {
            return;
        }
        interruptStatus |= Virtio.InterruptUsedBuffer;
        host.RaiseInterrupt();
    }

    /// <summary>Passes a device's complaint about what the driver gave it to the host's log.</summary>
    public void ReportFault(int queue, VirtqueueFault fault, ushort head) => host.ReportFault(device.Name, queue, fault, head);

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        if (offset >= (ulong)VirtioMmioRegister.Config)
        {
            return ReadConfig(offset - (ulong)VirtioMmioRegister.Config, size, out value);
        }
        if (size != 4 || offset % 4 != 0)
        {
            return false;
        }
        SplitVirtqueue? q = queueSel < queues.Length ? queues[queueSel] : null;
        value = (VirtioMmioRegister)offset switch
        {
            VirtioMmioRegister.MagicValue => Virtio.Magic,
            VirtioMmioRegister.Version => Virtio.MmioVersion,
            VirtioMmioRegister.DeviceId => device.DeviceId,
            VirtioMmioRegister.VendorId => Virtio.VendorId,
            VirtioMmioRegister.DeviceFeatures => deviceFeaturesSel switch
            {
                0 => (uint)deviceFeatures,
                1 => (uint)(deviceFeatures >> 32),
                _ => 0,
            },
            // 0 tells the driver that the selected queue does not exist.
            VirtioMmioRegister.QueueNumMax => q is null ? 0UL : q.SizeMax,
            VirtioMmioRegister.QueueReady => q is { Ready: true } ? 1UL : 0,
            VirtioMmioRegister.InterruptStatus => interruptStatus,
            VirtioMmioRegister.Status => status,
            VirtioMmioRegister.ConfigGeneration => 0,
            // No shared memory regions: a length of all ones says "none" (4.2.2).
            VirtioMmioRegister.ShmLenLow or VirtioMmioRegister.ShmLenHigh => 0xFFFF_FFFF,
            _ => 0,
        };
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        if (offset >= (ulong)VirtioMmioRegister.Config)
        {
            return true;   // the configuration space of our devices is read-only: writes are ignored
        }
        if (size != 4 || offset % 4 != 0)
        {
            return false;
        }
        uint v = (uint)value;
        SplitVirtqueue? q = queueSel < queues.Length ? queues[queueSel] : null;
        // Queue setup is only meaningful while the queue is not live (4.2.3.2); a driver that changes a live
        // queue's addresses is ignored rather than followed into the middle of its own rings.
        bool setup = q is { Ready: false };
        switch ((VirtioMmioRegister)offset)
        {
            case VirtioMmioRegister.DeviceFeaturesSel: deviceFeaturesSel = v; break;
            case VirtioMmioRegister.DriverFeaturesSel: driverFeaturesSel = v; break;
            case VirtioMmioRegister.DriverFeatures:
                if ((status & Virtio.StatusFeaturesOk) == 0 && driverFeaturesSel < 2)
                {
                    int shift = 32 * (int)driverFeaturesSel;
                    driverFeatures = (driverFeatures & ~(0xFFFF_FFFFUL << shift)) | ((ulong)v << shift);
                }
                break;
            case VirtioMmioRegister.QueueSel: queueSel = v; break;
            case VirtioMmioRegister.QueueNum when setup: q!.Size = v; break;
            case VirtioMmioRegister.QueueDescLow when setup: q!.DescriptorTable = Low(q.DescriptorTable, v); break;
            case VirtioMmioRegister.QueueDescHigh when setup: q!.DescriptorTable = High(q.DescriptorTable, v); break;
            case VirtioMmioRegister.QueueDriverLow when setup: q!.DriverArea = Low(q.DriverArea, v); break;
            case VirtioMmioRegister.QueueDriverHigh when setup: q!.DriverArea = High(q.DriverArea, v); break;
            case VirtioMmioRegister.QueueDeviceLow when setup: q!.DeviceArea = Low(q.DeviceArea, v); break;
            case VirtioMmioRegister.QueueDeviceHigh when setup: q!.DeviceArea = High(q.DeviceArea, v); break;
            case VirtioMmioRegister.QueueReady when q is not null:
                if (q.SetReady(v == 1) is VirtqueueFault fault and not VirtqueueFault.None)
                {
                    host.ReportFault(device.Name, (int)queueSel, fault, 0);
                }
                break;
            case VirtioMmioRegister.QueueNotify:
                // A notification before DRIVER_OK, for a queue that is not there or not ready, means nothing.
                if (DriverOk && v < queues.Length && queues[v].Ready)
                {
                    device.QueueNotified((int)v);
                }
                break;
            case VirtioMmioRegister.InterruptAck: Acknowledge(v); break;
            case VirtioMmioRegister.Status: WriteStatus(v); break;
            default: break;
        }
        return true;
    }

    private void WriteStatus(uint v)
    {
        if (v == 0)
        {
            Reset();
            return;
        }
        if ((v & Virtio.StatusFeaturesOk) != 0 && (status & Virtio.StatusFeaturesOk) == 0)
        {
            // The device refuses (by leaving FEATURES_OK clear) features it does not offer, and a driver that
            // does not take VERSION_1: this is a modern-only device (legacy drivers use version 1 of the layout).
            bool acceptable = (driverFeatures & ~deviceFeatures) == 0 && (driverFeatures & (1UL << Virtio.FeatureVersion1)) != 0;
            if (!acceptable)
            {
                v &= ~Virtio.StatusFeaturesOk;
            }
        }
        bool wasOk = DriverOk;
        status = v;
        if (!wasOk && DriverOk)
        {
            device.DriverReady();
        }
    }

    /// <summary>InterruptAck: the line is level-triggered (a PLIC source), so it falls when no status bit is left.</summary>
    private void Acknowledge(uint bits)
    {
        bool was = interruptStatus != 0;
        interruptStatus &= ~bits;
        if (was && interruptStatus == 0)
        {
            host.LowerInterrupt();
        }
    }

    private void Reset()
    {
        status = 0;
        Acknowledge(uint.MaxValue);
        driverFeatures = 0;
        deviceFeaturesSel = driverFeaturesSel = queueSel = 0;
        foreach (SplitVirtqueue q in queues)
        {
            q.Reset();
        }
        device.Reset();
    }

    private bool ReadConfig(ulong offset, int size, out ulong value)
    {
        value = 0;
        ReadOnlySpan<byte> config = device.Config;
        if (size is not (1 or 2 or 4 or 8) || offset % (ulong)size != 0)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[8];
        bytes.Clear();
        for (int i = 0; i < size; i++)
        {
            ulong at = offset + (ulong)i;
            bytes[i] = at < (ulong)config.Length ? config[(int)at] : (byte)0;
        }
        value = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return true;
    }

    private static ulong Low(ulong old, uint v) => (old & 0xFFFF_FFFF_0000_0000UL) | v;
    private static ulong High(ulong old, uint v) => (old & 0xFFFF_FFFFUL) | ((ulong)v << 32);
}
