using System.Buffers.Binary;
using Vbase.Platform.Devices.Virtio;

namespace Vbase.Platform.Tests;

/// <summary>
/// The virtio-mmio transport and the virtio-net device on their own, against a fake host whose "guest memory" is one
/// array: the register protocol, queue setup rules, interrupts and their suppression, the receive path.
/// </summary>
public sealed class VirtioTransportTests
{
    private const ulong MemoryBase = 0x1000, Desc = 0x1000, Avail = 0x2000, Used = 0x3000, Buffers = 0x4000;
    private const uint Size = 8;

    private sealed class Host : IVirtioHost, IDmaMemory, INetBackend
    {
        public readonly byte[] Ram = new byte[0x10000];
        public int Interrupts;
        public readonly List<(int Queue, VirtqueueFault Fault)> Faults = [];
        public readonly List<byte[]> Sent = [];

        public IDmaMemory Memory => this;
        public void RaiseInterrupt() => Interrupts++;
        public void ReportFault(string device, int queue, VirtqueueFault fault, ushort head) => Faults.Add((queue, fault));
        public void Transmit(VirtioNetDevice nic, ReadOnlySpan<byte> frame) => Sent.Add(frame.ToArray());

        private bool InRange(ulong address, int length) =>
            address >= MemoryBase && address - MemoryBase <= (ulong)Ram.Length && (ulong)length <= (ulong)Ram.Length - (address - MemoryBase);

        public bool TryRead(ulong address, Span<byte> destination)
        {
            if (!InRange(address, destination.Length))
            {
                return false;
            }
            Ram.AsSpan((int)(address - MemoryBase), destination.Length).CopyTo(destination);
            return true;
        }

        public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
        {
            if (!InRange(address, source.Length))
            {
                return false;
            }
            source.CopyTo(Ram.AsSpan((int)(address - MemoryBase)));
            return true;
        }

        public Span<byte> At(ulong address, int length) => Ram.AsSpan((int)(address - MemoryBase), length);
    }

    private static readonly byte[] Mac = [0x02, 0, 0, 0, 0, 0x42];

    private static (Host, VirtioMmioTransport, VirtioNetDevice) Nic()
    {
        var host = new Host();
        var nic = new VirtioNetDevice(Mac, host);
        return (host, new VirtioMmioTransport(nic, host), nic);
    }

    private static void Set(VirtioMmioTransport t, VirtioMmioRegister r, ulong v) => Assert.True(t.Write((ulong)r, 4, v));

    private static uint Get(VirtioMmioTransport t, VirtioMmioRegister r)
    {
        Assert.True(t.Read((ulong)r, 4, out ulong v));
        return (uint)v;
    }

    private static void Queue(VirtioMmioTransport t, int q, ulong desc, ulong avail, ulong used, uint size = Size)
    {
        Set(t, VirtioMmioRegister.QueueSel, (ulong)q);
        Set(t, VirtioMmioRegister.QueueNum, size);
        Set(t, VirtioMmioRegister.QueueDescLow, desc);
        Set(t, VirtioMmioRegister.QueueDriverLow, avail);
        Set(t, VirtioMmioRegister.QueueDeviceLow, used);
        Set(t, VirtioMmioRegister.QueueReady, 1);
    }

    private static void Up(VirtioMmioTransport t)
    {
        Set(t, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver);
        Set(t, VirtioMmioRegister.DriverFeaturesSel, 1);
        Set(t, VirtioMmioRegister.DriverFeatures, 1);
        Set(t, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk);
        Queue(t, VirtioNetDevice.ReceiveQueue, Desc, Avail, Used);
        Queue(t, VirtioNetDevice.TransmitQueue, Desc + 0x800, Avail + 0x800, Used + 0x800);
        Set(t, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk | Virtio.StatusDriverOk);
    }

    private static void Descriptor(Host h, ulong table, int i, ulong address, uint length, ushort flags, ushort next = 0)
    {
        Span<byte> d = h.At(table + (16UL * (ulong)i), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    private static void Offer(Host h, ulong avail, ushort index, ushort head)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(h.At(avail + 4 + (2UL * (index % Size)), 2), head);
        BinaryPrimitives.WriteUInt16LittleEndian(h.At(avail + 2, 2), (ushort)(index + 1));
    }

    [Fact]
    public void A_transmitted_frame_reaches_the_backend_without_its_header_and_comes_back_used()
    {
        (Host h, VirtioMmioTransport t, _) = Nic();
        Up(t);
        byte[] frame = [.. Enumerable.Range(0, 60).Select(i => (byte)i)];
        frame.CopyTo(h.At(Buffers + VirtioNetDevice.HeaderBytes, frame.Length));
        // Two descriptors: the header alone, then the frame (drivers may split them either way).
        Descriptor(h, Desc + 0x800, 0, Buffers, VirtioNetDevice.HeaderBytes, Virtio.DescNext, 1);
        Descriptor(h, Desc + 0x800, 1, Buffers + VirtioNetDevice.HeaderBytes, (uint)frame.Length, 0);
        Offer(h, Avail + 0x800, 0, 0);
        Set(t, VirtioMmioRegister.QueueNotify, VirtioNetDevice.TransmitQueue);
        Assert.Equal(frame, Assert.Single(h.Sent));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(h.At(Used + 0x800 + 2, 2)));
        Assert.Equal(1, h.Interrupts);
        Assert.Equal(Virtio.InterruptUsedBuffer, Get(t, VirtioMmioRegister.InterruptStatus));
        Set(t, VirtioMmioRegister.InterruptAck, Virtio.InterruptUsedBuffer);
        Assert.Equal(0u, Get(t, VirtioMmioRegister.InterruptStatus));
        Assert.Empty(h.Faults);
    }

