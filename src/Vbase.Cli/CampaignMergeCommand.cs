using System.CommandLine;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Campaigns;
using Vbase.Testbed.Plugins;

namespace Vbase.Cli;

/// <summary>
/// <c>vbase campaign merge PART.json… [--json FILE] [--out DIR]</c>: the parts of a sharded campaign (<c>--shard K/N</c>)
/// merged into the JSON, reports and run folders the unsharded campaign would have written, byte for byte.
/// </summary>
internal static class CampaignMergeCommand
{
    public static Command Create(CliConsole console)
    {
        var parts = new Argument<string[]>("PART.json")
        {
            Description = "The parts, one per shard, in any order (what 'vbase campaign --shard K/N --json FILE' wrote).",
            Arity = ArgumentArity.OneOrMore,
        };
        var json = new Option<string?>("--json")
        {
            Description = "Write the merged matrix as JSON to FILE: the bytes the unsharded campaign writes.",
            HelpName = "FILE",
        };
        var outDirectory = new Option<string?>("--out")
        {
            Description = "Write report.md, report.html and every shard's run folders (runs/<arch>/<attack>/) into DIR.",
            HelpName = "DIR",
        };
        var plugins = VbaseCli.PluginOption();
        var command = new Command("merge", "Merge the parts of a sharded campaign into the JSON and reports the whole campaign would have written.")
        {
            parts, json, outDirectory, plugins,
        };
        command.SetAction(parsed => Run(console, parsed.GetValue(parts)!, parsed.GetValue(json), parsed.GetValue(outDirectory), parsed.GetValue(plugins) ?? []));
        return command;
    }

    private static int Run(CliConsole console, string[] files, string? json, string? outDirectory, IReadOnlyList<string> plugins)
    {
        if (json is null && outDirectory is null)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.UsageError, "campaign merge: nothing to write; give --json FILE, --out DIR or both");
        }
        if (IsSweepPart(files[0]))
        {
            return MergeSweep(console, files, [.. plugins.Select(Path.GetFullPath)], outDirectory, json);
        }
        CampaignResult result;
        IReadOnlyList<CampaignMerge.NamedPart> parts;
        try
        {
            (result, parts) = Merge(files, plugins);
        }
        catch (CampaignPartException e)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.DataError, $"campaign merge: {VbaseCli.OneLine(e.Message)}");
        }
        catch (PluginException e)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.DataError, $"campaign merge: {e.Message}");
        }
        return Write(console, result, parts, outDirectory, json);
    }

    /// <summary>Whether the file is a campaign file's part (a sweep part); one that cannot be read is left to the part reader to say why.</summary>
    private static bool IsSweepPart(string file)
    {
        try
        {
            return File.Exists(file) && new FileInfo(file).Length <= CampaignPartJson.MaxBytes && CampaignSweepOutput.IsSweepPart(File.ReadAllBytes(file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The parts of a sharded campaign file: each sub-campaign merged, its run folders copied into its folder under
    /// <paramref name="outDirectory"/>, then the sweep's reports and JSON as <c>vbase campaign FILE.yaml</c> writes them.
    /// </summary>
    internal static int MergeSweep(CliConsole console, IReadOnlyList<string> files, IReadOnlyList<string> plugins, string? outDirectory, string? json)
    {
        CampaignSweepResult result;
        IReadOnlyList<IReadOnlyList<CampaignMerge.NamedPart>> parts;
        try
        {
            ArchitectureRegistry registry = PluginCatalog.Registry(plugins);
            IAttackSuite suite = CampaignCommand.SuiteFor(plugins);
            (result, parts) = CampaignSweepOutput.Merge([.. files.Select(f => CampaignSweepOutput.ReadPart(f, registry, suite))], CampaignCommand.Tool);
            if (outDirectory is not null)
            {
                Directory.CreateDirectory(outDirectory);
                for (int i = 0; i < parts.Count; i++)
                {
                    CampaignMerge.CopyRuns(parts[i], Path.Combine(outDirectory, result.Sweep.Folder(i)));
                }
            }
        }
        catch (CampaignPartException e)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.DataError, $"campaign merge: {VbaseCli.OneLine(e.Message)}");
        }
        catch (PluginException e)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.DataError, $"campaign merge: {e.Message}");
        }
        catch (Exception e) when (e is (IOException and not StandardOutputException) or UnauthorizedAccessException)
        {
            return VbaseCli.Fail(console, CampaignExitCodes.OutputError, $"{outDirectory}: cannot write the run folders: {VbaseCli.OneLine(e.Message)}");
        }
        console.Out.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"merged: {CampaignCommand.Count(files.Count, "part")} of campaign {result.Sweep.Id[..12]}, {CampaignCommand.Count(result.Sweep.Plans.Count, "campaign")}, {CampaignCommand.Count(result.Sweep.CellCount, "cell")}"));
        return CampaignCommand.FinishSweep(console, result, outDirectory, json);
    }

    /// <summary>Reads and merges the parts in <paramref name="files"/>.</summary>
    /// <exception cref="CampaignPartException">A part cannot be read, or the parts do not make one campaign.</exception>
    internal static (CampaignResult Result, IReadOnlyList<CampaignMerge.NamedPart> Parts) Merge(IReadOnlyList<string> files,
        IReadOnlyList<string> plugins)
    {
        ArchitectureRegistry registry = PluginCatalog.Registry(plugins);
        IAttackSuite suite = CampaignCommand.SuiteFor(plugins);
        CampaignMerge.NamedPart[] parts = [.. files.Select(f => CampaignPartJson.ReadFile(f, registry, suite))];
        return (CampaignMerge.Merge(parts, CampaignCommand.Tool), parts);
    }

    /// <summary>The merged campaign's run folders, reports and JSON, as <c>vbase campaign</c> writes them.</summary>
    internal static int Write(CliConsole console, CampaignResult result, IReadOnlyList<CampaignMerge.NamedPart> parts, string? outDirectory, string? json)
    {
        if (outDirectory is not null)
        {
            try
            {
                Directory.CreateDirectory(outDirectory);
                CampaignMerge.CopyRuns(parts, outDirectory);
            }
            catch (CampaignPartException e)
            {
                return VbaseCli.Fail(console, CampaignExitCodes.DataError, $"campaign merge: {VbaseCli.OneLine(e.Message)}");
            }
            catch (Exception e) when (e is (IOException and not StandardOutputException) or UnauthorizedAccessException)
            {
                return VbaseCli.Fail(console, CampaignExitCodes.OutputError, $"{outDirectory}: cannot write the run folders: {VbaseCli.OneLine(e.Message)}");
            }
        }
        console.Out.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"merged: {CampaignCommand.Count(parts.Count, "part")} of campaign {parts[0].Part.CampaignId[..12]}, {CampaignCommand.Count(result.Cells.Count, "cell")}"));
        return CampaignCommand.Finish(console, result, outDirectory, json);
    }
}
