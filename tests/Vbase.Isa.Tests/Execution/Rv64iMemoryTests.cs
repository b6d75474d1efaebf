using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Execution;

public class Rv64iMemoryTests
{
    private const ulong Data = TestMachine.DataBase;

    /// <summary>Bytes 0x80..0x8F at Data: every byte has its top bit set, so sign extension shows.</summary>
    private static TestMachine WithPattern()
    {
        var m = new TestMachine();
        m.Write64(Data, 0x8786_8584_8382_8180);
        m.Write64(Data + 8, 0x0F8E_7D8C_8B8A_8988);
        return m;
    }

    [Theory]
    [InlineData("lb", 0, 0xFFFF_FFFF_FFFF_FF80UL)]
    [InlineData("lbu", 0, 0x80UL)]
    [InlineData("lb", 15, 0x0FUL)]
    [InlineData("lh", 0, 0xFFFF_FFFF_FFFF_8180UL)]
    [InlineData("lhu", 0, 0x8180UL)]
    [InlineData("lh", 14, 0x0F8EUL)]
    [InlineData("lw", 0, 0xFFFF_FFFF_8382_8180UL)]
    [InlineData("lwu", 0, 0x8382_8180UL)]
    [InlineData("lw", 12, 0x0F8E_7D8CUL)]
    [InlineData("lwu", 4, 0x8786_8584UL)]
    [InlineData("ld", 0, 0x8786_8584_8382_8180UL)]
    [InlineData("ld", 8, 0x0F8E_7D8C_8B8A_8988UL)]
    public void LoadsExtendBySignednessAndWidth(string op, int offset, ulong expected)
    {
        using TestMachine m = WithPattern();
        // Reach the byte through a negative immediate as well as a positive one.
        m[A0] = Data + (ulong)offset + 100;
        m[A1] = Data;
        m.Load(p => p.Emit(Encode(op, A2, A0, imm: -100), Encode(op, A3, A1, imm: offset), Ebreak()));
        m.RunToBreak();
        Assert.Equal(expected, m[A2]);
        Assert.Equal(expected, m[A3]);
    }

    [Theory]
    [InlineData("sb", 1, 0xAAAA_AAAA_AAAA_EFAAUL)]
    [InlineData("sh", 2, 0xAAAA_AAAA_CDEF_AAAAUL)]
    [InlineData("sw", 4, 0x89AB_CDEF_AAAA_AAAAUL)]
    [InlineData("sd", 0, 0x0123_4567_89AB_CDEFUL)]
    public void StoresWriteOnlyTheirWidth(string op, int offset, ulong expected)
    {
        using var m = new TestMachine();
        m.Write64(Data, 0xAAAA_AAAA_AAAA_AAAA);
        m.Write64(Data + 8, 0xAAAA_AAAA_AAAA_AAAA);
        m[A0] = Data;
        m[A1] = 0x0123_4567_89AB_CDEF;
        m.Load(p => p.Emit(Encode(op, rs1: A0, rs2: A1, imm: offset), Ebreak()));
        m.RunToBreak();
        Assert.Equal(expected, m.Read64(Data));
        Assert.Equal(0xAAAA_AAAA_AAAA_AAAAUL, m.Read64(Data + 8));
    }

