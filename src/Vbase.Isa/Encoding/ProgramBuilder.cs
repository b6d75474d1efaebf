using System.Buffers.Binary;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Encoding;

/// <summary>
/// Lays out a small program: 32-bit and 16-bit instructions, data and named labels at a fixed load address.
/// Branches, jumps and <see cref="La"/> may name labels defined later; their offsets are filled in by
/// <see cref="ToArray"/>, which throws if a label is missing or out of the instruction's reach.
/// </summary>
public sealed class ProgramBuilder(ulong baseAddress = 0x8000_0000)
{
    private readonly List<byte> bytes = [];
    private readonly Dictionary<string, ulong> labels = new(StringComparer.Ordinal);
    private readonly List<Fixup> fixups = [];

    /// <summary>A hole at <see cref="Position"/> filled by <see cref="Encode"/> with (label − <see cref="Anchor"/>).</summary>
    private readonly record struct Fixup(int Position, int Size, string Label, ulong Anchor, Func<long, uint> Encode);

    public ulong BaseAddress { get; } = baseAddress;

    /// <summary>The address the next instruction or datum will get.</summary>
    public ulong Here => BaseAddress + (ulong)bytes.Count;

    public int Length => bytes.Count;

    public ProgramBuilder Emit(uint word)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, word);
        bytes.AddRange(b);
        return this;
    }

    public ProgramBuilder Emit(params ReadOnlySpan<uint> words)
    {
        foreach (uint w in words)
        {
            Emit(w);
        }
        return this;
    }

    /// <summary>Appends a 16-bit (compressed) parcel.</summary>
    public ProgramBuilder Emit16(ushort parcel)
    {
        bytes.Add((byte)parcel);
        bytes.Add((byte)(parcel >> 8));
        return this;
    }

    public ProgramBuilder Emit16(params ReadOnlySpan<ushort> parcels)
    {
        foreach (ushort p in parcels)
        {
            Emit16(p);
        }
        return this;
    }

    public ProgramBuilder Dword(ulong value)
    {
        Emit((uint)value);
        return Emit((uint)(value >> 32));
    }

    public ProgramBuilder Bytes(ReadOnlySpan<byte> data)
    {
        bytes.AddRange(data);
        return this;
    }

    /// <summary>Pads with zero bytes up to a multiple of <paramref name="alignment"/> (a power of two).</summary>
    public ProgramBuilder Align(int alignment)
    {
        while ((Here & (ulong)(alignment - 1)) != 0)
        {
            bytes.Add(0);
        }
        return this;
    }

    /// <summary>Pads with zero bytes up to <paramref name="address"/> (which must not be behind <see cref="Here"/>).</summary>
    public ProgramBuilder SkipTo(ulong address)
    {
        if (address < Here)
        {
            throw new ArgumentOutOfRangeException(nameof(address), $"0x{address:x} is behind 0x{Here:x}");
        }
        bytes.AddRange(new byte[address - Here]);
        return this;
    }

    /// <summary>Defines <paramref name="name"/> at <see cref="Here"/>.</summary>
    public ProgramBuilder Label(string name)
    {
        if (!labels.TryAdd(name, Here))
        {
            throw new ArgumentException($"label '{name}' is defined twice", nameof(name));
        }
        return this;
    }

    public ulong AddressOf(string label) =>
        labels.TryGetValue(label, out ulong a) ? a : throw new KeyNotFoundException($"label '{label}' is not defined");

    // ---- Label-relative control flow ----

    public ProgramBuilder Beq(int rs1, int rs2, string label) => Fix32(label, o => Assembler.Beq(rs1, rs2, o));
    public ProgramBuilder Bne(int rs1, int rs2, string label) => Fix32(label, o => Assembler.Bne(rs1, rs2, o));
    public ProgramBuilder Blt(int rs1, int rs2, string label) => Fix32(label, o => Assembler.Blt(rs1, rs2, o));
    public ProgramBuilder Bge(int rs1, int rs2, string label) => Fix32(label, o => Assembler.Bge(rs1, rs2, o));
    public ProgramBuilder Bltu(int rs1, int rs2, string label) => Fix32(label, o => Assembler.Bltu(rs1, rs2, o));
    public ProgramBuilder Bgeu(int rs1, int rs2, string label) => Fix32(label, o => Assembler.Bgeu(rs1, rs2, o));
    public ProgramBuilder Jal(int rd, string label) => Fix32(label, o => Assembler.Jal(rd, o));
    public ProgramBuilder J(string label) => Jal(Zero, label);
    public ProgramBuilder CJ(string label) => Fix16(label, o => Assembler.CJ(o));
    public ProgramBuilder CBeqz(int rs1, string label) => Fix16(label, o => Assembler.CBeqz(rs1, o));
    public ProgramBuilder CBnez(int rs1, string label) => Fix16(label, o => Assembler.CBnez(rs1, o));

    /// <summary><c>la rd, label</c>: <c>auipc rd, %pcrel_hi; addi rd, rd, %pcrel_lo</c>.</summary>
    public ProgramBuilder La(int rd, string label)
    {
        ulong anchor = Here;
        fixups.Add(new Fixup(bytes.Count, 4, label, anchor, o => Auipc(rd, (o - Low12(o)) >> 12 & 0xFFFFF)));
        Emit(0);
        fixups.Add(new Fixup(bytes.Count, 4, label, anchor, o => Addi(rd, rd, Low12(o))));
        return Emit(0);
    }

    private static long Low12(long value) => (long)(value << 52) >> 52;

    /// <summary>
    /// <c>li rd, value</c> for any 64-bit constant: lui/addiw for 32-bit values, otherwise the upper part
    /// recursively, shifted, plus the low 12 bits (the usual expansion, as LLVM's RISCVMatInt does).
    /// </summary>
    public ProgramBuilder Li(int rd, long value)
    {
        if (value is >= -2048 and < 2048)
        {
            return Emit(Addi(rd, Zero, value));
        }
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            long low = Low12(value);
            long high = ((value - low) >> 12) & 0xFFFFF;
            Emit(Lui(rd, high));
            return low != 0 ? Emit(Addiw(rd, rd, low)) : this;
        }
        long lo12 = Low12(value);
        // The remaining upper part is rounded by the sign of lo12; shifting out its trailing zeros keeps the
        // recursion short. Unsigned arithmetic keeps value − lo12 from overflowing near long.MaxValue.
        ulong hi52 = ((ulong)value + 0x800) >> 12;
        int shift = 12 + System.Numerics.BitOperations.TrailingZeroCount(hi52);
        long upper = (long)(hi52 >> (shift - 12) << shift) >> shift;
        Li(rd, upper);
        Emit(Slli(rd, rd, shift));
        return lo12 != 0 ? Emit(Addi(rd, rd, lo12)) : this;
    }

    private ProgramBuilder Fix32(string label, Func<long, uint> encode)
    {
        fixups.Add(new Fixup(bytes.Count, 4, label, Here, encode));
        return Emit(0);
    }

    private ProgramBuilder Fix16(string label, Func<long, ushort> encode)
    {
        fixups.Add(new Fixup(bytes.Count, 2, label, Here, o => encode(o)));
        return Emit16(0);
    }

    /// <summary>The program's bytes with every label reference resolved.</summary>
    public byte[] ToArray()
    {
        byte[] result = [.. bytes];
        foreach (Fixup f in fixups)
        {
            long offset = (long)(AddressOf(f.Label) - f.Anchor);
            uint word = f.Encode(offset);
            if (f.Size == 4)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(f.Position), word);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(f.Position), (ushort)word);
            }
        }
        return result;
    }
}
