using System.Reflection.Emit;
using Vbase.Isa.Decoding;

namespace Vbase.Isa.Translation;

// RV64I.
internal static partial class Emitters
{
    public static void Lui(RegionEmitter e, in DecodedInstruction d) => e.Const(d.Imm);
    public static void Auipc(RegionEmitter e, in DecodedInstruction d) => e.PushPc(d.Imm);
    public static void Jal(RegionEmitter e, in DecodedInstruction d) => e.EmitJal(in d);
    public static void Jalr(RegionEmitter e, in DecodedInstruction d) => e.EmitJalr(in d);

    public static void Beq(RegionEmitter e, in DecodedInstruction d) => e.EmitBranch(in d, OpCodes.Beq);
    public static void Bne(RegionEmitter e, in DecodedInstruction d) => e.EmitBranch(in d, OpCodes.Bne_Un);
    public static void Blt(RegionEmitter e, in DecodedInstruction d) => e.EmitBranch(in d, OpCodes.Blt);
    public static void Bge(RegionEmitter e, in DecodedInstruction d) => e.EmitBranch(in d, OpCodes.Bge);
    public static void Bltu(RegionEmitter e, in DecodedInstruction d) => e.EmitBranch(in d, OpCodes.Blt_Un);
    public static void Bgeu(RegionEmitter e, in DecodedInstruction d) => e.EmitBranch(in d, OpCodes.Bge_Un);

    // Loads: the host read extends to 32 bits; signed ones then sign-extend to 64 (ld needs neither).
    public static void Lb(RegionEmitter e, in DecodedInstruction d) => e.EmitLoad(in d, 1, OpCodes.Ldind_I1, signed: true);
    public static void Lh(RegionEmitter e, in DecodedInstruction d) => e.EmitLoad(in d, 2, OpCodes.Ldind_I2, signed: true);
    public static void Lw(RegionEmitter e, in DecodedInstruction d) => e.EmitLoad(in d, 4, OpCodes.Ldind_I4, signed: true);
    public static void Ld(RegionEmitter e, in DecodedInstruction d) => e.EmitLoad(in d, 8, OpCodes.Ldind_I8, signed: false);
    public static void Lbu(RegionEmitter e, in DecodedInstruction d) => e.EmitLoad(in d, 1, OpCodes.Ldind_U1, signed: false);
    public static void Lhu(RegionEmitter e, in DecodedInstruction d) => e.EmitLoad(in d, 2, OpCodes.Ldind_U2, signed: false);
    public static void Lwu(RegionEmitter e, in DecodedInstruction d) => e.EmitLoad(in d, 4, OpCodes.Ldind_U4, signed: false);

    public static void Sb(RegionEmitter e, in DecodedInstruction d) => e.EmitStore(in d, 1, OpCodes.Stind_I1);
    public static void Sh(RegionEmitter e, in DecodedInstruction d) => e.EmitStore(in d, 2, OpCodes.Stind_I2);
    public static void Sw(RegionEmitter e, in DecodedInstruction d) => e.EmitStore(in d, 4, OpCodes.Stind_I4);
    public static void Sd(RegionEmitter e, in DecodedInstruction d) => e.EmitStore(in d, 8, OpCodes.Stind_I8);

    public static void Addi(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Add, immediate: true);
    public static void Slti(RegionEmitter e, in DecodedInstruction d) => Compare(e, in d, OpCodes.Clt, immediate: true);
    public static void Sltiu(RegionEmitter e, in DecodedInstruction d) => Compare(e, in d, OpCodes.Clt_Un, immediate: true);
    public static void Xori(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Xor, immediate: true);
    public static void Ori(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Or, immediate: true);
    public static void Andi(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.And, immediate: true);
    public static void Slli(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shl, immediate: true);
    public static void Srli(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shr_Un, immediate: true);
    public static void Srai(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shr, immediate: true);

    public static void Add(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Add, immediate: false);
    public static void Sub(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Sub, immediate: false);
    public static void Sll(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shl, immediate: false);
    public static void Slt(RegionEmitter e, in DecodedInstruction d) => Compare(e, in d, OpCodes.Clt, immediate: false);
    public static void Sltu(RegionEmitter e, in DecodedInstruction d) => Compare(e, in d, OpCodes.Clt_Un, immediate: false);
    public static void Xor(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Xor, immediate: false);
    public static void Srl(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shr_Un, immediate: false);
    public static void Sra(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shr, immediate: false);
    public static void Or(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Or, immediate: false);
    public static void And(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.And, immediate: false);

    public static void Addiw(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Add, immediate: true, word: true);
    public static void Slliw(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shl, immediate: true, OpCodes.Conv_I4);
    public static void Srliw(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shr_Un, immediate: true, OpCodes.Conv_U4);
    public static void Sraiw(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shr, immediate: true, OpCodes.Conv_I4);
    public static void Addw(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Add, immediate: false, word: true);
    public static void Subw(RegionEmitter e, in DecodedInstruction d) => Binary(e, in d, OpCodes.Sub, immediate: false, word: true);
    public static void Sllw(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shl, immediate: false, OpCodes.Conv_I4);
    public static void Srlw(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shr_Un, immediate: false, OpCodes.Conv_U4);
    public static void Sraw(RegionEmitter e, in DecodedInstruction d) => Shift(e, in d, OpCodes.Shr, immediate: false, OpCodes.Conv_I4);

    /// <summary>Nothing to order on one in-order hart (as the interpreter's <c>Fence</c>).</summary>
    public static void Fence(RegionEmitter e, in DecodedInstruction d)
    {
    }
}
