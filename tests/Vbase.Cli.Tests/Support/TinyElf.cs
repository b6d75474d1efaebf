using System.Buffers.Binary;

namespace Vbase.Cli.Tests.Support;

/// <summary>Writes minimal ELF64 RISC-V executables: one PT_LOAD segment, no sections.</summary>
internal static class TinyElf
{
    private const int HeaderSize = 64, ProgramHeaderSize = 56;

    /// <summary>An executable whose one segment holds <paramref name="code"/> at 0x8000_0000 (entry) and spans <paramref name="memorySize"/> bytes.</summary>
    public static byte[] Build(uint[] code, ulong? memorySize = null, ushort machine = 243, byte elfClass = 2)
    {
        const ulong address = 0x8000_0000;
        int fileSize = code.Length * 4;
        byte[] b = new byte[HeaderSize + ProgramHeaderSize + fileSize];
        Span<byte> s = b;
        s[0] = 0x7F;
        s[1] = (byte)'E';
        s[2] = (byte)'L';
        s[3] = (byte)'F';
        s[4] = elfClass;
        s[5] = 1; // little-endian
        s[6] = 1; // version
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], machine);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], address); // e_entry
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], HeaderSize); // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(s[52..], HeaderSize); // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 1); // e_phnum

        Span<byte> ph = s[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1); // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 7); // RWX
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], HeaderSize + ProgramHeaderSize); // p_offset
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], address); // p_vaddr
        BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], address); // p_paddr
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)fileSize);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], memorySize ?? (ulong)fileSize);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 4);

        for (int i = 0; i < code.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[(HeaderSize + ProgramHeaderSize + 4 * i)..], code[i]);
        }
        return b;
    }

    public const uint Wfi = 0x1050_0073;
    /// <summary>jal zero, -4: back to the previous instruction.</summary>
    public const uint JumpBack = 0xFFDF_F06F;
}
