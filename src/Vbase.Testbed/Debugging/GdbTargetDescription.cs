using System.Globalization;
using System.Text;
using Vbase.Isa.Csrs;

namespace Vbase.Testbed.Debugging;

/// <summary>
/// The target description the stub serves through <c>qXfer:features:read:target.xml</c> (gdb docs, "Target
/// Descriptions", "RISC-V Features"), and the register numbers of its <c>g</c>/<c>p</c>/<c>P</c> packets: gdb's own
/// RISC-V numbering, x0–x31 0–31, pc 32, f0–f31 33–64, a CSR 65 + its number (fflags 66, frm 67, fcsr 68), priv 4161.
/// </summary>
public static class GdbTargetDescription
{
    public const int Pc = 32, FirstFloat = 33, FirstCsr = 65, Priv = 4161;

    public static readonly string[] IntegerNames =
    [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    ];

    public static readonly string[] FloatNames =
    [
        "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
        "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
    ];

    /// <summary>The CSRs shown (besides fflags, frm and fcsr, which are in the FPU feature): name and number.</summary>
    public static readonly (string Name, ushort Number)[] Csrs =
    [
        ("sstatus", CsrAddress.Sstatus), ("sie", CsrAddress.Sie), ("stvec", CsrAddress.Stvec), ("sscratch", CsrAddress.Sscratch),
        ("sepc", CsrAddress.Sepc), ("scause", CsrAddress.Scause), ("stval", CsrAddress.Stval), ("sip", CsrAddress.Sip),
        ("satp", CsrAddress.Satp), ("mstatus", CsrAddress.Mstatus), ("misa", CsrAddress.Misa), ("medeleg", CsrAddress.Medeleg),
        ("mideleg", CsrAddress.Mideleg), ("mie", CsrAddress.Mie), ("mtvec", CsrAddress.Mtvec), ("mscratch", CsrAddress.Mscratch),
        ("mepc", CsrAddress.Mepc), ("mcause", CsrAddress.Mcause), ("mtval", CsrAddress.Mtval), ("mip", CsrAddress.Mip),
        ("mhartid", CsrAddress.Mhartid), ("cycle", CsrAddress.Cycle), ("time", CsrAddress.Time), ("instret", CsrAddress.Instret),
    ];

    /// <summary>The XML, built once.</summary>
    public static string Xml { get; } = Build();

    private static string Build()
    {
        var x = new StringBuilder();
        x.Append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        x.Append("<architecture>riscv:rv64</architecture>\n");
        x.Append("<feature name=\"org.gnu.gdb.riscv.cpu\">\n");
        for (int i = 0; i < 32; i++)
        {
            string type = i switch { 1 => "code_ptr", 2 => "data_ptr", _ => "int" };
            x.Append(CultureInfo.InvariantCulture, $"  <reg name=\"{IntegerNames[i]}\" bitsize=\"64\" type=\"{type}\" regnum=\"{i}\"/>\n");
        }
        x.Append(CultureInfo.InvariantCulture, $"  <reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"{Pc}\"/>\n</feature>\n");
        x.Append("<feature name=\"org.gnu.gdb.riscv.fpu\">\n");
        x.Append("  <union id=\"riscv_double\"><field name=\"float\" type=\"ieee_single\"/><field name=\"double\" type=\"ieee_double\"/></union>\n");
        for (int i = 0; i < 32; i++)
        {
            x.Append(CultureInfo.InvariantCulture, $"  <reg name=\"{FloatNames[i]}\" bitsize=\"64\" type=\"riscv_double\" regnum=\"{FirstFloat + i}\"/>\n");
        }
        x.Append(CultureInfo.InvariantCulture, $"  <reg name=\"fflags\" bitsize=\"32\" type=\"int\" regnum=\"{FirstCsr + CsrAddress.Fflags}\"/>\n");
        x.Append(CultureInfo.InvariantCulture, $"  <reg name=\"frm\" bitsize=\"32\" type=\"int\" regnum=\"{FirstCsr + CsrAddress.Frm}\"/>\n");
        x.Append(CultureInfo.InvariantCulture, $"  <reg name=\"fcsr\" bitsize=\"32\" type=\"int\" regnum=\"{FirstCsr + CsrAddress.Fcsr}\"/>\n</feature>\n");
        x.Append("<feature name=\"org.gnu.gdb.riscv.csr\">\n");
        foreach (var (name, number) in Csrs)
        {
            x.Append(CultureInfo.InvariantCulture, $"  <reg name=\"{name}\" bitsize=\"64\" type=\"int\" regnum=\"{FirstCsr + number}\"/>\n");
        }
        x.Append("</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n");
        x.Append(CultureInfo.InvariantCulture, $"  <reg name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"{Priv}\"/>\n</feature>\n</target>\n");
        return x.ToString();
    }

    /// <summary>The size in bytes of register <paramref name="regnum"/>, or 0 if the description has none.</summary>
    public static int SizeOf(int regnum) => regnum switch
    {
        <= Pc and >= 0 => 8,
        >= FirstFloat and < FirstFloat + 32 => 8,
        FirstCsr + CsrAddress.Fflags or FirstCsr + CsrAddress.Frm or FirstCsr + CsrAddress.Fcsr => 4,
        Priv => 8,
        _ when regnum > FirstCsr && Csrs.Any(c => FirstCsr + c.Number == regnum) => 8,
        _ => 0,
    };
}
