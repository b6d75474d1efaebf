using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Spectre.Console;
using Vbase.Testbed.Campaigns;

namespace Vbase.Cli;

/// <summary>The Slurm options of <c>vbase campaign</c>, as given.</summary>
internal sealed record SlurmOptions
{
    /// <summary>--slurm: submit the job array, follow it, merge.</summary>
    public bool Submit { get; init; }
    /// <summary>--slurm-script: print the script only.</summary>
    public bool ScriptOnly { get; init; }
    public bool Resume { get; init; }
    public string? Partition { get; init; }
    public int? Shards { get; init; }
    public string? Time { get; init; }

    /// <summary>The first option given that only means something with --slurm or --slurm-script.</summary>
    public string? FirstGiven =>
        Partition is not null ? "--partition" : Shards is not null ? "--shards" : Time is not null ? "--time" : Resume ? "--resume" : null;
}

/// <summary>The options behind <see cref="SlurmOptions"/>.</summary>
internal sealed class SlurmArguments
{
    // Slurm's own forms (sbatch(1), --time): minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or no limit.
    private static readonly Regex SlurmTime = new(@"^(\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|UNLIMITED|INFINITE)$", RegexOptions.CultureInvariant);
    // Partition names, or a comma-separated list of them; nothing the script's #SBATCH line would have to quote.
    private static readonly Regex PartitionName = new(@"^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$", RegexOptions.CultureInvariant);

    private readonly Option<bool> submit = new("--slurm") { Description = "Run the campaign on Slurm as a job array (one task per shard), follow it and merge the parts." };
    private readonly Option<bool> scriptOnly = new("--slurm-script") { Description = "Print the sbatch script --slurm would submit, and nothing else." };
    private readonly Option<bool> resume = new("--resume") { Description = "With --slurm: keep the parts already in --out and submit only the missing shards." };

    private readonly Option<string?> partition = new("--partition")
    {
        Description = "The Slurm partition(s) the tasks run in (sbatch --partition).",
        HelpName = "P",
        CustomParser = result => Matching(result, "--partition", PartitionName, "a Slurm partition name (letters, digits, '_', '.', '-'; a comma between several)"),
    };

    private readonly Option<int?> shards = new("--shards")
    {
        Description = "How many shards, one Slurm task each (default: one per 200 cells).",
        HelpName = "N",
        CustomParser = result => VbaseCli.WholeNumber("--shards", 1, CampaignShard.MaxCount, $"a whole number from 1 to {CampaignShard.MaxCount}")(result),
    };

    private readonly Option<string?> time = new("--time")
    {
        Description = "Each task's time limit (sbatch --time): minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.",
        HelpName = "T",
        CustomParser = result => Matching(result, "--time", SlurmTime, "a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)"),
    };

    private static string? Matching(System.CommandLine.Parsing.ArgumentResult result, string option, Regex form, string what)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (!form.IsMatch(text))
        {
            result.AddError($"{option}: '{text}' is not {what}");
            return null;
        }
        return text;
    }

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { submit, scriptOnly, partition, shards, time, resume })
        {
            command.Options.Add(option);
        }
    }

    public SlurmOptions Read(ParseResult parsed) => new()
    {
        Submit = parsed.GetValue(submit),
        ScriptOnly = parsed.GetValue(scriptOnly),
        Resume = parsed.GetValue(resume),
        Partition = parsed.GetValue(partition),
        Shards = parsed.GetValue(shards),
        Time = parsed.GetValue(time),
    };
}

/// <summary>
/// <c>vbase campaign --slurm</c>: the campaign as a Slurm job array. One task per shard runs
/// <c>vbase campaign --shard K/N</c> (K = <c>SLURM_ARRAY_TASK_ID</c>) into the shared <c>--out</c> folder; vbase submits
/// the script with <c>sbatch --parsable</c>, follows the tasks with <c>squeue</c> and the parts as they appear, and
/// merges them when the last task has left the queue. Slurm schedules; vbase only writes, submits and reads.
/// </summary>
internal static class SlurmCampaign
{
    /// <summary>The folder inside <c>--out</c> that holds the script, the tasks' logs and their parts.</summary>
    public const string Folder = "slurm";

