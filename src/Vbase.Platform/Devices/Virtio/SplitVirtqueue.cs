using System.Buffers.Binary;

namespace Vbase.Platform.Devices.Virtio;

/// <summary>
/// Guest memory as a device reaches it (DMA): every address comes from the guest and may be anything. Both calls
/// answer false instead of throwing when any byte of the range is outside what the device may touch, and write
/// nothing then.
/// </summary>
public interface IDmaMemory
{
    bool TryRead(ulong address, Span<byte> destination);
    bool TryWrite(ulong address, ReadOnlySpan<byte> source);
}

/// <summary>What was wrong with what a (possibly hostile) driver put in a virtqueue.</summary>
public enum VirtqueueFault
{
    None,
    /// <summary>QueueReady with a size that is 0, not a power of 2 or above QueueNumMax, or misaligned rings.</summary>
    BadQueueSetup,
    /// <summary>The available or used ring, or the descriptor table, is not in the driver's memory.</summary>
    RingUnreadable,
    /// <summary>avail.idx moved on by more than the queue size since the device last looked: the queue is broken.</summary>
    AvailIndexJump,
    /// <summary>An available-ring entry names a descriptor past the table.</summary>
    HeadOutOfRange,
    /// <summary>A descriptor's next is past the table.</summary>
    NextOutOfRange,
    /// <summary>A chain longer than the table: it loops.</summary>
    ChainLoop,
    /// <summary>VIRTQ_DESC_F_INDIRECT, which the device does not offer.</summary>
    IndirectNotOffered,
    /// <summary>A device-readable descriptor after a device-writable one (2.7.4.2 forbids it).</summary>
    ReadableAfterWritable,
    /// <summary>A descriptor whose address + length wraps around.</summary>
    AddressWraps,
    /// <summary>The chain holds more bytes than the device accepts (a frame past the maximum).</summary>
    TooLong,
    /// <summary>The chain holds fewer bytes than the device needs (a frame without a header, a receive buffer too small).</summary>
    TooShort,
    /// <summary>A buffer is outside the driver's memory (unmapped, another domain's, MMIO).</summary>
    BufferOutOfBounds,
    /// <summary>The chain has no buffer of the direction the queue needs (a transmit chain of writable descriptors).</summary>
    WrongDirection,
}

/// <summary>One descriptor of a chain: a guest-physical buffer and whether the device writes it.</summary>
public readonly record struct VirtqueueSegment(ulong Address, uint Length, bool DeviceWritable);

/// <summary>
/// A split virtqueue (virtio 1.x, 2.7) on the device side. Everything the driver wrote is untrusted: indexes are
/// checked against the table, chains against loops and the direction rule, buffers against the driver's memory
/// (<see cref="IDmaMemory"/>) when they are copied. A malformed chain is consumed (and, when its head is valid,
/// returned used with length 0 so the driver gets its descriptors back) and reported, never thrown.
/// </summary>
public sealed class SplitVirtqueue
{
    private readonly IDmaMemory memory;
    private readonly VirtqueueSegment[] segments;

