using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

// Zifencei.
internal static unsafe partial class Executors
{
    public static DecodedInstruction* FenceI(Hart h, DecodedInstruction* d)
    {
        // Stores from this hart already invalidate the decodes they overwrite; fence.i also covers memory
        // written by others (devices, a debugger), so start decoding afresh.
        h.FlushDecodeCache();
        return LeaveAfter(h, d);
    }
}
