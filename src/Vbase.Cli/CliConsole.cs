using Vbase.Platform.Devices;

namespace Vbase.Cli;

/// <summary>
/// The streams a vbase invocation talks through, so the whole CLI runs in-process under tests as well as in a
/// terminal.
/// </summary>
/// <param name="ProgramOutput">The guest's console bytes (UART, HTIF).</param>
/// <param name="Out">vbase's own normal output (help, the demo's header).</param>
/// <param name="Error">Diagnostics: errors, --stats, the instruction-limit message.</param>
/// <param name="OpenInput">Creates the guest's console input when a program starts (not before: --help reads nothing).</param>
internal sealed record CliConsole(Stream ProgramOutput, TextWriter Out, TextWriter Error, Func<IConsoleInput> OpenInput)
{
    /// <summary>Where the Monitor's REPL reads its commands (stdin; a test's own reader in-process).</summary>
    public TextReader Commands { get; init; } = Console.In;
}