    /// <summary>Cells per shard when --shards is not given: a task of this many runs about half a minute on a core
    /// (bench/campaign.sh), long beside Slurm's launch of it and .NET's start-up (about a second).</summary>
    public const int CellsPerShard = 200;

    /// <summary>Where the Slurm commands are found and what they are given; tests use their own.</summary>
    /// <param name="SearchPath">Folders to look for sbatch and squeue in, as PATH; null: PATH.</param>
    /// <param name="Environment">Variables set for sbatch and squeue (and, as sbatch exports them, the tasks).</param>
    /// <param name="PollInterval">How often squeue is asked.</param>
    internal sealed record Host(string? SearchPath, IReadOnlyDictionary<string, string> Environment, TimeSpan PollInterval);

    private static readonly AsyncLocal<Host?> HostOverride = new();

    internal static Host Current
    {
        get => HostOverride.Value ?? new Host(null, new Dictionary<string, string>(), TimeSpan.FromSeconds(2));
        set => HostOverride.Value = value;
    }

    /// <summary>How many polls a task may be out of the queue without its part before it counts as failed (a shared
    /// filesystem may show a file a little after the node that wrote it closed it).</summary>
    private const int PartGracePolls = 3;

    /// <summary>How long squeue may keep failing (the controller restarting) before vbase gives up following.</summary>
    private static readonly TimeSpan SqueueOutage = TimeSpan.FromMinutes(2);

    /// <summary>Why --slurm cannot submit here, or null.</summary>
    public static string? Unavailable()
    {
        foreach (string tool in new[] { "sbatch", "squeue" })
        {
            if (Find(tool) is null)
            {
                return $"--slurm: {tool} is not on PATH (run vbase where Slurm's commands are, such as a login node; --slurm-script prints the script)";
            }
        }
        return null;
    }

