namespace Vbase.Cli;

/// <summary>
/// What vbase's exit status means (docs/cli.md). A program that ran to its end exits with its own code; the
/// rest follow sysexits/timeout(1) conventions so scripts can tell the emulator's verdicts from the guest's.
/// </summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The program could not be loaded: missing file, not an RV64 executable, does not fit RAM.</summary>
    public const int LoadError = 1;
    /// <summary>Bad command line: unknown option, bad number, missing argument.</summary>
    public const int UsageError = 2;
    /// <summary>An input file is invalid (EX_DATAERR): a scenario, a monitoring script, a command file.</summary>
    public const int DataError = 65;
    /// <summary>A bug in vbase itself (an unexpected exception), reported in one line.</summary>
    public const int InternalError = 70;
    /// <summary>An output cannot be written (EX_CANTCREAT): the --trace file, the --out folder or a file in it.</summary>
    public const int OutputError = 73;
    /// <summary>Standard output cannot be written (EX_IOERR): <c>&gt; /dev/full</c>, a full disk.</summary>
    public const int StandardOutputError = 74;
    /// <summary>--max-instructions ran out before the program ended, as timeout(1) reports a timeout.</summary>
    public const int InstructionLimit = 124;
    /// <summary>The hart waits in WFI with nothing that could ever wake it.</summary>
    public const int IdleForever = 125;
}
