using Vbase.Isa.Harts;

namespace Vbase.Platform.Devices;

/// <summary>
/// Where the devices that end a run (the test finisher, HTIF's tohost) say so. The first exit wins; it stops
/// the hart after the current instruction, and the machine reads the code once <see cref="Hart.Run"/> returns.
/// </summary>
public sealed class ExitLatch(Hart hart)
{
    public bool HasExited { get; private set; }

    /// <summary>The guest's exit status, meaningful once <see cref="HasExited"/> is set.</summary>
    public int ExitCode { get; private set; }

    /// <summary>The device that ended the run ("test finisher", "htif").</summary>
    public string? Source { get; private set; }

    public void Exit(int code, string source)
    {
        if (HasExited)
        {
            return;
        }
        HasExited = true;
        ExitCode = code;
        Source = source;
        hart.RequestStop();
    }
}
