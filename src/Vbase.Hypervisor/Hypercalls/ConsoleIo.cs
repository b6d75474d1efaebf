using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>console_io (18): write to the domain's console, read from its input queue.</summary>
internal static class ConsoleIo
{
    /// <summary>Larger requests are refused rather than buffered: a guest must not make the host allocate at will.</summary>
    public const ulong MaxBytes = 64 * 1024;

    public static long Handle(in HypercallContext c)
    {
        ulong count = c.Arg(1), buffer = c.Arg(2);
        if (count > MaxBytes)
        {
            return Errno.EINVAL;
        }
        switch (c.Arg(0))
        {
            case ConsoleIoCommand.Write:
                {
                    if (c.Domain.ConsoleFull)
                    {
                        // Past the limit nothing is kept: check the buffer as a copy would, count it, copy nothing.
                        if (!c.Domain.IsReadable(buffer, (int)count))
                        {
                            return Errno.EFAULT;
                        }
                        c.Domain.WriteConsole(ReadOnlySpan<byte>.Empty, dropped: count);
                        return (long)count;
                    }
                    byte[] bytes = new byte[count];
                    if (!c.TryRead(buffer, bytes))
                    {
                        return Errno.EFAULT;
                    }
                    c.Domain.WriteConsole(bytes);
                    return (long)count;
                }
            case ConsoleIoCommand.Read:
                {
                    int n = (int)Math.Min(count, (ulong)c.Domain.ConsoleInput.Count);
                    byte[] bytes = [.. c.Domain.ConsoleInput.Take(n)];
                    if (!c.TryWrite(buffer, bytes))
                    {
                        return Errno.EFAULT;
                    }
                    for (int i = 0; i < n; i++)
                    {
                        c.Domain.ConsoleInput.Dequeue();
                    }
                    return n;
                }
            default:
                return Errno.EINVAL;
        }
    }
}
