using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vbase.Architectures;
using Vbase.Testbed.Campaigns;
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
    /// <summary>The --out folder, the --json file or a report cannot be written (EX_CANTCREAT).</summary>
    public const int OutputError = 73;
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
            Description = "The secure application under attack: paper or vault.",
            HelpName = "NAME",
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
        var chip = new VbaseCli.ChipArguments();
        var command = new Command("campaign", "Run every chosen attack against every chosen architecture, each in a fresh testbed; report the verdicts.")
        {
            architectures, attacks, app, seed, outDirectory, json, jobs,
        };
        chip.AddTo(command);
        command.SetAction(parsed => Run(console, new CampaignArguments(parsed.GetValue(architectures)!, parsed.GetValue(attacks)!,
            parsed.GetValue(app)!, parsed.GetValue(seed), parsed.GetValue(outDirectory), parsed.GetValue(json), parsed.GetValue(jobs))
        {
            Chip = chip.Apply(parsed, new Vbase.Sapi.Chip.ChipOptions(), out string? problem),
            ChipProblem = problem,
        }));
        return command;
    }

    private sealed record CampaignArguments(string Architectures, string Attacks, string App, ulong Seed, string? OutDirectory, string? Json, int Jobs)
    {
        public Vbase.Sapi.Chip.ChipOptions? Chip { get; init; }
        public string? ChipProblem { get; init; }
    }

    private static int Run(CliConsole console, CampaignArguments arguments)
    {
        IAttackSuite suite = Suite;
        CampaignPlan plan;
        try
        {
            plan = CampaignPlan.Create(arguments.Architectures, arguments.Attacks, arguments.App, arguments.Seed,
                BuiltInArchitectures.CreateRegistry(), suite);
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
            // Found before the cells run, not after minutes of them: the file must be one vbase can write.
            try
            {
                using var probe = new FileStream(json, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return VbaseCli.Fail(console, CampaignExitCodes.OutputError, $"cannot write --json file {json}: {VbaseCli.OneLine(e.Message)}");
            }
        }

        if (arguments.Chip is not Vbase.Sapi.Chip.ChipOptions chip)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, $"--llc-size/--llc-ways: {arguments.ChipProblem}");
        }
        int jobs = Math.Min(arguments.Jobs, Math.Max(plan.Cells.Count, 1));
        console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"campaign: {Count(plan.Architectures.Count, "architecture")} x {Count(plan.Attacks.Count, "attack")} = {Count(plan.Cells.Count, "cell")}, app {plan.App}, seed {plan.Seed}, {jobs} at a time"));
        CampaignResult result = StdoutIsTerminal
            ? RunWithProgressBar(console, plan, suite, arguments.OutDirectory, jobs, chip)
            : RunWithLines(console, plan, suite, arguments.OutDirectory, jobs, chip);

        foreach (ArchitectureSummary summary in result.Summaries)
        {
            console.Out.WriteLine(SummaryLine(summary, plan.Architectures.Max(a => a.Name.Length)));
        }
        try
        {
            if (arguments.OutDirectory is string reports)
            {
                IReadOnlyList<string> written = CampaignReport.WriteAll(result, reports);
                console.Out.WriteLine($"reports: {string.Join(", ", written)}");
            }
            if (arguments.Json is string jsonFile)
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

        IReadOnlyList<CampaignCell> errors = result.Errors;
        if (errors.Count == 0)
        {
            return CampaignExitCodes.Success;
        }
        console.Out.Flush();
        console.Error.WriteLine($"vbase: campaign: {errors.Count} of {result.Cells.Count} cells could not be carried out (verdict error): "
            + string.Join(", ", errors.Select(c => $"{c.Architecture.Name} x {c.Attack.Id}")));
        return CampaignExitCodes.CellError;
    }

    /// <summary>Without a terminal (a pipe, a file, CI): one line per cell as it finishes, in completion order.</summary>
    private static CampaignResult RunWithLines(CliConsole console, CampaignPlan plan, IAttackSuite suite, string? outDirectory, int jobs, Vbase.Sapi.Chip.ChipOptions chip)
    {
        int total = plan.Cells.Count;
        int countWidth = total.ToString(CultureInfo.InvariantCulture).Length;
        int archWidth = plan.Architectures.Max(a => a.Name.Length), attackWidth = plan.Attacks.Max(a => a.Id.Length);
        return Campaign.Run(plan, suite, new CampaignOptions(jobs, outDirectory, (cell, finished) =>
        {
            string count = finished.ToString(CultureInfo.InvariantCulture).PadLeft(countWidth);
            console.Out.WriteLine($"[{count}/{total}] {cell.Architecture.Name.PadRight(archWidth)}  {cell.Attack.Id.PadRight(attackWidth)}  {Describe(cell)}");
            console.Out.Flush();
        })
        { Chip = chip });
    }

    /// <summary>In a terminal: a live progress bar, with each finished cell printed above it.</summary>
    private static CampaignResult RunWithProgressBar(CliConsole console, CampaignPlan plan, IAttackSuite suite, string? outDirectory, int jobs, Vbase.Sapi.Chip.ChipOptions chip)
    {
        // Spectre draws on the process's own stdout; flush ours first so the header stays above the bar.
        console.Out.Flush();
        console.ProgramOutput.Flush();
        IAnsiConsole terminal = AnsiConsole.Console;
        CampaignResult? result = null;
        terminal.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(progress =>
            {
                ProgressTask task = progress.AddTask($"{plan.Cells.Count} cells", maxValue: plan.Cells.Count);
                result = Campaign.Run(plan, suite, new CampaignOptions(jobs, outDirectory, (cell, finished) =>
                {
                    terminal.MarkupLine($"{Markup.Escape(cell.Architecture.Name)} × {Markup.Escape(cell.Attack.Id)}: "
                        + $"[{Colour(cell.Verdict)}]{Markup.Escape(Describe(cell))}[/]");
                    task.Increment(1);
                })
                { Chip = chip });
            });
        return result!;
    }

    private static string Count(int n, string what) => string.Create(CultureInfo.InvariantCulture, $"{n} {what}{(n == 1 ? "" : "s")}");

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