    [Fact]
    public void StoreThenLoadEveryWidthWithNegativeOffsets()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(S0, (long)Data + 64).Li(T0, unchecked((long)0xFEDC_BA98_7654_3210));
            p.Emit(Sd(T0, S0, -64), Sw(T0, S0, -48), Sh(T0, S0, -40), Sb(T0, S0, -32));
            p.Emit(Ld(A0, S0, -64), Lw(A1, S0, -48), Lh(A2, S0, -40), Lb(A3, S0, -32));
            p.Emit(Lwu(A4, S0, -48), Lhu(A5, S0, -40), Lbu(A6, S0, -32), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0xFEDC_BA98_7654_3210UL, m[A0]);
        Assert.Equal(0x7654_3210UL, m[A1]);
        Assert.Equal(0x3210UL, m[A2]);
        Assert.Equal(0x10UL, m[A3]);
        Assert.Equal(0x7654_3210UL, m[A4]);
        Assert.Equal(0x3210UL, m[A5]);
        Assert.Equal(0x10UL, m[A6]);
    }

    // The hart performs misaligned accesses (the spec allows that instead of a trap), also across pages.
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(0xFFD)]
    [InlineData(0xFFF)]
    public void MisalignedAccessesArePerformed(int offset)
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(S0, (long)Data + offset).Li(T0, unchecked((long)0x1122_3344_5566_7788));
            p.Emit(Sd(T0, S0, 0), Ld(A0, S0, 0), Lw(A1, S0, 0), Lhu(A2, S0, 0), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0x1122_3344_5566_7788UL, m[A0]);
        Assert.Equal(0x5566_7788UL, m[A1]);
        Assert.Equal(0x7788UL, m[A2]);
        Assert.Equal(0x1122_3344_5566_7788UL, m.Read64(Data + (ulong)offset));
    }

    [Fact]
    public void DevicePageAccessesGoThroughTheSlowPath()
    {
        using var m = new TestMachine();
        m.Load(p =>
        {
            p.Li(S0, (long)TestMemory.MmioPage).Li(T0, 0x1234_5678_9ABC);
            p.Emit(Sd(T0, S0, 8), Sh(T0, S0, 2), Lw(A0, S0, 8), Lbu(A1, S0, 3), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0x5678_9ABCUL, m[A0]);
        Assert.Equal(0x9AUL, m[A1]);
        Assert.Equal(
            [
                new DeviceAccess(TestMemory.MmioPage + 8, 8, true, 0x1234_5678_9ABC, Memory.MemoryAccess.Store),
                new DeviceAccess(TestMemory.MmioPage + 2, 2, true, 0x9ABC, Memory.MemoryAccess.Store),
                new DeviceAccess(TestMemory.MmioPage + 8, 4, false, 0x5678_9ABC, Memory.MemoryAccess.Load),
                new DeviceAccess(TestMemory.MmioPage + 3, 1, false, 0x9A, Memory.MemoryAccess.Load),
            ],
            m.Memory.DeviceAccesses);
    }

    [Fact]
    public void RamPagesOnTheSlowPathBehaveLikeRam()
    {
        using var m = new TestMachine();
        m.Memory.ForceSlowPath(Data);
        m.Load(p =>
        {
            p.Li(S0, (long)Data).Li(T0, -2);
            p.Emit(Sd(T0, S0, 0xFFC - 0x800), Sw(T0, S0, 16), Lb(A0, S0, 16), Lwu(A1, S0, 16), Ebreak());
        });
        m.RunToBreak();
        Assert.Equal(0xFFFF_FFFF_FFFF_FFFEUL, m[A0]);
        Assert.Equal(0xFFFF_FFFEUL, m[A1]);
        Assert.Equal(0xFFFF_FFFF_FFFF_FFFEUL, m.Read64(Data + 0x7FC));
    }

    [Theory]
    [InlineData("lw", ExceptionCause.LoadAccessFault)]
    [InlineData("ld", ExceptionCause.LoadAccessFault)]
    [InlineData("lbu", ExceptionCause.LoadAccessFault)]
    [InlineData("sw", ExceptionCause.StoreAccessFault)]
    [InlineData("sb", ExceptionCause.StoreAccessFault)]
    public void UnmappedPhysicalAddressesRaiseAccessFaults(string op, ExceptionCause cause)
    {
        using var m = new TestMachine();
        const ulong hole = 0x4000_0010;
        m[S0] = hole;
        m[A0] = 0x5555;
        uint insn = op.StartsWith('s') ? Encode(op, rs1: S0, rs2: A0, imm: 4) : Encode(op, A0, S0, imm: 4);
        m.Load(p => p.Emit(insn, Ebreak()));
        TrapInfo t = m.RunToTrap();
        Assert.Equal(new TrapInfo((ulong)cause, TestMachine.RamBase, hole + 4), t);
        Assert.Equal(0x5555UL, m[A0]); // a faulting load leaves rd alone
    }

    [Fact]
    public void FaultingDevicePageRaisesAccessFaults()
    {
        using var m = new TestMachine();
        m.Memory.MmioFaults = true;
        m[S0] = TestMemory.MmioPage;
        m.Load(p => p.Emit(Sw(Zero, S0, 0x40), Ebreak()));
        Assert.Equal(new TrapInfo((ulong)ExceptionCause.StoreAccessFault, TestMachine.RamBase, TestMemory.MmioPage + 0x40), m.RunToTrap());
    }
}
