using A = Vbase.Isa.Encoding.Assembler;

namespace Vbase.Platform.Tests.Support;

/// <summary>
/// The instructions and idioms the device tests' small programs use: registers by ABI name, CSR numbers,
/// ending a run through the finisher, and laying out code with a trap handler.
/// </summary>
internal static class Asm
{
    public const int Zero = 0, Ra = 1, Sp = 2, T0 = 5, T1 = 6, T2 = 7, A0 = 10, A1 = 11, A2 = 12, A3 = 13, T3 = 28, T4 = 29, T5 = 30, T6 = 31;

    public const uint Mstatus = 0x300, Mie = 0x304, Mtvec = 0x305, Mepc = 0x341, Mcause = 0x342, Mip = 0x344;

    public static readonly uint Wfi = A.Wfi();

    // The hart's table-driven assembler does the encoding; these wrappers only keep the device tests terse.
    public static uint Addi(int rd, int rs1, int imm) => A.Addi(rd, rs1, imm);
    public static uint Andi(int rd, int rs1, int imm) => A.Andi(rd, rs1, imm);
    public static uint Slli(int rd, int rs1, int shamt) => A.Slli(rd, rs1, shamt);
    public static uint Or(int rd, int rs1, int rs2) => A.Or(rd, rs1, rs2);
    public static uint Lui(int rd, uint imm20) => A.Lui(rd, imm20);
    public static uint Auipc(int rd, uint imm20) => A.Auipc(rd, imm20);
    public static uint Lbu(int rd, int rs1, int imm) => A.Lbu(rd, rs1, imm);
    public static uint Lw(int rd, int rs1, int imm) => A.Lw(rd, rs1, imm);
    public static uint Sb(int rs2, int rs1, int imm) => A.Sb(rs2, rs1, imm);
    public static uint Sw(int rs2, int rs1, int imm) => A.Sw(rs2, rs1, imm);
    public static uint Sd(int rs2, int rs1, int imm) => A.Sd(rs2, rs1, imm);
    public static uint Csrrw(int rd, uint csr, int rs1) => A.Csrrw(rd, (ushort)csr, rs1);
    public static uint Csrrs(int rd, uint csr, int rs1) => A.Csrrs(rd, (ushort)csr, rs1);
    public static uint Csrrsi(int rd, uint csr, int uimm) => A.Csrrsi(rd, (ushort)csr, uimm);
    public static uint Csrr(int rd, uint csr) => Csrrs(rd, csr, Zero);
    public static uint Jal(int rd, int offset) => A.Jal(rd, offset);

    /// <summary>Loads a small constant (12-bit signed) or a device address below 2 GiB whose low 12 bits are zero.</summary>
    public static uint[] Li(int rd, uint value) =>
        value < 0x800 ? [Addi(rd, Zero, (int)value)]
        : (value & 0xFFF) == 0 && value < 0x8000_0000 ? [Lui(rd, value >> 12)]
        : throw new ArgumentOutOfRangeException(nameof(value));

    /// <summary>
    /// Ends the run through the test finisher with exit code a0: a0 = (a0 &lt;&lt; 16) | 0x3333, stored to 0x100000.
    /// Clobbers t0 and a3.
    /// </summary>
    public static uint[] ExitWithA0() =>
    [
        Slli(A0, A0, 16),
        Lui(T0, 0x100),
        Lui(A3, 0x3),
        Addi(A3, A3, 0x333),
        Or(A0, A0, A3),
        Sw(A0, T0, 0),
        Jal(Zero, 0),
    ];

    /// <summary>Lays out code at the image base, with an optional trap handler at +0x100 (mtvec points there).</summary>
    public static byte[] Image(uint[] main, uint[]? handler = null)
    {
        if (main.Length * 4 > 0x100)
        {
            throw new ArgumentException("main code must fit below the handler at +0x100", nameof(main));
        }
        uint[] words = new uint[0x100 / 4 + (handler?.Length ?? 0)];
        main.CopyTo(words, 0);
        handler?.CopyTo(words, 0x100 / 4);
        byte[] bytes = new byte[words.Length * 4];
        Buffer.BlockCopy(words, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    /// <summary>auipc t0, 0; addi t0, t0, 0x100; csrw mtvec, t0: traps go to the handler at +0x100.</summary>
    public static uint[] SetTrapVector() => [Auipc(T0, 0), Addi(T0, T0, 0x100), Csrrw(Zero, Mtvec, T0)];
}
