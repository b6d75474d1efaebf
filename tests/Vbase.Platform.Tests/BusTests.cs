using Vbase.Isa.Memory;
using Vbase.Platform.Devices;
using Vbase.Platform.Machines;
using Vbase.Platform.Tests.Support;

namespace Vbase.Platform.Tests;

public sealed unsafe class BusTests
{
    /// <summary>Records every access; reads answer offset + 0x100.</summary>
    private sealed class RecordingDevice(ulong size) : IDevice
    {
        public List<(string Kind, ulong Offset, int Size, ulong Value)> Accesses { get; } = [];
        public string Name => "recorder";
        public ulong Size => size;

        public bool Read(ulong offset, int accessSize, out ulong value)
        {
            value = offset + 0x100;
            Accesses.Add(("read", offset, accessSize, value));
            return true;
        }

        public bool Write(ulong offset, int accessSize, ulong value)
        {
            Accesses.Add(("write", offset, accessSize, value));
            return true;
        }
    }

    [Fact]
    public void RamPagesAnswerWithHostPointersIntoTheSameMemory()
    {
        using var ram = new Ram(1 << 20);
        var bus = new Bus(ram);

        byte* page = bus.TryGetPage(0x8000_1000, MemoryAccess.Store);
        Assert.True(page is not null);
        *(ulong*)(page + 8) = 0x1122_3344_5566_7788;

        Assert.Equal(0x1122_3344_5566_7788UL, ram.ReadUInt64(0x8000_1008));
        Assert.True(bus.Read(0x8000_100C, 4, MemoryAccess.Load, out ulong high));
        Assert.Equal(0x1122_3344UL, high);
    }

    [Fact]
    public void TheDefaultRamIs128MiBAt0x80000000()
    {
        using var ram = new Ram();
        var bus = new Bus(ram);
        Assert.Equal(0x8000_0000UL, ram.Base);
        Assert.Equal(128UL << 20, ram.Size);
        Assert.True(bus.TryGetPage(0x87FF_F000, MemoryAccess.Load) is not null);
        Assert.True(bus.TryGetPage(0x8800_0000, MemoryAccess.Load) is null);
    }

    [Theory]
    [InlineData(0x0UL)]
    [InlineData(0x7FFF_F000UL)]
    [InlineData(0x8010_0000UL)] // just past 1 MiB of RAM
    [InlineData(0xFFFF_FFFF_FFFF_F000UL)]
    public void UnmappedAddressesFault(ulong address)
    {
        using var ram = new Ram(1 << 20);
        var bus = new Bus(ram);
        Assert.True(bus.TryGetPage(address, MemoryAccess.Load) is null);
        Assert.False(bus.Read(address, 4, MemoryAccess.Load, out _));
        Assert.False(bus.Write(address, 4, 0));
    }

    [Fact]
    public void DeviceWindowsTakeTheSlowPathWithOffsetsFromTheirBase()
    {
        using var ram = new Ram(1 << 20);
        var bus = new Bus(ram);
        var device = new RecordingDevice(0x1000);
        bus.Map(0x1000_0000, device);

        Assert.True(bus.TryGetPage(0x1000_0000, MemoryAccess.Load) is null);
        Assert.True(bus.Read(0x1000_0010, 4, MemoryAccess.Load, out ulong value));
        Assert.True(bus.Write(0x1000_0FF8, 8, 0xAB));

        Assert.Equal(0x110UL, value);
        Assert.Equal([("read", 0x10UL, 4, 0x110UL), ("write", 0xFF8UL, 8, 0xABUL)], device.Accesses);
        Assert.Same(device, bus.DeviceAt(0x1000_0FFF));
        Assert.Null(bus.DeviceAt(0x1000_1000));
        // An access running off the end of the window is unmapped.
        Assert.False(bus.Read(0x1000_0FFC, 8, MemoryAccess.Load, out _));
    }

    [Fact]
    public void OverlappingMappingsAreRefused()
    {
        using var ram = new Ram(1 << 20);
        var bus = new Bus(ram);
        bus.Map(0x1000_0000, new RecordingDevice(0x1000));
        Assert.Throws<ArgumentException>(() => bus.Map(0x1000_0800, new RecordingDevice(0x1000)));
        Assert.Throws<ArgumentException>(() => bus.Map(0x8000_0000, new RecordingDevice(0x1000)));
    }

    [Fact]
    public void AWatchedWordSendsStoresToItsDeviceAndLeavesTheRestOfThePageToRam()
    {
        using var ram = new Ram(1 << 20);
        var bus = new Bus(ram);
        var device = new RecordingDevice(8);
        bus.Watch(0x8000_2040, device);

        // Fetches and loads stay on the fast path (code may share the page); stores do not.
        Assert.True(bus.TryGetPage(0x8000_2000, MemoryAccess.Fetch) is not null);
        Assert.True(bus.TryGetPage(0x8000_2000, MemoryAccess.Load) is not null);
        Assert.True(bus.TryGetPage(0x8000_2000, MemoryAccess.Store) is null);
        Assert.True(bus.TryGetPage(0x8000_3000, MemoryAccess.Store) is not null);

        Assert.True(bus.Write(0x8000_2040, 8, 0x55));
        Assert.True(bus.Write(0x8000_2044, 4, 0x66));
        Assert.True(bus.Write(0x8000_2048, 8, 0x77));

        Assert.Equal([("write", 0UL, 8, 0x55UL), ("write", 4UL, 4, 0x66UL)], device.Accesses);
        Assert.Equal(0x77UL, ram.ReadUInt64(0x8000_2048));
        Assert.Equal(0UL, ram.ReadUInt64(0x8000_2040)); // the recorder kept the words to itself
    }

    [Theory]
    [InlineData(false, 5)] // load access fault
    [InlineData(true, 7)] // store/AMO access fault
    public void AHartAccessToUnmappedMemoryTakesAnAccessFault(bool store, int expectedCause)
    {
        using var machine = TestMachine.FromCode(
            [.. Asm.SetTrapVector(), Asm.Lui(Asm.T1, 0x40000), store ? Asm.Sw(Asm.A0, Asm.T1, 0) : Asm.Lw(Asm.A0, Asm.T1, 0)],
            [Asm.Csrr(Asm.A0, Asm.Mcause), .. Asm.ExitWithA0()]);

        MachineRunResult result = machine.Run();

        Assert.Equal(MachineStopReason.Exited, result.Reason);
        Assert.Equal(expectedCause, result.ExitCode);
    }
}
