using Vbase.Isa.Memory;
using Vbase.Platform.Devices;

namespace Vbase.Platform.Machines;

/// <summary>
/// The physical address space of the bare-metal machine: RAM plus devices at fixed bases. RAM pages go to the
/// hart's fast path as host pointers; device windows, and RAM pages that a device watches, take the slow path.
/// Anything unmapped answers false, which the hart turns into an access fault.
/// </summary>
public sealed unsafe class Bus : IPhysicalMemory
{
    private readonly Ram ram;
    // A handful of devices: a linear scan over an array beats a tree at this size, and only slow-path accesses
    // (MMIO, watched pages) come here at all.
    private Mapping[] devices = [];
    private Mapping[] watches = [];
    private readonly HashSet<ulong> watchedPages = [];

    private readonly record struct Mapping(ulong Base, ulong Size, IDevice Device)
    {
        public bool Contains(ulong address, int size) =>
            address >= Base && address - Base < Size && (ulong)size <= Size - (address - Base);
    }

    public Bus(Ram ram)
    {
        this.ram = ram;
    }

    public Ram Ram => ram;

    /// <summary>Places <paramref name="device"/> at <paramref name="baseAddress"/>; it must not overlap RAM or another device.</summary>
    public void Map(ulong baseAddress, IDevice device)
    {
        ulong size = device.Size;
        if (size == 0 || baseAddress + size < baseAddress)
        {
            throw new ArgumentException($"{device.Name}: empty or wrapping window at 0x{baseAddress:x}.", nameof(device));
        }
        if (Overlaps(baseAddress, size, ram.Base, ram.Size))
        {
            throw new ArgumentException($"{device.Name} at 0x{baseAddress:x} overlaps RAM; use Watch for RAM-backed registers.", nameof(device));
        }
        foreach (Mapping m in devices)
        {
            if (Overlaps(baseAddress, size, m.Base, m.Size))
            {
                throw new ArgumentException($"{device.Name} at 0x{baseAddress:x} overlaps {m.Device.Name} at 0x{m.Base:x}.", nameof(device));
            }
        }
        devices = [.. devices, new Mapping(baseAddress, size, device)];
    }

    /// <summary>
    /// Routes stores to [address, address+device.Size) inside RAM to <paramref name="device"/> (HTIF's tohost).
    /// Loads and fetches there still read RAM directly; stores anywhere else in the watched page go to RAM
    /// through the slow path. Must be set up before the hart first touches the page, which caches fast paths.
    /// </summary>
    public void Watch(ulong address, IDevice device)
    {
        if (!ram.Contains(address, device.Size))
        {
            throw new ArgumentException($"{device.Name}: watched range 0x{address:x}+0x{device.Size:x} is not in RAM.", nameof(address));
        }
        watches = [.. watches, new Mapping(address, device.Size, device)];
        for (ulong page = address >> 12; page <= (address + device.Size - 1) >> 12; page++)
        {
            watchedPages.Add(page);
        }
    }

    /// <summary>The device mapped at <paramref name="address"/>, if any (for tests and memory maps).</summary>
    public IDevice? DeviceAt(ulong address)
    {
        foreach (Mapping m in devices)
        {
            if (m.Contains(address, 1))
            {
                return m.Device;
            }
        }
        return null;
    }

    public byte* TryGetPage(ulong pageAddress, MemoryAccess access)
    {
        if (!ram.Contains(pageAddress, Ram.PageSize))
        {
            return null;
        }
        if (access == MemoryAccess.Store && watchedPages.Count != 0 && watchedPages.Contains(pageAddress >> 12))
        {
            return null;
        }
        return ram.HostAddress(pageAddress);
    }

    public bool Read(ulong address, int size, MemoryAccess access, out ulong value)
    {
        if (ram.Contains(address, (ulong)size))
        {
            value = ram.Read(address, size);
            return true;
        }
        if (access == MemoryAccess.Fetch)
        {
            value = 0; // devices are not executable (and a fetch must not pop a UART byte)
            return false;
        }
        foreach (Mapping m in devices)
        {
            if (m.Contains(address, size))
            {
                return m.Device.Read(address - m.Base, size, out value);
            }
        }
        value = 0;
        return false;
    }

    public bool Write(ulong address, int size, ulong value)
    {
        if (ram.Contains(address, (ulong)size))
        {
            foreach (Mapping w in watches)
            {
                // A store that only partly covers the watched word (misaligned) is plain RAM: no device
                // protocol is defined for it.
                if (w.Contains(address, size))
                {
                    return w.Device.Write(address - w.Base, size, value);
                }
            }
            ram.Write(address, size, value);
            return true;
        }
        foreach (Mapping m in devices)
        {
            if (m.Contains(address, size))
            {
                return m.Device.Write(address - m.Base, size, value);
            }
        }
        return false;
    }

    private static bool Overlaps(ulong aBase, ulong aSize, ulong bBase, ulong bSize) =>
        aBase < bBase + bSize && bBase < aBase + aSize;
}
