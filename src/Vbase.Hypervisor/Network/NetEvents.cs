using Vbase.Platform.Devices.Virtio;
using Vbase.Sapi.Logging;

namespace Vbase.Hypervisor.Network;

/// <summary>Why the bridge did not deliver a frame to a port.</summary>
public enum FrameDropReason
{
    /// <summary>The receiving NIC had no buffer posted.</summary>
    NoBuffer,
    /// <summary>The receiving NIC's driver is not up (or reset its queue).</summary>
    NotReady,
    /// <summary>The receiving NIC's buffer was malformed (a <c>virtio.queue_fault</c> says how).</summary>
    BadBuffer,
    /// <summary>The tap (an attack from Dom0) dropped it.</summary>
    Tap,
    /// <summary>Too many frames were in flight (<see cref="NetworkBridge.MaxInFlight"/>).</summary>
    BridgeFull,
    /// <summary>The destination's domain is gone or shut down.</summary>
    PortDown,
}

/// <summary>
/// <c>net.frame</c>: a frame entered the bridge from port <paramref name="From"/> (a domain's name or <c>dom0</c>)
/// bound for <paramref name="To"/> (a port, or <c>flood</c>); <paramref name="Number"/> is its record in the pcap
/// (1-based, as Wireshark counts).
/// </summary>
public sealed record NetFrameData(ulong Number, string From, string To, int Length, ushort EtherType, bool Injected) : EventData
{
    public override string Kind => EventKind.NetFrame;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("number", Number));
        w.Write(EventField.Of("from", From));
        w.Write(EventField.Of("to", To));
        w.Write(EventField.Of("length", Length));
        w.Write(EventField.Hex("ethertype", EtherType));
        w.Write(EventField.Of("injected", Injected));
    }
}

/// <summary><c>net.frame_dropped</c>: frame <paramref name="Number"/> did not reach port <paramref name="To"/>.</summary>
public sealed record NetFrameDroppedData(ulong Number, string To, FrameDropReason Reason) : EventData
{
    public override string Kind => EventKind.NetFrameDropped;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("number", Number));
        w.Write(EventField.Of("to", To));
        w.Write(EventField.Of("reason", NetEventNames.Of(Reason)));
    }
}

/// <summary><c>net.attached</c>: the domain's NIC is on the bridge.</summary>
public sealed record NetAttachedData(string Mac, ulong Gpa, int Port) : EventData
{
    public override string Kind => EventKind.NetAttached;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("mac", Mac));
        w.Write(EventField.Hex("gpa", Gpa));
        w.Write(EventField.Of("port", Port));
    }
}

/// <summary><c>virtio.queue_fault</c>: the guest's driver gave <paramref name="Device"/> something malformed on a queue.</summary>
public sealed record VirtioQueueFaultData(string Device, int Queue, VirtqueueFault Fault, int Head) : EventData
{
    public override string Kind => EventKind.VirtioQueueFault;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("device", Device));
        w.Write(EventField.Of("queue", Queue));
        w.Write(EventField.Of("fault", NetEventNames.Of(Fault)));
        w.Write(EventField.Of("head", Head));
    }
}

/// <summary>The snake_case names the log gives the enums (stable: reports match on them).</summary>
public static class NetEventNames
{
    public static string Of(FrameDropReason r) => r switch
    {
        FrameDropReason.NoBuffer => "no_buffer",
        FrameDropReason.NotReady => "not_ready",
        FrameDropReason.BadBuffer => "bad_buffer",
        FrameDropReason.Tap => "tap",
        FrameDropReason.BridgeFull => "bridge_full",
        _ => "port_down",
    };

    public static string Of(VirtqueueFault f) => f switch
    {
        VirtqueueFault.None => "none",
        VirtqueueFault.BadQueueSetup => "bad_queue_setup",
        VirtqueueFault.RingUnreadable => "ring_unreadable",
        VirtqueueFault.AvailIndexJump => "avail_index_jump",
        VirtqueueFault.HeadOutOfRange => "head_out_of_range",
        VirtqueueFault.NextOutOfRange => "next_out_of_range",
        VirtqueueFault.ChainLoop => "chain_loop",
        VirtqueueFault.IndirectNotOffered => "indirect_not_offered",
        VirtqueueFault.ReadableAfterWritable => "readable_after_writable",
        VirtqueueFault.AddressWraps => "address_wraps",
        VirtqueueFault.TooLong => "too_long",
        VirtqueueFault.TooShort => "too_short",
        VirtqueueFault.BufferOutOfBounds => "buffer_out_of_bounds",
        _ => "wrong_direction",
    };
}
