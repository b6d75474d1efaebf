using System.Runtime.CompilerServices;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

/// <summary>
/// Instruction semantics, one short static method per instruction, grouped by extension in partial files
/// (<c>Executors.&lt;extension&gt;.cs</c>); the data file's handler column binds each row to its method.
/// Each receives the hart and its pre-decoded operands; destination x0 is the sink register, so handlers
/// write unconditionally. Each returns the next instruction's slot, or null to send the hart through a fetch lookup of <c>h.Hot.NextPc</c>
/// (a jump out of the page, a trap, a mode change).
/// </summary>
internal static unsafe partial class Executors
{
    /// <summary>The slot of the instruction that follows <paramref name="d"/> in the same page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodedInstruction* Next(DecodedInstruction* d) => d + (d->Length >> 1);

    /// <summary>Continue after <paramref name="d"/>, but through the outer loop (a mode or mapping may have changed).</summary>
    private static DecodedInstruction* LeaveAfter(Hart h, DecodedInstruction* d)
    {
        h.Hot.NextPc = h.PcOf(d) + d->Length;
        return null;
    }
}
