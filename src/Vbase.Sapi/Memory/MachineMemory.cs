using System.Runtime.InteropServices;
using Vbase.Sapi.Domains;

namespace Vbase.Sapi.Memory;

/// <summary>
/// Machine memory: every frame in one pinned native buffer (so the hart's TLB can hold host pointers) with a
/// deterministic allocator (lowest free frame first) and the owner of each frame, as Xen's frame table keeps.
/// </summary>
public sealed unsafe class MachineMemory : IDisposable
{
    private readonly byte* block;
    private readonly byte* frames;
    private readonly DomainId?[] owners;
    private bool disposed;

    public MachineMemory(ulong bytes)
    {
        if (bytes == 0 || bytes % PageSize.Bytes != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "machine memory must be a positive number of 4 KiB frames");
        }
        FrameCount = bytes / PageSize.Bytes;
        // calloc-style zeroed memory is committed lazily by the OS, so a large machine costs only the frames
        // guests touch; aligned by hand because AlignedAlloc has no zeroed variant.
        block = (byte*)NativeMemory.AllocZeroed((nuint)bytes + PageSize.Bytes);
        frames = (byte*)(((nuint)block + PageSize.Mask) & ~(nuint)PageSize.Mask);
        owners = new DomainId?[FrameCount];
    }

    public ulong FrameCount { get; }

    /// <summary>Who owns <paramref name="mfn"/>; null: free.</summary>
    public DomainId? OwnerOf(Mfn mfn) => mfn.Value < FrameCount ? owners[mfn.Value] : null;

    public bool IsValid(Mfn mfn) => mfn.Value < FrameCount;

    /// <summary>Host pointer to the first byte of <paramref name="mfn"/>.</summary>
    public byte* HostPointer(Mfn mfn)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (mfn.Value >= FrameCount)
        {
            throw new ArgumentOutOfRangeException(nameof(mfn));
        }
        return frames + (mfn.Value << PageSize.Shift);
    }

    /// <summary>The bytes of one frame — what a physical attacker on the bus sees.</summary>
    public Span<byte> Frame(Mfn mfn) => new(HostPointer(mfn), PageSize.Bytes);

    /// <summary>Allocates <paramref name="count"/> zeroed frames to <paramref name="owner"/>, lowest first; null if short.</summary>
    public Mfn[]? Allocate(DomainId owner, ulong count)
    {
        var result = new List<Mfn>((int)Math.Min(count, 1 << 20));
        for (ulong i = 0; i < FrameCount && (ulong)result.Count < count; i++)
        {
            if (owners[i] is null)
            {
                result.Add(new Mfn(i));
            }
        }
        if ((ulong)result.Count < count)
        {
            return null;
        }
        foreach (Mfn m in result)
        {
            // Free frames are always zero (zeroed at start, scrubbed by Free), so nothing is cleared here.
            owners[m.Value] = owner;
        }
        return [.. result];
    }

    /// <summary>
    /// Allocates <paramref name="count"/> contiguous zeroed frames from the top of machine memory to
    /// <paramref name="owner"/> (the hypervisor's own areas), so that domains, allocated lowest first, keep the
    /// frames they would have without it; null if there is no such run of free frames.
    /// </summary>
    public Mfn? AllocateTop(DomainId owner, ulong count)
    {
        if (count == 0 || count > FrameCount)
        {
            return null;
        }
        ulong run = 0;
        for (ulong i = FrameCount; i-- > 0;)
        {
            run = owners[i] is null ? run + 1 : 0;
            if (run == count)
            {
                for (ulong j = i; j < i + count; j++)
                {
                    owners[j] = owner;
                }
                return new Mfn(i);
            }
        }
        return null;
    }

    /// <summary>Returns the frames of a destroyed domain; they are scrubbed so the next owner sees zeros.</summary>
    public void Free(DomainId owner)
    {
        for (ulong i = 0; i < FrameCount; i++)
        {
            if (owners[i] == owner)
            {
                owners[i] = null;
                Frame(new Mfn(i)).Clear();
            }
        }
    }

    /// <summary>Returns one frame of <paramref name="owner"/> (one taken and then not used), scrubbed; false if it is not theirs.</summary>
    public bool Free(DomainId owner, Mfn mfn)
    {
        if (!IsValid(mfn) || owners[mfn.Value] != owner)
        {
            return false;
        }
        owners[mfn.Value] = null;
        Frame(mfn).Clear();
        return true;
    }

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            NativeMemory.Free(block);
        }
    }
}
