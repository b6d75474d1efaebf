using Vbase.Isa.Csrs;
using static Vbase.Isa.Csrs.CsrAddress;

namespace Vbase.Isa.Harts;

// The F and D extensions' state: the f registers (Hot.F), fcsr (Hot.Fflags, Hot.Frm) and mstatus.FS, which
// gates them. At reset FS is Off, as on QEMU's virt machine (with -bios none): start-up code enables the FPU
// before using it, and the same ELF behaves the same on both.
public sealed unsafe partial class Hart
{
    /// <summary>Reads f<paramref name="index"/> (its 64 bits: a single is NaN-boxed).</summary>
    public ulong GetFloatRegister(int index) => Hot.F[(uint)index & 31];

    /// <summary>Writes f<paramref name="index"/> (debuggers, tests, a hypervisor restoring a vCPU); FS is not changed.</summary>
    public void SetFloatRegister(int index, ulong value)
    {
        Hot.F[(uint)index & 31] = value;
        registerWritesFromOutside++;
    }

    /// <summary>fcsr: frm in bits 7..5, fflags in bits 4..0.</summary>
    public uint Fcsr => (Hot.Frm << 5) | Hot.Fflags;

    /// <summary>Writes fcsr (frm and fflags) from outside (a hypervisor, a debugger); FS is not changed.</summary>
    public void SetFcsr(uint value)
    {
        Hot.Fflags = value & 0x1F;
        Hot.Frm = (value >> 5) & 7;
    }

    /// <summary>False while mstatus.FS is Off: every FP instruction and FP CSR access is then illegal.</summary>
    internal bool FpEnabled => (mstatus & MStatus.Fs) != 0;

    /// <summary>The FP state was written: FS becomes Dirty (and SD reads as set).</summary>
    internal void MarkFpDirty() => mstatus |= MStatus.FsDirty;

    private bool TryReadFpCsr(uint csr, out ulong value)
    {
        value = 0;
        if (!FpEnabled)
        {
            return false;
        }
        value = csr switch { Fflags => Hot.Fflags, Frm => Hot.Frm, _ => Fcsr };
        return true;
    }

    /// <summary>frm keeps any of its eight values: a reserved one (5–7) only makes the instructions that use it illegal.</summary>
    private void WriteFpCsr(uint csr, ulong value)
    {
        switch (csr)
        {
            case Fflags: Hot.Fflags = (uint)value & 0x1F; break;
            case Frm: Hot.Frm = (uint)value & 7; break;
            default:
                Hot.Fflags = (uint)value & 0x1F;
                Hot.Frm = (uint)(value >> 5) & 7;
                break;
        }
        MarkFpDirty();
    }
}
