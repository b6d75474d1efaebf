using Vbase.Isa.Memory;
using Vbase.Isa.Csrs;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Execution;

public class AtomicTests
{
    private const ulong Data = TestMachine.DataBase;

    /// <summary>Runs <c>op a2, a1, (a0)</c> on a doubleword holding <paramref name="memory"/>.</summary>
    private static (ulong Rd, ulong Memory) Amo(string op, ulong memory, ulong operand)
    {
        using var m = new TestMachine();
        m.Write64(Data, memory);
        m.Write64(Data + 8, 0x5A5A_5A5A_5A5A_5A5A);
        m[A0] = Data;
        m[A1] = operand;
        m.Load(p => p.Emit(Encode(op, A2, A0, A1), Ebreak()));
        m.RunToBreak();
        Assert.Equal(0x5A5A_5A5A_5A5A_5A5AUL, m.Read64(Data + 8)); // neighbours untouched
        return (m[A2], m.Read64(Data));
    }

    // W forms touch the low word only; the old value is sign-extended into rd.
    [Theory]
    [InlineData("amoswap.w", 0x1111_1111_8000_0000UL, 0x7UL, 0xFFFF_FFFF_8000_0000UL, 0x1111_1111_0000_0007UL)]
    [InlineData("amoadd.w", 0x1111_1111_FFFF_FFFFUL, 0x2UL, 0xFFFF_FFFF_FFFF_FFFFUL, 0x1111_1111_0000_0001UL)]
    [InlineData("amoxor.w", 0x0000_0000_F0F0_F0F0UL, 0xFFFF_FFFF_FFFF_FFFFUL, 0xFFFF_FFFF_F0F0_F0F0UL, 0x0000_0000_0F0F_0F0FUL)]
    [InlineData("amoand.w", 0x2222_2222_0F0F_0F0FUL, 0x00FF_00FFUL, 0x0F0F_0F0FUL, 0x2222_2222_000F_000FUL)]
    [InlineData("amoor.w", 0x0000_0000_0000_0001UL, 0x8000_0000UL, 1UL, 0x0000_0000_8000_0001UL)]
    [InlineData("amomin.w", 0x0000_0000_0000_0005UL, 0xFFFF_FFFFUL, 5UL, 0x0000_0000_FFFF_FFFFUL)]            // min(5, -1) = -1
    [InlineData("amomin.w", 0x0000_0000_8000_0000UL, 0x7FFF_FFFFUL, 0xFFFF_FFFF_8000_0000UL, 0x8000_0000UL)]
    [InlineData("amomax.w", 0x0000_0000_8000_0000UL, 0xFFFF_F800UL, 0xFFFF_FFFF_8000_0000UL, 0xFFFF_F800UL)] // riscv-tests amomax_w
    [InlineData("amomax.w", 0x0000_0000_0000_0000UL, 1UL, 0UL, 1UL)]
    [InlineData("amominu.w", 0x0000_0000_0000_0005UL, 0xFFFF_FFFFUL, 5UL, 5UL)]
    [InlineData("amominu.w", 0x0000_0000_FFFF_FFFEUL, 0x1_FFFF_FFFFUL, 0xFFFF_FFFF_FFFF_FFFEUL, 0xFFFF_FFFEUL)] // upper operand bits ignored
    [InlineData("amomaxu.w", 0x0000_0000_0000_0005UL, 0xFFFF_FFFFUL, 5UL, 0xFFFF_FFFFUL)]
    [InlineData("amomaxu.w", 0x0000_0000_8000_0000UL, 0x7FFF_FFFFUL, 0xFFFF_FFFF_8000_0000UL, 0x8000_0000UL)]
    public void WordAmos(string op, ulong memory, ulong operand, ulong expectedRd, ulong expectedMemory) =>
        Assert.Equal((expectedRd, expectedMemory), Amo(op, memory, operand));