    private static string? Find(string tool)
    {
        string path = Current.SearchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (string folder in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(folder, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// What the tasks run: one campaign (its plan on each task's command line) or a campaign file (the file itself), with
    /// how a part is recognised as one of its and how the parts are merged and written.
    /// </summary>
    /// <param name="Describe">The script's comment after the cell count: <c>app vault, seed 7</c>.</param>
    /// <param name="Header">The first line on stdout, before "in N shards on Slurm".</param>
    /// <param name="TaskArguments">After <c>vbase campaign</c>: what names the plan (not --jobs, --out, --plugin, --shard, --json).</param>
    /// <param name="HasPart">Whether the file holds this job's part of shard K of N, written by this vbase.</param>
    /// <param name="Merge">Merges the parts' files and writes the outputs; the exit code.</param>
    internal sealed record Job(string Id, int Cells, string Describe, string Header, IReadOnlyList<string> TaskArguments,
        Func<string, CampaignShard, bool> HasPart, Func<IReadOnlyList<string>, int> Merge);

    /// <summary>The job of one campaign: its plan on each task's command line, its parts merged as campaign merge does.</summary>
    internal static Job CampaignJob(CliConsole console, CampaignPlan plan, Vbase.Sapi.Chip.ChipOptions chip, CampaignCommand.CampaignArguments arguments)
    {
        string id = CampaignPartJson.CampaignId(plan, chip);
        IReadOnlyList<string> plugins = arguments.Plugins;
        string[] taskArguments = arguments.File is string file ? [file] :
        [
            "--arch", string.Join(',', plan.Architectures.Select(a => a.Name)),
            "--attack", string.Join(',', plan.Attacks.Select(a => a.Id)),
            "--app", plan.App,
            "--seed", plan.Seed.ToString(CultureInfo.InvariantCulture),
            "--llc-size", chip.CacheBytes.ToString(CultureInfo.InvariantCulture),
            "--llc-ways", chip.Ways.ToString(CultureInfo.InvariantCulture),
            .. plan.Parameters.Settings(attacks: true).SelectMany(p => new[] { "--attack-param", p }),
            .. plan.Parameters.Settings(attacks: false).SelectMany(p => new[] { "--arch-param", p }),
        ];
        return new Job(id, plan.Cells.Count, $"app {plan.App}, seed {plan.Seed}",
            $"campaign: {CampaignCommand.Count(plan.Architectures.Count, "architecture")} x {CampaignCommand.Count(plan.Attacks.Count, "attack")} = "
            + $"{CampaignCommand.Count(plan.Cells.Count, "cell")}, app {plan.App}, seed {plan.Seed}",
            taskArguments,
            (path, shard) =>
            {
                try
                {
                    CampaignPart part = CampaignPartJson.ReadFile(path, Vbase.Testbed.Plugins.PluginCatalog.Registry(arguments.AllPlugins),
                        CampaignCommand.SuiteFor(arguments.AllPlugins)).Part;
                    return part.CampaignId == id && part.Shard == shard && part.Tool == CampaignCommand.Tool;
                }
                catch (CampaignPartException)
                {
                    return false;
                }
            },
            files =>
            {
                CampaignResult result;
                IReadOnlyList<CampaignMerge.NamedPart> parts;
                try
                {
                    (result, parts) = CampaignMergeCommand.Merge(files, arguments.AllPlugins);
                }
                catch (CampaignPartException e)
                {
                    return VbaseCli.Fail(console, CampaignExitCodes.DataError, $"campaign merge: {VbaseCli.OneLine(e.Message)}");
                }
                return CampaignMergeCommand.Write(console, result, parts, Path.GetFullPath(arguments.OutDirectory!), arguments.Json);
            });
    }

    private sealed record Layout(string Out, int Shards, string Id, IReadOnlyList<string> Plugins)
    {
        public string Folder => Path.Combine(Out, SlurmCampaign.Folder);
        public string Script => Path.Combine(Folder, "campaign.sbatch");
        public string Part(int k) => Path.Combine(Folder, string.Create(CultureInfo.InvariantCulture, $"part-{k}.json"));
        public string Log(int k) => Path.Combine(Folder, string.Create(CultureInfo.InvariantCulture, $"shard-{k}.log"));
    }

    private static Layout LayoutOf(Job job, CampaignCommand.CampaignArguments arguments) =>
        new(Path.GetFullPath(arguments.OutDirectory!),
            arguments.Slurm.Shards ?? Math.Clamp((job.Cells + CellsPerShard - 1) / CellsPerShard, 1, CampaignShard.MaxCount),
            job.Id, arguments.Plugins);

    /// <summary>Characters an #SBATCH line or Slurm's filename patterns would take for something else.</summary>
    private static string? UnfitPath(string path) =>
        path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '%' or '"' or '\'' or '\\')
            ? $"--out: '{path}' cannot go into an sbatch script (no spaces, quotes, backslashes or '%')"
            : null;

    /// <summary><c>--slurm-script</c>: the script --slurm would submit, on stdout.</summary>
    public static int PrintScript(CliConsole console, Job job, CampaignCommand.CampaignArguments arguments)
    {
        Layout layout = LayoutOf(job, arguments);
        if (UnfitPath(layout.Out) is string unfit)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, unfit);
        }
        int[] shards = arguments.Slurm.Resume ? Missing(job, layout) : [.. Enumerable.Range(1, layout.Shards)];
        console.Out.Write(Script(job, arguments, layout, shards));
        return CampaignExitCodes.Success;
    }

    /// <summary>The shards whose part is not in the folder yet (or is not of this campaign and shard, or of this vbase).</summary>
    private static int[] Missing(Job job, Layout layout) =>
        [.. Enumerable.Range(1, layout.Shards).Where(k => !File.Exists(layout.Part(k)) || !job.HasPart(layout.Part(k), new CampaignShard(k, layout.Shards)))];

