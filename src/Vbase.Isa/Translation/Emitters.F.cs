using Vbase.Isa.Decoding;

namespace Vbase.Isa.Translation;

// F and D: every row is translated as a call of its interpreter handler from inside the block (class call).
// The soft-float (exact flags and rounding modes) is where the time goes, not the dispatch: inlining IL for
// the FP arithmetic would still call it, so the block keeps running around FP code instead of ending at every
// FP instruction (bench/fp.sh measures both).
internal static partial class Emitters
{
    public static void Fp(RegionEmitter e, in DecodedInstruction d) => e.EmitHandlerCall(in d);
}
