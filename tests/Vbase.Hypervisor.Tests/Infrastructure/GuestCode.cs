using System.Text;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Abi;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Infrastructure;

/// <summary>Small S-mode guest programs, assembled inline at the kernel base.</summary>
internal static class GuestCode
{
    private static int labelCounter;

    public static ProgramBuilder New() => new(GuestLayout.KernelBase);

    public static string Fresh(string stem) => $"{stem}_{Interlocked.Increment(ref labelCounter)}";

    /// <summary>a0..a5 = args, a7 = number, ecall; the result lands in a0 (and a1 for SBI).</summary>
    public static ProgramBuilder Call(this ProgramBuilder p, ulong number, params long[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            p.Li(A0 + i, args[i]);
        }
        p.Li(A7, (long)number);
        return p.Emit(Ecall());
    }

    public static ProgramBuilder Sbi(this ProgramBuilder p, ulong extension, ulong function, params long[] args)
    {
        p.Li(A6, (long)function);
        return p.Call(extension, args);
    }

    /// <summary>sched_op shutdown(poweroff, <paramref name="code"/>).</summary>
    public static ProgramBuilder Shutdown(this ProgramBuilder p, long code = 0) =>
        p.Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Shutdown, 0, code);

    /// <summary>sched_op shutdown with the exit code taken from register <paramref name="reg"/>.</summary>
    public static ProgramBuilder ShutdownWith(this ProgramBuilder p, int reg)
    {
        p.Emit(Mv(A2, reg));
        p.Li(A0, (long)SchedOpCommand.Shutdown);
        p.Li(A1, 0);
        p.Li(A7, (long)HypercallNumber.SchedOp);
        return p.Emit(Ecall());
    }

    /// <summary>Emits the string inline (jumped over) and writes it with console_io.</summary>
    public static ProgramBuilder Print(this ProgramBuilder p, string text)
    {
        string data = Fresh("str"), after = Fresh("after");
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        p.J(after).Label(data).Bytes(bytes).Align(4).Label(after);
        p.La(A2, data);
        p.Li(A1, bytes.Length);
        p.Li(A0, (long)ConsoleIoCommand.Write);
        p.Li(A7, (long)HypercallNumber.ConsoleIo);
        return p.Emit(Ecall());
    }

    /// <summary>Where <see cref="Save"/> stores results (s11 holds it after <see cref="WithResults"/>).</summary>
    public const ulong Results = 0x803F_0000; // inside the 4 MiB a test domain gets by default

    public static ProgramBuilder WithResults(this ProgramBuilder p) => p.Li(S11, (long)Results);

    /// <summary>Stores a0 in result slot <paramref name="slot"/>.</summary>
    public static ProgramBuilder Save(this ProgramBuilder p, int slot) => p.Emit(Sd(A0, S11, slot * 8));

    /// <summary>An endless loop (the last instruction of a guest that should not get further).</summary>
    public static ProgramBuilder Hang(this ProgramBuilder p)
    {
        string l = Fresh("hang");
        return p.Label(l).J(l);
    }
}
