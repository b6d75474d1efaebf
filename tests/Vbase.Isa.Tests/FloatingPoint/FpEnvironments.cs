using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.FloatingPoint;

/// <summary>riscv-tests' two environments for the FP tests: "p" (physical, M-mode) and "v" (Sv39 on, S-mode).</summary>
internal static class FpEnvironments
{
    /// <summary>Runs the code to its closing ecall with FS Initial, physically in M-mode or under Sv39 in S-mode.</summary>
    public static TestMachine Run(bool virtualMemory, Action<ProgramBuilder> code, Action<TestMachine>? data = null)
    {
        var m = new TestMachine();
        var p = TestMachine.Program();
        code(p);
        p.Emit(Ecall());
        m.Load(p);
        data?.Invoke(m);
        m.SetCsr(CsrAddress.Mstatus, MStatus.FsInitial);
        if (virtualMemory)
        {
            var tables = new PageTables(m);
            tables.Map(TestMachine.RamBase, TestMachine.RamBase, PageTables.Rwx | PageTables.AccessedDirty, level: 2);
            m.SetCsr(CsrAddress.Satp, tables.Satp);
            m.StartIn(Privilege.Supervisor, TestMachine.RamBase);
        }
        TrapInfo trap = m.RunToTrap();
        Assert.Equal(virtualMemory ? 9UL : 11UL, trap.Cause); // the ecall, nothing before it
        return m;
    }
}
