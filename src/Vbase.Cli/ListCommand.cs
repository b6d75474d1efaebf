using System.CommandLine;
using Vbase.Architectures;
using Vbase.Sapi.Registry;

namespace Vbase.Cli;

/// <summary><c>vbase list archs</c>: what can be plugged in, with a one-line description and the declared threat model.</summary>
internal static class ListCommand
{
    public static Command Create(CliConsole console)
    {
        var archs = new Command("archs", "The secure architectures: name, description, and whom each trusts.");
        archs.SetAction(_ => ListArchitectures(console));
        return new Command("list", "List what Vbase knows: architectures.") { archs };
    }

    private static int ListArchitectures(CliConsole console)
    {
        IReadOnlyList<ArchitectureInfo> all = BuiltInArchitectures.CreateRegistry().All;
        int width = all.Max(a => a.Name.Length);
        foreach (ArchitectureInfo a in all)
        {
            console.Out.WriteLine($"{a.Name.PadRight(width)}  {a.Description}");
            console.Out.WriteLine($"{new string(' ', width)}  threat model: {a.ThreatModel}");
        }
        return ExitCodes.Success;
    }
}
