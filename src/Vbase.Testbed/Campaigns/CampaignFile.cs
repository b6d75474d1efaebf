using System.Globalization;
using Vbase.Platform.Loading;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Plugins;
using Vbase.Testbed.Yaml;
using YamlDotNet.RepresentationModel;

namespace Vbase.Testbed.Campaigns;

/// <summary>A campaign file that cannot be used: <c>file:line:col: field: problem</c>.</summary>
public sealed class CampaignFileException(string file, int line, int column, string field, string problem)
    : LocatedYamlException(file, line, column, field, problem);

/// <summary>
/// A campaign file as read (docs/campaigns.md, "Campaign files"): the sweep it expands to, the registry its plug-ins
/// make, and the run settings (<c>jobs</c>, <c>out</c>, <c>json</c>, <c>shard</c>) the command line may override.
/// </summary>
/// <param name="Path">The file as the user named it.</param>
/// <param name="Plugins">The file's plug-ins (full paths, relative ones taken from the file's folder) and then the command line's.</param>
public sealed record CampaignFileSpec(string Path, CampaignSweep Sweep, ArchitectureRegistry Registry, IAttackSuite Suite, IReadOnlyList<string> Plugins)
{
    public int? Jobs { get; init; }
    /// <summary><c>out</c> and <c>json</c> as written: outputs, so relative to where vbase runs, as on the command line.</summary>
    public string? OutDirectory { get; init; }
    public string? Json { get; init; }
    public CampaignShard? Shard { get; init; }
}

/// <summary>
/// Reads a campaign file: architectures × attacks × apps × seeds × parameter values, with plug-ins and app manifests
/// relative to the file. Every mistake is one <see cref="CampaignFileException"/> at the node it is about.
/// </summary>
public static class CampaignFileLoader
{
    /// <summary>At most this many sub-campaigns (apps × seeds × parameter values) in one file.</summary>
    public const int MaxCampaigns = 1024;

    private static readonly string[] Keys =
        ["description", "plugins", "archs", "attacks", "apps", "seeds", "attack_params", "arch_params", "llc_size", "llc_ways", "jobs", "out", "json", "shard"];

    /// <param name="extraPlugins">The command line's <c>--plugin</c>s (full paths), after the file's own.</param>
    /// <param name="suiteFor">The attack suite for a list of plug-ins (the CLI's, which tests may replace).</param>
    /// <exception cref="CampaignFileException">Unreadable, malformed, or naming something unknown.</exception>
    public static CampaignFileSpec Load(string path, IReadOnlyList<string> extraPlugins, Func<IReadOnlyList<string>, IAttackSuite> suiteFor)
    {
        string text;
        try
        {
            text = InputFiles.ReadText(path, InputFiles.MaxTextBytes);
        }
        catch (InputFileException e)
        {
            throw new CampaignFileException(path, 0, 0, "", e.Message);
        }
        return new Reader(path, System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? ".").Read(text, extraPlugins, suiteFor);
    }

    private sealed class Reader(string file, string baseDirectory) : YamlFields
    {
        protected override CampaignFileException Error(YamlNode node, string field, string problem) =>
            new(file, (int)node.Start.Line, (int)node.Start.Column, field, problem);

        public CampaignFileSpec Read(string yaml, IReadOnlyList<string> extraPlugins, Func<IReadOnlyList<string>, IAttackSuite> suiteFor)
        {
            YamlStream stream = YamlText.Load(yaml, (line, column, problem) => new CampaignFileException(file, line, column, "", problem));
            if (stream.Documents.Count != 1)
            {
                throw new CampaignFileException(file, 0, 0, "", stream.Documents.Count == 0
                    ? "the file is empty; a campaign file needs at least one key (e.g. 'archs: all')"
                    : "more than one YAML document; a campaign file holds one");
            }
            YamlMappingNode root = Mapping(stream.Documents[0].RootNode, "", "the campaign");
            CheckKeys(root, "", Keys);
            if (Get(root, "description") is YamlNode description)
            {
                Text(description, "description");
            }

            // Plug-ins first: they add the architectures the rest of the file may name.
            var plugins = new List<string>();
            var pluginNodes = new List<YamlNode>();
            foreach ((YamlNode node, string field) in Items(root, "plugins"))
            {
                string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, Text(node, field)));
                if (!File.Exists(full) && !Directory.Exists(full))
                {
                    throw Error(node, field, $"'{Text(node, field)}' not found (no file or folder {full})");
                }
                plugins.Add(full);
                pluginNodes.Add(node);
            }
            plugins.AddRange(extraPlugins);
            ArchitectureRegistry registry;
            IAttackSuite suite;
            try
            {
                registry = PluginCatalog.Registry(plugins);
                suite = suiteFor(plugins);
            }
            catch (PluginException e)
            {
                YamlNode at = pluginNodes.FirstOrDefault() ?? root;
                throw Error(at, pluginNodes.Count > 0 ? "plugins" : "", e.Message);
            }

