using System.Text;
using Vbase.Cli;
using Vbase.Platform.Devices;

// The guest console goes straight to stdout as bytes, through one buffer that the machine flushes as it runs
// and at exit; vbase's own text shares that buffer so the two stay in order.
// Both are guarded: a failing stdout (> /dev/full, a closed pipe) is one error line and exit code 74, not a crash.
using var stdout = new BufferedStream(new GuardedOutput(Console.OpenStandardOutput(), "standard output"), 1 << 16);
using var outWriter = new StreamWriter(stdout, new UTF8Encoding(false), 1024, leaveOpen: true) { AutoFlush = true };
using var errWriter = new StreamWriter(new GuardedOutput(Console.OpenStandardError(), "standard error", throwOnFailure: false),
    new UTF8Encoding(false))
{ AutoFlush = true };
// Stdin is read (by a background pump) only once a program runs, and only one pump ever reads it.
var input = new Lazy<IConsoleInput>(() => ConsoleInputQueue.FromStream(Console.OpenStandardInput()));
var console = new CliConsole(stdout, outWriter, errWriter, () => input.Value);
return VbaseCli.Run(args, console);
