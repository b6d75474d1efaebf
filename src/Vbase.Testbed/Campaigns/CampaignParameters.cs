using System.Globalization;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Campaigns;

/// <summary>A campaign parameter that cannot be used: which option, and why, in one line.</summary>
public sealed class CampaignParameterException(string option, string message) : Exception(message)
{
    /// <summary><c>--attack-param</c> or <c>--arch-param</c>.</summary>
    public string Option { get; } = option;
}

/// <summary>
/// The parameters a campaign gives its attacks (<c>--attack-param ATTACK.KEY=VALUE</c>) and architectures
/// (<c>--arch-param ARCH.KEY=VALUE</c>): the same for every cell with that attack or architecture. Part of the plan, so
/// of the campaign's identity, its JSON and its shards; kept sorted, so the order they were given in does not matter.
/// </summary>
public sealed record CampaignParameters
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Empty =
        new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);

    public static readonly CampaignParameters None = new();

    /// <summary>By attack id: name → value.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Attacks { get; init; } = Empty;

    /// <summary>By architecture name: name → value (a scenario's <c>arch_parameters</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Architectures { get; init; } = Empty;

    public bool IsEmpty => Attacks.Count == 0 && Architectures.Count == 0;

    public IReadOnlyDictionary<string, string>? ForAttack(string attack) => Attacks.GetValueOrDefault(attack);

    public IReadOnlyDictionary<string, string>? ForArchitecture(string architecture) => Architectures.GetValueOrDefault(architecture);

    /// <summary>
    /// Reads <c>OWNER.KEY=VALUE</c> settings and checks each against <paramref name="plan"/>: the owner must be one of the
    /// campaign's attacks or architectures, the key one of its parameters, the value one it takes (an attack's: a whole
    /// number, decimal or 0x hex, or <c>app</c> where the default is; an architecture's: what its plug-in accepts).
    /// </summary>
    /// <exception cref="CampaignParameterException">The first setting that cannot be used.</exception>
    public static CampaignParameters Parse(IEnumerable<string> attackSettings, IEnumerable<string> architectureSettings, CampaignPlan plan)
    {
        var attacks = Collect("--attack-param", attackSettings, plan.Attacks.Select(a => a.Id).ToList(), "attack");
        foreach ((string id, SortedDictionary<string, string> values) in attacks)
        {
            AttackSpec spec = plan.Attacks.First(a => a.Id == id);
            foreach ((string key, string value) in values)
            {
                AttackParameter declared = spec.Parameters.FirstOrDefault(p => p.Name == key)
                    ?? throw new CampaignParameterException("--attack-param",
                        $"{id}.{key}: {id} has no parameter '{key}' (it has: {string.Join(", ", spec.Parameters.Select(p => p.Name))})");
                if (!(value == "app" && declared.Default == "app") && !IsWholeNumber(value))
                {
                    throw new CampaignParameterException("--attack-param",
                        $"{id}.{key}={value}: expected a whole number from 0 to {int.MaxValue} (decimal or 0x hex){(declared.Default == "app" ? " or app" : "")}");
                }
            }
        }
        var architectures = Collect("--arch-param", architectureSettings, plan.Architectures.Select(a => a.Name).ToList(), "architecture");
        foreach ((string name, SortedDictionary<string, string> values) in architectures)
        {
            try
            {
                plan.Architectures.First(a => a.Name == name).CheckParameters(values);
            }
            catch (ArchitectureParameterException e)
            {
                throw new CampaignParameterException("--arch-param", $"{name}.{e.Parameter ?? "*"}: {e.Message}");
            }
        }
        return new CampaignParameters { Attacks = Freeze(attacks), Architectures = Freeze(architectures) };
    }

    private static SortedDictionary<string, SortedDictionary<string, string>> Collect(string option, IEnumerable<string> settings,
        List<string> owners, string what)
    {
        var result = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);
        foreach (string setting in settings)
        {
            int dot = setting.IndexOf('.', StringComparison.Ordinal), equals = setting.IndexOf('=', StringComparison.Ordinal);
            if (dot <= 0 || equals < dot + 2)
            {
                throw new CampaignParameterException(option, $"'{setting}' is not {what.ToUpperInvariant()}.KEY=VALUE");
            }
            string owner = setting[..dot], key = setting[(dot + 1)..equals], value = setting[(equals + 1)..];
            if (!owners.Contains(owner))
            {
                throw new CampaignParameterException(option, $"{setting}: '{owner}' is not an {what} of this campaign (it has: {string.Join(", ", owners)})");
            }
            SortedDictionary<string, string> values = result.TryGetValue(owner, out var known) ? known
                : result[owner] = new SortedDictionary<string, string>(StringComparer.Ordinal);
            if (!values.TryAdd(key, value))
            {
                throw new CampaignParameterException(option, $"{owner}.{key} is given twice");
            }
        }
        return result;
    }

    private static bool IsWholeNumber(string value) => value.StartsWith("0x", StringComparison.Ordinal)
        ? int.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int hex) && hex >= 0
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _);

    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Freeze(SortedDictionary<string, SortedDictionary<string, string>> map)
    {
        var frozen = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach ((string owner, SortedDictionary<string, string> values) in map)
        {
            frozen[owner] = values;
        }
        return frozen;
    }

    /// <summary>Back to <c>OWNER.KEY=VALUE</c> settings, sorted: what a Slurm task's command line and a part carry.</summary>
    public IEnumerable<string> Settings(bool attacks) =>
        (attacks ? Attacks : Architectures).SelectMany(o => o.Value.Select(kv => $"{o.Key}.{kv.Key}={kv.Value}"));
}
