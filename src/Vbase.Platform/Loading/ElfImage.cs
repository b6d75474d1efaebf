using System.Buffers.Binary;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;
using ELFSharp.ELF.Segments;
using Vbase.Platform.Machines;

namespace Vbase.Platform.Loading;

/// <summary>One PT_LOAD segment: bytes from the file, then zeros up to <see cref="MemorySize"/>.</summary>
public sealed record ElfSegment(ulong Address, byte[] FileData, ulong MemorySize);

/// <summary>
/// A parsed bare-metal RV64 program: its loadable segments, entry point and symbols. Reading checks the
/// header first (so that a wrong file gets a precise message), then hands the body to ELFSharp.
/// </summary>
public sealed class ElfImage
{
    public const ushort MachineRiscV = 243;
    /// <summary>Larger files are not plausible bare-metal images; refuse before reading them into memory.</summary>
    private const long MaxFileBytes = InputFiles.MaxElfBytes;

    private readonly Dictionary<string, ulong> symbols;

    private ElfImage(string name, ulong entry, IReadOnlyList<ElfSegment> segments, Dictionary<string, ulong> symbols)
    {
        Name = name;
        Entry = entry;
        Segments = segments;
        this.symbols = symbols;
    }

    /// <summary>The file name the image came from, for messages.</summary>
    public string Name { get; }
    public ulong Entry { get; }
    public IReadOnlyList<ElfSegment> Segments { get; }
    public IReadOnlyDictionary<string, ulong> Symbols => symbols;

    public bool TryGetSymbol(string name, out ulong address) => symbols.TryGetValue(name, out address);

