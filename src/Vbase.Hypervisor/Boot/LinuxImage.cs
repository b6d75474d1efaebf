using System.Buffers.Binary;

namespace Vbase.Hypervisor.Boot;

/// <summary>
/// The header of a RISC-V Linux <c>Image</c> (Documentation/riscv/boot-image-header.rst): 64 bytes at the start
/// of the file, with the magic "RSC\x05" at 0x38, the offset from the start of RAM the image must be loaded at
/// (text_offset, at 0x08) and the memory it occupies once running, bss included (image_size, at 0x10).
/// </summary>
public sealed record LinuxImage(ulong TextOffset, ulong ImageSize, ulong Flags, uint Version)
{
    public const int HeaderBytes = 64;
    public const int Magic2Offset = 0x38;

    /// <summary>"RSC\x05", little-endian at 0x38.</summary>
    public const uint Magic2 = 0x0543_5352;

    /// <summary>The kernel must start on a 2 MiB boundary (a PMD, so its linear mapping can use huge pages).</summary>
    public const ulong Alignment = 2UL << 20;

    /// <summary>Whether <paramref name="file"/> starts with a RISC-V Image header (the magic at 0x38).</summary>
    public static bool IsImage(ReadOnlySpan<byte> file) =>
        file.Length >= HeaderBytes && BinaryPrimitives.ReadUInt32LittleEndian(file[Magic2Offset..]) == Magic2;

    /// <summary>Reads the header; a file that is not a usable little-endian v0.2+ Image is refused.</summary>
    /// <exception cref="FormatException">Why the file is not a bootable Image.</exception>
    public static LinuxImage Parse(ReadOnlySpan<byte> file)
    {
        if (!IsImage(file))
        {
            throw new FormatException($"not a RISC-V Linux Image: no \"RSC\\x05\" magic at 0x{Magic2Offset:x}");
        }
        ulong textOffset = BinaryPrimitives.ReadUInt64LittleEndian(file[8..]);
        ulong imageSize = BinaryPrimitives.ReadUInt64LittleEndian(file[16..]);
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(file[24..]);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(file[32..]);
        // Before header version 0.2 text_offset and image_size were not defined.
        if (version < 0x0000_0002)
        {
            throw new FormatException($"Image header version {version >> 16}.{version & 0xFFFF} is older than 0.2 (no text_offset/image_size)");
        }
        if ((flags & 1) != 0)
        {
            throw new FormatException("a big-endian Image (header flags bit 0)");
        }
        if (textOffset % Alignment != 0)
        {
            throw new FormatException($"text_offset 0x{textOffset:x} is not a multiple of 2 MiB");
        }
        if (imageSize < (ulong)file.Length)
        {
            throw new FormatException($"image_size 0x{imageSize:x} is smaller than the file (0x{file.Length:x} bytes)");
        }
        return new LinuxImage(textOffset, imageSize, flags, version);
    }
}
