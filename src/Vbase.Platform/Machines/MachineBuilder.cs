using Vbase.Isa.Harts;
using Vbase.Platform.Devices;
using Vbase.Platform.Loading;

namespace Vbase.Platform.Machines;

/// <summary>
/// Turns a <see cref="MachineConfig"/> into a paused <see cref="Machine"/>, stage by stage: check the config
/// (<see cref="MachineConfigException"/>), read the program, allocate RAM and load it (<see cref="ElfLoadException"/>),
/// then wire the hart and the QEMU virt devices. Nothing runs until <see cref="Machine.Run"/>.
/// </summary>
public static class MachineBuilder
{
    public static Machine Build(MachineConfig config)
    {
        CheckConfig(config);
        ElfImage image = config.Image ?? ElfImage.Read(config.ElfPath!);

        ulong? tohost = null, fromhost = null;
        if (config.Htif)
        {
            if (!image.TryGetSymbol("tohost", out ulong t))
            {
                throw new ElfLoadException($"{image.Name}: no 'tohost' symbol, which HTIF needs");
            }
            tohost = t;
            fromhost = image.TryGetSymbol("fromhost", out ulong f) ? f : null;
        }

        var ram = new Ram(config.RamSize);
        try
        {
            image.LoadInto(ram);
            if (tohost is ulong address && (address % 8 != 0 || !ram.Contains(address, 8)))
            {
                throw new ElfLoadException($"{image.Name}: 'tohost' at 0x{address:x} is not an aligned 8-byte word in RAM");
            }
            return Wire(config, image, ram, tohost, fromhost);
        }
        catch
        {
            ram.Dispose();
            throw;
        }
    }

    private static void CheckConfig(MachineConfig config)
    {
        if ((config.ElfPath is null) == (config.Image is null))
        {
            throw new MachineConfigException("give exactly one program: an ELF path or a parsed image");
        }
        if (config.RamSize == 0 || config.RamSize % Ram.PageSize != 0 || config.RamSize > MachineConfig.MaxRamSize)
        {
            throw new MachineConfigException(
                $"RAM size {config.RamSize} bytes is not a multiple of 4 KiB between 4 KiB and {MachineConfig.MaxRamSize >> 30} GiB");
        }
    }

    private static Machine Wire(MachineConfig config, ElfImage image, Ram ram, ulong? tohost, ulong? fromhost)
    {
        Stream output = config.ConsoleOutput ?? Stream.Null;
        IConsoleInput input = config.ConsoleInput ?? ConsoleInputQueue.Empty;
        var bus = new Bus(ram);
        var options = new HartOptions { ResetPc = image.Entry, Engine = config.Engine };
        if (config.TranslationThreshold is int threshold)
        {
            options = options with { TranslationThreshold = threshold };
        }
        var hart = new Hart(bus, options);
        var exit = new ExitLatch(hart);
        var plic = new Plic(hart);
        var uart = new Uart16550(output, input, level => plic.SetLevel(Uart16550.PlicSource, level));
        var clint = new Clint(hart);
        var finisher = new TestFinisher(exit);
        bus.Map(TestFinisher.DefaultBase, finisher);
        bus.Map(Clint.DefaultBase, clint);
        bus.Map(Plic.DefaultBase, plic);
        bus.Map(Uart16550.DefaultBase, uart);
        Htif? htif = null;
        if (tohost is ulong address)
        {
            htif = new Htif(ram, hart, address, fromhost, exit, output, input);
            bus.Watch(address, htif);
        }
        return new Machine(image, ram, bus, hart, exit, uart, clint, plic, finisher, htif, output, input);
    }
}