    [Theory]
    [InlineData("amoswap.d", 0x8000_0000_0000_0000UL, 7UL, 0x8000_0000_0000_0000UL, 7UL)]
    [InlineData("amoadd.d", 0xFFFF_FFFF_FFFF_FFFFUL, 2UL, 0xFFFF_FFFF_FFFF_FFFFUL, 1UL)]
    [InlineData("amoxor.d", 0xF0F0_F0F0_F0F0_F0F0UL, 0xFFFF_0000_FFFF_0000UL, 0xF0F0_F0F0_F0F0_F0F0UL, 0x0F0F_F0F0_0F0F_F0F0UL)]
    [InlineData("amoand.d", 0xF0F0_F0F0_F0F0_F0F0UL, 0xFFFF_0000_FFFF_0000UL, 0xF0F0_F0F0_F0F0_F0F0UL, 0xF0F0_0000_F0F0_0000UL)]
    [InlineData("amoor.d", 0xF0F0_F0F0_F0F0_F0F0UL, 0x0F00_0000_0000_000FUL, 0xF0F0_F0F0_F0F0_F0F0UL, 0xFFF0_F0F0_F0F0_F0FFUL)]
    [InlineData("amomin.d", 5UL, 0xFFFF_FFFF_FFFF_FFFFUL, 5UL, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("amomin.d", 0x8000_0000_0000_0000UL, 0x7FFF_FFFF_FFFF_FFFFUL, 0x8000_0000_0000_0000UL, 0x8000_0000_0000_0000UL)]
    [InlineData("amomax.d", 5UL, 0xFFFF_FFFF_FFFF_FFFFUL, 5UL, 5UL)]
    [InlineData("amomax.d", 0xFFFF_FFFF_FFFF_FFF0UL, 0xFFFF_FFFF_FFFF_FFF8UL, 0xFFFF_FFFF_FFFF_FFF0UL, 0xFFFF_FFFF_FFFF_FFF8UL)]
    [InlineData("amominu.d", 5UL, 0xFFFF_FFFF_FFFF_FFFFUL, 5UL, 5UL)]
    [InlineData("amomaxu.d", 5UL, 0xFFFF_FFFF_FFFF_FFFFUL, 5UL, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData("amomaxu.d", 0x8000_0000_0000_0000UL, 0x7FFF_FFFF_FFFF_FFFFUL, 0x8000_0000_0000_0000UL, 0x8000_0000_0000_0000UL)]
    public void DoublewordAmos(string op, ulong memory, ulong operand, ulong expectedRd, ulong expectedMemory) =>
        Assert.Equal((expectedRd, expectedMemory), Amo(op, memory, operand));

    [Fact]
    public void AmoWithRdEqualToRs2ReturnsTheOldValue()
    {
        using var m = new TestMachine();
        m.Write64(Data, 10);
        m[A0] = Data;
        m[A1] = 5;
        m.Load(p => p.Emit(AmoaddD(A1, A1, A0), Ebreak()));
        m.RunToBreak();
        Assert.Equal(10UL, m[A1]);
        Assert.Equal(15UL, m.Read64(Data));
    }

    [Fact]
    public void LoadReservedThenStoreConditionalSucceeds()
    {
        using var m = new TestMachine();
        m.Write64(Data, 0xFFFF_FFFF_8765_4321);
        m[A0] = Data;
        m.Load(p => p.Emit(LrW(A1, A0), Addi(A2, A1, 1), ScW(A3, A2, A0), LrD(A4, A0), Addi(A5, A4, 1), ScD(A6, A5, A0), Ebreak()));
        m.RunToBreak();
        Assert.Equal(0xFFFF_FFFF_8765_4321UL, m[A1]);   // lr.w sign-extends
        Assert.Equal(0UL, m[A3]);                        // success
        Assert.Equal(0xFFFF_FFFF_8765_4322UL, m[A4]);
        Assert.Equal(0UL, m[A6]);
        Assert.Equal(0xFFFF_FFFF_8765_4323UL, m.Read64(Data));
    }

    [Fact]
    public void StoreConditionalWithoutReservationFailsAndStoresNothing()
    {
        using var m = new TestMachine();
        m.Write64(Data, 77);
        m[A0] = Data;
        m[A1] = 99;
        m.Load(p => p.Emit(ScD(A2, A1, A0), ScW(A3, A1, A0), Ebreak()));
        m.RunToBreak();
        Assert.Equal(1UL, m[A2]);
        Assert.Equal(1UL, m[A3]);
        Assert.Equal(77UL, m.Read64(Data));
    }

    [Fact]
    public void StoreConditionalToAnotherAddressFails()
    {
        using var m = new TestMachine();
        m.Write64(Data, 1);
        m.Write64(Data + 64, 2);
        m[A0] = Data;
        m[A1] = Data + 64;
        m[A2] = 99;
        m.Load(p => p.Emit(LrD(T0, A0), ScD(T1, A2, A1), Ebreak()));
        m.RunToBreak();
        Assert.NotEqual(0UL, m[T1]);
        Assert.Equal(2UL, m.Read64(Data + 64));
        Assert.Equal(1UL, m.Read64(Data));
    }

    [Fact]
    public void SecondStoreConditionalAfterSuccessFails()
    {
        using var m = new TestMachine();
        m[A0] = Data;
        m.Load(p => p.Emit(Addi(A1, Zero, 5), Addi(A2, Zero, 6), LrD(T0, A0), ScD(T1, A1, A0), ScD(T2, A2, A0), Ebreak()));
        m.RunToBreak();
        Assert.Equal(0UL, m[T1]);
        Assert.Equal(1UL, m[T2]);
        Assert.Equal(5UL, m.Read64(Data));
    }

    [Fact]
    public void TrapBetweenLoadReservedAndStoreConditionalClearsTheReservation()
    {
        using var m = new TestMachine();
        // The handler skips the ecall and returns; the SC after it must fail.
        m.Load(p =>
        {
            p.La(T0, "handler");
            p.Emit(Csrw(CsrAddress.Mtvec, T0));
            p.Li(A0, (long)Data).Li(A1, 42);
            p.Emit(LrD(T1, A0), Ecall(), ScD(T2, A1, A0), Ebreak());
            p.Align(4);
            p.Label("handler");
            p.Emit(Csrr(T3, CsrAddress.Mepc), Addi(T3, T3, 4), Csrw(CsrAddress.Mepc, T3));
            p.La(T3, "done").Emit(Csrw(CsrAddress.Mtvec, T3), Mret());
            p.Align(4);
            p.Label("done");
            p.Emit(Sb(Zero, Zero, 0));
        });
        m.RunToTrap();
        Assert.Equal((ulong)ExceptionCause.Breakpoint, m.Csr(CsrAddress.Mcause));
        Assert.Equal(1UL, m[T2]);
        Assert.Equal(0UL, m.Read64(Data));
    }

    [Fact]
    public void StoreByThisHartToTheReservedAddressIsAllowedToKeepOrDropTheReservation()
    {
        // The spec lets an SC succeed after an ordinary store by the same hart; it must then store its value.
        using var m = new TestMachine();
        m[A0] = Data;
        m.Load(p => p.Emit(Addi(A1, Zero, 3), Addi(A2, Zero, 4), LrD(T0, A0), Sd(A1, A0, 0), ScD(T1, A2, A0), Ebreak()));
        m.RunToBreak();
        Assert.Equal(m[T1] == 0 ? 4UL : 3UL, m.Read64(Data));
    }

    [Theory]
    [InlineData("lr.w", 2, ExceptionCause.LoadAddressMisaligned)]
    [InlineData("lr.d", 4, ExceptionCause.LoadAddressMisaligned)]
    [InlineData("sc.w", 1, ExceptionCause.StoreAddressMisaligned)]
    [InlineData("sc.d", 4, ExceptionCause.StoreAddressMisaligned)]
    [InlineData("amoadd.w", 2, ExceptionCause.StoreAddressMisaligned)]
    [InlineData("amoswap.d", 4, ExceptionCause.StoreAddressMisaligned)]
    [InlineData("amomaxu.d", 7, ExceptionCause.StoreAddressMisaligned)]
    public void MisalignedAtomicsRaiseAddressMisaligned(string op, int misalignment, ExceptionCause cause)
    {
        using var m = new TestMachine();
        m.Write64(Data, 0x1234);
        m.Write64(Data + 8, 0x5678);
        ulong address = Data + (ulong)misalignment;
        m[A0] = address;
        m[A1] = 0xFFFF;
        m[A2] = 0xAAAA;
        m.Load(p => p.Emit(Encode(op, A2, A0, A1), Ebreak()));
        Assert.Equal(new TrapInfo((ulong)cause, TestMachine.RamBase, address), m.RunToTrap());
        Assert.Equal(0xAAAAUL, m[A2]);
        Assert.Equal(0x1234UL, m.Read64(Data));
        Assert.Equal(0x5678UL, m.Read64(Data + 8));
    }

    [Theory]
    [InlineData("lr.d", ExceptionCause.LoadAccessFault)]
    [InlineData("sc.d", ExceptionCause.StoreAccessFault)]
    [InlineData("amoor.w", ExceptionCause.StoreAccessFault)]
    public void AtomicsOnUnmappedAddressesRaiseAccessFaults(string op, ExceptionCause cause)
    {
        using var m = new TestMachine();
        const ulong unmapped = 0x2000_0008;
        m[A0] = unmapped;
        m.Load(p => p.Emit(Encode(op, A2, A0, A1), Ebreak()));
        Assert.Equal(new TrapInfo((ulong)cause, TestMachine.RamBase, unmapped), m.RunToTrap());
    }

    [Fact]
    public void AmoOnADevicePageReadsThenWritesThroughTheSlowPath()
    {
        using var m = new TestMachine();
        m[A0] = TestMemory.MmioPage + 8;
        m[A1] = 0xF0;
        m.Load(p => p.Emit(Encode("amoor.w", A2, A0, A1), Ebreak()));
        m.RunToBreak();
        Assert.Equal(
            [
                new DeviceAccess(TestMemory.MmioPage + 8, 4, false, 0, MemoryAccess.Load),
                new DeviceAccess(TestMemory.MmioPage + 8, 4, true, 0xF0, MemoryAccess.Store),
            ],
            m.Memory.DeviceAccesses);
        Assert.Equal(0UL, m[A2]);
    }

    [Fact]
    public void ScOnADevicePageWithAReservationStoresThroughTheSlowPath()
    {
        using var m = new TestMachine();
        m[A0] = TestMemory.MmioPage + 16;
        m[A1] = 0x1234_5678_9ABC_DEF0;
        m.Load(p => p.Emit(Encode("lr.d", A3, A0, Zero), Encode("sc.d", A2, A0, A1), Ebreak()));
        m.RunToBreak();
        Assert.Equal(0UL, m[A2]);
        Assert.Equal(new DeviceAccess(TestMemory.MmioPage + 16, 8, true, 0x1234_5678_9ABC_DEF0, MemoryAccess.Store), m.Memory.DeviceAccesses[^1]);
    }
}