    /// <summary>Reads and checks the ELF file at <paramref name="path"/>.</summary>
    public static ElfImage Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = InputFiles.Read(path, MaxFileBytes);
        }
        catch (InputFileException e)
        {
            throw new ElfLoadException($"{path}: {e.Message}", e);
        }
        return Parse(path, bytes);
    }

    /// <summary>Checks and parses an ELF held in memory; <paramref name="name"/> is used in messages.</summary>
    public static ElfImage Parse(string name, byte[] bytes)
    {
        CheckHeader(name, bytes);
        ELF<ulong>? elf;
        try
        {
            if (!ELFReader.TryLoad(new MemoryStream(bytes, writable: false), true, out elf))
            {
                throw new ElfLoadException($"{name}: malformed ELF file");
            }
        }
        catch (Exception e) when (e is not ElfLoadException)
        {
            throw new ElfLoadException($"{name}: malformed ELF file ({e.Message})", e);
        }
        using (elf)
        {
            try
            {
                return new ElfImage(name, elf.EntryPoint, ReadSegments(name, elf, bytes.LongLength), ReadSymbols(elf));
            }
            catch (Exception e) when (e is not ElfLoadException)
            {
                throw new ElfLoadException($"{name}: malformed ELF file ({e.Message})", e);
            }
        }
    }

    /// <summary>
    /// A flat binary (no ELF container) loaded at <paramref name="address"/> and entered there: raw firmware,
    /// or code assembled by a test.
    /// </summary>
    public static ElfImage FromBinary(string name, ulong address, byte[] bytes, IReadOnlyDictionary<string, ulong>? symbols = null) =>
        new(name, address, [new ElfSegment(address, bytes, (ulong)bytes.Length)],
            symbols is null ? [] : new Dictionary<string, ulong>(symbols, StringComparer.Ordinal));

    /// <summary>Copies every segment into <paramref name="ram"/> (zero-filling past its file bytes).</summary>
    public void LoadInto(Ram ram)
    {
        foreach (ElfSegment s in Segments)
        {
            CheckFits(s, ram);
        }
        if (!ram.Contains(Entry, 2))
        {
            throw new ElfLoadException($"{Name}: entry point 0x{Entry:x} is outside RAM [0x{ram.Base:x}, 0x{ram.End:x})");
        }
        foreach (ElfSegment s in Segments)
        {
            s.FileData.CopyTo(ram.GetSpan(s.Address, s.FileData.Length));
            ulong zeroStart = s.Address + (ulong)s.FileData.Length;
            for (ulong remaining = s.MemorySize - (ulong)s.FileData.Length, at = zeroStart; remaining > 0;)
            {
                int chunk = (int)Math.Min(remaining, int.MaxValue);
                ram.GetSpan(at, chunk).Clear();
                at += (ulong)chunk;
                remaining -= (ulong)chunk;
            }
        }
    }

    private void CheckFits(ElfSegment s, Ram ram)
    {
        if (ram.Contains(s.Address, s.MemorySize))
        {
            return;
        }
        ulong end = s.Address + s.MemorySize;
        if (s.Address >= ram.Base && s.Address < ram.End)
        {
            throw new ElfLoadException($"{Name}: does not fit in {SizeText(ram.Size)} of RAM: a segment ends at 0x{end:x}, RAM at 0x{ram.End:x}");
        }
        throw new ElfLoadException($"{Name}: segment [0x{s.Address:x}, 0x{end:x}) is outside RAM [0x{ram.Base:x}, 0x{ram.End:x})");
    }

    private static string SizeText(ulong bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes >> 10} KiB";

    private static void CheckHeader(string name, byte[] b)
    {
        if (b.Length < 4 || b[0] != 0x7F || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
        {
            throw new ElfLoadException($"{name}: not an ELF file");
        }
        const int identSize = 16, elf64HeaderSize = 64;
        if (b.Length < identSize + 4)
        {
            throw new ElfLoadException($"{name}: truncated ELF header ({b.Length} bytes)");
        }
        bool bigEndian = b[5] == 2;
        ushort machine = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(18)) : BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(18));
        switch (b[4])
        {
            case 1:
                throw new ElfLoadException(machine == MachineRiscV
                    ? $"{name}: 32-bit ELF (RV32); Vbase runs RV64 programs only"
                    : $"{name}: 32-bit ELF for {MachineName(machine)}; Vbase runs RV64 RISC-V programs only");
            case 2:
                break;
            default:
                throw new ElfLoadException($"{name}: invalid ELF class {b[4]}");
        }
        if (b[5] != 1)
        {
            throw new ElfLoadException($"{name}: {(bigEndian ? "big-endian" : $"unknown data encoding {b[5]}")} ELF; RISC-V programs are little-endian");
        }
        if (machine != MachineRiscV)
        {
            throw new ElfLoadException($"{name}: ELF for {MachineName(machine)}, not RISC-V");
        }
        if (b.Length < elf64HeaderSize)
        {
            throw new ElfLoadException($"{name}: truncated ELF header ({b.Length} bytes)");
        }
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(16));
        switch (type)
        {
            case 2:
                break;
            case 1:
                throw new ElfLoadException($"{name}: relocatable object (ET_REL), not an executable; link it first");
            case 3:
                throw new ElfLoadException($"{name}: position-independent executable or shared object (ET_DYN); link a static executable (ET_EXEC)");
            default:
                throw new ElfLoadException($"{name}: ELF type {type} is not an executable (ET_EXEC)");
        }
    }

    private static string MachineName(ushort machine) => machine switch
    {
        3 => "x86 (i386)",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        40 => "ARM",
        62 => "x86-64",
        183 => "AArch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => $"machine {machine}",
    };

    private static List<ElfSegment> ReadSegments(string name, ELF<ulong> elf, long fileLength)
    {
        var segments = new List<ElfSegment>();
        foreach (Segment<ulong> s in elf.Segments)
        {
            if (s.Type != SegmentType.Load || s.Size == 0)
            {
                continue;
            }
            if (s.FileSize < 0 || (ulong)s.FileSize > s.Size || s.Offset < 0 || s.Offset + s.FileSize > fileLength)
            {
                throw new ElfLoadException($"{name}: malformed ELF file (segment at 0x{s.PhysicalAddress:x} has sizes that do not fit the file)");
            }
            // Load by physical address, as QEMU's -kernel does; bare-metal links keep them equal to the virtual ones.
            segments.Add(new ElfSegment(s.PhysicalAddress, s.GetFileContents(), s.Size));
        }
        if (segments.Count == 0)
        {
            throw new ElfLoadException($"{name}: no loadable segments");
        }
        return segments;
    }

    private static Dictionary<string, ulong> ReadSymbols(ELF<ulong> elf)
    {
        var symbols = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (SymbolTable<ulong> table in elf.GetSections<SymbolTable<ulong>>())
        {
            foreach (SymbolEntry<ulong> entry in table.Entries)
            {
                if (!string.IsNullOrEmpty(entry.Name))
                {
                    symbols.TryAdd(entry.Name, entry.Value);
                }
            }
        }
        return symbols;
    }
}
