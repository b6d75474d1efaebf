using Vbase.Isa.Encoding;
using Vbase.Isa.Traps;

namespace Vbase.Isa.Tests.Infrastructure;

public static class PrivilegeRuns
{
    /// <summary>
    /// Loads <paramref name="code"/> at RAM base, enters it in <paramref name="privilege"/> through mret and runs
    /// until the first trap reaches the M handler (end the code with <c>ecall</c>).
    /// </summary>
    public static TrapInfo RunIn(this TestMachine m, Privilege privilege, Action<ProgramBuilder> code)
    {
        var p = TestMachine.Program();
        code(p);
        m.Load(p);
        m.StartIn(privilege, TestMachine.RamBase);
        return m.RunToTrap();
    }

    public static ExceptionCause EcallFrom(Privilege privilege) => privilege switch
    {
        Privilege.User => ExceptionCause.EcallFromU,
        Privilege.Supervisor => ExceptionCause.EcallFromS,
        _ => ExceptionCause.EcallFromM,
    };
}
