namespace Vbase.Platform.Devices;

/// <summary>
/// A memory-mapped device as the bus sees it: a window of <see cref="Size"/> bytes that answers loads and
/// stores. Devices are always on the slow path, so they see every access, in program order.
/// </summary>
public interface IDevice
{
    /// <summary>A short name for maps and error messages ("uart", "clint").</summary>
    string Name { get; }

    /// <summary>Bytes of address space the device decodes from its base.</summary>
    ulong Size { get; }

    /// <summary>Reads 1, 2, 4 or 8 bytes at <paramref name="offset"/>; false makes the hart take an access fault.</summary>
    bool Read(ulong offset, int size, out ulong value);

    /// <summary>Writes 1, 2, 4 or 8 bytes at <paramref name="offset"/>; false makes the hart take an access fault.</summary>
    bool Write(ulong offset, int size, ulong value);
}
