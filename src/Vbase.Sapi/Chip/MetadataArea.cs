using Vbase.Sapi.Memory;

namespace Vbase.Sapi.Chip;

/// <summary>A plug-in's metadata area: contiguous machine memory (<see cref="SapiHost.ReserveMetadata"/>).</summary>
public sealed unsafe class MetadataArea
{
    private readonly MachineMemory machine;

    internal MetadataArea(MachineMemory machine, Mfn first, ulong frames)
    {
        this.machine = machine;
        First = first;
        Frames = frames;
    }

    public Mfn First { get; }
    public ulong Frames { get; }
    public ulong Bytes => Frames << PageSize.Shift;
    /// <summary>The machine address of the area's first byte.</summary>
    public ulong BaseAddress => First.Value << PageSize.Shift;

    /// <summary>The DRAM bytes at <paramref name="offset"/> in the area (never crossing its end).</summary>
    public Span<byte> Slice(ulong offset, int length)
    {
        if (offset + (ulong)length > Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }
        return new Span<byte>(machine.HostPointer(First) + offset, length);
    }
}
