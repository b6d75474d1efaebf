using System.Buffers.Binary;
using System.Text;
using Vbase.Platform.Devices.Virtio;

namespace Vbase.Platform.Tests;

/// <summary>
/// The virtio console device behind the virtio-mmio transport, against a fake host: output to the backend, input
/// into the driver's buffers, the level-triggered interrupt and a hostile driver's chains.
/// </summary>
public sealed class VirtioConsoleTests
{
    private const ulong MemoryBase = 0x1000, Desc = 0x1000, Avail = 0x2000, Used = 0x3000, Buffers = 0x4000;
    private const ulong Tx = 0x800;
    private const uint Size = 8;

    private sealed class Host : IVirtioHost, IDmaMemory, IConsoleBackend
    {
        public readonly byte[] Ram = new byte[0x10000];
        public int Raised, Lowered;
        public readonly List<(int Queue, VirtqueueFault Fault)> Faults = [];
        public readonly MemoryStream Out = new();
        public readonly Queue<byte> In = new();

        public IDmaMemory Memory => this;
        public void RaiseInterrupt() => Raised++;
        public void LowerInterrupt() => Lowered++;
        public void ReportFault(string device, int queue, VirtqueueFault fault, ushort head) => Faults.Add((queue, fault));
        public void Output(ReadOnlySpan<byte> bytes) => Out.Write(bytes);
        public bool HasInput => In.Count > 0;

        public int ReadInput(Span<byte> destination)
        {
            int n = Math.Min(destination.Length, In.Count);
            for (int i = 0; i < n; i++)
            {
                destination[i] = In.Dequeue();
            }
            return n;
        }

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

    private static void Set(VirtioMmioTransport t, VirtioMmioRegister r, ulong v) => Assert.True(t.Write((ulong)r, 4, v));

    private static uint Get(VirtioMmioTransport t, VirtioMmioRegister r)
    {
        Assert.True(t.Read((ulong)r, 4, out ulong v));
        return (uint)v;
    }

    private static void Queue(VirtioMmioTransport t, int q, ulong offset)
    {
        Set(t, VirtioMmioRegister.QueueSel, (ulong)q);
        Set(t, VirtioMmioRegister.QueueNum, Size);
        Set(t, VirtioMmioRegister.QueueDescLow, Desc + offset);
        Set(t, VirtioMmioRegister.QueueDriverLow, Avail + offset);
        Set(t, VirtioMmioRegister.QueueDeviceLow, Used + offset);
        Set(t, VirtioMmioRegister.QueueReady, 1);
    }

    private static (Host, VirtioMmioTransport, VirtioConsoleDevice) Console(bool up = true)
    {
        var host = new Host();
        var device = new VirtioConsoleDevice(host);
        var t = new VirtioMmioTransport(device, host);
        if (up)
        {
            Set(t, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver);
            Set(t, VirtioMmioRegister.DriverFeaturesSel, 1);
            Set(t, VirtioMmioRegister.DriverFeatures, 1);
            Set(t, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk);
            Queue(t, VirtioConsoleDevice.ReceiveQueue, 0);
            Queue(t, VirtioConsoleDevice.TransmitQueue, Tx);
            Set(t, VirtioMmioRegister.Status, Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk | Virtio.StatusDriverOk);
        }
        return (host, t, device);
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

    private static (uint Id, uint Length) UsedEntry(Host h, ulong used, int index) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(h.At(used + 4 + (8UL * (ulong)index), 4)),
         BinaryPrimitives.ReadUInt32LittleEndian(h.At(used + 8 + (8UL * (ulong)index), 4)));

    [Fact]
    public void TheDeviceIsAConsoleWithNoFeaturesBeyondVersion1()
    {
        (_, VirtioMmioTransport t, _) = Console(up: false);
        Assert.Equal(3u, Get(t, VirtioMmioRegister.DeviceId));
        Assert.Equal(0u, Get(t, VirtioMmioRegister.DeviceFeatures));
        Set(t, VirtioMmioRegister.DeviceFeaturesSel, 1);
        Assert.Equal(1u, Get(t, VirtioMmioRegister.DeviceFeatures));   // VIRTIO_F_VERSION_1 (bit 32)
        Set(t, VirtioMmioRegister.QueueSel, 1);
        Assert.NotEqual(0u, Get(t, VirtioMmioRegister.QueueNumMax));
        Set(t, VirtioMmioRegister.QueueSel, 2);
        Assert.Equal(0u, Get(t, VirtioMmioRegister.QueueNumMax));      // no multiport: no control queues
    }

