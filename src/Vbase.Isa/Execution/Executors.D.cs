using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

// D: double precision, on the shapes of Executors.F.cs.
internal static unsafe partial class Executors
{
    public static DecodedInstruction* Fld(Hart h, DecodedInstruction* d) => FpLoad(h, d, 8);
    public static DecodedInstruction* Fsd(Hart h, DecodedInstruction* d) => FpStore(h, d, 8);
    public static DecodedInstruction* FmaddD(Hart h, DecodedInstruction* d) => FpFused(h, d, FloatFormat.Double, false, false);
    public static DecodedInstruction* FmsubD(Hart h, DecodedInstruction* d) => FpFused(h, d, FloatFormat.Double, false, true);
    public static DecodedInstruction* FnmsubD(Hart h, DecodedInstruction* d) => FpFused(h, d, FloatFormat.Double, true, false);
    public static DecodedInstruction* FnmaddD(Hart h, DecodedInstruction* d) => FpFused(h, d, FloatFormat.Double, true, true);
    public static DecodedInstruction* FaddD(Hart h, DecodedInstruction* d) => FpBinary(h, d, FloatFormat.Double, HostFloatOp.Add, &SoftFloat.Add);
    public static DecodedInstruction* FsubD(Hart h, DecodedInstruction* d) => FpBinary(h, d, FloatFormat.Double, HostFloatOp.Sub, &SoftFloat.Sub);
    public static DecodedInstruction* FmulD(Hart h, DecodedInstruction* d) => FpBinary(h, d, FloatFormat.Double, HostFloatOp.Mul, &SoftFloat.Mul);
    public static DecodedInstruction* FdivD(Hart h, DecodedInstruction* d) => FpBinary(h, d, FloatFormat.Double, HostFloatOp.Div, &SoftFloat.Div);
    public static DecodedInstruction* FsqrtD(Hart h, DecodedInstruction* d) => FpSqrt(h, d, FloatFormat.Double);
    public static DecodedInstruction* FsgnjD(Hart h, DecodedInstruction* d) => FpSignInject(h, d, FloatFormat.Double, 0);
    public static DecodedInstruction* FsgnjnD(Hart h, DecodedInstruction* d) => FpSignInject(h, d, FloatFormat.Double, 1);
    public static DecodedInstruction* FsgnjxD(Hart h, DecodedInstruction* d) => FpSignInject(h, d, FloatFormat.Double, 2);
    public static DecodedInstruction* FminD(Hart h, DecodedInstruction* d) => FpMinMax(h, d, FloatFormat.Double, false);
    public static DecodedInstruction* FmaxD(Hart h, DecodedInstruction* d) => FpMinMax(h, d, FloatFormat.Double, true);
    public static DecodedInstruction* FcvtSD(Hart h, DecodedInstruction* d) => FpConvert(h, d, FloatFormat.Double, FloatFormat.Single);
    public static DecodedInstruction* FcvtDS(Hart h, DecodedInstruction* d) => FpConvert(h, d, FloatFormat.Single, FloatFormat.Double);
    public static DecodedInstruction* FeqD(Hart h, DecodedInstruction* d) => FpCompare(h, d, FloatFormat.Double, 0);
    public static DecodedInstruction* FltD(Hart h, DecodedInstruction* d) => FpCompare(h, d, FloatFormat.Double, 1);
    public static DecodedInstruction* FleD(Hart h, DecodedInstruction* d) => FpCompare(h, d, FloatFormat.Double, 2);
    public static DecodedInstruction* FclassD(Hart h, DecodedInstruction* d) => FpClass(h, d, FloatFormat.Double);
    public static DecodedInstruction* FcvtWD(Hart h, DecodedInstruction* d) => FpToInteger(h, d, FloatFormat.Double, 32, true);
    public static DecodedInstruction* FcvtWuD(Hart h, DecodedInstruction* d) => FpToInteger(h, d, FloatFormat.Double, 32, false);
    public static DecodedInstruction* FcvtLD(Hart h, DecodedInstruction* d) => FpToInteger(h, d, FloatFormat.Double, 64, true);
    public static DecodedInstruction* FcvtLuD(Hart h, DecodedInstruction* d) => FpToInteger(h, d, FloatFormat.Double, 64, false);
    public static DecodedInstruction* FcvtDW(Hart h, DecodedInstruction* d) => FpFromInteger(h, d, FloatFormat.Double, 32, true);
    public static DecodedInstruction* FcvtDWu(Hart h, DecodedInstruction* d) => FpFromInteger(h, d, FloatFormat.Double, 32, false);
    public static DecodedInstruction* FcvtDL(Hart h, DecodedInstruction* d) => FpFromInteger(h, d, FloatFormat.Double, 64, true);
    public static DecodedInstruction* FcvtDLu(Hart h, DecodedInstruction* d) => FpFromInteger(h, d, FloatFormat.Double, 64, false);
    public static DecodedInstruction* FmvXD(Hart h, DecodedInstruction* d) => FpMoveToInteger(h, d, 8);
    public static DecodedInstruction* FmvDX(Hart h, DecodedInstruction* d) => FpMoveFromInteger(h, d, 8);
}
