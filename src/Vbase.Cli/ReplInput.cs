using System.Collections.Concurrent;
using System.Text;

namespace Vbase.Cli;

/// <summary>
/// The Monitor REPL's stdin (<c>--monitor-repl</c>), read by a background thread line by line, so that:
/// a signal (Ctrl-C, SIGTERM) ends the REPL even while it waits at the prompt (<see cref="Stop"/>: the input then
/// ends, which the REPL takes as <c>quit</c>); and a line longer than <see cref="MaxLineChars"/> (say, endless input
/// without a newline, <c>&lt; /dev/zero</c>) ends the input with one error line instead of taking all the host's memory.
/// </summary>
internal sealed class ReplInput : TextReader
{
    public const int MaxLineChars = 64 * 1024;

    private readonly BlockingCollection<string?> lines = new(boundedCapacity: 16);
    private readonly CancellationTokenSource stop = new();
    private bool ended;

    public ReplInput(TextReader inner, Action<string> error)
    {
        var pump = new Thread(() => Pump(inner, error)) { IsBackground = true, Name = "monitor-repl input" };
        pump.Start();
    }

    /// <summary>Ends the input now (any thread): the REPL's next, or current, read sees its end.</summary>
    public void Stop() => stop.Cancel();

    public override string? ReadLine()
    {
        if (ended)
        {
            return null;
        }
        try
        {
            string? line = lines.Take(stop.Token);
            ended = line is null;
            return line;
        }
        catch (OperationCanceledException)
        {
            ended = true;
            return null;
        }
    }

    private void Pump(TextReader inner, Action<string> error)
    {
        try
        {
            var line = new StringBuilder();
            while (!stop.IsCancellationRequested)
            {
                int c = inner.Read();
                if (c < 0)
                {
                    if (line.Length > 0)
                    {
                        lines.Add(line.ToString(), stop.Token);
                    }
                    break;
                }
                if (c == '\n')
                {
                    lines.Add(line.Length > 0 && line[^1] == '\r' ? line.ToString(0, line.Length - 1) : line.ToString(), stop.Token);
                    line.Clear();
                }
                else if (line.Length >= MaxLineChars)
                {
                    error($"vbase: error: --monitor-repl: a command line longer than {MaxLineChars} characters; the input ends here");
                    break;
                }
                else
                {
                    line.Append((char)c);
                }
            }
            lines.Add(null, stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Stopped, or stdin failed: either way the input has ended.
            try
            {
                lines.Add(null);
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stop.Cancel();
        }
        base.Dispose(disposing);
    }
}
