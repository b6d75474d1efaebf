using Vbase.Isa.Csrs;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Harts;

/// <summary>The hooks a hypervisor uses: host code in place of M-mode, and CSR access with M rights.</summary>
public class HostFirmwareTests
{
    private sealed class RecordingFirmware : IMachineTrapHandler
    {
        public List<(ulong Cause, ulong Tval, ulong Epc, Privilege From)> Traps { get; } = [];

        public ulong HandleMachineTrap(Hart hart, ulong cause, ulong tval, ulong epc)
        {
            Traps.Add((cause, tval, epc, hart.Privilege));
            hart.SetRegister(10, hart.GetRegister(17) * 2); // a0 = a7 * 2: a stand-in hypercall
            return epc + 4;
        }
    }

    [Fact]
    public void EcallFromSupervisorReachesTheHostAndResumesAfterIt()
    {
        using var m = new TestMachine();
        var firmware = new RecordingFirmware();
        m.Hart.MachineTrapHandler = firmware;
        m.Load(p => p.Emit(Addi(A7, Zero, 21), Ecall(), Addi(A1, A0, 1), Ebreak()));
        m.Hart.Enter(Privilege.Supervisor, TestMachine.RamBase);
        Assert.True(m.Hart.TrySetCsr(CsrAddress.Stvec, TestMachine.RamBase + 0x800));
        m.Hart.Run(3);

        Assert.Equal([(9UL, 0UL, TestMachine.RamBase + 4, Privilege.Supervisor)], firmware.Traps);
        Assert.Equal(42UL, m[A0]);
        Assert.Equal(43UL, m[A1]);
        Assert.Equal(Privilege.Supervisor, m.Hart.Privilege);
        Assert.True(m.Hart.TryGetCsr(CsrAddress.Mcause, out ulong mcause));
        Assert.Equal(0UL, mcause); // M-mode state is untouched: the host played M-mode
    }

    [Fact]
    public void DelegatedTrapsStillGoToTheGuestKernel()
    {
        using var m = new TestMachine();
        var firmware = new RecordingFirmware();
        m.Hart.MachineTrapHandler = firmware;
        m.Hart.TrySetCsr(CsrAddress.Medeleg, 1UL << (int)ExceptionCause.IllegalInstruction);
        m.Hart.TrySetCsr(CsrAddress.Stvec, TestMachine.RamBase + 0x100);
        m.Load(p => p.Emit(0u));
        m.Hart.Enter(Privilege.Supervisor, TestMachine.RamBase);
        m.Hart.Run(1);

        Assert.Empty(firmware.Traps);
        Assert.Equal(TestMachine.RamBase + 0x100, m.Hart.Pc);
        Assert.True(m.Hart.TryGetCsr(CsrAddress.Scause, out ulong scause));
        Assert.Equal((ulong)ExceptionCause.IllegalInstruction, scause);
    }

    [Fact]
    public void HostCsrAccessHasMachineRightsAndRejectsUnknownCsrs()
    {
        using var m = new TestMachine();
        m.Hart.Enter(Privilege.User, TestMachine.RamBase);
        Assert.True(m.Hart.TrySetCsr(CsrAddress.Mscratch, 0x1234));
        Assert.True(m.Hart.TryGetCsr(CsrAddress.Mscratch, out ulong v));
        Assert.Equal(0x1234UL, v);
        Assert.False(m.Hart.TryGetCsr(0x7FF, out _));
        Assert.False(m.Hart.TrySetCsr(CsrAddress.Mvendorid, 1)); // read-only
    }
}
