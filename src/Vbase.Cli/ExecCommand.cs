using System.CommandLine;
using System.Globalization;
using System.Text;
using Vbase.Platform.Loading;
using Vbase.Platform.Machines;
using Vbase.Testbed.Debugging;

namespace Vbase.Cli;

/// <summary><c>vbase exec</c>: runs one bare-metal ELF on the QEMU-virt-compatible machine.</summary>
internal static class ExecCommand
{
    public static Command Create(CliConsole console)
    {
        var elf = new Argument<string>("elf") { Description = "The RV64 bare-metal ELF executable to run." };
        // The parser takes an unknown option in the ELF's place; say what it is (a file named "-x" is ./-x).
        elf.Validators.Add(result =>
        {
            string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (token.Length > 1 && token[0] == '-')
            {
                result.AddError($"unknown option '{token}'");
            }
        });
        var htif = new Option<bool>("--htif")
        {
            Description = "Also accept Spike/HTIF commands through the program's 'tohost' symbol (exit, console).",
        };
        Func<System.CommandLine.Parsing.ArgumentResult, ulong> parseLimit =
            VbaseCli.WholeNumber("--max-instructions", 0UL, ulong.MaxValue, "a whole number of instructions");
        var maxInstructions = new Option<ulong?>("--max-instructions")
        {
            Description = $"Stop after N instructions with exit code {ExitCodes.InstructionLimit} (default: no limit).",
            HelpName = "N",
            CustomParser = result => parseLimit(result),
        };
        var stats = new Option<bool>("--stats") { Description = "Print retired instructions, wall time and MIPS to stderr." };
        var trace = new Option<string?>("--trace")
        {
            Description = "Write one line per executed instruction to FILE.",
            HelpName = "FILE",
        };
        var ram = new Option<int>("--ram")
        {
            Description = "RAM size in MiB at 0x80000000.",
            HelpName = "MiB",
            DefaultValueFactory = _ => (int)(Ram.DefaultSize >> 20),
            CustomParser = VbaseCli.WholeNumber("--ram", 1, (int)(MachineConfig.MaxRamSize >> 20),
                $"a RAM size in MiB from 1 to {MachineConfig.MaxRamSize >> 20}"),
        };
        var engine = VbaseCli.EngineOption();
        var gdb = GdbOption();
        var command = new Command("exec", "Run a bare-metal RISC-V ELF; its exit code becomes vbase's.")
        {
            elf, htif, maxInstructions, stats, trace, ram, engine, gdb,
        };
        command.SetAction(parsed =>
        {
            var options = new RunOptions(
                parsed.GetValue(maxInstructions) ?? ulong.MaxValue,
                parsed.GetValue(stats),
                parsed.GetValue(trace))
            {
                GdbPort = parsed.GetValue(gdb),
            };
            var config = new MachineConfig
            {
                ElfPath = parsed.GetValue(elf)!,
                Htif = parsed.GetValue(htif),
                RamSize = (ulong)parsed.GetValue(ram) << 20,
                Engine = parsed.GetValue(engine),
            };
            return ProgramRunner.Run(console, config, options);
        });
        return command;
    }

    /// <summary><c>--gdb PORT</c>, for exec and run: the GDB stub's TCP port on localhost (0: any free port, printed).</summary>
    internal static Option<int?> GdbOption() => new("--gdb")
    {
        Description = "Wait for gdb on localhost:PORT before the first instruction (the GDB remote protocol, docs/debugging.md); 0 picks a free port.",
        HelpName = "PORT",
        CustomParser = result => VbaseCli.WholeNumber("--gdb", 0, 65535, "a TCP port from 0 to 65535")(result),
    };

    /// <summary>Listens for gdb and says where, or says why it cannot (null).</summary>
    internal static GdbStub? ListenForGdb(CliConsole console, IDebugTarget target, int port)
    {
        void Log(string line)
        {
            lock (console.Error)
            {
                console.Error.WriteLine(line);
                console.Error.Flush();
            }
        }
        GdbStub stub;
        try
        {
            stub = GdbStub.Listen(target, port, Log);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            console.Error.WriteLine($"vbase: error: --gdb {port}: cannot listen on localhost:{port}: {VbaseCli.OneLine(e.Message)}");
            return null;
        }
        Log(string.Create(CultureInfo.InvariantCulture,
            $"vbase: gdb: waiting on localhost:{stub.Port} for {target.Name}, before its first instruction (gdb: target remote :{stub.Port})"));
        return stub;
    }
}

