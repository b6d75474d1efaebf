using System.Runtime.InteropServices;

namespace Vbase.Platform.Machines;

/// <summary>
/// The machine's RAM: one block of unmanaged, zeroed host memory at a physical base address. Being unmanaged,
/// it never moves, so the hart may keep host pointers to its pages in its TLB for the whole run.
/// </summary>
public sealed unsafe class Ram : IDisposable
{
    public const ulong DefaultBase = 0x8000_0000;
    public const ulong DefaultSize = 128UL << 20;
    public const ulong PageSize = 4096;

    private byte* host;

    public Ram(ulong size = DefaultSize, ulong baseAddress = DefaultBase)
    {
        if (size == 0 || size % PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "RAM size must be a non-zero multiple of 4 KiB.");
        }
        if (baseAddress % PageSize != 0 || baseAddress + size < baseAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(baseAddress), baseAddress, "RAM must start on a page and fit the address space.");
        }
        Base = baseAddress;
        Size = size;
        // calloc: the kernel hands out zero pages lazily, so an untouched 128 MiB costs nothing.
        host = (byte*)NativeMemory.AllocZeroed((nuint)size);
    }

    public ulong Base { get; }
    public ulong Size { get; }
    public ulong End => Base + Size;

    /// <summary>True if [address, address+length) lies wholly inside RAM.</summary>
    public bool Contains(ulong address, ulong length = 1) =>
        address >= Base && length <= Size && address - Base <= Size - length;

    /// <summary>Host address of the byte at physical <paramref name="address"/> (which must be inside RAM).</summary>
    public byte* HostAddress(ulong address)
    {
        ObjectDisposedException.ThrowIf(host is null, this);
        return host + (address - Base);
    }

    /// <summary>A view of [address, address+length) for loaders and tests; throws if it leaves RAM.</summary>
    public Span<byte> GetSpan(ulong address, int length)
    {
        if (length < 0 || !Contains(address, (ulong)length))
        {
            throw new ArgumentOutOfRangeException(nameof(address), $"[0x{address:x}, +0x{length:x}) is outside RAM.");
        }
        return new Span<byte>(HostAddress(address), length);
    }

    public ulong ReadUInt64(ulong address) => *(ulong*)HostAddress(CheckAccess(address, 8));

    public uint ReadUInt32(ulong address) => *(uint*)HostAddress(CheckAccess(address, 4));

    public void WriteUInt64(ulong address, ulong value) => *(ulong*)HostAddress(CheckAccess(address, 8)) = value;

    /// <summary>Little-endian access of 1, 2, 4 or 8 bytes, as the bus does it for slow-path RAM pages.</summary>
    internal ulong Read(ulong address, int size)
    {
        byte* p = HostAddress(address);
        return size switch { 1 => *p, 2 => *(ushort*)p, 4 => *(uint*)p, _ => *(ulong*)p };
    }

    internal void Write(ulong address, int size, ulong value)
    {
        byte* p = HostAddress(address);
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: *(ushort*)p = (ushort)value; break;
            case 4: *(uint*)p = (uint)value; break;
            default: *(ulong*)p = value; break;
        }
    }

    private ulong CheckAccess(ulong address, ulong length) => Contains(address, length)
        ? address
        : throw new ArgumentOutOfRangeException(nameof(address), $"0x{address:x} is outside RAM.");

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~Ram() => Free();

    private void Free()
    {
        if (host is not null)
        {
            NativeMemory.Free(host);
            host = null;
        }
    }
}
