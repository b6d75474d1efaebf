using System.Reflection.Emit;
using Vbase.Isa.Decoding;
using Vbase.Isa.Execution;

namespace Vbase.Isa.Translation;

// M: the multiplications IL has are inlined; the rest call the interpreter's value functions (Executors.M.cs),
// which hold the division-by-zero and overflow rules once.
internal static partial class Emitters
{
    public static void Mul(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Mul, immediate: false);
    public static void Mulw(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Mul, immediate: false, word: true);
    public static void Mulh(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<ulong, ulong, ulong>)Executors.MulHighSigned);
    public static void Mulhu(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<ulong, ulong, ulong>)Executors.MulHighUnsigned);
    public static void Mulhsu(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<ulong, ulong, ulong>)Executors.MulHighSignedUnsigned);
    public static void Div(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<long, long, long>)Executors.SignedDiv);
    public static void Divu(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<ulong, ulong, ulong>)Executors.UnsignedDiv);
    public static void Rem(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<long, long, long>)Executors.SignedRem);
    public static void Remu(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<ulong, ulong, ulong>)Executors.UnsignedRem);
    public static void Divw(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<int, int, int>)Executors.SignedDiv32, OpCodes.Conv_I4);
    public static void Divuw(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<uint, uint, uint>)Executors.UnsignedDiv32, OpCodes.Conv_U4);
    public static void Remw(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<int, int, int>)Executors.SignedRem32, OpCodes.Conv_I4);
    public static void Remuw(RegionEmitter e, in DecodedInstruction d) => Call(e, in d, (Func<uint, uint, uint>)Executors.UnsignedRem32, OpCodes.Conv_U4);
}