    /// <summary>The sbatch script: an array of <paramref name="shards"/>, each task one <c>vbase campaign --shard K/N</c>.</summary>
    private static string Script(Job job, CampaignCommand.CampaignArguments arguments, Layout layout, int[] shards)
    {
        SlurmOptions slurm = arguments.Slurm;
        // Without --jobs a task takes one CPU, so Slurm packs tasks onto every core; with it, each task asks for that many.
        int jobs = arguments.JobsGiven ? arguments.Jobs : 1;
        var script = new StringBuilder();
        void Line(string text) => script.Append(text).Append('\n');
        Line("#!/bin/bash");
        Line($"# vbase campaign {layout.Id[..12]}: {CampaignCommand.Count(job.Cells, "cell")}, {job.Describe}, in {CampaignCommand.Count(layout.Shards, "shard")}.");
        Line("# Each task runs one shard and writes its part; vbase campaign --slurm merges them (docs/campaigns.md).");
        Line($"#SBATCH --job-name=vbase-{layout.Id[..12]}");
        Line($"#SBATCH --array={ArraySpec(shards)}");
        Line($"#SBATCH --output={Path.Combine(layout.Folder, "shard-%a.log")}");
        if (slurm.Partition is string partition)
        {
            Line($"#SBATCH --partition={partition}");
        }
        if (slurm.Time is string time)
        {
            Line($"#SBATCH --time={time}");
        }
        if (jobs > 1)
        {
            Line(string.Create(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={jobs}"));
        }
        Line("set -eu");
        string[] command =
        [
            .. VbaseCommand(), "campaign",
            .. job.TaskArguments.Take(job.TaskArguments.Count - ParameterArguments(job.TaskArguments)),
            "--jobs", jobs.ToString(CultureInfo.InvariantCulture),
            "--out", layout.Out,
            .. layout.Plugins.SelectMany(p => new[] { "--plugin", p }),
            .. job.TaskArguments.TakeLast(ParameterArguments(job.TaskArguments)),
        ];
        string count = layout.Shards.ToString(CultureInfo.InvariantCulture);
        Line($"exec {string.Join(' ', command.Select(Quote))} \\");
        Line($"    --shard \"${{SLURM_ARRAY_TASK_ID}}/{count}\" --json {Quote(Path.Combine(layout.Folder, "part-"))}\"${{SLURM_ARRAY_TASK_ID}}\".json");
        return script.ToString();
    }

    /// <summary>The --attack-param and --arch-param words at the end of a job's task arguments (the script puts them last).</summary>
    private static int ParameterArguments(IReadOnlyList<string> words)
    {
        int n = 0;
        while (n + 2 <= words.Count && words[words.Count - n - 2] is "--attack-param" or "--arch-param")
        {
            n += 2;
        }
        return n;
    }

    /// <summary>How the tasks start this vbase: its own executable, the apphost beside its assembly, or dotnet with the assembly.</summary>
    private static string[] VbaseCommand()
    {
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "vbase")
        {
            return [process];
        }
        string assembly = typeof(CampaignCommand).Assembly.Location;
        string apphost = Path.Combine(Path.GetDirectoryName(assembly)!, OperatingSystem.IsWindows() ? "vbase.exe" : "vbase");
        if (File.Exists(apphost))
        {
            return [apphost];
        }
        return [Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", assembly];
    }

    /// <summary>One word for bash: single-quoted unless it is plainly safe.</summary>
    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ',' or '+' or ':' or '=')
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Shard numbers as sbatch --array takes them: ranges and single ids, comma-separated (1-3,5,7-9).</summary>
    internal static string ArraySpec(IReadOnlyList<int> shards)
    {
        var ranges = new List<string>();
        for (int i = 0; i < shards.Count;)
        {
            int j = i;
            while (j + 1 < shards.Count && shards[j + 1] == shards[j] + 1)
            {
                j++;
            }
            ranges.Add(i == j ? shards[i].ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{shards[i]}-{shards[j]}"));
            i = j + 1;
        }
        return string.Join(',', ranges);
    }

    /// <summary><c>--slurm</c>: submit, follow, merge.</summary>
    public static int Run(CliConsole console, Job job, CampaignCommand.CampaignArguments arguments)
    {
        Layout layout = LayoutOf(job, arguments);
        if (UnfitPath(layout.Out) is string unfit)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, unfit);
        }
        int[] shards;
        try
        {
            Directory.CreateDirectory(layout.Folder);
            if (!arguments.Slurm.Resume)
            {
                // Parts of an earlier run would be taken for this run's; a fresh run starts from none.
                foreach (int k in Enumerable.Range(1, layout.Shards))
                {
                    File.Delete(layout.Part(k));
                }
            }
            shards = arguments.Slurm.Resume ? Missing(job, layout) : [.. Enumerable.Range(1, layout.Shards)];
            if (shards.Length > 0)
            {
                File.WriteAllText(layout.Script, Script(job, arguments, layout, shards), new UTF8Encoding(false));
            }
        }
        catch (Exception e) when (e is (IOException and not StandardOutputException) or UnauthorizedAccessException)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.OutputError, $"{layout.Folder}: cannot write: {VbaseCli.OneLine(e.Message)}");
        }
        console.Out.WriteLine($"{job.Header}, in {CampaignCommand.Count(layout.Shards, "shard")} on Slurm");
        if (shards.Length == 0)
        {
            console.Out.WriteLine($"slurm: every shard's part is in {layout.Folder}; nothing to submit");
        }
        else
        {
            (int code, string stdout, string stderr) = Execute("sbatch", ["--parsable", layout.Script]);
            string jobId = stdout.Split('\n')[0].Split(';')[0].Trim();
            if (code != 0 || jobId.Length == 0 || !jobId.All(char.IsAsciiDigit))
            {
                string why = FirstLine(stderr) ?? FirstLine(stdout) ?? string.Create(CultureInfo.InvariantCulture, $"exit code {code}");
                return VbaseCli.Fail(console, CampaignExitCodes.Unavailable, $"--slurm: sbatch did not submit {layout.Script}: {why}");
            }
            console.Out.WriteLine($"slurm: submitted job {jobId}, shard{(shards.Length > 1 ? "s" : "")} {ArraySpec(shards)} of {layout.Shards} (script {layout.Script})");
            console.Out.Flush();
            FollowResult followed = CampaignCommand.StdoutIsTerminal
                ? FollowWithProgressBar(console, job, layout, jobId, shards)
                : Follow(job, layout, jobId, shards, line => { console.Out.WriteLine(line); console.Out.Flush(); }, (_, _, _) => { });
            if (followed.Problem is string problem)
            {
                return VbaseCli.Fail(console, CampaignExitCodes.Unavailable, problem);
            }
            if (followed.Failed.Count > 0)
            {
                console.Out.Flush();
                string which = string.Join(", ", followed.Failed.Select(k => k.ToString(CultureInfo.InvariantCulture)));
                return VbaseCli.Fail(console, CampaignExitCodes.ShardsFailed,
                    $"campaign: shard{(followed.Failed.Count > 1 ? "s" : "")} {which} of {layout.Shards} ended without a part (logs: {layout.Log(followed.Failed[0])}"
                    + $"{(followed.Failed.Count > 1 ? ", …" : "")}); the same command with --resume submits just {(followed.Failed.Count > 1 ? "those" : "that one")}");
            }
        }
        return job.Merge([.. Enumerable.Range(1, layout.Shards).Select(layout.Part)]);
    }

    private static string? FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();

    /// <param name="Failed">Shards whose task left the queue without writing its part, ascending.</param>
    /// <param name="Problem">Why vbase stopped following (squeue kept failing), or null.</param>
    private sealed record FollowResult(IReadOnlyList<int> Failed, string? Problem);

    /// <summary>Where a task is, as squeue says: waiting for a node, or holding one (running, completing…).</summary>
    private enum TaskState
    {
        Pending,
        Running,
    }

    /// <summary>
    /// Polls squeue and the parts until every submitted shard has left the queue, telling <paramref name="line"/> of
    /// each shard that starts, finishes or fails, and <paramref name="counts"/> (finished, running, pending) each poll.
    /// </summary>
    private static FollowResult Follow(Job job, Layout layout, string jobId, int[] shards, Action<string> line, Action<int, int, int> counts)
    {
        var open = new SortedSet<int>(shards);
        var seen = new Dictionary<int, TaskState>();
        var grace = shards.ToDictionary(k => k, _ => PartGracePolls);
        var failed = new List<int>();
        DateTime lastAnswer = DateTime.UtcNow;
        int finished = 0;
        string count = layout.Shards.ToString(CultureInfo.InvariantCulture);
        while (open.Count > 0)
        {
            Dictionary<int, TaskState>? queue = Squeue(jobId, out string? problem);
            if (queue is null)
            {
                if (DateTime.UtcNow - lastAnswer > SqueueOutage)
                {
                    return new FollowResult(failed, $"--slurm: squeue kept failing for {SqueueOutage.TotalMinutes:0} minutes ({problem}); job {jobId} may still be running: "
                        + "when it has ended, the same command with --resume merges what it wrote");
                }
                Thread.Sleep(Current.PollInterval);
                continue;
            }
            lastAnswer = DateTime.UtcNow;
            foreach (int k in open.ToArray())
            {
                if (queue.TryGetValue(k, out TaskState state))
                {
                    if (state == TaskState.Running && seen.GetValueOrDefault(k) != TaskState.Running)
                    {
                        line($"slurm: shard {k}/{count} running");
                    }
                    seen[k] = state;
                    continue;
                }
                if (File.Exists(layout.Part(k)) && job.HasPart(layout.Part(k), new CampaignShard(k, layout.Shards)))
                {
                    open.Remove(k);
                    finished++;
                    line($"slurm: shard {k}/{count} done");
                }
                else if (--grace[k] < 0)
                {
                    open.Remove(k);
                    failed.Add(k);
                    line($"slurm: shard {k}/{count} failed: its task ended without a part (log {layout.Log(k)})");
                }
            }
            counts(finished, open.Count(k => queue.TryGetValue(k, out TaskState s) && s == TaskState.Running),
                open.Count(k => queue.TryGetValue(k, out TaskState s) && s == TaskState.Pending));
            if (open.Count > 0)
            {
                Thread.Sleep(Current.PollInterval);
            }
        }
        return new FollowResult([.. failed.Order()], null);
    }

    /// <summary>In a terminal: a progress bar over the shards, with each shard's news printed above it.</summary>
    private static FollowResult FollowWithProgressBar(CliConsole console, Job job, Layout layout, string jobId, int[] shards) =>
        CampaignCommand.WithProgressBar(console, $"{shards.Length} shards", shards.Length, (terminal, task) =>
            Follow(job, layout, jobId, shards, text => terminal.MarkupLine(Markup.Escape(text)), (finished, running, pending) =>
            {
                task.Description = string.Create(CultureInfo.InvariantCulture, $"{shards.Length} shards: {running} running, {pending} pending");
                task.Value = finished;
            }));

    /// <summary>The job's tasks still in the queue, by array index; null (and why) when squeue failed.</summary>
    private static Dictionary<int, TaskState>? Squeue(string jobId, out string? problem)
    {
        // Every one of the user's jobs, not -j: a job that has left the queue is then simply absent, never an error.
        // (--user rather than --me, which Slurm before 20.11 lacks.)
        (int code, string stdout, string stderr) = Execute("squeue", [$"--user={Environment.UserName}", "--noheader", "--array", "--format=%F %K %T"]);
        if (code != 0)
        {
            problem = FirstLine(stderr) ?? string.Create(CultureInfo.InvariantCulture, $"exit code {code}");
            return null;
        }
        problem = null;
        var tasks = new Dictionary<int, TaskState>();
        foreach (string row in stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] columns = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length == 3 && columns[0] == jobId && int.TryParse(columns[1], NumberStyles.None, CultureInfo.InvariantCulture, out int k))
            {
                // Anything but waiting holds a place: running, completing, configuring, suspended.
                tasks[k] = columns[2] == "PENDING" ? TaskState.Pending : TaskState.Running;
            }
        }
        return tasks;
    }

    /// <summary>Runs a Slurm command to its end (at most two minutes) and returns its exit code and output.</summary>
    private static (int Code, string Stdout, string Stderr) Execute(string tool, IReadOnlyList<string> arguments)
    {
        if (Find(tool) is not string path)
        {
            return (127, "", $"{tool} is not on PATH");
        }
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach ((string name, string value) in Current.Environment)
        {
            start.Environment[name] = value;
        }
        try
        {
            using Process process = Process.Start(start)!;
            process.StandardInput.Close();
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                return (124, "", $"{tool} did not answer within two minutes");
            }
            return (process.ExitCode, stdout.Result, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (126, "", $"{tool}: {e.Message}");
        }
    }
}
