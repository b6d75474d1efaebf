using System.CommandLine;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Campaigns;
using Vbase.Testbed.Plugins;

namespace Vbase.Cli;

/// <summary>
/// <c>vbase list archs</c>: what can be plugged in, with a one-line description and the declared threat model;
/// <c>vbase list attacks</c>: the attack catalogue that campaigns draw from.
/// </summary>
internal static class ListCommand
{
    public static Command Create(CliConsole console)
    {
        var plugins = VbaseCli.PluginOption();
        var archs = new Command("archs", "The secure architectures: name, description, and whom each trusts.") { plugins };
        archs.SetAction(parsed => ListArchitectures(console, parsed.GetValue(plugins) ?? []));
        var attacks = new Command("attacks", "The attacks: id, position, goal, description, and parameters with their defaults.");
        attacks.SetAction(_ => ListAttacks(console));
        return new Command("list", "List what Vbase knows: architectures, attacks.") { archs, attacks };
    }

    private static int ListArchitectures(CliConsole console, IReadOnlyList<string> plugins)
    {
        IReadOnlyList<ArchitectureInfo> all;
        try
        {
            all = PluginCatalog.Registry(plugins).All;
        }
        catch (PluginException e)
        {
            return VbaseCli.Fail(console, ExitCodes.DataError, e.Message);
        }
        int width = all.Max(a => a.Name.Length);
        foreach (ArchitectureInfo a in all)
        {
            console.Out.WriteLine($"{a.Name.PadRight(width)}  {a.Description}");
            console.Out.WriteLine($"{new string(' ', width)}  threat model: {a.ThreatModel}");
        }
        return ExitCodes.Success;
    }

    private static int ListAttacks(CliConsole console)
    {
        IReadOnlyList<AttackSpec> all = CampaignCommand.Suite.Attacks;
        int idWidth = all.Max(a => a.Id.Length);
        int positionWidth = all.Max(a => AttackSpec.Name(a.Position).Length);
        int goalWidth = all.Max(a => a.Goal.Slug().Length);
        foreach (AttackSpec a in all)
        {
            console.Out.WriteLine($"{a.Id.PadRight(idWidth)}  {AttackSpec.Name(a.Position).PadRight(positionWidth)}  {a.Goal.Slug().PadRight(goalWidth)}  {a.Description}");
            foreach (AttackParameter p in a.Parameters)
            {
                console.Out.WriteLine($"{new string(' ', idWidth)}    {p.Name}={p.Default}  {p.Description}");
            }
        }
        return ExitCodes.Success;
    }
}
