using System.Text;
using Vbase.Platform.Devices;
using Vbase.Platform.Loading;
using Vbase.Platform.Machines;

namespace Vbase.Platform.Tests.Support;

/// <summary>Builds machines around test programs and collects their console output.</summary>
internal sealed class TestMachine : IDisposable
{
    public TestMachine(ElfImage image, string input = "", bool htif = false, ulong ramSize = 1 << 20)
    {
        Machine = MachineBuilder.Build(new MachineConfig
        {
            Image = image,
            RamSize = ramSize,
            Htif = htif,
            ConsoleOutput = Output,
            ConsoleInput = ConsoleInputQueue.FromBytes(Encoding.UTF8.GetBytes(input)),
        });
    }

    public static TestMachine FromCode(uint[] main, uint[]? handler = null, string input = "") =>
        new(ElfImage.FromBinary("test", Ram.DefaultBase, Asm.Image(main, handler)), input);

    public static TestMachine FromGuest(string name, string input = "", bool htif = false) =>
        new(ElfImage.Read(Vbase.Tests.Support.GuestPrograms.Path(name)), input, htif, Ram.DefaultSize);

    public Machine Machine { get; }
    public MemoryStream Output { get; } = new();
    public string Text => Encoding.UTF8.GetString(Output.ToArray());

    public MachineRunResult Run(ulong maxInstructions = 10_000_000) => Machine.Run(maxInstructions);

    public void Dispose() => Machine.Dispose();
}

/// <summary>A hart on a bus over 1 MiB of RAM, for testing devices one at a time.</summary>
internal sealed class HartRig : IDisposable
{
    public HartRig()
    {
        Ram = new Ram(1 << 20);
        Bus = new Bus(Ram);
        Hart = new Isa.Harts.Hart(Bus);
    }

    public Ram Ram { get; }
    public Bus Bus { get; }
    public Isa.Harts.Hart Hart { get; }

    /// <summary>Places <paramref name="code"/> at the reset vector.</summary>
    public void Load(params uint[] code)
    {
        for (int i = 0; i < code.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(Ram.GetSpan(Ram.Base + (ulong)(4 * i), 4), code[i]);
        }
        Hart.InvalidateCode(Ram.Base, (ulong)code.Length * 4);
    }

    public void Dispose()
    {
        Hart.Dispose();
        Ram.Dispose();
    }
}