            string architectures = Names(root, "archs", registry.All.Select(a => a.Name).ToList(), "architecture");
            string attacks = Names(root, "attacks", suite.Attacks.Select(a => a.Id).ToList(), "attack");
            List<(YamlNode Node, string App)> apps = Apps(root, suite);
            List<ulong> seeds = Seeds(root);
            List<(string Key, YamlNode KeyNode, List<(YamlNode Node, string Value)> Values)> attackAxes = Axes(root, "attack_params");
            List<(string Key, YamlNode KeyNode, List<(YamlNode Node, string Value)> Values)> archAxes = Axes(root, "arch_params");
            ChipOptions chip = Chip(root);

            long count = (long)apps.Count * seeds.Count * attackAxes.Aggregate(1L, (n, a) => n * a.Values.Count) * archAxes.Aggregate(1L, (n, a) => n * a.Values.Count);
            if (count > MaxCampaigns)
            {
                throw Error(root, "", string.Create(CultureInfo.InvariantCulture,
                    $"apps × seeds × parameter values make {count} campaigns; at most {MaxCampaigns} in one file"));
            }
            var plans = new List<CampaignPlan>();
            foreach ((YamlNode appNode, string app) in apps)
            {
                foreach (ulong seed in seeds)
                {
                    CampaignPlan plan;
                    try
                    {
                        plan = CampaignPlan.Create(architectures, attacks, app, seed, registry, suite);
                    }
                    catch (CampaignPlanException e)
                    {
                        throw Error(appNode, "apps", e.Message);
                    }
                    if (plans.Count == 0)
                    {
                        CheckOwners(attackAxes, archAxes, plan);
                    }
                    foreach (var attackSettings in Combinations(attackAxes))
                    {
                        foreach (var archSettings in Combinations(archAxes))
                        {
                            plans.Add(plan with { Parameters = Parameters(attackSettings, archSettings, plan) });
                        }
                    }
                }
            }
            return new CampaignFileSpec(file, new CampaignSweep(plans, chip), registry, suite, plugins)
            {
                Jobs = Get(root, "jobs") is YamlNode jobs ? (int)WholeNumber(jobs, "jobs", 1, 1024, "a whole number from 1 to 1024") : null,
                OutDirectory = Get(root, "out") is YamlNode outNode ? Text(outNode, "out") : null,
                Json = Get(root, "json") is YamlNode json ? Text(json, "json") : null,
                Shard = Get(root, "shard") is YamlNode shard
                    ? CampaignShard.Parse(Text(shard, "shard"), out string? problem) ?? throw Error(shard, "shard", problem!)
                    : null,
            };
        }

        /// <summary>A key's value as a list of items (a single value is a list of one); absent: none.</summary>
        private List<(YamlNode Node, string Field)> Items(YamlMappingNode root, string key)
        {
            if (Get(root, key) is not YamlNode node)
            {
                return [];
            }
            if (node is YamlSequenceNode list)
            {
                if (list.Children.Count == 0)
                {
                    throw Error(node, key, "empty: give at least one, or leave the key out");
                }
                return [.. list.Children.Select((item, i) => (item, $"{key}[{i}]"))];
            }
            Text(node, key);
            return [(node, key)];
        }

        /// <summary>Architectures or attacks: a list of names or <c>all</c> (the default), checked here so a mistake is located.</summary>
        private string Names(YamlMappingNode root, string key, List<string> known, string what)
        {
            if (Get(root, key) is null)
            {
                return CampaignPlan.All;
            }
            var names = new List<string>();
            foreach ((YamlNode node, string field) in Items(root, key))
            {
                string name = Text(node, field);
                if (name != CampaignPlan.All && !known.Contains(name))
                {
                    string? near = known.FirstOrDefault(k => Distance(k, name) <= 2);
                    throw Error(node, field, $"unknown {what} '{name}' ({(near is null ? "" : $"did you mean '{near}'? ")}known: {string.Join(", ", known)}, or {CampaignPlan.All})");
                }
                names.Add(name);
            }
            return string.Join(',', names);
        }

        /// <summary>Built-in names, or manifests relative to the file (read now: a bad one is its own located line).</summary>
        private List<(YamlNode, string)> Apps(YamlMappingNode root, IAttackSuite suite)
        {
            var apps = new List<(YamlNode, string)>();
            List<(YamlNode Node, string Field)> items = Items(root, "apps");
            if (items.Count == 0)
            {
                return [(root, "vault")];
            }
            foreach ((YamlNode node, string field) in items)
            {
                string app = Text(node, field);
                if (!AppCatalogue.IsManifestPath(app))
                {
                    if (!suite.Apps.Contains(app, StringComparer.Ordinal))
                    {
                        throw Error(node, field, $"unknown app '{app}' (known: {string.Join(", ", suite.Apps)}, or a manifest FILE.yaml relative to this file)");
                    }
                    apps.Add((node, app));
                    continue;
                }
                string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, app));
                if (!File.Exists(full))
                {
                    throw Error(node, field, $"'{app}' not found (no manifest {full})");
                }
                // As --app would have it: relative to where vbase runs, so the JSON holds no absolute path.
                string relative = System.IO.Path.GetRelativePath(Environment.CurrentDirectory, full).Replace(System.IO.Path.DirectorySeparatorChar, '/');
                AppCatalogue.Find(AppCatalogue.IsManifestPath(relative) ? relative : "./" + relative);
                apps.Add((node, AppCatalogue.IsManifestPath(relative) ? relative : "./" + relative));
            }
            if (apps.Select(a => a.Item2).Distinct(StringComparer.Ordinal).Count() != apps.Count)
            {
                throw Error(Get(root, "apps")!, "apps", "an app is named twice");
            }
            return apps;
        }

        /// <summary>Seeds: whole numbers, or ranges <c>A..B</c> (at most <see cref="MaxCampaigns"/> seeds).</summary>
        private List<ulong> Seeds(YamlMappingNode root)
        {
            var seeds = new List<ulong>();
            foreach ((YamlNode node, string field) in Items(root, "seeds"))
            {
                string text = Text(node, field);
                int dots = text.IndexOf("..", StringComparison.Ordinal);
                if (dots > 0)
                {
                    if (!GroupedDigits.TryParse(text[..dots].Trim(), out ulong from) || !GroupedDigits.TryParse(text[(dots + 2)..].Trim(), out ulong to) || to < from)
                    {
                        throw Error(node, field, $"'{text}' is not a range of seeds A..B (whole numbers, A ≤ B)");
                    }
                    if (to - from >= MaxCampaigns)
                    {
                        throw Error(node, field, $"'{text}' is more than {MaxCampaigns} seeds");
                    }
                    for (ulong s = from; ; s++)
                    {
                        seeds.Add(s);
                        if (s == to)
                        {
                            break;
                        }
                    }
                    continue;
                }
                seeds.Add(WholeNumber(node, field, 0, ulong.MaxValue, "a seed (a whole number) or a range A..B"));
            }
            if (seeds.Distinct().Count() != seeds.Count)
            {
                throw Error(Get(root, "seeds")!, "seeds", "a seed is given twice");
            }
            return seeds.Count == 0 ? [1] : seeds;
        }

        /// <summary><c>OWNER.KEY: value</c> or <c>OWNER.KEY: [values]</c>: one axis per key, in the file's order of values.</summary>
        private List<(string, YamlNode, List<(YamlNode, string)>)> Axes(YamlMappingNode root, string key)
        {
            if (Get(root, key) is not YamlNode node)
            {
                return [];
            }
            YamlMappingNode map = Mapping(node, key, "parameters as 'OWNER.KEY: value' or 'OWNER.KEY: [values]' lines");
            var axes = new List<(string, YamlNode, List<(YamlNode, string)>)>();
            foreach ((YamlNode keyNode, YamlNode value) in map.Children)
            {
                string name = Text(keyNode, key);
                string field = $"{key}.{name}";
                int dot = name.IndexOf('.', StringComparison.Ordinal);
                if (dot <= 0 || dot == name.Length - 1)
                {
                    throw Error(keyNode, field, $"'{name}' is not {(key == "attack_params" ? "ATTACK" : "ARCH")}.KEY");
                }
                var values = new List<(YamlNode, string)>();
                if (value is YamlSequenceNode list)
                {
                    if (list.Children.Count == 0)
                    {
                        throw Error(value, field, "empty: give at least one value");
                    }
                    for (int i = 0; i < list.Children.Count; i++)
                    {
                        values.Add((list.Children[i], Value(list.Children[i], $"{field}[{i}]")));
                    }
                }
                else
                {
                    values.Add((value, Value(value, field)));
                }
                if (values.Select(v => v.Item2).Distinct(StringComparer.Ordinal).Count() != values.Count)
                {
                    throw Error(value, field, "a value is given twice");
                }
                axes.Add((name, keyNode, values));
            }
            // Sorted by key, so the order of the lines does not change the sweep (as --attack-param's order does not).
            axes.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
            return axes;
        }

        /// <summary>A parameter value as the command line would give it: decimal with '_' groups ungrouped, 0x hex, or a word.</summary>
        private string Value(YamlNode node, string field)
        {
            string text = Text(node, field);
            return GroupedDigits.TryParse(text, out ulong number) && !text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? number.ToString(CultureInfo.InvariantCulture)
                : text;
        }

        private static IEnumerable<List<(string Key, YamlNode Node, string Value)>> Combinations(
            List<(string Key, YamlNode KeyNode, List<(YamlNode Node, string Value)> Values)> axes)
        {
            IEnumerable<List<(string, YamlNode, string)>> result = [[]];
            foreach (var axis in axes)
            {
                result = [.. result.SelectMany(prefix => axis.Values.Select(v => (List<(string, YamlNode, string)>)[.. prefix, (axis.Key, v.Node, v.Value)]))];
            }
            return result;
        }

        /// <summary>
        /// The parameters' owners and an attack's keys, at the key's line: the campaign must have the attack or
        /// architecture, the attack the parameter (an architecture's keys are its plug-in's to check, with a value).
        /// </summary>
        private void CheckOwners(List<(string Key, YamlNode KeyNode, List<(YamlNode Node, string Value)> Values)> attackAxes,
            List<(string Key, YamlNode KeyNode, List<(YamlNode Node, string Value)> Values)> archAxes, CampaignPlan plan)
        {
            foreach ((string key, YamlNode keyNode, _) in attackAxes)
            {
                string owner = key[..key.IndexOf('.', StringComparison.Ordinal)], name = key[(owner.Length + 1)..];
                Attacks.AttackSpec spec = plan.Attacks.FirstOrDefault(a => a.Id == owner)
                    ?? throw Error(keyNode, $"attack_params.{key}", $"'{owner}' is not an attack of this campaign (it has: {string.Join(", ", plan.Attacks.Select(a => a.Id))})");
                if (spec.Parameters.All(p => p.Name != name))
                {
                    throw Error(keyNode, $"attack_params.{key}", $"{owner} has no parameter '{name}' (it has: {string.Join(", ", spec.Parameters.Select(p => p.Name))})");
                }
            }
            foreach ((string key, YamlNode keyNode, _) in archAxes)
            {
                string owner = key[..key.IndexOf('.', StringComparison.Ordinal)];
                if (plan.Architectures.All(a => a.Name != owner))
                {
                    throw Error(keyNode, $"arch_params.{key}", $"'{owner}' is not an architecture of this campaign (it has: {string.Join(", ", plan.Architectures.Select(a => a.Name))})");
                }
            }
        }

        /// <summary>Each setting checked alone against the plan, so the message points at the value (or key) that is wrong.</summary>
        private CampaignParameters Parameters(List<(string Key, YamlNode Node, string Value)> attackSettings,
            List<(string Key, YamlNode Node, string Value)> archSettings, CampaignPlan plan)
        {
            foreach ((string key, YamlNode node, string value) in attackSettings)
            {
                Check(() => CampaignParameters.Parse([$"{key}={value}"], [], plan), node, "attack_params", key);
            }
            foreach ((string key, YamlNode node, string value) in archSettings)
            {
                Check(() => CampaignParameters.Parse([], [$"{key}={value}"], plan), node, "arch_params", key);
            }
            return Check(() => CampaignParameters.Parse(attackSettings.Select(s => $"{s.Key}={s.Value}"), archSettings.Select(s => $"{s.Key}={s.Value}"), plan),
                attackSettings.Concat(archSettings).FirstOrDefault().Node, "", "");
        }

        private T Check<T>(Func<T> parse, YamlNode? node, string group, string key)
        {
            try
            {
                return parse();
            }
            catch (CampaignParameterException e)
            {
                throw Error(node ?? new YamlScalarNode(), group.Length == 0 ? "" : $"{group}.{key}", e.Message);
            }
        }

        private ChipOptions Chip(YamlMappingNode root)
        {
            var chip = new ChipOptions();
            if (Get(root, "llc_size") is YamlNode size)
            {
                string text = Text(size, "llc_size");
                if (!Scenarios.Sizes.TryParse(text, out ulong bytes) || bytes == 0 || bytes > int.MaxValue)
                {
                    throw Error(size, "llc_size", $"'{text}' is not a cache size (use e.g. 256K or 4M)");
                }
                chip = chip with { CacheBytes = (int)bytes };
            }
            if (Get(root, "llc_ways") is YamlNode ways)
            {
                chip = chip with { Ways = (int)WholeNumber(ways, "llc_ways", 1, 64, "a number of ways from 1 to 64") };
            }
            if (chip.Problem() is string problem)
            {
                throw Error(Get(root, "llc_size") ?? Get(root, "llc_ways")!, Get(root, "llc_size") is null ? "llc_ways" : "llc_size", problem);
            }
            return chip;
        }
    }
}
