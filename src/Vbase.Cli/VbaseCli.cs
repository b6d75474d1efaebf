using System.CommandLine;
using System.CommandLine.Parsing;
using Vbase.Isa.Harts;
using Vbase.Platform.Devices;
using Vbase.Platform.Loading;

namespace Vbase.Cli;

/// <summary>
/// The vbase command line. <see cref="Run(string[], TextWriter, TextWriter, TextReader)"/> is the whole program
/// behind Main, callable in-process: it never throws and never prints a stack trace, only a result code and
/// at most one error line.
/// </summary>
public static class VbaseCli
{
    /// <summary>Runs vbase with <paramref name="args"/> and returns its exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin)
    {
        using var programOutput = new TextWriterStream(stdout);
        // One input for the whole invocation: the demo runs several programs over the same stdin.
        var input = new Lazy<IConsoleInput>(() => ConsoleInputQueue.FromReader(stdin));
        return Run(args, new CliConsole(programOutput, stdout, stderr, () => input.Value) { Commands = stdin });
    }

    internal static int Run(string[] args, CliConsole console)
    {
        try
        {
            RootCommand root = BuildCommands(console);
            // No @response files: an ELF path never needs them, and a path starting with @ must stay a path.
            ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (parsed.Errors.Count > 0)
            {
                return Fail(console, ExitCodes.UsageError, UsageMessage(parsed));
            }
            // System.CommandLine prints the version whatever follows; vbase takes nothing else with it.
            if (args.Contains("--version", StringComparer.Ordinal) && args.Length > 1)
            {
                return Fail(console, ExitCodes.UsageError, "--version takes no other arguments (see 'vbase --help')");
            }
            return parsed.Invoke(new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,
            });
        }
        catch (Exception e) when (Cause<StandardOutputException>(e) is StandardOutputException output)
        {
            return Fail(console, ExitCodes.StandardOutputError, output.Message);
        }
        catch (Exception e)
        {
            return Fail(console, ExitCodes.InternalError, $"internal error: {e.GetType().Name}: {OneLine(e.Message)}");
        }
        finally
        {
            console.ProgramOutput.Flush();
            console.Out.Flush();
            console.Error.Flush();
        }
    }

    private static RootCommand BuildCommands(CliConsole console)
    {
        var root = new RootCommand("Vbase: a RISC-V (RV64IMAC) testbed for secure processor architectures.");
        root.Subcommands.Add(ExecCommand.Create(console));
        root.Subcommands.Add(DemoCommand.Create(console));
        root.Subcommands.Add(RunCommand.Create(console));
        root.Subcommands.Add(ListCommand.Create(console));
        root.Subcommands.Add(CampaignCommand.Create(console));
        root.Subcommands.Add(FuzzCommand.Create(console));
        root.SetAction(_ => Fail(console, ExitCodes.UsageError, "no command given; try 'vbase exec <elf>', 'vbase demo' or 'vbase --help'"));
        return root;
    }

    /// <summary><paramref name="e"/> or the first of its inner exceptions that is a <typeparamref name="T"/>.</summary>
    internal static T? Cause<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }
        return null;
    }

    internal static int Fail(CliConsole console, int code, string message)
    {
        console.ProgramOutput.Flush();
        console.Error.WriteLine($"vbase: error: {InputFiles.Printable(message)}");
        return code;
    }

    /// <summary>One line for the most telling parse error: our own validators' first, then unknown options.</summary>
    private static string UsageMessage(ParseResult parsed)
    {
        ParseError? own = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("unknown option", StringComparison.Ordinal));
        string? unknown = parsed.UnmatchedTokens.FirstOrDefault(t => t.Length > 1 && t[0] == '-');
        string message = own is not null ? own.Message
            : unknown is not null ? $"unknown option '{unknown}'"
            : OneLine(parsed.Errors[0].Message).TrimEnd('.');
        if (message.Length > 0 && char.IsUpper(message[0]) && !(message.Length > 1 && char.IsUpper(message[1])))
        {
            message = char.ToLowerInvariant(message[0]) + message[1..];
        }
        return $"{message} (see 'vbase --help')";
    }

    internal static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    /// <summary>
    /// A parser for whole numbers that says what was wrong in vbase's words; single underscores may group digits
    /// (1_000_000, not 1__000 or _1), and nothing else is allowed: no sign, no spaces.
    /// </summary>
    internal static Func<ArgumentResult, T> WholeNumber<T>(string option, T min, T max, string what)
        where T : struct, System.Numerics.IBinaryInteger<T> => result =>
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (!GroupedDigits.TryParse(text, out T value) || value < min || value > max)
        {
            result.AddError($"{option}: '{text}' is not {what}");
            return default;
        }
        return value;
    };

    /// <summary><c>--llc-size</c> and <c>--llc-ways</c> of run and campaign: the modelled last-level cache (docs/sapi.md, "the DRAM boundary").</summary>
    internal sealed class ChipArguments
    {
        public Option<ulong?> Size { get; } = new("--llc-size")
        {
            Description = "The last-level cache protected lines live in (default 1M, or the scenario's chip.cache); a size such as 256K or 4M.",
            HelpName = "SIZE",
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (!Vbase.Testbed.Scenarios.Sizes.TryParse(text, out ulong bytes) || bytes == 0 || bytes > int.MaxValue)
                {
                    result.AddError($"--llc-size: '{text}' is not a cache size (use e.g. 256K or 4M)");
                    return null;
                }
                return bytes;
            },
        };

        public Option<int?> Ways { get; } = new("--llc-ways")
        {
            Description = "Ways per set of the last-level cache (1 to 64; default 16, or the scenario's chip.ways).",
            HelpName = "N",
            CustomParser = result => WholeNumber("--llc-ways", 1, 64, "a number of ways from 1 to 64")(result),
        };

        public void AddTo(Command command)
        {
            command.Options.Add(Size);
            command.Options.Add(Ways);
        }

        /// <summary><paramref name="chip"/> with what was given on the command line; null and a message if it cannot build a cache.</summary>
        public Vbase.Sapi.Chip.ChipOptions? Apply(System.CommandLine.ParseResult parsed, Vbase.Sapi.Chip.ChipOptions chip, out string? problem)
        {
            if (parsed.GetValue(Size) is ulong size)
            {
                chip = chip with { CacheBytes = (int)size };
            }
            if (parsed.GetValue(Ways) is int ways)
            {
                chip = chip with { Ways = ways };
            }
            problem = chip.Problem();
            return problem is null ? chip : null;
        }
    }

    /// <summary>The <c>--engine</c> option of exec and run: how harts run code (docs/hart.md, "Translation").</summary>
    /// <summary><c>--plugin PATH</c>, repeatable: an assembly or a project folder whose architectures join the built-in ones.</summary>
    internal static Option<string[]> PluginOption() => new("--plugin")
    {
        Description = "Also load the architectures of PATH: a plug-in assembly (.dll) or a project (.csproj or its folder, built first); repeatable (docs/plugins.md).",
        HelpName = "PATH",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    internal static Option<ExecutionEngine> EngineOption() => new("--engine")
    {
        Description = "How harts run code: 'translator' (hot code compiled by the JIT, the default) or 'interpreter' (the reference); results are identical.",
        HelpName = "translator|interpreter",
        DefaultValueFactory = _ => ExecutionEngine.Translator,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            switch (text)
            {
                case "translator":
                    return ExecutionEngine.Translator;
                case "interpreter":
                    return ExecutionEngine.Interpreter;
                default:
                    result.AddError($"--engine: '{text}' is not an engine; use translator or interpreter");
                    return default;
            }
        },
    };
}
