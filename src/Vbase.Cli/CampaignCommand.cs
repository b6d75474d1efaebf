using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Campaigns;
using Vbase.Testbed.Plugins;
using Vbase.Testbed.Oracle;

namespace Vbase.Cli;

/// <summary>What <c>vbase campaign</c>'s exit status means (docs/cli.md, "vbase campaign").</summary>
public static class CampaignExitCodes
{
    /// <summary>Every cell ran, whatever its verdict.</summary>
    public const int Success = 0;
    /// <summary>At least one cell's verdict is <c>error</c>: the harness could not carry that attack out.</summary>
    public const int CellError = 1;
    /// <summary>Bad command line: unknown option, architecture, attack or app, bad number.</summary>
    public const int UsageError = ExitCodes.UsageError;
    public const int InternalError = ExitCodes.InternalError;
    /// <summary>Campaign parts that cannot be read or do not make one campaign (EX_DATAERR).</summary>
    public const int DataError = ExitCodes.DataError;
    /// <summary>--slurm where Slurm cannot be used: no sbatch on PATH, sbatch or squeue failing (EX_UNAVAILABLE).</summary>
    public const int Unavailable = 69;
    /// <summary>The --out folder, the --json file or a report cannot be written (EX_CANTCREAT).</summary>
    public const int OutputError = 73;
    /// <summary>--slurm: some shards' tasks ended without a part; --resume re-submits just those (EX_TEMPFAIL).</summary>
    public const int ShardsFailed = 75;
}

/// <summary>
/// <c>vbase campaign</c>: every chosen architecture against every chosen attack, each cell in a fresh testbed, several
/// at a time; the matrix of verdicts as JSON and as Markdown and HTML reports.
/// </summary>
internal static class CampaignCommand
{
    private static readonly AsyncLocal<IAttackSuite?> SuiteOverride = new();
    private static readonly AsyncLocal<bool?> TerminalOverride = new();

    /// <summary>The attack suite campaigns and <c>vbase list attacks</c> use; tests put a fake in their own async flow.</summary>
    internal static IAttackSuite Suite
    {
        get => SuiteOverride.Value ?? BuiltInAttackSuite.Instance;
        set => SuiteOverride.Value = value;
    }

    /// <summary>The suite for a campaign with these plug-ins (<c>--plugin</c>): the built-in one, over their registry.</summary>
    internal static IAttackSuite SuiteFor(IReadOnlyList<string> plugins) =>
        SuiteOverride.Value ?? (plugins.Count == 0 ? BuiltInAttackSuite.Instance : new BuiltInAttackSuite(PluginCatalog.Registry(plugins)));

    /// <summary>Whether stdout is a terminal (live progress bar) or not (one line per finished cell); tests may say.</summary>
    internal static bool StdoutIsTerminal
    {
        get => TerminalOverride.Value ?? !Console.IsOutputRedirected;
        set => TerminalOverride.Value = value;
    }

