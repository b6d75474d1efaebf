using System.Runtime.InteropServices;
using Vbase.Isa.Memory;

namespace Vbase.Isa.Tests.Infrastructure;

/// <summary>One slow-path access seen by a device page.</summary>
public readonly record struct DeviceAccess(ulong Address, int Size, bool IsWrite, ulong Value, MemoryAccess Kind);

/// <summary>
/// Physical memory for tests: RAM at <see cref="RamBase"/> handed to the hart as host pointers (one per 4 KiB page),
/// plus three device pages that only the slow path reaches:
/// <list type="bullet">
/// <item><see cref="ExitPage"/> (address 0, reachable as <c>sb x0, 0(x0)</c> without any register): a write stops
/// the hart, so trap handlers can end a test without disturbing registers or CSRs.</item>
/// <item><see cref="MmioPage"/>: a 4 KiB register file that records every access, or faults them all while
/// <see cref="MmioFaults"/> is set.</item>
/// <item>Everything else is unmapped and answers with an access fault.</item>
/// </list>
/// Individual RAM pages can be moved to the slow path (<see cref="ForceSlowPath"/>) to exercise it.
/// </summary>
public sealed unsafe class TestMemory : IPhysicalMemory, IDisposable
{
    public const ulong RamBase = 0x8000_0000;
    /// <summary>4 MiB: enough for two 2 MiB superpages, and the base is 1 GiB-aligned for a gigapage.</summary>
    public const ulong RamSize = 4 << 20;
    public const ulong ExitPage = 0x0;
    public const ulong MmioPage = 0x1000_0000;

    private readonly byte* ram;
    private readonly byte[] mmio = new byte[4096];
    private readonly HashSet<ulong> slowPages = [];
    private bool disposed;

    public TestMemory()
    {
        ram = (byte*)NativeMemory.AllocZeroed((nuint)RamSize);
    }

    public List<DeviceAccess> DeviceAccesses { get; } = [];
    public bool MmioFaults { get; set; }
    /// <summary>Called on a write to the exit page (the machine stops the hart here).</summary>
    public Action<ulong>? OnExit { get; set; }
    public int ExitWrites { get; private set; }

    public static bool IsRam(ulong address) => address - RamBase < RamSize;

    public void ForceSlowPath(ulong pageAddress) => slowPages.Add(pageAddress & ~0xFFFUL);

    private readonly ulong* dropCounter = (ulong*)NativeMemory.AllocZeroed(8);
    private ulong dropPage = ulong.MaxValue;

    /// <summary>
    /// Makes a RAM page read-only in the way a p2m's <c>ram_ro</c> is: loads as usual, every store dropped
    /// (<see cref="DroppedOnSlowPath"/> counts those that reached <see cref="Write"/>; the hart counts the rest in
    /// <see cref="DroppedByHart"/> once the page answers <see cref="TryGetDropCounter"/>).
    /// </summary>
    public void DropStores(ulong pageAddress) => dropPage = pageAddress & ~0xFFFUL;

    public int DroppedOnSlowPath { get; private set; }
    public ulong DroppedByHart => *dropCounter;

    public ulong* TryGetDropCounter(ulong pageAddress) => pageAddress == dropPage ? dropCounter : null;

    public Span<byte> Ram => new(ram, (int)RamSize);

    public byte* TryGetPage(ulong pageAddress, MemoryAccess access) =>
        IsRam(pageAddress) && !slowPages.Contains(pageAddress) && (access != MemoryAccess.Store || pageAddress != dropPage)
            ? ram + (pageAddress - RamBase) : null;

    /// <summary>Fetches that took the slow path (pages moved there by <see cref="ForceSlowPath"/>).</summary>
    public int SlowFetches { get; private set; }

    /// <summary>While set, slow-path fetches are refused (as a secure architecture may refuse them).</summary>
    public bool RefuseSlowFetches { get; set; }

    public bool Read(ulong address, int size, MemoryAccess access, out ulong value)
    {
        value = 0;
        if (access == MemoryAccess.Fetch)
        {
            SlowFetches++;
            if (RefuseSlowFetches)
            {
                return false;
            }
        }
        if (IsRam(address) && IsRam(address + (ulong)size - 1))
        {
            value = ReadBytes(ram + (address - RamBase), size);
            return true;
        }
        if (address >> 12 == MmioPage >> 12 && !MmioFaults)
        {
            fixed (byte* p = mmio)
            {
                value = ReadBytes(p + (address & 0xFFF), size);
            }
            DeviceAccesses.Add(new DeviceAccess(address, size, false, value, access));
            return true;
        }
        return address >> 12 == ExitPage >> 12; // the exit page reads as zero
    }

    public bool Write(ulong address, int size, ulong value)
    {
        if ((address & ~0xFFFUL) == dropPage)
        {
            DroppedOnSlowPath++;
            return true;
        }
        if (IsRam(address) && IsRam(address + (ulong)size - 1))
        {
            WriteBytes(ram + (address - RamBase), size, value);
            return true;
        }
        if (address >> 12 == MmioPage >> 12 && !MmioFaults)
        {
            fixed (byte* p = mmio)
            {
                WriteBytes(p + (address & 0xFFF), size, value);
            }
            DeviceAccesses.Add(new DeviceAccess(address, size, true, value, MemoryAccess.Store));
            return true;
        }
        if (address >> 12 == ExitPage >> 12)
        {
            ExitWrites++;
            OnExit?.Invoke(value);
            return true;
        }
        return false;
    }

    private static ulong ReadBytes(byte* p, int size)
    {
        ulong v = 0;
        for (int i = size - 1; i >= 0; i--)
        {
            v = (v << 8) | p[i];
        }
        return v;
    }

    private static void WriteBytes(byte* p, int size, ulong value)
    {
        for (int i = 0; i < size; i++)
        {
            p[i] = (byte)(value >> (8 * i));
        }
    }

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            NativeMemory.Free(ram);
            NativeMemory.Free(dropCounter);
        }
        GC.SuppressFinalize(this);
    }

    ~TestMemory()
    {
        if (!disposed)
        {
            NativeMemory.Free(ram);
            NativeMemory.Free(dropCounter);
        }
    }
}
