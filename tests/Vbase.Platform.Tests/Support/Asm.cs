namespace Vbase.Platform.Tests.Support;

/// <summary>
/// Just enough of an RV64 assembler to write the small programs the device tests run: each method encodes
/// one instruction from its fields.
/// </summary>
internal static class Asm
{
    public const int Zero = 0, Ra = 1, Sp = 2, T0 = 5, T1 = 6, T2 = 7, A0 = 10, A1 = 11, A2 = 12, A3 = 13, T3 = 28, T4 = 29, T5 = 30, T6 = 31;

    public const uint Mstatus = 0x300, Mie = 0x304, Mtvec = 0x305, Mepc = 0x341, Mcause = 0x342, Mip = 0x344;

    public const uint Wfi = 0x1050_0073;
    public const uint Mret = 0x3020_0073;

    private static uint I(uint op, int rd, uint f3, int rs1, int imm) =>
        ((uint)(imm & 0xFFF) << 20) | ((uint)rs1 << 15) | (f3 << 12) | ((uint)rd << 7) | op;

    private static uint S(uint f3, int rs2, int rs1, int imm) =>
        ((uint)((imm >> 5) & 0x7F) << 25) | ((uint)rs2 << 20) | ((uint)rs1 << 15) | (f3 << 12) | ((uint)(imm & 0x1F) << 7) | 0x23;

    public static uint Addi(int rd, int rs1, int imm) => I(0x13, rd, 0, rs1, imm);
    public static uint Andi(int rd, int rs1, int imm) => I(0x13, rd, 7, rs1, imm);
    public static uint Slli(int rd, int rs1, int shamt) => I(0x13, rd, 1, rs1, shamt);
    public static uint Or(int rd, int rs1, int rs2) => ((uint)rs2 << 20) | ((uint)rs1 << 15) | (6u << 12) | ((uint)rd << 7) | 0x33;
    public static uint Lui(int rd, uint imm20) => (imm20 << 12) | ((uint)rd << 7) | 0x37;
    public static uint Auipc(int rd, uint imm20) => (imm20 << 12) | ((uint)rd << 7) | 0x17;
    public static uint Lbu(int rd, int rs1, int imm) => I(0x03, rd, 4, rs1, imm);
    public static uint Lw(int rd, int rs1, int imm) => I(0x03, rd, 2, rs1, imm);
    public static uint Ld(int rd, int rs1, int imm) => I(0x03, rd, 3, rs1, imm);
    public static uint Sb(int rs2, int rs1, int imm) => S(0, rs2, rs1, imm);
    public static uint Sw(int rs2, int rs1, int imm) => S(2, rs2, rs1, imm);
    public static uint Sd(int rs2, int rs1, int imm) => S(3, rs2, rs1, imm);
    public static uint Csrrw(int rd, uint csr, int rs1) => I(0x73, rd, 1, rs1, (int)csr);
    public static uint Csrrs(int rd, uint csr, int rs1) => I(0x73, rd, 2, rs1, (int)csr);
    public static uint Csrrsi(int rd, uint csr, int uimm) => I(0x73, rd, 6, uimm, (int)csr);
    public static uint Csrr(int rd, uint csr) => Csrrs(rd, csr, Zero);

    public static uint Jal(int rd, int offset) =>
        ((uint)((offset >> 20) & 1) << 31) | ((uint)((offset >> 1) & 0x3FF) << 21) | ((uint)((offset >> 11) & 1) << 20)
        | ((uint)((offset >> 12) & 0xFF) << 12) | ((uint)rd << 7) | 0x6F;

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
