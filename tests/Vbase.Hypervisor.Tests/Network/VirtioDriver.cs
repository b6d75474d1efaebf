using System.Buffers.Binary;
using Vbase.Hypervisor.Domains;
using Vbase.Platform.Devices.Virtio;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;

namespace Vbase.Hypervisor.Tests.Network;

/// <summary>
/// A virtio-net driver written in C#, acting for a guest: it sets the device up through the guest's MMIO path (the
/// same <c>DomainPhysicalMemory</c> calls a hart's loads and stores make) and lays its rings out in the guest's
/// RAM through Dom0, so tests can post well-formed and hostile queues alike.
/// </summary>
internal sealed class VirtioDriver
{
    public const ushort QueueSize = 16;
    public const ulong RxDesc = 0x8030_0000, RxAvail = 0x8030_1000, RxUsed = 0x8030_2000;
    public const ulong TxDesc = 0x8031_0000, TxAvail = 0x8031_1000, TxUsed = 0x8031_2000;
    public const ulong RxBuffers = 0x8032_0000, TxBuffers = 0x8033_0000;
    public const int BufferBytes = 2048;

    private readonly Hypervisor hv;
    private readonly Domain domain;
    private ushort rxAvail, txAvail;

    public VirtioDriver(Hypervisor hv, DomainId id)
    {
        this.hv = hv;
        domain = hv.FindDomain(id)!;
        Id = id;
    }

    public DomainId Id { get; }

    public uint Reg(VirtioMmioRegister r)
    {
        Assert.True(domain.Physical.Read(GuestLayout.VirtioMmioBase + (ulong)r, 4, Isa.Memory.MemoryAccess.Load, out ulong v));
        return (uint)v;
    }

    public void Set(VirtioMmioRegister r, ulong value) => Assert.True(domain.Physical.Write(GuestLayout.VirtioMmioBase + (ulong)r, 4, value));

    public void Poke(ulong gpa, ReadOnlySpan<byte> bytes) => Assert.Equal(0, hv.Dom0.WriteGuest(Id, new GuestPhysicalAddress(gpa), bytes));

    public void Poke16(ulong gpa, ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        Poke(gpa, b);
    }

    public byte[] Peek(ulong gpa, int length)
    {
        byte[] b = new byte[length];
        Assert.Equal(0, hv.Dom0.ReadGuest(Id, new GuestPhysicalAddress(gpa), b));
        return b;
    }

    public ushort Peek16(ulong gpa) => BinaryPrimitives.ReadUInt16LittleEndian(Peek(gpa, 2));

    /// <summary>Reset, ACK, DRIVER, features (VERSION_1 and MAC), FEATURES_OK, both queues, DRIVER_OK.</summary>
    public void BringUp()
    {
        Set(VirtioMmioRegister.Status, 0);
        Set(VirtioMmioRegister.Status, Virtio.StatusAcknowledge);
        Set(VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver);
        Set(VirtioMmioRegister.DriverFeaturesSel, 0);
        Set(VirtioMmioRegister.DriverFeatures, 1u << VirtioNetDevice.FeatureMac);
        Set(VirtioMmioRegister.DriverFeaturesSel, 1);
        Set(VirtioMmioRegister.DriverFeatures, 1);   // VERSION_1 is bit 32
        Set(VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk);
        Assert.NotEqual(0u, Reg(VirtioMmioRegister.Status) & Virtio.StatusFeaturesOk);
        SetUpQueue(VirtioNetDevice.ReceiveQueue, RxDesc, RxAvail, RxUsed);
        SetUpQueue(VirtioNetDevice.TransmitQueue, TxDesc, TxAvail, TxUsed);
        Set(VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk | Virtio.StatusDriverOk);
    }

    public void SetUpQueue(int queue, ulong desc, ulong avail, ulong used, uint size = QueueSize)
    {
        Set(VirtioMmioRegister.QueueSel, (ulong)queue);
        Set(VirtioMmioRegister.QueueNum, size);
        Set(VirtioMmioRegister.QueueDescLow, (uint)desc);
        Set(VirtioMmioRegister.QueueDescHigh, desc >> 32);
        Set(VirtioMmioRegister.QueueDriverLow, (uint)avail);
        Set(VirtioMmioRegister.QueueDriverHigh, avail >> 32);
        Set(VirtioMmioRegister.QueueDeviceLow, (uint)used);
        Set(VirtioMmioRegister.QueueDeviceHigh, used >> 32);
        Set(VirtioMmioRegister.QueueReady, 1);
    }

    public void Descriptor(ulong table, int index, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> d = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
        Poke(table + (16UL * (ulong)index), d);
    }

    /// <summary>Makes descriptor chain <paramref name="head"/> available on the queue whose driver area is <paramref name="avail"/>.</summary>
    public void MakeAvailable(ulong avail, ushort head)
    {
        ref ushort idx = ref avail == RxAvail ? ref rxAvail : ref txAvail;
        Poke16(avail + 4 + (2UL * (ulong)(idx % QueueSize)), head);
        idx++;
        Poke16(avail + 2, idx);
    }

    /// <summary>Posts receive buffer <paramref name="slot"/> (one writable descriptor of <see cref="BufferBytes"/>).</summary>
    public void PostReceive(int slot)
    {
        Descriptor(RxDesc, slot, RxBuffers + (ulong)(slot * BufferBytes), BufferBytes, Virtio.DescWrite, 0);
        MakeAvailable(RxAvail, (ushort)slot);
        Set(VirtioMmioRegister.QueueNotify, VirtioNetDevice.ReceiveQueue);
    }

    /// <summary>Sends <paramref name="frame"/> with a zero virtio-net header in transmit slot <paramref name="slot"/>.</summary>
    public void Send(int slot, ReadOnlySpan<byte> frame)
    {
        byte[] b = new byte[VirtioNetDevice.HeaderBytes + frame.Length];
        frame.CopyTo(b.AsSpan(VirtioNetDevice.HeaderBytes));
        ulong at = TxBuffers + (ulong)(slot * BufferBytes);
        Poke(at, b);
        Descriptor(TxDesc, slot, at, (uint)b.Length, 0, 0);
        MakeAvailable(TxAvail, (ushort)slot);
        Set(VirtioMmioRegister.QueueNotify, VirtioNetDevice.TransmitQueue);
    }

    /// <summary>A frame from <paramref name="from"/> to <paramref name="to"/> with an IPv4 ethertype and <paramref name="payload"/>.</summary>
    public static byte[] Frame(Vbase.Hypervisor.Network.MacAddress to, Vbase.Hypervisor.Network.MacAddress from, ReadOnlySpan<byte> payload)
    {
        byte[] f = new byte[14 + payload.Length];
        to.CopyTo(f);
        from.CopyTo(f.AsSpan(6));
        f[12] = 0x08;
        f[13] = 0x00;
        payload.CopyTo(f.AsSpan(14));
        return f;
    }
}
