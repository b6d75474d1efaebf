using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Cli;

/// <summary>
/// Writes the --trace file: one line per executed instruction, then a line for each trap it raised:
/// <code>
/// 0000000080000004 00a00513 addi a0, zero, 10  a0=000000000000000a
/// 0000000080000008     4501 c.li a0, 0  a0=0000000000000000
/// 0000000080000010 00000073 ecall
///   trap: ecall from M-mode (cause 0xb)
/// </code>
/// Compressed instructions show their 16-bit parcel right-aligned in the raw column. <c>vbase run --trace</c>
/// starts every line with a <paramref name="prefix"/> naming the vCPU (<c>vcpu0 </c>).
/// </summary>
internal sealed class TraceWriter(TextWriter writer, string prefix = "")
{
    private readonly char[] line = new char[64];

    public void Write(RetiredInstruction r)
    {
        Span<char> s = line;
        int n = 0;
        if (prefix.Length != 0)
        {
            writer.Write(prefix);
        }
        r.Pc.TryFormat(s, out int w, "x16");
        n += w;
        s[n++] = ' ';
        if (r.Length == 2)
        {
            s.Slice(n, 4).Fill(' ');
            n += 4;
            r.Raw.TryFormat(s[n..], out w, "x4");
        }
        else if (r.Length == 0)
        {
            "--------".AsSpan().CopyTo(s[n..]);
            w = 8;
        }
        else
        {
            r.Raw.TryFormat(s[n..], out w, "x8");
        }
        n += w;
        s[n++] = ' ';
        writer.Write(s[..n]);
        writer.Write(r.Disassembly);
        if (r.WrittenRegister > 0)
        {
            n = 0;
            s[n++] = ' ';
            s[n++] = ' ';
            string name = r.WrittenRegister >= 32 ? Disassembler.FloatAbiNames[r.WrittenRegister - 32] : Disassembler.AbiNames[r.WrittenRegister];
            name.AsSpan().CopyTo(s[n..]);
            n += name.Length;
            s[n++] = '=';
            r.WrittenValue.TryFormat(s[n..], out w, "x16");
            n += w;
            writer.Write(s[..n]);
        }
        writer.Write('\n');
        if (r.TrapCause is ulong cause)
        {
            if (prefix.Length != 0)
            {
                writer.Write(prefix);
            }
            writer.Write("  trap: ");
            writer.Write(TrapName(cause));
            writer.Write(" (cause 0x");
            writer.Write(cause.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
            writer.Write(")\n");
        }
    }

    /// <summary>The privileged spec's name for an mcause value.</summary>
    public static string TrapName(ulong cause)
    {
        bool interrupt = (cause >> 63) != 0;
        ulong code = cause & ~(1UL << 63);
        return (interrupt, code) switch
        {
            (true, 1) => "supervisor software interrupt",
            (true, 3) => "machine software interrupt",
            (true, 5) => "supervisor timer interrupt",
            (true, 7) => "machine timer interrupt",
            (true, 9) => "supervisor external interrupt",
            (true, 11) => "machine external interrupt",
            (true, _) => $"interrupt {code}",
            (false, 0) => "instruction address misaligned",
            (false, 1) => "instruction access fault",
            (false, 2) => "illegal instruction",
            (false, 3) => "breakpoint",
            (false, 4) => "load address misaligned",
            (false, 5) => "load access fault",
            (false, 6) => "store/AMO address misaligned",
            (false, 7) => "store/AMO access fault",
            (false, 8) => "ecall from U-mode",
            (false, 9) => "ecall from S-mode",
            (false, 11) => "ecall from M-mode",
            (false, 12) => "instruction page fault",
            (false, 13) => "load page fault",
            (false, 15) => "store/AMO page fault",
            _ => $"exception {code}",
        };
    }
}
