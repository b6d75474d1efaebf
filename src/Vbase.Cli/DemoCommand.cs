using System.CommandLine;
using Vbase.Platform.Loading;
using Vbase.Platform.Machines;

namespace Vbase.Cli;

/// <summary>
/// <c>vbase demo</c>: until the full Vbase demo (a secure application under attack) exists, it runs the guest
/// programs bundled in the tool: hello, then the quick CPU benchmark with its statistics.
/// </summary>
internal static class DemoCommand
{
    private static readonly string[] Programs = ["hello.elf", "cpubench-quick.elf"];

    public static Command Create(CliConsole console)
    {
        var command = new Command("demo", "Run the bundled bare-metal demo programs (a placeholder for the full Vbase demo).");
        command.SetAction(_ => Run(console));
        return command;
    }

    private static int Run(CliConsole console)
    {
        console.Out.WriteLine("vbase demo: running bundled bare-metal programs (hello, cpubench-quick) until the full Vbase demo exists.");
        console.Out.Flush();
        foreach (string name in Programs)
        {
            ElfImage image;
            try
            {
                image = ElfImage.Parse(name, LoadBundled(name));
            }
            catch (ElfLoadException e)
            {
                return VbaseCli.Fail(console, ExitCodes.InternalError, $"bundled program {VbaseCli.OneLine(e.Message)}");
            }
            bool isBenchmark = name.StartsWith("cpubench", StringComparison.Ordinal);
            int code = ProgramRunner.Run(console, new MachineConfig { Image = image },
                new RunOptions(ulong.MaxValue, Stats: isBenchmark, TracePath: null));
            if (code != ExitCodes.Success)
            {
                return code;
            }
        }
        return ExitCodes.Success;
    }

    /// <summary>The bytes of a guest program embedded in this assembly (see the csproj).</summary>
    internal static byte[] LoadBundled(string name)
    {
        using Stream stream = typeof(DemoCommand).Assembly.GetManifestResourceStream($"Vbase.Cli.Programs.{name}")
            ?? throw new InvalidOperationException($"bundled program {name} is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
