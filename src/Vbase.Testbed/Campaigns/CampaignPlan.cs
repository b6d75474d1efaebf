using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Campaigns;

/// <summary>What a campaign chooses by name.</summary>
public enum CampaignChoice
{
    Architecture,
    Attack,
    App,
}

/// <summary>A list of names on the command line that names something unknown; the message names the known ones.</summary>
public sealed class CampaignPlanException(CampaignChoice choice, string message) : Exception(message)
{
    /// <summary>Which list was wrong (the CLI names its option).</summary>
    public CampaignChoice Choice { get; } = choice;
}

/// <summary>One cell of the matrix still to run: an architecture against an attack.</summary>
public sealed record CampaignCellKey(ArchitectureInfo Architecture, AttackSpec Attack);

/// <summary>
/// What a campaign runs: every chosen architecture against every chosen attack. Architectures keep the registry's
/// order and attacks the catalogue's, whatever order the user named them in, so that a report's rows and columns
/// (and the JSON) depend only on what was chosen.
/// </summary>
public sealed record CampaignPlan(IReadOnlyList<ArchitectureInfo> Architectures, IReadOnlyList<AttackSpec> Attacks, string App, ulong Seed)
{
    /// <summary>The attacks' and architectures' parameters (<c>--attack-param</c>, <c>--arch-param</c>), the same in every cell.</summary>
    public CampaignParameters Parameters { get; init; } = CampaignParameters.None;

    /// <summary>The word that stands for every architecture or every attack.</summary>
    public const string All = "all";

    /// <summary>The cells by architecture, then by attack.</summary>
    public IReadOnlyList<CampaignCellKey> Cells => [.. Architectures.SelectMany(arch => Attacks.Select(attack => new CampaignCellKey(arch, attack)))];

    /// <summary>
    /// The cost model's runs: the application alone, unattacked, under each architecture and under <c>none</c> (the
    /// reference), in that order.
    /// </summary>
    public IReadOnlyList<string> CostRuns => [.. Architectures.Select(a => a.Name).Append("none").Distinct()];

    /// <summary>
    /// The campaign's work, numbered: items 0 to <c>Cells.Count − 1</c> are the cells, the rest the cost runs. A
    /// shard is a set of these numbers.
    /// </summary>
    public int WorkCount => Architectures.Count * Attacks.Count + CostRuns.Count;

    /// <summary>
    /// Chooses architectures and attacks from comma-separated lists (<c>vbase,none</c>; <c>all</c>; null means all).
    /// </summary>
    /// <exception cref="CampaignPlanException">An unknown architecture, attack or app, or an empty list.</exception>
    public static CampaignPlan Create(string? architectures, string? attacks, string app, ulong seed, ArchitectureRegistry registry, IAttackSuite suite)
    {
        IReadOnlyList<ArchitectureInfo> chosenArchitectures = Choose(architectures, registry.All, a => a.Name, CampaignChoice.Architecture);
        IReadOnlyList<AttackSpec> chosenAttacks = Choose(attacks, suite.Attacks, a => a.Id, CampaignChoice.Attack);
        // A manifest path (docs/apps.md) is the user's application; the caller has read it already.
        if (!suite.Apps.Contains(app, StringComparer.Ordinal) && !Vbase.Testbed.Attacks.AppCatalogue.IsManifestPath(app))
        {
            throw new CampaignPlanException(CampaignChoice.App, $"unknown app '{app}' (known: {string.Join(", ", suite.Apps)})");
        }
        // "all" is every attack that can act on the application: the network attacks only where it has a network
        // (named one by one, they still run, and say they are not applicable).
        if ((attacks ?? All).Split(',', StringSplitOptions.TrimEntries).Contains(All, StringComparer.Ordinal) && !HasNetwork(app))
        {
            chosenAttacks = [.. chosenAttacks.Where(a => a.Position != AttackPosition.Network)];
        }
        return new CampaignPlan(chosenArchitectures, chosenAttacks, app, seed);
    }

    /// <summary>Whether the application is a networked one; an app the catalogue cannot read counts as one (nothing is left out).</summary>
    private static bool HasNetwork(string app)
    {
        try
        {
            return AppCatalogue.Find(app) is not { Network: null };
        }
        catch (AppManifestException)
        {
            return true;
        }
    }

    private static IReadOnlyList<T> Choose<T>(string? list, IReadOnlyList<T> known, Func<T, string> name, CampaignChoice choice)
    {
        string what = choice.ToString().ToLowerInvariant();
        string[] names = (list ?? All).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0)
        {
            throw new CampaignPlanException(choice, $"no {what} named (known: {Known(known, name)})");
        }
        if (names.Contains(All, StringComparer.Ordinal))
        {
            return known;
        }
        string[] unknown = [.. names.Where(n => !known.Any(k => name(k) == n)).Distinct(StringComparer.Ordinal)];
        if (unknown.Length > 0)
        {
            string listed = string.Join(", ", unknown.Select(n => $"'{n}'"));
            throw new CampaignPlanException(choice, $"unknown {what}{(unknown.Length > 1 ? "s" : "")} {listed} (known: {Known(known, name)})");
        }
        return [.. known.Where(k => names.Contains(name(k), StringComparer.Ordinal))];
    }

    private static string Known<T>(IReadOnlyList<T> known, Func<T, string> name) => $"{string.Join(", ", known.Select(name))}, or {All}";
}
