using System.Buffers.Binary;
using Vbase.Platform.Loading;
using Vbase.Platform.Machines;
using Vbase.Tests.Support;

namespace Vbase.Platform.Tests;

public sealed class ElfLoaderTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-elf-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static byte[] Hello() => GuestPrograms.Bytes("hello.elf");

    private static ElfLoadException ParseFails(byte[] bytes) =>
        Assert.Throws<ElfLoadException>(() => ElfImage.Parse("bad.elf", bytes));

    /// <summary>hello.elf with the fields of its header patched by <paramref name="patch"/>.</summary>
    private static byte[] Patched(Action<byte[]> patch)
    {
        byte[] bytes = Hello();
        patch(bytes);
        return bytes;
    }

    /// <summary>Offset of program header <paramref name="index"/> (e_phoff + index * e_phentsize).</summary>
    private static int ProgramHeader(byte[] elf, int index) =>
        (int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x20)) + index * BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x36));

    [Fact]
    public void AGoodImageHasItsEntrySegmentsAndSymbols()
    {
        ElfImage image = ElfImage.Read(GuestPrograms.Path("htif-hello.elf"));

        Assert.Equal(0x8000_0000UL, image.Entry);
        Assert.NotEmpty(image.Segments);
        Assert.True(image.TryGetSymbol("_start", out ulong start));
        Assert.Equal(0x8000_0000UL, start);
        Assert.True(image.TryGetSymbol("tohost", out ulong tohost));
        Assert.True(image.TryGetSymbol("fromhost", out ulong fromhost));
        Assert.Equal(tohost + 8, fromhost);
        Assert.False(image.TryGetSymbol("no such symbol", out _));
    }

    [Fact]
    public void LoadingCopiesFileBytesAndZeroesTheRest()
    {
        ElfImage image = ElfImage.Parse("hello.elf", Hello());
        using var ram = new Ram(1 << 20);
        ram.GetSpan(0x8000_1000, 16).Fill(0xEE); // .bss must come out zeroed, whatever was there

        image.LoadInto(ram);

        ElfSegment text = image.Segments[0];
        Assert.Equal(text.FileData, ram.GetSpan(text.Address, text.FileData.Length).ToArray());
        Assert.All(ram.GetSpan(0x8000_1000, 16).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void AMissingFileSaysSo()
    {
        string path = Path.Combine(directory, "missing.elf");
        var e = Assert.Throws<ElfLoadException>(() => ElfImage.Read(path));
        Assert.Equal($"{path}: no such file", e.Message);
    }

    [Fact]
    public void ADirectoryIsNotAnElf()
    {
        var e = Assert.Throws<ElfLoadException>(() => ElfImage.Read(directory));
        Assert.Contains("is a directory", e.Message);
    }

    [Fact]
    public void TextIsNotAnElf()
    {
        string path = Path.Combine(directory, "notes.txt");
        File.WriteAllText(path, "hello, world\n");
        var e = Assert.Throws<ElfLoadException>(() => ElfImage.Read(path));
        Assert.Equal($"{path}: not an ELF file", e.Message);
        Assert.Equal("bad.elf: not an ELF file", ParseFails([]).Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(40)]
    public void ATruncatedHeaderIsReported(int length)
    {
        var e = ParseFails(Hello()[..length]);
        Assert.Contains("truncated ELF header", e.Message);
    }

    [Fact]
    public void ATruncatedBodyIsMalformed()
    {
        var e = ParseFails(Hello()[..0x800]); // headers intact, segment contents cut off
        Assert.StartsWith("bad.elf: malformed ELF file", e.Message);
    }

    [Fact]
    public void AnX86_64ExecutableIsTheWrongMachine()
    {
        var e = ParseFails(Patched(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), 62)));
        Assert.Equal("bad.elf: ELF for x86-64, not RISC-V", e.Message);
    }

    [Fact]
    public void AnElf32IsRv32AndRefused()
    {
        var e = ParseFails(Patched(b => b[4] = 1));
        Assert.Equal("bad.elf: 32-bit ELF (RV32); Vbase runs RV64 programs only", e.Message);

        var x86 = ParseFails(Patched(b => { b[4] = 1; BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), 3); }));
        Assert.Contains("32-bit ELF for x86 (i386)", x86.Message);
    }

    [Fact]
    public void BigEndianIsRefused()
    {
        var e = ParseFails(Patched(b => b[5] = 2));
        Assert.Contains("big-endian", e.Message);
    }

    [Theory]
    [InlineData(1, "relocatable object")]
    [InlineData(3, "ET_DYN")]
    [InlineData(4, "not an executable")]
    public void OnlyExecutablesLoad(int type, string expected)
    {
        var e = ParseFails(Patched(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), (ushort)type)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ASegmentOutsideRamIsRefused()
    {
        byte[] bytes = Patched(b =>
        {
            int text = ProgramHeader(b, 1); // [0] is RISCV_ATTRIBUTES, [1] the text LOAD
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(text + 0x18), 0x1000); // p_paddr
        });
        ElfImage image = ElfImage.Parse("low.elf", bytes);
        using var ram = new Ram(1 << 20);

        var e = Assert.Throws<ElfLoadException>(() => image.LoadInto(ram));
        Assert.Equal("low.elf: segment [0x1000, 0x1830) is outside RAM [0x80000000, 0x80100000)", e.Message);
    }

    [Fact]
    public void AnImageLargerThanRamDoesNotFit()
    {
        ElfImage image = ElfImage.Parse("hello.elf", Hello());
        using var ram = new Ram(64 << 10);

        var e = Assert.Throws<ElfLoadException>(() => image.LoadInto(ram));
        Assert.Equal("hello.elf: does not fit in 64 KiB of RAM: a segment ends at 0x80011000, RAM at 0x80010000", e.Message);
    }

    [Fact]
    public void TheBuilderReportsLoadErrorsAsElfLoadExceptions()
    {
        Assert.Throws<ElfLoadException>(() => MachineBuilder.Build(new MachineConfig { ElfPath = Path.Combine(directory, "nope") }));
        Assert.Throws<ElfLoadException>(() => MachineBuilder.Build(new MachineConfig { ElfPath = GuestPrograms.Path("hello.elf"), RamSize = 16 << 10 }));
        Assert.Throws<MachineConfigException>(() => MachineBuilder.Build(new MachineConfig { ElfPath = GuestPrograms.Path("hello.elf"), RamSize = 1000 }));
        Assert.Throws<MachineConfigException>(() => MachineBuilder.Build(new MachineConfig()));
    }
}
