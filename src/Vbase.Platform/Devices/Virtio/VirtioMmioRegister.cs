namespace Vbase.Platform.Devices.Virtio;

/// <summary>
/// The virtio-mmio registers of the version 2 ("modern") layout (virtio 1.x, 4.2.2 "MMIO Device Register Layout"):
/// offsets from the device's base. Every register is 32 bits wide and is accessed with aligned 32-bit loads and
/// stores; the device-specific configuration space starts at <see cref="Config"/>.
/// </summary>
public enum VirtioMmioRegister : ulong
{
    MagicValue = 0x000,
    Version = 0x004,
    DeviceId = 0x008,
    VendorId = 0x00c,
    DeviceFeatures = 0x010,
    DeviceFeaturesSel = 0x014,
    DriverFeatures = 0x020,
    DriverFeaturesSel = 0x024,
    QueueSel = 0x030,
    QueueNumMax = 0x034,
    QueueNum = 0x038,
    QueueReady = 0x044,
    QueueNotify = 0x050,
    InterruptStatus = 0x060,
    InterruptAck = 0x064,
    Status = 0x070,
    QueueDescLow = 0x080,
    QueueDescHigh = 0x084,
    QueueDriverLow = 0x090,
    QueueDriverHigh = 0x094,
    QueueDeviceLow = 0x0a0,
    QueueDeviceHigh = 0x0a4,
    ShmSel = 0x0ac,
    ShmLenLow = 0x0b0,
    ShmLenHigh = 0x0b4,
    ShmBaseLow = 0x0b8,
    ShmBaseHigh = 0x0bc,
    QueueReset = 0x0c0,
    ConfigGeneration = 0x0fc,
    Config = 0x100,
}

/// <summary>The spec's constants that the transport and its devices share (virtio 1.x, sections 2 and 4.2).</summary>
public static class Virtio
{
    /// <summary>"virt" little-endian: the value of <see cref="VirtioMmioRegister.MagicValue"/>.</summary>
    public const uint Magic = 0x7472_6976;

    /// <summary>The modern (non-legacy) virtio-mmio interface.</summary>
    public const uint MmioVersion = 2;

    /// <summary>The vendor id the device reports: "VBAS" little-endian (any value is allowed; Linux ignores it).</summary>
    public const uint VendorId = 0x5341_4256;

    /// <summary>One page per device window.</summary>
    public const ulong WindowBytes = 0x1000;

    // Device status bits (2.1).
    public const uint StatusAcknowledge = 1, StatusDriver = 2, StatusDriverOk = 4, StatusFeaturesOk = 8,
        StatusDeviceNeedsReset = 64, StatusFailed = 128;

    // InterruptStatus bits (4.2.2).
    public const uint InterruptUsedBuffer = 1, InterruptConfigChange = 2;

    /// <summary>VIRTIO_F_VERSION_1 (bit 32): the device is a modern one; a driver that does not accept it is refused.</summary>
    public const int FeatureVersion1 = 32;

    // Descriptor flags (2.7.5).
    public const ushort DescNext = 1, DescWrite = 2, DescIndirect = 4;

    /// <summary>VIRTQ_AVAIL_F_NO_INTERRUPT: the driver asks not to be interrupted for used buffers (a hint).</summary>
    public const ushort AvailNoInterrupt = 1;
}