    public static Command Create(CliConsole console)
    {
        var architectures = new Option<string>("--arch")
        {
            Description = "Comma-separated architectures (vbase list archs), or all.",
            HelpName = "LIST",
            DefaultValueFactory = _ => CampaignPlan.All,
        };
        var attacks = new Option<string>("--attack")
        {
            Description = "Comma-separated attacks (vbase list attacks), or all.",
            HelpName = "LIST",
            DefaultValueFactory = _ => CampaignPlan.All,
        };
        var app = new Option<string>("--app")
        {
            Description = "The secure application under attack: paper, vault, paper-linux, vault-linux (under Linux), net-plain, net-sealed (networked: docs/network-attacks.md), or an application manifest FILE.yaml (docs/apps.md).",
            HelpName = "NAME|FILE",
            DefaultValueFactory = _ => "vault",
        };
        Func<System.CommandLine.Parsing.ArgumentResult, ulong> parseSeed = VbaseCli.WholeNumber("--seed", 0UL, ulong.MaxValue, "a whole number");
        var seed = new Option<ulong>("--seed")
        {
            Description = "The seed every cell runs with; the same seed gives the same JSON and reports.",
            HelpName = "N",
            DefaultValueFactory = _ => 1,
            CustomParser = result => parseSeed(result),
        };
        var outDirectory = new Option<string?>("--out")
        {
            Description = "Write report.md, report.html and each cell's run (runs/<arch>/<attack>/events.jsonl…) into DIR.",
            HelpName = "DIR",
        };
        var json = new Option<string?>("--json")
        {
            Description = "Write the matrix as JSON to FILE (docs/campaigns.md).",
            HelpName = "FILE",
        };
        Func<System.CommandLine.Parsing.ArgumentResult, int> parseJobs = VbaseCli.WholeNumber("--jobs", 1, 1024, "a whole number from 1 to 1024");
        var jobs = new Option<int>("--jobs")
        {
            Description = "How many cells run at once, each in its own testbed (default: the number of processors).",
            HelpName = "N",
            DefaultValueFactory = _ => Environment.ProcessorCount,
            CustomParser = result => parseJobs(result),
        };
        var shard = new Option<CampaignShard?>("--shard")
        {
            Description = "Run only the K-th of N shards (1-based) and write its part to --json, for 'vbase campaign merge'.",
            HelpName = "K/N",
            CustomParser = result =>
            {
                CampaignShard? parsed = CampaignShard.Parse(result.Tokens.Count > 0 ? result.Tokens[0].Value : "", out string? problem);
                if (parsed is null)
                {
                    result.AddError($"--shard: {problem}");
                }
                return parsed;
            },
        };
        var slurm = new SlurmArguments();
        var chip = new VbaseCli.ChipArguments();
        var plugins = VbaseCli.PluginOption();
        var attackParameters = new Option<string[]>("--attack-param")
        {
            Description = "Give an attack a parameter in every cell: ATTACK.KEY=VALUE (vbase list attacks); repeatable.",
            HelpName = "ATTACK.KEY=VALUE",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var archParameters = new Option<string[]>("--arch-param")
        {
            Description = "Give an architecture a parameter in every cell (a scenario's arch_parameters): ARCH.KEY=VALUE; repeatable.",
            HelpName = "ARCH.KEY=VALUE",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var file = new Argument<string?>("FILE.yaml")
        {
            Description = "A campaign file (docs/campaigns.md, \"Campaign files\"): architectures x attacks x apps x seeds x parameter values.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        // The parser takes an unknown option in the file's place; say what it is (a file named "-x" is ./-x).
        file.Validators.Add(result =>
        {
            string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (token.Length > 1 && token[0] == '-')
            {
                result.AddError($"unknown option '{token}'");
            }
        });
        var command = new Command("campaign", "Run every chosen attack against every chosen architecture, each in a fresh testbed; report the verdicts.")
        {
            file, architectures, attacks, app, seed, outDirectory, json, jobs, shard, plugins, attackParameters, archParameters,
        };
        chip.AddTo(command);
        slurm.AddTo(command);
        command.Subcommands.Add(CampaignMergeCommand.Create(console));
        Option[] planOptions = [architectures, attacks, app, seed, attackParameters, archParameters, chip.Size, chip.Ways];
        command.SetAction(parsed => Run(console, new CampaignArguments(parsed.GetValue(architectures)!, parsed.GetValue(attacks)!,
            parsed.GetValue(app)!, parsed.GetValue(seed), parsed.GetValue(outDirectory), parsed.GetValue(json), parsed.GetValue(jobs))
        {
            Chip = chip.Apply(parsed, new Vbase.Sapi.Chip.ChipOptions(), out string? problem),
            ChipProblem = problem,
            JobsGiven = parsed.GetResult(jobs) is { Implicit: false },
            Shard = parsed.GetValue(shard),
            Slurm = slurm.Read(parsed),
            Plugins = [.. (parsed.GetValue(plugins) ?? []).Select(Path.GetFullPath)],
            AttackSettings = parsed.GetValue(attackParameters) ?? [],
            ArchitectureSettings = parsed.GetValue(archParameters) ?? [],
            File = parsed.GetValue(file),
            FilePlanOption = planOptions.FirstOrDefault(o => parsed.GetResult(o) is { Implicit: false })?.Name,
            OutGiven = parsed.GetResult(outDirectory) is { Implicit: false },
            JsonGiven = parsed.GetResult(json) is { Implicit: false },
        }));
        return command;
    }

    internal sealed record CampaignArguments(string Architectures, string Attacks, string App, ulong Seed, string? OutDirectory, string? Json, int Jobs)
    {
        public Vbase.Sapi.Chip.ChipOptions? Chip { get; init; }
        public string? ChipProblem { get; init; }
        /// <summary>--jobs was on the command line (not its default, the number of processors).</summary>
        public bool JobsGiven { get; init; }
        public CampaignShard? Shard { get; init; }
        public SlurmOptions Slurm { get; init; } = new();
        /// <summary>--plugin, as full paths (the Slurm tasks get the same).</summary>
        public IReadOnlyList<string> Plugins { get; init; } = [];
        /// <summary>--attack-param and --arch-param as given (checked against the plan).</summary>
        public IReadOnlyList<string> AttackSettings { get; init; } = [];
        public IReadOnlyList<string> ArchitectureSettings { get; init; } = [];
        /// <summary>The campaign file (as given; a full path once read, for the Slurm tasks), or null.</summary>
        public string? File { get; init; }
        /// <summary>The first option that shapes the plan given beside a campaign file (which must say it itself), or null.</summary>
        public string? FilePlanOption { get; init; }
        public bool OutGiven { get; init; }
        public bool JsonGiven { get; init; }
        /// <summary>Every plug-in: a campaign file's and then --plugin's (for reading parts back).</summary>
        public IReadOnlyList<string> AllPlugins
        {
            get => allPlugins ?? Plugins;
            init => allPlugins = value;
        }

        private readonly IReadOnlyList<string>? allPlugins;
    }

    /// <summary>The version campaign parts record: parts merge only under the vbase that wrote them.</summary>
    internal static string Tool { get; } = "vbase " + (typeof(CampaignCommand).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown");

    /// <summary>The one line on stderr, and the exit code, of a command line whose options do not go together.</summary>
    private static string? Conflict(CampaignArguments arguments)
    {
        SlurmOptions slurm = arguments.Slurm;
        bool onSlurm = slurm.Submit || slurm.ScriptOnly;
        if (arguments.Shard is not null && onSlurm)
        {
            return "--shard: not with --slurm, which gives each task its shard";
        }
        if (arguments.Shard is not null && arguments.Json is null)
        {
            return "--shard needs --json FILE: the part that 'vbase campaign merge' reads";
        }
        if (!onSlurm && slurm.FirstGiven is string option)
        {
            return $"{option} needs --slurm or --slurm-script";
        }
        if (onSlurm && arguments.OutDirectory is null)
        {
            return "--slurm needs --out DIR, on a filesystem every node sees: the tasks write their parts, logs and runs there";
        }
        return null;
    }

    private static int Run(CliConsole console, CampaignArguments arguments)
    {
        if (arguments.File is string path)
        {
            return RunFile(console, path, arguments);
        }
        IAttackSuite suite;
        ArchitectureRegistry registry;
        try
        {
            registry = PluginCatalog.Registry(arguments.Plugins);
            suite = SuiteFor(arguments.Plugins);
            if (AppCatalogue.IsManifestPath(arguments.App))
            {
                AppCatalogue.Find(arguments.App);   // a bad manifest is one located line before anything runs
            }
        }
        catch (Exception e) when (e is PluginException or AppManifestException)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.DataError, e.Message);
        }
        CampaignPlan plan;
        try
        {
            plan = CampaignPlan.Create(arguments.Architectures, arguments.Attacks, arguments.App, arguments.Seed, registry, suite);
        }
        catch (CampaignPlanException e)
        {
            string option = e.Choice switch
            {
                CampaignChoice.Architecture => "--arch",
                CampaignChoice.Attack => "--attack",
                _ => "--app",
            };
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, $"{option}: {e.Message}");
        }
        try
        {
            plan = plan with { Parameters = CampaignParameters.Parse(arguments.AttackSettings, arguments.ArchitectureSettings, plan) };
        }
        catch (CampaignParameterException e)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.DataError, $"{e.Option}: {e.Message}");
        }
        if (arguments.Chip is not Vbase.Sapi.Chip.ChipOptions chip)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, $"--llc-size/--llc-ways: {arguments.ChipProblem}");
        }
        return RunPlan(console, plan, chip, suite, arguments);
    }

    /// <summary>
    /// <c>vbase campaign FILE.yaml</c>: the file's sweep, with the command line's --out, --json, --jobs and --shard (and
    /// Slurm's options) over the file's; one sub-campaign runs exactly as the same campaign given by options.
    /// </summary>
    private static int RunFile(CliConsole console, string path, CampaignArguments arguments)
    {
        if (arguments.FilePlanOption is string option)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, $"{option}: not with a campaign file ({path} says what the campaign runs)");
        }
        CampaignFileSpec spec;
        try
        {
            spec = CampaignFileLoader.Load(path, arguments.Plugins, SuiteFor);
        }
        catch (Exception e) when (e is CampaignFileException or AppManifestException or PluginException)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.DataError, e.Message);
        }
        arguments = arguments with
        {
            File = Path.GetFullPath(path),
            AllPlugins = spec.Plugins,
            OutDirectory = arguments.OutGiven ? arguments.OutDirectory : spec.OutDirectory,
            Json = arguments.JsonGiven ? arguments.Json : spec.Json,
            Jobs = arguments.JobsGiven ? arguments.Jobs : spec.Jobs ?? arguments.Jobs,
            JobsGiven = arguments.JobsGiven || spec.Jobs is not null,
            Shard = arguments.Shard ?? spec.Shard,
        };
        CampaignSweep sweep = spec.Sweep;
        if (sweep.Plans.Count == 1)
        {
            return RunPlan(console, sweep.Plans[0], sweep.Chip, spec.Suite, arguments);
        }
        return RunSweep(console, spec, arguments);
    }

    /// <summary>Whether the --out folder and the --json file can be written (found before the cells run, not after).</summary>
    private static int? CheckOutputs(CliConsole console, CampaignArguments arguments)
    {
        if (arguments.OutDirectory is string outDirectory)
        {
            try
            {
                Directory.CreateDirectory(outDirectory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return VbaseCli.Fail(console, CampaignExitCodes.OutputError, $"{outDirectory}: cannot create: {VbaseCli.OneLine(e.Message)}");
            }
        }
        if (arguments.Json is string json)
        {
            try
            {
                using var probe = new FileStream(json, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return VbaseCli.Fail(console, CampaignExitCodes.OutputError, $"cannot write --json file {json}: {VbaseCli.OneLine(e.Message)}");
            }
        }
        return null;
    }

    /// <summary>A campaign file's sub-campaigns, one after another, each as a campaign of its own in its folder under --out.</summary>
    private static int RunSweep(CliConsole console, CampaignFileSpec spec, CampaignArguments arguments)
    {
        CampaignSweep sweep = spec.Sweep;
        if (Conflict(arguments) is string conflict)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, conflict);
        }
        SlurmCampaign.Job job = SweepJob(console, spec, arguments);
        if (arguments.Slurm.ScriptOnly)
        {
            return SlurmCampaign.PrintScript(console, job, arguments);
        }
        if (arguments.Slurm.Submit && SlurmCampaign.Unavailable() is string missing)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.Unavailable, missing);
        }
        if (CheckOutputs(console, arguments) is int failed)
        {
            return failed;
        }
        if (arguments.Slurm.Submit)
        {
            return SlurmCampaign.Run(console, job, arguments);
        }
        console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"campaign file {spec.Path}: {Count(sweep.Plans.Count, "campaign")}, {Count(sweep.CellCount, "cell")} ({sweep.Id[..12]})"));
        var results = new List<CampaignResult>();
        for (int i = 0; i < sweep.Plans.Count; i++)
        {
            CampaignPlan plan = sweep.Plans[i];
            IReadOnlyList<int>? work = arguments.Shard is CampaignShard part ? CampaignSharding.WorkOf(plan, part) : null;
            int cellCount = work?.Count(w => w < plan.Cells.Count) ?? plan.Cells.Count;
            string shardNote = arguments.Shard is CampaignShard s ? $", shard {s}: {cellCount} of them" : "";
            console.Out.WriteLine($"campaign {i + 1}/{sweep.Plans.Count}: {sweep.Label(i)}: {Count(plan.Cells.Count, "cell")}{shardNote}");
            string? folder = arguments.OutDirectory is string outDirectory ? Path.Combine(outDirectory, sweep.Folder(i)) : null;
            var options = new CampaignOptions(Math.Min(arguments.Jobs, Math.Max(cellCount, 1)), folder) { Chip = sweep.Chip, Work = work };
            results.Add(StdoutIsTerminal
                ? RunWithProgressBar(console, plan, spec.Suite, options, cellCount)
                : RunWithLines(console, plan, spec.Suite, options, cellCount));
        }
        var result = new CampaignSweepResult(sweep, results);
        if (arguments.Shard is CampaignShard shard)
        {
            string json = arguments.Json!;
            if (WritePartFile(console, json, arguments.OutDirectory, runs => CampaignSweepOutput.PartToBytes(result, shard, Tool, runs)) is int partFailed)
            {
                return partFailed;
            }
            console.Out.WriteLine($"part: {json} (shard {shard} of campaign {sweep.Id[..12]})");
            return SweepErrors(console, result);
        }
        return FinishSweep(console, result, arguments.OutDirectory, arguments.Json);
    }

    /// <summary>The Slurm job of a campaign file: each task runs the file's shard K; the sweep parts merged.</summary>
    private static SlurmCampaign.Job SweepJob(CliConsole console, CampaignFileSpec spec, CampaignArguments arguments)
    {
        CampaignSweep sweep = spec.Sweep;
        return new SlurmCampaign.Job(sweep.Id, sweep.CellCount, $"{Count(sweep.Plans.Count, "campaign")} of {Path.GetFileName(spec.Path)}",
            $"campaign file {spec.Path}: {Count(sweep.Plans.Count, "campaign")}, {Count(sweep.CellCount, "cell")}",
            [arguments.File!],
            (path, shard) =>
            {
                try
                {
                    CampaignSweepOutput.SweepPart part = CampaignSweepOutput.ReadPart(path, spec.Registry, spec.Suite);
                    return part.Id == sweep.Id && part.Shard == shard && part.Tool == Tool;
                }
                catch (CampaignPartException)
                {
                    return false;
                }
            },
            files => CampaignMergeCommand.MergeSweep(console, files, spec.Plugins, Path.GetFullPath(arguments.OutDirectory!), arguments.Json));
    }

    /// <summary>A whole sweep's outputs, run here or merged: the summary lines per sub-campaign, the reports, the JSON, the exit code.</summary>
    internal static int FinishSweep(CliConsole console, CampaignSweepResult result, string? outDirectory, string? json)
    {
        for (int i = 0; i < result.Results.Count; i++)
        {
            CampaignResult r = result.Results[i];
            console.Out.WriteLine($"{result.Sweep.Label(i)}:");
            foreach (ArchitectureSummary summary in r.Summaries)
            {
                console.Out.WriteLine("  " + SummaryLine(summary, r.Plan.Architectures.Max(a => a.Name.Length)));
            }
        }
        try
        {
            if (outDirectory is string reports)
            {
                IReadOnlyList<string> written = CampaignSweepOutput.WriteReports(result, reports, Tool);
                console.Out.WriteLine($"reports: {string.Join(", ", written)} (and each campaign's in its folder)");
            }
            if (json is string jsonFile)
            {
                File.WriteAllBytes(jsonFile, CampaignSweepOutput.ToBytes(result));
                console.Out.WriteLine($"json: {jsonFile}");
            }
        }
        catch (Exception e) when (e is (IOException and not StandardOutputException) or UnauthorizedAccessException)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.OutputError, VbaseCli.OneLine(e.Message));
        }
        return SweepErrors(console, result);
    }

    private static int SweepErrors(CliConsole console, CampaignSweepResult result) =>
        CellErrors(console, result.Errors, result.Sweep.CellCount, c => $"{c.Architecture.Name} x {c.Attack.Id} ({c.Result.App})");

    /// <summary>One campaign's plan, from options or a campaign file of one: Slurm, shard or run here, and its outputs.</summary>
    private static int RunPlan(CliConsole console, CampaignPlan plan, Vbase.Sapi.Chip.ChipOptions chip, IAttackSuite suite, CampaignArguments arguments)
    {
        if (Conflict(arguments) is string conflict)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, conflict);
        }
        if (arguments.Slurm.ScriptOnly)
        {
            return SlurmCampaign.PrintScript(console, SlurmCampaign.CampaignJob(console, plan, chip, arguments), arguments);
        }
        if (arguments.Slurm.Submit && SlurmCampaign.Unavailable() is string missing)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.Unavailable, missing);
        }
        if (CheckOutputs(console, arguments) is int failed)
        {
            return failed;
        }
        if (arguments.Slurm.Submit)
        {
            return SlurmCampaign.Run(console, SlurmCampaign.CampaignJob(console, plan, chip, arguments), arguments);
        }
        IReadOnlyList<int>? work = arguments.Shard is CampaignShard part ? CampaignSharding.WorkOf(plan, part) : null;
        int cellCount = work?.Count(i => i < plan.Cells.Count) ?? plan.Cells.Count;
        int jobs = Math.Min(arguments.Jobs, Math.Max(cellCount, 1));
        console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"campaign: {Count(plan.Architectures.Count, "architecture")} x {Count(plan.Attacks.Count, "attack")} = {Count(plan.Cells.Count, "cell")}, app {plan.App}, seed {plan.Seed}, {jobs} at a time"));
        if (arguments.Shard is CampaignShard header)
        {
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"shard {header}: {cellCount} of the {Count(plan.Cells.Count, "cell")}, {work!.Count - cellCount} of the {Count(plan.CostRuns.Count, "cost run")}"));
        }
        var options = new CampaignOptions(jobs, arguments.OutDirectory) { Chip = chip, Work = work };
        CampaignResult result = StdoutIsTerminal
            ? RunWithProgressBar(console, plan, suite, options, cellCount)
            : RunWithLines(console, plan, suite, options, cellCount);
        return arguments.Shard is CampaignShard shard
            ? WritePart(console, result, shard, arguments.Json!, arguments.OutDirectory)
            : Finish(console, result, arguments.OutDirectory, arguments.Json);
    }

    /// <summary>
    /// Writes a shard's part file whole or not at all (whoever waits for parts, campaign --slurm, takes a file that is
    /// there as finished); <paramref name="bytes"/> gets the run folders' path relative to the file. Null when written,
    /// else the exit code of the failure it reported.
    /// </summary>
    private static int? WritePartFile(CliConsole console, string json, string? outDirectory, Func<string?, byte[]> bytes)
    {
        string? runs = outDirectory is null ? null
            : Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(json))!, Path.GetFullPath(outDirectory)).Replace(Path.DirectorySeparatorChar, '/');
        try
        {
            string temporary = $"{json}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, bytes(runs));
            File.Move(temporary, json, overwrite: true);
        }
        catch (Exception e) when (e is (IOException and not StandardOutputException) or UnauthorizedAccessException)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.OutputError, $"cannot write --json file {json}: {VbaseCli.OneLine(e.Message)}");
        }
        return null;
    }

    /// <summary>A shard's outputs: its part (its run folders are written as it runs); no reports, which are the whole campaign's.</summary>
    private static int WritePart(CliConsole console, CampaignResult result, CampaignShard shard, string json, string? outDirectory)
    {
        if (WritePartFile(console, json, outDirectory, runs => CampaignPartJson.ToBytes(result, shard, Tool, runs)) is int failed)
        {
            return failed;
        }
        console.Out.WriteLine($"part: {json} (shard {shard} of campaign {CampaignPartJson.CampaignId(result.Plan, result.Chip)[..12]})");
        return CellErrors(console, result);
    }

    /// <summary>
    /// A whole campaign's outputs, run here or merged from parts: the summary lines, the reports in
    /// <paramref name="outDirectory"/>, the JSON, and the exit code.
    /// </summary>
    internal static int Finish(CliConsole console, CampaignResult result, string? outDirectory, string? json)
    {
        CampaignPlan plan = result.Plan;
        foreach (ArchitectureSummary summary in result.Summaries)
        {
            console.Out.WriteLine(SummaryLine(summary, plan.Architectures.Max(a => a.Name.Length)));
        }
        try
        {
            if (outDirectory is string reports)
            {
                IReadOnlyList<string> written = CampaignReport.WriteAll(result, reports, Tool);
                console.Out.WriteLine($"reports: {string.Join(", ", written)}");
            }
            if (json is string jsonFile)
            {
                try
                {
                    File.WriteAllBytes(jsonFile, CampaignJson.ToBytes(result));
                }
                catch (Exception e) when (e is (IOException and not StandardOutputException) or UnauthorizedAccessException)
                {
                    return VbaseCli.Fail(console, CampaignExitCodes.OutputError, $"cannot write --json file {jsonFile}: {VbaseCli.OneLine(e.Message)}");
                }
                console.Out.WriteLine($"json: {jsonFile}");
            }
        }
        catch (Exception e) when (e is (IOException and not StandardOutputException) or UnauthorizedAccessException)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.OutputError, VbaseCli.OneLine(e.Message));
        }
        return CellErrors(console, result);
    }

    private static int CellErrors(CliConsole console, CampaignResult result) =>
        CellErrors(console, result.Errors, result.Cells.Count, c => $"{c.Architecture.Name} x {c.Attack.Id}");

    /// <summary>Exit 0, or 1 with one line naming the cells in error.</summary>
    private static int CellErrors(CliConsole console, IReadOnlyList<CampaignCell> errors, int cells, Func<CampaignCell, string> name)
    {
        if (errors.Count == 0)
        {
            return CampaignExitCodes.Success;
        }
        console.Out.Flush();
        console.Error.WriteLine($"vbase: campaign: {errors.Count} of {cells} cells could not be carried out (verdict error): "
            + string.Join(", ", errors.Select(name)));
        return CampaignExitCodes.CellError;
    }

    /// <summary>Without a terminal (a pipe, a file, CI): one line per cell as it finishes, in completion order.</summary>
    private static CampaignResult RunWithLines(CliConsole console, CampaignPlan plan, IAttackSuite suite, CampaignOptions options, int total)
    {
        int countWidth = total.ToString(CultureInfo.InvariantCulture).Length;
        int archWidth = plan.Architectures.Max(a => a.Name.Length), attackWidth = plan.Attacks.Max(a => a.Id.Length);
        return Campaign.Run(plan, suite, options with
        {
            CellFinished = (cell, finished) =>
            {
                string count = finished.ToString(CultureInfo.InvariantCulture).PadLeft(countWidth);
                console.Out.WriteLine($"[{count}/{total}] {cell.Architecture.Name.PadRight(archWidth)}  {cell.Attack.Id.PadRight(attackWidth)}  {Describe(cell)}");
                console.Out.Flush();
            },
        });
    }

    /// <summary>In a terminal: a live progress bar, with each finished cell printed above it.</summary>
    private static CampaignResult RunWithProgressBar(CliConsole console, CampaignPlan plan, IAttackSuite suite, CampaignOptions options, int total) =>
        WithProgressBar(console, $"{total} cells", total, (terminal, task) => Campaign.Run(plan, suite, options with
        {
            CellFinished = (cell, finished) =>
            {
                terminal.MarkupLine($"{Markup.Escape(cell.Architecture.Name)} × {Markup.Escape(cell.Attack.Id)}: "
                    + $"[{Colour(cell.Verdict)}]{Markup.Escape(Describe(cell))}[/]");
                task.Increment(1);
            },
        }));

    /// <summary>Runs <paramref name="work"/> under a live progress bar of <paramref name="total"/> steps, which it moves.</summary>
    internal static T WithProgressBar<T>(CliConsole console, string description, int total, Func<IAnsiConsole, ProgressTask, T> work)
    {
        // Spectre draws on the process's own stdout; flush ours first so what came before stays above the bar.
        console.Out.Flush();
        console.ProgramOutput.Flush();
        IAnsiConsole terminal = AnsiConsole.Console;
        T result = default!;
        terminal.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(progress => result = work(terminal, progress.AddTask(description, maxValue: total)));
        return result;
    }

    internal static string Count(int n, string what) => string.Create(CultureInfo.InvariantCulture, $"{n} {what}{(n == 1 ? "" : "s")}");

    private static string Describe(CampaignCell cell) => cell.Label() + (cell.OutsideThreatModel ? ", outside its threat model" : "");

    private static string Colour(Verdict verdict) => verdict switch
    {
        Verdict.Prevented => "green",
        Verdict.Detected => "blue",
        Verdict.Breached => "red",
        Verdict.Denied => "darkorange",
        Verdict.Inconclusive => "purple",
        _ => "grey",
    };

    private static string SummaryLine(ArchitectureSummary summary, int nameWidth) =>
        $"{summary.Architecture.Name.PadRight(nameWidth)}  "
        + string.Join(", ", Enum.GetValues<Verdict>().Select(v => string.Create(CultureInfo.InvariantCulture, $"{summary[v]} {v.Name()}")))
        + string.Create(CultureInfo.InvariantCulture, $"; inside its threat model: {summary.BreachedInsideThreatModel} breached");
}
