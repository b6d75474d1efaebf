using System.Buffers.Binary;
using System.Text;
using Vbase.Isa.Encoding;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Testbed.Tests.Support;

/// <summary>
/// Tiny guest kernels assembled in the test, for end-to-end runs through the real hypervisor: write a line to the
/// console (console_io) <c>repeat</c> times with a busy loop between, then shut down (sched_op) with an exit code.
/// </summary>
internal static class AsmKernel
{
    public const ulong KernelBase = 0x8020_0000;
    private const int ConsoleIo = 18, SchedOp = 29;

    public static byte[] Printer(string line, int repeat, long exitCode = 0, int spin = 200)
    {
        byte[] text = Encoding.ASCII.GetBytes(line + "\n");
        var p = new ProgramBuilder(KernelBase);
        p.Li(S1, repeat);
        p.Label("again");
        p.Li(A0, 0).Li(A1, text.Length).La(A2, "text").Li(A7, ConsoleIo).Emit(Ecall());
        p.Li(T0, spin);
        p.Label("spin");
        p.Emit(Addi(T0, T0, -1)).Bne(T0, Zero, "spin");
        p.Emit(Addi(S1, S1, -1)).Bne(S1, Zero, "again");
        p.Li(A0, 2).Li(A1, 0).Li(A2, exitCode).Li(A7, SchedOp).Emit(Ecall());
        p.Label("hang");
        p.J("hang");
        p.Align(8).Label("text").Bytes(text);
        return Elf(p.ToArray(), KernelBase);
    }

    /// <summary>An ELF64 RISC-V executable with one RWX segment holding <paramref name="code"/> at its entry.</summary>
    public static byte[] Elf(byte[] code, ulong address)
    {
        const int header = 64, programHeader = 56;
        byte[] b = new byte[header + programHeader + code.Length];
        Span<byte> s = b;
        "\u007fELF"u8.CopyTo(s);
        s[4] = 2; // ELF64
        s[5] = 1; // little-endian
        s[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 243); // EM_RISCV
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], header);
        BinaryPrimitives.WriteUInt16LittleEndian(s[52..], header);
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], programHeader);
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 1);
        Span<byte> ph = s[header..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1); // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 7);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], header + programHeader);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)code.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], (ulong)code.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 8);
        code.CopyTo(s[(header + programHeader)..]);
        return b;
    }
}
