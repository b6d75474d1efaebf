using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Execution;

// Zicsr. A CSR write may change the privilege, the translation or interrupt enables, so it leaves through the
// outer loop (returns null), which re-evaluates them.
internal static unsafe partial class Executors
{
    // CSR access: csrrw with rd = x0 does not read; csrrs/csrrc with rs1 = x0 (or a zero uimm) do not write.
    private static DecodedInstruction* CsrAccess(Hart h, DecodedInstruction* d, ulong operand, int kind, bool writes)
    {
        uint csr = (uint)d->Imm;
        bool reads = kind != 0 || d->Rd != DecodedInstruction.SinkRegister;
        if (!h.TryReadCsr(csr, writes, out ulong old))
        {
            return Illegal(h, d);
        }
        if (writes)
        {
            h.WriteCsr(csr, kind switch { 0 => operand, 1 => old | operand, _ => old & ~operand });
        }
        if (reads)
        {
            h.Hot.X[d->Rd] = old;
        }
        return writes ? LeaveAfter(h, d) : Next(d);
    }

    public static DecodedInstruction* Csrrw(Hart h, DecodedInstruction* d) => CsrAccess(h, d, h.Hot.X[d->Rs1], 0, true);
    public static DecodedInstruction* Csrrs(Hart h, DecodedInstruction* d) => CsrAccess(h, d, h.Hot.X[d->Rs1], 1, d->Rs1 != 0);
    public static DecodedInstruction* Csrrc(Hart h, DecodedInstruction* d) => CsrAccess(h, d, h.Hot.X[d->Rs1], 2, d->Rs1 != 0);
    public static DecodedInstruction* Csrrwi(Hart h, DecodedInstruction* d) => CsrAccess(h, d, d->Rs1, 0, true);
    public static DecodedInstruction* Csrrsi(Hart h, DecodedInstruction* d) => CsrAccess(h, d, d->Rs1, 1, d->Rs1 != 0);
    public static DecodedInstruction* Csrrci(Hart h, DecodedInstruction* d) => CsrAccess(h, d, d->Rs1, 2, d->Rs1 != 0);
}
