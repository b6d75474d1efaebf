using System.Text;

namespace Vbase.Platform.Devices;

/// <summary>
/// Bytes the host sends to the guest's console (the UART's receive side). The UART pulls from it without
/// blocking; only an idle machine, with nothing else to do, waits on it.
/// </summary>
public interface IConsoleInput
{
    /// <summary>Takes the next byte if one has arrived. Never blocks.</summary>
    bool TryRead(out byte value);

    /// <summary>True once every byte has been taken and the source has ended: nothing will ever arrive again.</summary>
    bool IsAtEnd { get; }

    /// <summary>Blocks until a byte can be taken or the source ends.</summary>
    void WaitForInput();
}

/// <summary>
/// A thread-safe queue of console bytes: preloaded (tests, a string given on the command line), or filled by a
/// pump thread from a host stream. <see cref="Complete"/> marks the end of input.
/// </summary>
public sealed class ConsoleInputQueue : IConsoleInput
{
    private readonly Queue<byte> bytes = new();
    private readonly object gate = new();
    private bool completed;
    // Read without the lock on the guest's polling path: when it is zero there is nothing to take anyway.
    private volatile int count;

    /// <summary>No input at all: the receive side is at its end from the start.</summary>
    public static IConsoleInput Empty { get; } = FromBytes([]);

    /// <summary>Exactly <paramref name="data"/>, then end of input. Deterministic: every byte is there from the start.</summary>
    public static ConsoleInputQueue FromBytes(ReadOnlySpan<byte> data)
    {
        var queue = new ConsoleInputQueue();
        queue.Enqueue(data);
        queue.Complete();
        return queue;
    }

    /// <summary>
    /// Everything <paramref name="stream"/> yields until its end, read by a background thread so that a guest
    /// that never reads its console is never held up by a host that never writes.
    /// </summary>
    public static ConsoleInputQueue FromStream(Stream stream)
    {
        var queue = new ConsoleInputQueue();
        var pump = new Thread(() =>
        {
            byte[] buffer = new byte[4096];
            try
            {
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    queue.Enqueue(buffer.AsSpan(0, n));
                }
            }
            catch (IOException)
            {
                // A broken pipe ends input like EOF does.
            }
            catch (ObjectDisposedException)
            {
            }
            finally
            {
                queue.Complete();
            }
        })
        { IsBackground = true, Name = "vbase console input" };
        pump.Start();
        return queue;
    }

    /// <summary>
    /// Text from <paramref name="reader"/>, sent as UTF-8. A <see cref="StringReader"/> is read at once (so a test
    /// run is deterministic); any other reader is pumped by a background thread.
    /// </summary>
    public static ConsoleInputQueue FromReader(TextReader reader)
    {
        if (reader is StringReader)
        {
            return FromBytes(Encoding.UTF8.GetBytes(reader.ReadToEnd()));
        }
        var queue = new ConsoleInputQueue();
        var pump = new Thread(() =>
        {
            char[] chars = new char[1024];
            byte[] encoded = new byte[Encoding.UTF8.GetMaxByteCount(chars.Length)];
            Encoder encoder = Encoding.UTF8.GetEncoder();
            try
            {
                int n;
                while ((n = reader.Read(chars, 0, chars.Length)) > 0)
                {
                    int length = encoder.GetBytes(chars, 0, n, encoded, 0, flush: false);
                    queue.Enqueue(encoded.AsSpan(0, length));
                }
            }
            catch (IOException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            finally
            {
                queue.Complete();
            }
        })
        { IsBackground = true, Name = "vbase console input" };
        pump.Start();
        return queue;
    }

    public void Enqueue(ReadOnlySpan<byte> data)
    {
        lock (gate)
        {
            foreach (byte b in data)
            {
                bytes.Enqueue(b);
            }
            count = bytes.Count;
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>No more bytes will be enqueued.</summary>
    public void Complete()
    {
        lock (gate)
        {
            completed = true;
            Monitor.PulseAll(gate);
        }
    }

    public bool TryRead(out byte value)
    {
        value = 0;
        if (count == 0)
        {
            return false;
        }
        lock (gate)
        {
            if (!bytes.TryDequeue(out value))
            {
                return false;
            }
            count = bytes.Count;
            return true;
        }
    }

    public bool IsAtEnd
    {
        get
        {
            lock (gate)
            {
                return completed && bytes.Count == 0;
            }
        }
    }

    public void WaitForInput()
    {
        lock (gate)
        {
            while (bytes.Count == 0 && !completed)
            {
                Monitor.Wait(gate);
            }
        }
    }
}
