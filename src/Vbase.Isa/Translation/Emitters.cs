using System.Reflection;
using System.Reflection.Emit;
using Vbase.Isa.Decoding;

namespace Vbase.Isa.Translation;

/// <summary>
/// The IL of each translated instruction, one method per instruction named by the data file's emitter column
/// (<c>Decoding/rv64.opcodes</c>) and grouped by extension in partial files (<c>Emitters.I.cs</c>,
/// <c>Emitters.M.cs</c>…); the generated <see cref="Emit"/> dispatches on <see cref="InstructionId"/>, so a
/// missing emitter fails the build. A value instruction's emitter pushes rd's new value (the caller stores
/// it and skips the emitter when rd is x0); the others emit the whole instruction through
/// <see cref="RegionEmitter"/>. This file holds the shapes they share.
/// </summary>
internal static partial class Emitters
{
    /// <summary>rs1 op (imm or rs2); the "w" forms sign-extend the 32-bit result.</summary>
    private static void Binary(RegionEmitter e, in DecodedInstruction d, OpCode op, bool immediate, bool word = false)
    {
        e.PushRegister(d.Rs1);
        e.PushOperand2(in d, immediate);
        e.Il.Emit(op);
        if (word)
        {
            e.Il.Emit(OpCodes.Conv_I4);
            e.Il.Emit(OpCodes.Conv_I8);
        }
    }

    /// <summary>Shifts: the amount is masked to 6 bits (5 for the word forms, whose operand is first narrowed by <paramref name="word"/>), as RV64 requires and IL does not.</summary>
    private static void Shift(RegionEmitter e, in DecodedInstruction d, OpCode op, bool immediate, OpCode? word = null)
    {
        e.PushRegister(d.Rs1);
        if (word is { } narrow)
        {
            e.Il.Emit(narrow);
        }
        if (immediate)
        {
            e.ConstInt((int)d.Imm & (word is null ? 63 : 31)); // the decoder already masked it
        }
        else
        {
            e.PushRegister(d.Rs2);
            e.Il.Emit(OpCodes.Conv_I4);
            e.ConstInt(word is null ? 63 : 31);
            e.Il.Emit(OpCodes.And);
        }
        e.Il.Emit(op);
        e.Il.Emit(OpCodes.Conv_I8);
    }

    /// <summary>slt and friends: 1 if rs1 compares below (imm or rs2), else 0.</summary>
    private static void Compare(RegionEmitter e, in DecodedInstruction d, OpCode op, bool immediate)
    {
        e.PushRegister(d.Rs1);
        e.PushOperand2(in d, immediate);
        e.Il.Emit(op);
        e.Il.Emit(OpCodes.Conv_U8);
    }

    /// <summary>
    /// Calls one of the interpreter's value functions on rs1 and rs2 (each narrowed by <paramref name="narrow"/>),
    /// so both engines share one definition. The function comes as a delegate, not a name: a wrong one fails the build.
    /// </summary>
    private static void Call(RegionEmitter e, in DecodedInstruction d, Delegate function, OpCode? narrow = null)
    {
        MethodInfo method = function.Method;
        e.PushRegister(d.Rs1);
        if (narrow is { } n1)
        {
            e.Il.Emit(n1);
        }
        e.PushRegister(d.Rs2);
        if (narrow is { } n2)
        {
            e.Il.Emit(n2);
        }
        e.Il.Emit(OpCodes.Call, method);
        e.Il.Emit(OpCodes.Conv_I8); // no-op for 64-bit results; sign-extends the 32-bit ones
    }
}
