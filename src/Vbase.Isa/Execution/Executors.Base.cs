using System.Runtime.CompilerServices;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

/// <summary>
/// Instruction semantics, one short static method per instruction, grouped by extension in partial files.
/// Each receives the hart and its pre-decoded operands; destination x0 is the sink register, so handlers
/// write unconditionally. Handlers that change control flow set <c>h.NextPc</c>.
/// </summary>
internal static unsafe partial class Executors
{
    // RV64I: upper immediates and jumps
    public static void Lui(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)d.Imm;
    public static void Auipc(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.Pc + (ulong)d.Imm;

    public static void Jal(Hart h, ref DecodedInstruction d)
    {
        h.X[d.Rd] = h.NextPc;
        h.NextPc = h.Pc + (ulong)d.Imm;
    }

    public static void Jalr(Hart h, ref DecodedInstruction d)
    {
        ulong target = (h.X[d.Rs1] + (ulong)d.Imm) & ~1UL; // read rs1 before writing rd: they may be equal
        h.X[d.Rd] = h.NextPc;
        h.NextPc = target;
    }

    // Branches. With C present every target is 2-byte aligned, so none can raise instruction-address-misaligned.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BranchIf(Hart h, ref DecodedInstruction d, bool taken)
    {
        if (taken)
        {
            h.NextPc = h.Pc + (ulong)d.Imm;
        }
    }

    public static void Beq(Hart h, ref DecodedInstruction d) => BranchIf(h, ref d, h.X[d.Rs1] == h.X[d.Rs2]);
    public static void Bne(Hart h, ref DecodedInstruction d) => BranchIf(h, ref d, h.X[d.Rs1] != h.X[d.Rs2]);
    public static void Blt(Hart h, ref DecodedInstruction d) => BranchIf(h, ref d, (long)h.X[d.Rs1] < (long)h.X[d.Rs2]);
    public static void Bge(Hart h, ref DecodedInstruction d) => BranchIf(h, ref d, (long)h.X[d.Rs1] >= (long)h.X[d.Rs2]);
    public static void Bltu(Hart h, ref DecodedInstruction d) => BranchIf(h, ref d, h.X[d.Rs1] < h.X[d.Rs2]);
    public static void Bgeu(Hart h, ref DecodedInstruction d) => BranchIf(h, ref d, h.X[d.Rs1] >= h.X[d.Rs2]);

    // Loads: the value is written only if the access did not trap.
    public static void Lb(Hart h, ref DecodedInstruction d)
    {
        if (h.Load(h.X[d.Rs1] + (ulong)d.Imm, 1, out ulong v)) { h.X[d.Rd] = (ulong)(sbyte)v; }
    }

    public static void Lh(Hart h, ref DecodedInstruction d)
    {
        if (h.Load(h.X[d.Rs1] + (ulong)d.Imm, 2, out ulong v)) { h.X[d.Rd] = (ulong)(short)v; }
    }

    public static void Lw(Hart h, ref DecodedInstruction d)
    {
        if (h.Load(h.X[d.Rs1] + (ulong)d.Imm, 4, out ulong v)) { h.X[d.Rd] = (ulong)(int)v; }
    }

    public static void Ld(Hart h, ref DecodedInstruction d)
    {
        if (h.Load(h.X[d.Rs1] + (ulong)d.Imm, 8, out ulong v)) { h.X[d.Rd] = v; }
    }

    public static void Lbu(Hart h, ref DecodedInstruction d)
    {
        if (h.Load(h.X[d.Rs1] + (ulong)d.Imm, 1, out ulong v)) { h.X[d.Rd] = v; }
    }

    public static void Lhu(Hart h, ref DecodedInstruction d)
    {
        if (h.Load(h.X[d.Rs1] + (ulong)d.Imm, 2, out ulong v)) { h.X[d.Rd] = v; }
    }

    public static void Lwu(Hart h, ref DecodedInstruction d)
    {
        if (h.Load(h.X[d.Rs1] + (ulong)d.Imm, 4, out ulong v)) { h.X[d.Rd] = v; }
    }

    // Stores
    public static void Sb(Hart h, ref DecodedInstruction d) => h.Store(h.X[d.Rs1] + (ulong)d.Imm, 1, h.X[d.Rs2]);
    public static void Sh(Hart h, ref DecodedInstruction d) => h.Store(h.X[d.Rs1] + (ulong)d.Imm, 2, h.X[d.Rs2]);
    public static void Sw(Hart h, ref DecodedInstruction d) => h.Store(h.X[d.Rs1] + (ulong)d.Imm, 4, h.X[d.Rs2]);
    public static void Sd(Hart h, ref DecodedInstruction d) => h.Store(h.X[d.Rs1] + (ulong)d.Imm, 8, h.X[d.Rs2]);

    // Register-immediate
    public static void Addi(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] + (ulong)d.Imm;
    public static void Slti(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (long)h.X[d.Rs1] < d.Imm ? 1UL : 0;
    public static void Sltiu(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] < (ulong)d.Imm ? 1UL : 0;
    public static void Xori(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] ^ (ulong)d.Imm;
    public static void Ori(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] | (ulong)d.Imm;
    public static void Andi(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] & (ulong)d.Imm;
    public static void Slli(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] << (int)d.Imm;
    public static void Srli(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] >> (int)d.Imm;
    public static void Srai(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)((long)h.X[d.Rs1] >> (int)d.Imm);

    // Register-register (C# masks 64-bit shift counts to 6 bits, as RV64 requires)
    public static void Add(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] + h.X[d.Rs2];
    public static void Sub(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] - h.X[d.Rs2];
    public static void Sll(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] << (int)h.X[d.Rs2];
    public static void Slt(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (long)h.X[d.Rs1] < (long)h.X[d.Rs2] ? 1UL : 0;
    public static void Sltu(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] < h.X[d.Rs2] ? 1UL : 0;
    public static void Xor(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] ^ h.X[d.Rs2];
    public static void Srl(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] >> (int)h.X[d.Rs2];
    public static void Sra(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)((long)h.X[d.Rs1] >> (int)h.X[d.Rs2]);
    public static void Or(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] | h.X[d.Rs2];
    public static void And(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = h.X[d.Rs1] & h.X[d.Rs2];

    // The W forms operate on the low 32 bits and sign-extend the 32-bit result.
    public static void Addiw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)(int)(h.X[d.Rs1] + (ulong)d.Imm);
    public static void Slliw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)((int)h.X[d.Rs1] << (int)d.Imm);
    public static void Srliw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)(int)((uint)h.X[d.Rs1] >> (int)d.Imm);
    public static void Sraiw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)((int)h.X[d.Rs1] >> (int)d.Imm);
    public static void Addw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)(int)(h.X[d.Rs1] + h.X[d.Rs2]);
    public static void Subw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)(int)(h.X[d.Rs1] - h.X[d.Rs2]);
    public static void Sllw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)((int)h.X[d.Rs1] << (int)(h.X[d.Rs2] & 31));
    public static void Srlw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)(int)((uint)h.X[d.Rs1] >> (int)(h.X[d.Rs2] & 31));
    public static void Sraw(Hart h, ref DecodedInstruction d) => h.X[d.Rd] = (ulong)((int)h.X[d.Rs1] >> (int)(h.X[d.Rs2] & 31));
}
