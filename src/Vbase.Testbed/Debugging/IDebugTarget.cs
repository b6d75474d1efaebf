using Vbase.Isa.Harts;

namespace Vbase.Testbed.Debugging;

/// <summary>
/// What the GDB stub debugs: the harts it shows as threads (one per vCPU) and their memory at virtual addresses.
/// <see cref="MachineDebugTarget"/> is the bare-metal machine of <c>vbase exec</c>, <see cref="DomainDebugTarget"/> a
/// guest domain of <c>vbase run</c>. The stub calls it on the run's thread, while every hart is stopped.
/// </summary>
public interface IDebugTarget
{
    /// <summary>A name for messages ("exec", "dom 1 app").</summary>
    string Name { get; }

    /// <summary>The threads, numbered from 1 in gdb (thread 1 is vCPU 0).</summary>
    IReadOnlyList<Hart> Threads { get; }

    /// <summary>
    /// Reads at virtual <paramref name="address"/> as thread <paramref name="thread"/> (0-based) would now; returns the
    /// bytes read before the first unreadable one. Protected pages add a line each to <paramref name="notes"/>.
    /// </summary>
    int Read(int thread, ulong address, Span<byte> dest, List<string> notes);

    /// <summary>Writes at virtual <paramref name="address"/> through the thread's translation; false if refused.</summary>
    bool Write(int thread, ulong address, ReadOnlySpan<byte> source);

    /// <summary>The debugger killed the program: end the run once the harts return (gdb's <c>k</c>).</summary>
    void Kill();
}
