using System.Text.RegularExpressions;

namespace Vbase.Cli.Tests.Support;

/// <summary>
/// One in-process vbase invocation on a thread of its own, for tests that talk to it while it runs (a debugger on
/// its --gdb port): its stderr is read as it grows.
/// </summary>
internal sealed partial class BackgroundVbase
{
    private readonly StringWriter stdout = new() { NewLine = "\n" };
    private readonly StringWriter stderr = new() { NewLine = "\n" };
    private readonly Thread thread;
    private int exitCode = -1;
    private Exception? failure;

    public BackgroundVbase(params string[] args)
    {
        thread = new Thread(() =>
        {
            try
            {
                exitCode = VbaseCli.Run(args, stdout, stderr, new StringReader(""));
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
    }

    public string Stderr
    {
        get
        {
            lock (stderr)
            {
                return stderr.ToString();
            }
        }
    }

    public string Stdout => stdout.ToString();

    /// <summary>The port the GDB stub announced ("waiting on localhost:PORT").</summary>
    public int GdbPort()
    {
        for (int i = 0; i < 600; i++)
        {
            Match m = PortPattern().Match(Stderr);
            if (m.Success)
            {
                return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            Assert.True(thread.IsAlive, $"vbase ended before listening: {Stderr}");
            Thread.Sleep(100);
        }
        throw new TimeoutException("vbase did not announce its gdb port: " + Stderr);
    }

    /// <summary>Waits for the invocation to end; its exit code.</summary>
    public int Wait()
    {
        Assert.True(thread.Join(TimeSpan.FromMinutes(3)), "vbase did not end: " + Stderr);
        Assert.Null(failure);
        return exitCode;
    }

    [GeneratedRegex(@"waiting on localhost:(\d+)")]
    private static partial Regex PortPattern();
}
