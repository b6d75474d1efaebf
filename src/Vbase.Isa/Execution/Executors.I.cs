using System.Runtime.CompilerServices;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Execution;

// RV64I.
internal static unsafe partial class Executors
{
    // RV64I: upper immediates and jumps
    public static DecodedInstruction* Lui(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)d->Imm;
        return Next(d);
    }
    public static DecodedInstruction* Auipc(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.PcOf(d) + (ulong)d->Imm;
        return Next(d);
    }

    public static DecodedInstruction* Jal(Hart h, DecodedInstruction* d)
    {
        ulong pc = h.PcOf(d);
        h.Hot.X[d->Rd] = pc + d->Length;
        return h.JumpTo(d, pc, pc + (ulong)d->Imm);
    }

    public static DecodedInstruction* Jalr(Hart h, DecodedInstruction* d)
    {
        ulong target = (h.Hot.X[d->Rs1] + (ulong)d->Imm) & ~1UL; // read rs1 before writing rd: they may be equal
        ulong pc = h.PcOf(d);
        h.Hot.X[d->Rd] = pc + d->Length;
        return h.JumpTo(d, pc, target);
    }

    // Branches. With C present every target is 2-byte aligned, so none can raise instruction-address-misaligned.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodedInstruction* BranchIf(Hart h, DecodedInstruction* d, bool taken)
    {
        if (!taken)
        {
            return Next(d);
        }
        ulong pc = h.PcOf(d);
        return h.JumpTo(d, pc, pc + (ulong)d->Imm);
    }

    public static DecodedInstruction* Beq(Hart h, DecodedInstruction* d) => BranchIf(h, d, h.Hot.X[d->Rs1] == h.Hot.X[d->Rs2]);
    public static DecodedInstruction* Bne(Hart h, DecodedInstruction* d) => BranchIf(h, d, h.Hot.X[d->Rs1] != h.Hot.X[d->Rs2]);
    public static DecodedInstruction* Blt(Hart h, DecodedInstruction* d) => BranchIf(h, d, (long)h.Hot.X[d->Rs1] < (long)h.Hot.X[d->Rs2]);
    public static DecodedInstruction* Bge(Hart h, DecodedInstruction* d) => BranchIf(h, d, (long)h.Hot.X[d->Rs1] >= (long)h.Hot.X[d->Rs2]);
    public static DecodedInstruction* Bltu(Hart h, DecodedInstruction* d) => BranchIf(h, d, h.Hot.X[d->Rs1] < h.Hot.X[d->Rs2]);
    public static DecodedInstruction* Bgeu(Hart h, DecodedInstruction* d) => BranchIf(h, d, h.Hot.X[d->Rs1] >= h.Hot.X[d->Rs2]);

    // Loads: the value is written only if the access did not trap. rd and the next slot are read before the
    // access: a page walk that sets A/D bits writes memory, and a PTE may lie over this very instruction
    // (invalidating its slot).
    public static DecodedInstruction* Lb(Hart h, DecodedInstruction* d)
    {
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        if (!h.Load(h.Hot.X[d->Rs1] + (ulong)d->Imm, 1, out ulong v))
        {
            return null;
        }
        h.Hot.X[rd] = (ulong)(sbyte)v;
        return next;
    }

    public static DecodedInstruction* Lh(Hart h, DecodedInstruction* d)
    {
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        if (!h.Load(h.Hot.X[d->Rs1] + (ulong)d->Imm, 2, out ulong v))
        {
            return null;
        }
        h.Hot.X[rd] = (ulong)(short)v;
        return next;
    }

    public static DecodedInstruction* Lw(Hart h, DecodedInstruction* d)
    {
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        if (!h.Load(h.Hot.X[d->Rs1] + (ulong)d->Imm, 4, out ulong v))
        {
            return null;
        }
        h.Hot.X[rd] = (ulong)(int)v;
        return next;
    }

    public static DecodedInstruction* Ld(Hart h, DecodedInstruction* d)
    {
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        if (!h.Load(h.Hot.X[d->Rs1] + (ulong)d->Imm, 8, out ulong v))
        {
            return null;
        }
        h.Hot.X[rd] = v;
        return next;
    }

    public static DecodedInstruction* Lbu(Hart h, DecodedInstruction* d)
    {
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        if (!h.Load(h.Hot.X[d->Rs1] + (ulong)d->Imm, 1, out ulong v))
        {
            return null;
        }
        h.Hot.X[rd] = v;
        return next;
    }

    public static DecodedInstruction* Lhu(Hart h, DecodedInstruction* d)
    {
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        if (!h.Load(h.Hot.X[d->Rs1] + (ulong)d->Imm, 2, out ulong v))
        {
            return null;
        }
        h.Hot.X[rd] = v;
        return next;
    }

    public static DecodedInstruction* Lwu(Hart h, DecodedInstruction* d)
    {
        DecodedInstruction* next = Next(d);
        int rd = d->Rd;
        if (!h.Load(h.Hot.X[d->Rs1] + (ulong)d->Imm, 4, out ulong v))
        {
            return null;
        }
        h.Hot.X[rd] = v;
        return next;
    }

    // Stores. The next slot is taken before the store: a store may overwrite (and invalidate) its own slot.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodedInstruction* Store(Hart h, DecodedInstruction* d, ulong address, int size, ulong value)
    {
        DecodedInstruction* next = Next(d); // the operands were read by the caller
        return h.Store(address, size, value) ? next : null;
    }

    public static DecodedInstruction* Sb(Hart h, DecodedInstruction* d) => Store(h, d, h.Hot.X[d->Rs1] + (ulong)d->Imm, 1, h.Hot.X[d->Rs2]);
    public static DecodedInstruction* Sh(Hart h, DecodedInstruction* d) => Store(h, d, h.Hot.X[d->Rs1] + (ulong)d->Imm, 2, h.Hot.X[d->Rs2]);
    public static DecodedInstruction* Sw(Hart h, DecodedInstruction* d) => Store(h, d, h.Hot.X[d->Rs1] + (ulong)d->Imm, 4, h.Hot.X[d->Rs2]);
    public static DecodedInstruction* Sd(Hart h, DecodedInstruction* d) => Store(h, d, h.Hot.X[d->Rs1] + (ulong)d->Imm, 8, h.Hot.X[d->Rs2]);

    // Register-immediate
    public static DecodedInstruction* Addi(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] + (ulong)d->Imm;
        return Next(d);
    }
    public static DecodedInstruction* Slti(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (long)h.Hot.X[d->Rs1] < d->Imm ? 1UL : 0;
        return Next(d);
    }
    public static DecodedInstruction* Sltiu(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] < (ulong)d->Imm ? 1UL : 0;
        return Next(d);
    }
    public static DecodedInstruction* Xori(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] ^ (ulong)d->Imm;
        return Next(d);
    }
    public static DecodedInstruction* Ori(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] | (ulong)d->Imm;
        return Next(d);
    }
    public static DecodedInstruction* Andi(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] & (ulong)d->Imm;
        return Next(d);
    }
    public static DecodedInstruction* Slli(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] << (int)d->Imm;
        return Next(d);
    }
    public static DecodedInstruction* Srli(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] >> (int)d->Imm;
        return Next(d);
    }
    public static DecodedInstruction* Srai(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)((long)h.Hot.X[d->Rs1] >> (int)d->Imm);
        return Next(d);
    }

    // Register-register (C# masks 64-bit shift counts to 6 bits, as RV64 requires)
    public static DecodedInstruction* Add(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] + h.Hot.X[d->Rs2];
        return Next(d);
    }
    public static DecodedInstruction* Sub(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] - h.Hot.X[d->Rs2];
        return Next(d);
    }
    public static DecodedInstruction* Sll(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] << (int)h.Hot.X[d->Rs2];
        return Next(d);
    }
    public static DecodedInstruction* Slt(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (long)h.Hot.X[d->Rs1] < (long)h.Hot.X[d->Rs2] ? 1UL : 0;
        return Next(d);
    }
    public static DecodedInstruction* Sltu(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] < h.Hot.X[d->Rs2] ? 1UL : 0;
        return Next(d);
    }
    public static DecodedInstruction* Xor(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] ^ h.Hot.X[d->Rs2];
        return Next(d);
    }
    public static DecodedInstruction* Srl(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] >> (int)h.Hot.X[d->Rs2];
        return Next(d);
    }
    public static DecodedInstruction* Sra(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)((long)h.Hot.X[d->Rs1] >> (int)h.Hot.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Or(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] | h.Hot.X[d->Rs2];
        return Next(d);
    }
    public static DecodedInstruction* And(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = h.Hot.X[d->Rs1] & h.Hot.X[d->Rs2];
        return Next(d);
    }

    // The W forms operate on the low 32 bits and sign-extend the 32-bit result.
    public static DecodedInstruction* Addiw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(int)(h.Hot.X[d->Rs1] + (ulong)d->Imm);
        return Next(d);
    }
    public static DecodedInstruction* Slliw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)((int)h.Hot.X[d->Rs1] << (int)d->Imm);
        return Next(d);
    }
    public static DecodedInstruction* Srliw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(int)((uint)h.Hot.X[d->Rs1] >> (int)d->Imm);
        return Next(d);
    }
    public static DecodedInstruction* Sraiw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)((int)h.Hot.X[d->Rs1] >> (int)d->Imm);
        return Next(d);
    }
    public static DecodedInstruction* Addw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(int)(h.Hot.X[d->Rs1] + h.Hot.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Subw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(int)(h.Hot.X[d->Rs1] - h.Hot.X[d->Rs2]);
        return Next(d);
    }
    public static DecodedInstruction* Sllw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)((int)h.Hot.X[d->Rs1] << (int)(h.Hot.X[d->Rs2] & 31));
        return Next(d);
    }
    public static DecodedInstruction* Srlw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)(int)((uint)h.Hot.X[d->Rs1] >> (int)(h.Hot.X[d->Rs2] & 31));
        return Next(d);
    }
    public static DecodedInstruction* Sraw(Hart h, DecodedInstruction* d)
    {
        h.Hot.X[d->Rd] = (ulong)((int)h.Hot.X[d->Rs1] >> (int)(h.Hot.X[d->Rs2] & 31));
        return Next(d);
    }

    // Fences and environment calls
    /// <summary>One in-order hart with no caches: memory is always ordered, so every FENCE is a no-op.</summary>
    public static DecodedInstruction* Fence(Hart h, DecodedInstruction* d) => Next(d);

    public static DecodedInstruction* Ecall(Hart h, DecodedInstruction* d)
    {
        h.RaiseException(h.Privilege switch
        {
            Privilege.User => ExceptionCause.EcallFromU,
            Privilege.Supervisor => ExceptionCause.EcallFromS,
            _ => ExceptionCause.EcallFromM,
        }, 0);
        return null;
    }

    /// <summary>mtval is 0 for ebreak, as in QEMU's virt (the spec allows 0 or the pc).</summary>
    public static DecodedInstruction* Ebreak(Hart h, DecodedInstruction* d)
    {
        h.RaiseException(ExceptionCause.Breakpoint, 0);
        return null;
    }
}