    [Fact]
    public void A_received_frame_gets_a_header_with_one_buffer_and_the_driver_can_ask_for_no_interrupt()
    {
        (Host h, VirtioMmioTransport t, VirtioNetDevice nic) = Nic();
        Up(t);
        Assert.Equal(NetReceiveResult.NoBuffer, nic.Receive(new byte[20]));
        Descriptor(h, Desc, 0, Buffers, 2048, Virtio.DescWrite);
        Offer(h, Avail, 0, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h.At(Avail, 2), Virtio.AvailNoInterrupt);
        byte[] frame = [.. Enumerable.Repeat((byte)0xAB, 100)];
        Assert.Equal(NetReceiveResult.Delivered, nic.Receive(frame));
        Assert.Equal(0, h.Interrupts);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(h.At(Buffers + 10, 2)));
        Assert.Equal(frame, h.At(Buffers + VirtioNetDevice.HeaderBytes, frame.Length).ToArray());
        Assert.Equal((uint)(VirtioNetDevice.HeaderBytes + frame.Length), BinaryPrimitives.ReadUInt32LittleEndian(h.At(Used + 8, 4)));
    }

    [Fact]
    public void A_receive_buffer_too_small_for_the_frame_is_returned_empty_and_reported()
    {
        (Host h, VirtioMmioTransport t, VirtioNetDevice nic) = Nic();
        Up(t);
        Descriptor(h, Desc, 0, Buffers, 40, Virtio.DescWrite);
        Offer(h, Avail, 0, 0);
        Assert.Equal(NetReceiveResult.BadBuffer, nic.Receive(new byte[100]));
        Assert.Equal((VirtioNetDevice.ReceiveQueue, VirtqueueFault.TooShort), Assert.Single(h.Faults));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(h.At(Used + 8, 4)));
    }

    [Theory]
    [InlineData(3u, Desc, Avail, Used)]          // not a power of two
    [InlineData(512u, Desc, Avail, Used)]        // past QueueNumMax
    [InlineData(0u, Desc, Avail, Used)]
    [InlineData(Size, Desc + 8, Avail, Used)]    // a descriptor table not 16-byte aligned
    [InlineData(Size, Desc, Avail + 1, Used)]
    [InlineData(Size, Desc, Avail, Used + 2)]
    public void A_queue_with_a_bad_size_or_misaligned_rings_does_not_become_ready(uint size, ulong desc, ulong avail, ulong used)
    {
        (Host h, VirtioMmioTransport t, _) = Nic();
        Queue(t, 0, desc, avail, used, size);
        Assert.Equal(0u, Get(t, VirtioMmioRegister.QueueReady));
        Assert.Equal((0, VirtqueueFault.BadQueueSetup), Assert.Single(h.Faults));
    }

    [Fact]
    public void A_live_queue_keeps_its_rings_and_a_reset_forgets_everything()
    {
        (Host h, VirtioMmioTransport t, _) = Nic();
        Up(t);
        Set(t, VirtioMmioRegister.QueueSel, 1);
        Set(t, VirtioMmioRegister.QueueDescLow, 0xdead_0000);   // ignored: the queue is ready
        Assert.Equal(Desc + 0x800, t.Queue(1).DescriptorTable);
        Set(t, VirtioMmioRegister.Status, 0);
        Assert.Equal(0u, Get(t, VirtioMmioRegister.Status));
        Assert.False(t.Queue(0).Ready);
        Assert.False(t.Queue(1).Ready);
        Assert.Equal(0UL, t.NegotiatedFeatures);
        Assert.Empty(h.Faults);
    }

    [Fact]
    public void The_config_space_holds_the_MAC_link_status_and_MTU_and_takes_narrow_reads()
    {
        (_, VirtioMmioTransport t, _) = Nic();
        Assert.True(t.Read(0x100, 8, out ulong first8));
        Assert.Equal(0x0001_4200_0000_0002UL, first8);   // the MAC, then status = LINK_UP
        Assert.True(t.Read(0x10a, 2, out ulong mtu));
        Assert.Equal((ulong)VirtioNetDevice.Mtu, mtu);
        Assert.False(t.Read(0x101, 2, out _));            // misaligned
        Assert.True(t.Read(0x1f0, 4, out ulong past));    // past the config: zeros
        Assert.Equal(0UL, past);
        Assert.True(t.Write(0x100, 1, 0xff));             // read-only: ignored
        Assert.True(t.Read(0x100, 1, out ulong still));
        Assert.Equal(2UL, still);
    }
}
