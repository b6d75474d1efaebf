using Vbase.Platform.Devices;

namespace Vbase.Platform.Tests;

public sealed class ConsoleInputTests
{
    private static string Drain(IConsoleInput input)
    {
        var text = new System.Text.StringBuilder();
        while (true)
        {
            input.WaitForInput();
            if (input.TryRead(out byte b))
            {
                text.Append((char)b);
            }
            else if (input.IsAtEnd)
            {
                return text.ToString();
            }
        }
    }

    [Fact]
    public void PreloadedBytesComeOutInOrderThenTheEnd()
    {
        ConsoleInputQueue input = ConsoleInputQueue.FromBytes("ab"u8);
        Assert.False(input.IsAtEnd);
        Assert.Equal("ab", Drain(input));
        Assert.True(input.IsAtEnd);
        Assert.False(input.TryRead(out _));
    }

    [Fact]
    public void AStreamIsPumpedUntilItsEnd()
    {
        Assert.Equal("from a pipe\n", Drain(ConsoleInputQueue.FromStream(new MemoryStream("from a pipe\n"u8.ToArray()))));
    }

    [Fact]
    public void AReaderIsSentAsUtf8()
    {
        // Not a StringReader, so it goes through the pump thread. Drain shows bytes as Latin-1 chars.
        using var reader = new StreamReader(new MemoryStream("é\n"u8.ToArray()));
        Assert.Equal("\u00C3\u00A9\n", Drain(ConsoleInputQueue.FromReader(reader)));
        Assert.Equal("\u00C3\u00A9", Drain(ConsoleInputQueue.FromReader(new StringReader("é"))));
    }

    [Fact]
    public async Task WaitingWakesWhenBytesAreEnqueued()
    {
        var input = new ConsoleInputQueue();
        Task producer = Task.Run(async () =>
        {
            await Task.Delay(50);
            input.Enqueue("x"u8);
            input.Complete();
        });
        Assert.Equal("x", Drain(input));
        await producer;
    }

    [Fact]
    public void EmptyIsAtItsEndFromTheStart()
    {
        Assert.True(ConsoleInputQueue.Empty.IsAtEnd);
    }
}