    [Fact]
    public void OutputReachesTheBackendAndTheLevelFallsWhenAcknowledged()
    {
        (Host h, VirtioMmioTransport t, VirtioConsoleDevice c) = Console();
        Encoding.ASCII.GetBytes("hello, ").CopyTo(h.At(Buffers, 7));
        Encoding.ASCII.GetBytes("hvc\n").CopyTo(h.At(Buffers + 0x100, 4));
        Descriptor(h, Desc + Tx, 0, Buffers, 7, Virtio.DescNext, 1);
        Descriptor(h, Desc + Tx, 1, Buffers + 0x100, 4, 0);
        Offer(h, Avail + Tx, 0, 0);
        Set(t, VirtioMmioRegister.QueueNotify, VirtioConsoleDevice.TransmitQueue);
        Assert.Equal("hello, hvc\n", Encoding.ASCII.GetString(h.Out.ToArray()));
        Assert.Equal(11UL, c.TransmittedBytes);
        Assert.Equal((0u, 0u), UsedEntry(h, Used + Tx, 0));
        Assert.Equal((1, 0), (h.Raised, h.Lowered));
        Set(t, VirtioMmioRegister.InterruptAck, Virtio.InterruptUsedBuffer);
        Assert.Equal((1, 1), (h.Raised, h.Lowered));
        // Acknowledging nothing that is set does not lower it again.
        Set(t, VirtioMmioRegister.InterruptAck, Virtio.InterruptUsedBuffer);
        Assert.Equal(1, h.Lowered);
        Assert.Empty(h.Faults);
    }

    [Fact]
    public void InputFillsPostedBuffersOnceThePortIsConnectedAndOnlyWhenThereIsInput()
    {
        (Host h, VirtioMmioTransport t, VirtioConsoleDevice c) = Console();
        Descriptor(h, Desc, 0, Buffers, 4, Virtio.DescWrite);
        Descriptor(h, Desc, 1, Buffers + 0x100, 64, Virtio.DescWrite);
        Offer(h, Avail, 0, 0);
        Offer(h, Avail, 1, 1);
        Set(t, VirtioMmioRegister.QueueNotify, VirtioConsoleDevice.ReceiveQueue);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(h.At(Used + 2, 2)));   // nothing to say: buffers stay posted
        Assert.Equal(0, h.Raised);
        foreach (byte b in "ls -l\n"u8)
        {
            h.In.Enqueue(b);
        }
        // Linux posts its receive buffers before it marks the port connected (and drops what comes in between):
        // input waits for the driver's first output.
        c.DeliverInput();
        Assert.False(c.Connected);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(h.At(Used + 2, 2)));
        Descriptor(h, Desc + Tx, 0, Buffers + 0x800, 1, 0);
        Offer(h, Avail + Tx, 0, 0);
        Set(t, VirtioMmioRegister.QueueNotify, VirtioConsoleDevice.TransmitQueue);
        Assert.True(c.Connected);
        Assert.Equal(2, h.Raised);   // the used output, then the input
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(h.At(Used + 2, 2)));
        Assert.Equal((0u, 4u), UsedEntry(h, Used, 0));
        Assert.Equal((1u, 2u), UsedEntry(h, Used, 1));
        Assert.Equal("ls -", Encoding.ASCII.GetString(h.At(Buffers, 4)));
        Assert.Equal("l\n", Encoding.ASCII.GetString(h.At(Buffers + 0x100, 2)));
        Assert.Equal(6UL, c.ReceivedBytes);
        Assert.Empty(h.Faults);
        // A reset disconnects the port until the driver writes again.
        Set(t, VirtioMmioRegister.Status, 0);
        Assert.False(c.Connected);
    }

    [Fact]
    public void AHostileDriverLosesOnlyItsBadChains()
    {
        (Host h, VirtioMmioTransport t, VirtioConsoleDevice c) = Console();
        // Transmit: a writable buffer, a chain longer than the device takes, a buffer outside memory, then a good one.
        Descriptor(h, Desc + Tx, 0, Buffers, 8, Virtio.DescWrite);
        Descriptor(h, Desc + Tx, 1, Buffers, VirtioConsoleDevice.MaxChainBytes + 1, 0);
        Descriptor(h, Desc + Tx, 2, 0xFFFF_0000, 8, 0);
        Descriptor(h, Desc + Tx, 3, Buffers, 2, 0);
        Encoding.ASCII.GetBytes("ok").CopyTo(h.At(Buffers, 2));
        for (ushort i = 0; i < 4; i++)
        {
            Offer(h, Avail + Tx, i, i);
        }
        Set(t, VirtioMmioRegister.QueueNotify, VirtioConsoleDevice.TransmitQueue);
        Assert.Equal("ok", Encoding.ASCII.GetString(h.Out.ToArray()));
        Assert.Equal(
            [(1, VirtqueueFault.WrongDirection), (1, VirtqueueFault.TooLong), (1, VirtqueueFault.BufferOutOfBounds)],
            h.Faults);
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(h.At(Used + Tx + 2, 2)));  // every chain given back
        // Receive: a readable buffer, then a head past the table.
        h.Faults.Clear();
        h.In.Enqueue((byte)'x');
        Descriptor(h, Desc, 0, Buffers, 8, 0);
        Offer(h, Avail, 0, 0);
        Offer(h, Avail, 1, 100);
        Set(t, VirtioMmioRegister.QueueNotify, VirtioConsoleDevice.ReceiveQueue);
        Assert.Equal([(0, VirtqueueFault.WrongDirection), (0, VirtqueueFault.HeadOutOfRange)], h.Faults);
        Assert.Equal(3UL + 2, c.Faults);
        Assert.Equal(0UL, c.ReceivedBytes);
        Assert.Single(h.In);   // the input waits for a good buffer
    }
}
