using System.Text;
using Vbase.Isa.Csrs;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Translation;

/// <summary>The first point where the translated hart and the reference interpreter disagreed.</summary>
public sealed class LockstepDivergenceException(string message) : Exception(message);

/// <summary>
/// Runs a hart that translates (the subject) and a hart that only interprets (the reference) side by side on
/// two copies of the same machine, one translated block at a time, and compares their architectural state
/// after every block: registers, pc, privilege, cycle and instret, the trap and status CSRs, and (every
/// <c>memoryCheckInterval</c> blocks and at the end) memory, through the caller's comparison.
/// </summary>
public sealed class Lockstep
{
    private static readonly ushort[] ComparedCsrs =
    [
        CsrAddress.Mstatus, CsrAddress.Mepc, CsrAddress.Mcause, CsrAddress.Mtval, CsrAddress.Mtvec, CsrAddress.Mie,
        CsrAddress.Mip, CsrAddress.Mscratch, CsrAddress.Medeleg, CsrAddress.Mideleg, CsrAddress.Sstatus, CsrAddress.Sie,
        CsrAddress.Sip, CsrAddress.Sepc, CsrAddress.Scause, CsrAddress.Stval, CsrAddress.Stvec, CsrAddress.Sscratch,
        CsrAddress.Satp,
    ];

    private readonly Hart subject, reference;
    private readonly Func<string?>? compareMemory;
    private readonly int memoryCheckInterval;

    /// <param name="subject">The hart under test (normally <see cref="ExecutionEngine.Translator"/>).</param>
    /// <param name="reference">The same machine with <see cref="ExecutionEngine.Interpreter"/>.</param>
    /// <param name="compareMemory">Describes how the two memories differ, or null if they do not.</param>
    public Lockstep(Hart subject, Hart reference, Func<string?>? compareMemory = null, int memoryCheckInterval = 256)
    {
        this.subject = subject;
        this.reference = reference;
        this.compareMemory = compareMemory;
        this.memoryCheckInterval = Math.Max(1, memoryCheckInterval);
    }

    /// <summary>Steps compared so far (a translated block, or one interpreted instruction).</summary>
    public ulong Steps { get; private set; }
    /// <summary>Steps in which the subject ran more than one instruction as a translated block.</summary>
    public ulong TranslatedSteps { get; private set; }

    /// <summary>
    /// Runs both harts for up to <paramref name="maxInstructions"/> instructions, until one stops or idles.
    /// Throws <see cref="LockstepDivergenceException"/> at the first step after which they differ.
    /// </summary>
    public HartExit Run(ulong maxInstructions)
    {
        ulong start = subject.Cycle;
        while (true)
        {
            ulong done = subject.Cycle - start;
            if (done >= maxInstructions)
            {
                CheckMemory();
                return HartExit.InstructionLimit;
            }
            ulong pc = subject.Pc;
            int length = (int)Math.Min((ulong)subject.NextBlockLength, maxInstructions - done);
            HartExit subjectExit = subject.Run((ulong)length);
            HartExit referenceExit = reference.Run((ulong)length);
            Steps++;
            if (length > 1)
            {
                TranslatedSteps++;
            }
            string? difference = Difference(subject, reference);
            if (difference is null && subjectExit != referenceExit)
            {
                difference = $"run ended with {subjectExit}, reference with {referenceExit}";
            }
            if (difference is null && Steps % (ulong)memoryCheckInterval == 0)
            {
                difference = compareMemory?.Invoke();
            }
            if (difference is not null)
            {
                throw new LockstepDivergenceException(
                    $"after step {Steps} ({length} instruction(s) from pc 0x{pc:x}, cycle {subject.Cycle}): {difference}");
            }
            if (subjectExit != HartExit.InstructionLimit)
            {
                CheckMemory();
                return subjectExit;
            }
        }
    }

    private void CheckMemory()
    {
        if (compareMemory?.Invoke() is { } difference)
        {
            throw new LockstepDivergenceException($"at the end (step {Steps}, cycle {subject.Cycle}): {difference}");
        }
    }

    /// <summary>How two harts' architectural states differ (what lockstep compares after a step), or null if they do not.</summary>
    public static string? Difference(Hart subject, Hart reference)
    {
        var differences = new StringBuilder();
        void Compare(string what, ulong actual, ulong expected)
        {
            if (actual != expected)
            {
                differences.Append($"{what} = 0x{actual:x}, reference 0x{expected:x}; ");
            }
        }
        Compare("pc", subject.Pc, reference.Pc);
        Compare("privilege", (ulong)subject.Privilege, (ulong)reference.Privilege);
        Compare("cycle", subject.Cycle, reference.Cycle);
        Compare("instret", subject.Instret, reference.Instret);
        Compare("wfi", subject.IsWaitingForInterrupt ? 1UL : 0, reference.IsWaitingForInterrupt ? 1UL : 0);
        for (int r = 1; r < 32; r++)
        {
            Compare($"x{r}", subject.GetRegister(r), reference.GetRegister(r));
        }
        for (int r = 0; r < 32; r++)
        {
            Compare($"f{r}", subject.GetFloatRegister(r), reference.GetFloatRegister(r));
        }
        Compare("fcsr", subject.Fcsr, reference.Fcsr); // directly: the CSR is not readable while FS is Off
        foreach (ushort csr in ComparedCsrs)
        {
            subject.TryGetCsr(csr, out ulong actual);
            reference.TryGetCsr(csr, out ulong expected);
            Compare($"csr 0x{csr:x}", actual, expected);
        }
        return differences.Length == 0 ? null : differences.ToString().TrimEnd(' ', ';');
    }
}
