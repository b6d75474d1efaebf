using System.Runtime.InteropServices;
using Vbase.Sapi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Memory;

namespace Vbase.Hypervisor.Chip;

/// <summary>
/// The on-chip side of one protected frame: the plaintext of its lines that are in the last-level cache, which of
/// them are resident, dirty and tainted, and the two masks the harts' TLBs test before touching a line directly.
/// Native memory, so that a TLB entry can point into it.
/// </summary>
internal sealed unsafe class ChipPage : IDisposable
{
    public const int Lines = PageSize.Bytes / ChipOptions.LineBytes;

    public ChipPage(ProtectedRegion region, int page, Mfn mfn)
    {
        Region = region;
        Page = page;
        Mfn = mfn;
        Plaintext = (byte*)NativeMemory.AllocZeroed(PageSize.Bytes);
        Masks = (ulong*)NativeMemory.AllocZeroed(2, sizeof(ulong));
    }

    public ProtectedRegion Region { get; }
    /// <summary>Which page of <see cref="Region"/>.</summary>
    public int Page { get; }
    public Mfn Mfn { get; }
    public byte* Plaintext { get; }

    /// <summary>[0]: lines a hart may load directly; [1]: lines it may store to directly.</summary>
    public ulong* Masks { get; }

    /// <summary>Lines in the last-level cache.</summary>
    public ulong Resident;
    /// <summary>Resident lines changed since they were filled (written back when they leave).</summary>
    public ulong Dirty;
    /// <summary>
    /// Resident lines whose plaintext differs from what the application last wrote (filled from tampered DRAM
    /// without a violation, or written by someone else): every access to them takes the slow path, where the Oracle
    /// compares the application's reads with the golden shadow and records its writes.
    /// </summary>
    public ulong Tainted;
    /// <summary>A hart was handed the plaintext for fetching: lines leaving or changing must drop its decodes.</summary>
    public bool Fetched;

    /// <summary>The fast path serves resident, untainted lines: loads always, stores once the line is dirty.</summary>
    public void UpdateMasks()
    {
        Masks[0] = Resident & ~Tainted;
        Masks[1] = Dirty & ~Tainted;
    }

    public Span<byte> Line(int line) => new(Plaintext + (line * ChipOptions.LineBytes), ChipOptions.LineBytes);

    public static bool Has(ulong mask, int line) => ((mask >> line) & 1) != 0;

    private bool disposed;

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            NativeMemory.Free(Plaintext);
            NativeMemory.Free(Masks);
        }
    }
}
