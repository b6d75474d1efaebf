namespace Vbase.Cli.Tests;

/// <summary>The REPL's stdin: lines as read, a line too long ends the input, and a signal ends it at the prompt.</summary>
public sealed class ReplInputTests
{
    [Fact]
    public void LinesComeAsTheyAreAndTheEndIsNull()
    {
        var errors = new List<string>();
        using var input = new ReplInput(new StringReader("run 10\r\ncontinue\nquit"), errors.Add);
        Assert.Equal("run 10", input.ReadLine());
        Assert.Equal("continue", input.ReadLine());
        Assert.Equal("quit", input.ReadLine());
        Assert.Null(input.ReadLine());
        Assert.Null(input.ReadLine());
        Assert.Empty(errors);
    }

    [Fact]
    public void ALineLongerThanTheLimitEndsTheInputWithOneError()
    {
        var errors = new List<string>();
        using var input = new ReplInput(new StringReader("help\n" + new string('\0', ReplInput.MaxLineChars + 1) + "\nquit\n"), errors.Add);
        Assert.Equal("help", input.ReadLine());
        Assert.Null(input.ReadLine());
        Assert.Equal("vbase: error: --monitor-repl: a command line longer than 65536 characters; the input ends here", Assert.Single(errors));
    }

    [Fact]
    public async Task StopEndsAReadThatWaitsForInput()
    {
        using var blocked = new BlockingReader();
        using var input = new ReplInput(blocked, _ => { });
        Task<string?> read = Task.Run(input.ReadLine);
        await Task.Delay(100);
        Assert.False(read.IsCompleted);
        input.Stop();
        Assert.Null(await read.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>Stdin at a prompt: nothing comes until disposed.</summary>
    private sealed class BlockingReader : TextReader
    {
        private readonly ManualResetEventSlim closed = new();

        public override int Read()
        {
            closed.Wait();
            return -1;
        }

        protected override void Dispose(bool disposing)
        {
            closed.Set();
            base.Dispose(disposing);
        }
    }
}