    public SplitVirtqueue(IDmaMemory memory, ushort sizeMax)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sizeMax);
        this.memory = memory;
        SizeMax = sizeMax;
        segments = new VirtqueueSegment[sizeMax];
    }

    public ushort SizeMax { get; }
    public uint Size { get; set; }
    public bool Ready { get; private set; }
    public ulong DescriptorTable { get; set; }
    public ulong DriverArea { get; set; }
    public ulong DeviceArea { get; set; }

    /// <summary>Set once avail.idx jumped: the device stops using the queue until the driver resets it.</summary>
    public bool Broken { get; private set; }

    private ushort lastAvail;
    private ushort usedIdx;

    public void Reset()
    {
        Ready = false;
        Broken = false;
        Size = 0;
        DescriptorTable = DriverArea = DeviceArea = 0;
        lastAvail = usedIdx = 0;
    }

    /// <summary>QueueReady: 1 makes the queue live if its setup is sound (else <see cref="VirtqueueFault.BadQueueSetup"/>).</summary>
    public VirtqueueFault SetReady(bool ready)
    {
        if (!ready)
        {
            Ready = false;
            return VirtqueueFault.None;
        }
        if (Size == 0 || Size > SizeMax || (Size & (Size - 1)) != 0
            || DescriptorTable % 16 != 0 || DriverArea % 2 != 0 || DeviceArea % 4 != 0)
        {
            Ready = false;
            return VirtqueueFault.BadQueueSetup;
        }
        Ready = true;
        Broken = false;
        lastAvail = usedIdx = 0;
        return VirtqueueFault.None;
    }

    /// <summary>The segments of the chain <see cref="TryTake"/> last returned.</summary>
    public ReadOnlySpan<VirtqueueSegment> Segments(int count) => segments.AsSpan(0, count);

    /// <summary>
    /// The next available chain. False with <paramref name="fault"/> None: nothing available. False with a fault:
    /// a malformed chain was consumed (and given back used, if <paramref name="head"/> is a valid index, which
    /// <paramref name="headValid"/> says). True: <paramref name="count"/> segments, readable ones first.
    /// </summary>
    public bool TryTake(out ushort head, out int count, out VirtqueueFault fault, out bool headValid)
    {
        head = 0;
        count = 0;
        headValid = false;
        fault = VirtqueueFault.None;
        if (!Ready || Broken)
        {
            return false;
        }
        Span<byte> b = stackalloc byte[16];
        if (!memory.TryRead(DriverArea + 2, b[..2]))
        {
            fault = VirtqueueFault.RingUnreadable;
            Broken = true;
            return false;
        }
        ushort availIdx = BinaryPrimitives.ReadUInt16LittleEndian(b);
        ushort pending = (ushort)(availIdx - lastAvail);
        if (pending == 0)
        {
            return false;
        }
        if (pending > Size)
        {
            fault = VirtqueueFault.AvailIndexJump;
            Broken = true;
            return false;
        }
        if (!memory.TryRead(DriverArea + 4 + (2UL * (lastAvail % Size)), b[..2]))
        {
            fault = VirtqueueFault.RingUnreadable;
            Broken = true;
            return false;
        }
        lastAvail++;
        head = BinaryPrimitives.ReadUInt16LittleEndian(b);
        if (head >= Size)
        {
            fault = VirtqueueFault.HeadOutOfRange;
            return false;
        }
        headValid = true;
        ushort index = head;
        bool sawWritable = false;
        while (true)
        {
            if (count == Size)
            {
                fault = VirtqueueFault.ChainLoop;
                break;
            }
            if (!memory.TryRead(DescriptorTable + (16UL * index), b))
            {
                fault = VirtqueueFault.RingUnreadable;
                break;
            }
            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(b);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(b[12..]);
            ushort next = BinaryPrimitives.ReadUInt16LittleEndian(b[14..]);
            bool writable = (flags & Virtio.DescWrite) != 0;
            if ((flags & Virtio.DescIndirect) != 0)
            {
                fault = VirtqueueFault.IndirectNotOffered;
                break;
            }
            if (sawWritable && !writable)
            {
                fault = VirtqueueFault.ReadableAfterWritable;
                break;
            }
            if (address > ulong.MaxValue - length)
            {
                fault = VirtqueueFault.AddressWraps;
                break;
            }
            sawWritable |= writable;
            segments[count++] = new VirtqueueSegment(address, length, writable);
            if ((flags & Virtio.DescNext) == 0)
            {
                break;
            }
            if (next >= Size)
            {
                fault = VirtqueueFault.NextOutOfRange;
                break;
            }
            index = next;
        }
        if (fault != VirtqueueFault.None)
        {
            count = 0;
            PutUsed(head, 0);
            return false;
        }
        return true;
    }

    /// <summary>Bytes of the chain's readable (or writable) segments, summed without overflow.</summary>
    public ulong Bytes(int count, bool writable)
    {
        ulong total = 0;
        foreach (VirtqueueSegment s in Segments(count))
        {
            if (s.DeviceWritable == writable)
            {
                total += s.Length;
            }
        }
        return total;
    }

    /// <summary>Copies the chain's readable bytes into <paramref name="destination"/> (which must hold them all); false if a buffer is not the driver's.</summary>
    public bool Gather(int count, Span<byte> destination)
    {
        int at = 0;
        foreach (VirtqueueSegment s in Segments(count))
        {
            if (s.DeviceWritable)
            {
                break;
            }
            if (s.Length > (uint)(destination.Length - at) || !memory.TryRead(s.Address, destination.Slice(at, (int)s.Length)))
            {
                return false;
            }
            at += (int)s.Length;
        }
        return true;
    }

    /// <summary>Writes <paramref name="source"/> into the chain's writable segments in order; false if they are too small or not the driver's.</summary>
    public bool Scatter(int count, ReadOnlySpan<byte> source)
    {
        int at = 0;
        foreach (VirtqueueSegment s in Segments(count))
        {
            if (!s.DeviceWritable || at == source.Length)
            {
                continue;
            }
            int n = (int)Math.Min(s.Length, (uint)(source.Length - at));
            if (!memory.TryWrite(s.Address, source.Slice(at, n)))
            {
                return false;
            }
            at += n;
        }
        return at == source.Length;
    }

    /// <summary>Returns a chain to the driver with the bytes written into it; false if the used ring is not the driver's.</summary>
    public bool PutUsed(ushort head, uint written)
    {
        Span<byte> e = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(e, head);
        BinaryPrimitives.WriteUInt32LittleEndian(e[4..], written);
        Span<byte> idx = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(idx, (ushort)(usedIdx + 1));
        if (!memory.TryWrite(DeviceArea + 4 + (8UL * (usedIdx % Size)), e) || !memory.TryWrite(DeviceArea + 2, idx))
        {
            Broken = true;
            return false;
        }
        usedIdx++;
        return true;
    }

    /// <summary>Whether the driver asked not to be interrupted (VIRTQ_AVAIL_F_NO_INTERRUPT; unreadable: interrupt).</summary>
    public bool InterruptSuppressed()
    {
        Span<byte> f = stackalloc byte[2];
        return memory.TryRead(DriverArea, f) && (BinaryPrimitives.ReadUInt16LittleEndian(f) & Virtio.AvailNoInterrupt) != 0;
    }
}
