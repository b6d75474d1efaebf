using System.Collections.Concurrent;

namespace Vbase.Cli;

/// <summary>
/// <c>--monitor-repl</c> on a terminal (stdin not redirected): a prompt before each command, and the terminal's line
/// editing through <see cref="Console.ReadLine"/>. The line is read on a thread of its own, asked for only when the
/// Monitor wants the next command (so the prompt follows the previous command's output), and <see cref="Stop"/>
/// (Ctrl-C, SIGTERM) ends the input at once, as <see cref="ReplInput"/> does for redirected input.
/// </summary>
internal sealed class TerminalCommands : TextReader
{
    public const string Prompt = "(vbase) ";

    private readonly Func<string?> readLine;
    private readonly TextWriter prompt;
    private readonly BlockingCollection<string?> lines = new(boundedCapacity: 1);
    private readonly SemaphoreSlim wanted = new(0);
    private readonly CancellationTokenSource stop = new();
    private bool ended;

    /// <param name="readLine">Reads one line (<see cref="Console.ReadLine"/>; tests give their own).</param>
    /// <param name="prompt">Where the prompt is written (stderr, so stdout stays the transcript).</param>
    public TerminalCommands(Func<string?> readLine, TextWriter prompt)
    {
        this.readLine = readLine;
        this.prompt = prompt;
        var pump = new Thread(Pump) { IsBackground = true, Name = "monitor-repl terminal" };
        pump.Start();
    }

    public void Stop() => stop.Cancel();

    public override string? ReadLine()
    {
        if (ended)
        {
            return null;
        }
        lock (prompt)
        {
            prompt.Write(Prompt);
            prompt.Flush();
        }
        try
        {
            wanted.Release();
            string? line = lines.Take(stop.Token);
            ended = line is null;
            return line is { Length: > ReplInput.MaxLineChars } ? line[..ReplInput.MaxLineChars] : line;
        }
        catch (OperationCanceledException)
        {
            ended = true;
            return null;
        }
    }

    private void Pump()
    {
        try
        {
            while (true)
            {
                wanted.Wait(stop.Token);
                string? line = readLine();
                lines.Add(line, stop.Token);
                if (line is null)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopped, or the terminal went away: the reader sees the end of the input.
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
