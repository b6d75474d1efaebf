namespace Vbase.Cli;

/// <summary>
/// Standard output or error, guarded: the first write that fails (a full disk, <c>&gt; /dev/full</c>, a closed
/// pipe) throws <see cref="StandardOutputException"/>, which <see cref="VbaseCli"/> reports as one line and exit
/// code 74; every later write is dropped, so that reporting it, and flushing at exit, cannot fail again.
/// </summary>
internal sealed class GuardedOutput(Stream inner, string name, bool throwOnFailure = true) : Stream
{
    private bool failed;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Guard(() => inner.Write(buffer, offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        byte[] copy = buffer.ToArray();
        Guard(() => inner.Write(copy, 0, copy.Length));
    }

    public override void Flush() => Guard(inner.Flush);

    private void Guard(Action action)
    {
        if (failed)
        {
            return;
        }
        try
        {
            action();
        }
        catch (IOException e)
        {
            failed = true;
            if (throwOnFailure)
            {
                throw new StandardOutputException(name, e);
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Guard(inner.Dispose);
        }
        base.Dispose(disposing);
    }
}

/// <summary>Standard output could not be written (exit code 74, EX_IOERR).</summary>
internal sealed class StandardOutputException(string name, IOException cause)
    : IOException($"cannot write {name}: {VbaseCli.OneLine(cause.Message)}", cause);
