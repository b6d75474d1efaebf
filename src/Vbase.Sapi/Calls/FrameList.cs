using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Memory;

namespace Vbase.Sapi.Calls;

/// <summary>
/// The guest kernel's <c>vbase_op(enter)</c> arguments: a1 = GPA of a list of u64 GFNs, a2 = count, a3 = op,
/// a4 = the region's virtual address (guest/kernel/proc.c, docs/abi.md). Arguments are untrusted.
/// </summary>
public static class FrameList
{
    /// <summary>One page of GFNs, as the guest kernel's list holds at most.</summary>
    public const int MaxFrames = PageSize.Bytes / 8;

    /// <summary>Reads and checks the list; a negative errno if the call is malformed.</summary>
    public static long TryRead(VbaseOpCall call, out RegionRequest? request)
    {
        request = null;
        ulong listGpa = call.Arg(1), count = call.Arg(2);
        if (count == 0 || count > MaxFrames)
        {
            return Errno.EINVAL;
        }
        Span<byte> raw = stackalloc byte[(int)count * 8];
        if (!call.TryRead(listGpa, raw))
        {
            return Errno.EFAULT;
        }
        var gfns = new Gfn[count];
        for (int i = 0; i < gfns.Length; i++)
        {
            gfns[i] = new Gfn(BitConverter.ToUInt64(raw[(i * 8)..]));
        }
        request = new RegionRequest(call.Caller, call.VcpuId, call.Satp, new GuestVirtualAddress(call.Arg(4)), gfns);
        return 0;
    }
}