/// <summary>How to run a program, beyond building its machine.</summary>
internal sealed record RunOptions(ulong MaxInstructions, bool Stats, string? TracePath)
{
    /// <summary>--gdb: wait for a debugger on this port before the first instruction; null: no debugger.</summary>
    public int? GdbPort { get; init; }
}

/// <summary>Builds a machine, runs it, and turns the outcome into messages and an exit code.</summary>
internal static class ProgramRunner
{
    public static int Run(CliConsole console, MachineConfig config, RunOptions options)
    {
        Machine machine;
        try
        {
            machine = MachineBuilder.Build(config with { ConsoleOutput = console.ProgramOutput, ConsoleInput = console.OpenInput() });
        }
        catch (ElfLoadException e)
        {
            return VbaseCli.Fail(console, ExitCodes.LoadError, VbaseCli.OneLine(e.Message));
        }
        catch (MachineConfigException e)
        {
            return VbaseCli.Fail(console, ExitCodes.UsageError, VbaseCli.OneLine(e.Message));
        }
        using (machine)
        {
            StreamWriter? traceFile = null;
            string? tracePath = options.TracePath;
            try
            {
                if (tracePath is not null)
                {
                    try
                    {
                        traceFile = new StreamWriter(tracePath, append: false, new UTF8Encoding(false), bufferSize: 1 << 20);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                    {
                        return VbaseCli.Fail(console, ExitCodes.OutputError, $"cannot write trace file {tracePath}: {VbaseCli.OneLine(e.Message)}");
                    }
                    var writer = new TraceWriter(traceFile);
                    machine.Hart.Tracer = r =>
                    {
                        try
                        {
                            writer.Write(r);
                        }
                        catch (IOException e)
                        {
                            throw new TraceFailedException(e);
                        }
                    };
                }
                using GdbStub? gdb = options.GdbPort is int port ? ExecCommand.ListenForGdb(console, new MachineDebugTarget(machine), port) : null;
                if (options.GdbPort is not null && gdb is null)
                {
                    return ExitCodes.UsageError;
                }
                gdb?.Attach();
                MachineRunResult result = machine.Run(options.MaxInstructions);
                gdb?.Finish(result.Reason == MachineStopReason.Exited ? result.ExitCode : null);
                console.ProgramOutput.Flush();
                try
                {
                    traceFile?.Flush();
                }
                catch (IOException e)
                {
                    throw new TraceFailedException(e);
                }
                return Report(console, result, options);
            }
            catch (Exception e) when (FindTraceFailure(e) is IOException cause)
            {
                console.ProgramOutput.Flush();
                return VbaseCli.Fail(console, ExitCodes.OutputError, $"cannot write trace file {tracePath}: {VbaseCli.OneLine(cause.Message)}");
            }
            finally
            {
                try
                {
                    traceFile?.Dispose();
                }
                catch (IOException)
                {
                    // Already reported: the flush before Report, or the write that failed.
                }
            }
        }
    }

    private static IOException? FindTraceFailure(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is TraceFailedException failed)
            {
                return failed.Cause;
            }
        }
        return null;
    }

    private static int Report(CliConsole console, MachineRunResult result, RunOptions options)
    {
        int code;
        switch (result.Reason)
        {
            case MachineStopReason.Exited:
                code = result.ExitCode;
                break;
            case MachineStopReason.InstructionLimit:
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"vbase: instruction limit {options.MaxInstructions} reached at pc=0x{result.Pc:x16}"));
                code = ExitCodes.InstructionLimit;
                break;
            default:
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"vbase: hart idle forever at pc=0x{result.Pc:x16}: in WFI with no interrupt that could wake it and no more input"));
                code = ExitCodes.IdleForever;
                break;
        }
        if (options.Stats)
        {
            console.Error.WriteLine(FormatStats(result));
        }
        return code;
    }

    public static string FormatStats(MachineRunResult result) => string.Create(CultureInfo.InvariantCulture,
        $"vbase: {result.Instructions} instructions in {result.WallTime.TotalSeconds:0.000} s, {result.Mips:0.0} MIPS");
}

/// <summary>Writing the --trace file failed (a full disk, /dev/full): reported as an output error, not a bug.</summary>
internal sealed class TraceFailedException(IOException cause) : Exception(cause.Message, cause)
{
    public IOException Cause { get; } = cause;
}
