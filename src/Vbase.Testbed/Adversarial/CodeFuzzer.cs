using System.Text;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Isa.Harts;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using static Vbase.Isa.Csrs.CsrAddress;

namespace Vbase.Testbed.Adversarial;

/// <summary>
/// Random code (<see cref="RandomCode"/>) in S- or U-mode inside a guest domain, next to the <see cref="Canary"/>,
/// run twice: under the translator (translating after <see cref="TranslationThreshold"/> heat, so the code really
/// runs translated) and under the interpreter. Both runs must end in the same state — registers, pc, privilege,
/// instret, the S-level CSRs, the domain's state, RAM and console, the run's result and the event stream — and
/// leave the canary intact.
/// </summary>
public static class CodeFuzzer
{
    public const string Name = "code";
    public const int TranslationThreshold = 16;
    private const ulong Memory = 4UL << 20;
    private static readonly ushort[] ComparedCsrs = [Sstatus, Sie, Sip, Stvec, Sscratch, Sepc, Scause, Stval, Satp];

    /// <summary>
    /// Runs one case: <paramref name="items"/> random items (each one to a few instructions) in the mode the seed
    /// picks (odd seeds U-mode), for <paramref name="instructions"/> instructions under each engine.
    /// </summary>
    public static FuzzCaseResult RunCase(string architecture, ulong seed, ulong instructions, int items = 300)
    {
        var result = new FuzzCaseResult();
        var code = new RandomCode(seed, userMode: (seed & 1) != 0, items);
        byte[] image = code.Program.ToArray();
        string? translated = Run(ExecutionEngine.Translator, architecture, seed, image, instructions, result);
        string? interpreted = Run(ExecutionEngine.Interpreter, architecture, seed, image, instructions, result);
        if (translated is not null && interpreted is not null && translated != interpreted)
        {
            result.Fail(Name, architecture, seed, FuzzFailureKind.Divergence, FirstDifference(translated, interpreted));
        }
        return result;
    }

    /// <summary>One engine's final state for a case, as <see cref="RunCase"/> compares it (diagnostics, tests).</summary>
    internal static string? FinalState(ExecutionEngine engine, string architecture, ulong seed, ulong instructions, int items, FuzzCaseResult result) =>
        Run(engine, architecture, seed, new RandomCode(seed, userMode: (seed & 1) != 0, items).Program.ToArray(), instructions, result);

    /// <summary>One engine's run; returns its final state as text (null if the run failed otherwise).</summary>
    internal static string? Run(ExecutionEngine engine, string architecture, ulong seed, byte[] image, ulong instructions, FuzzCaseResult result)
    {
        FuzzMachine? machine = null;
        try
        {
            machine = new FuzzMachine(architecture, seed, engine, engine == ExecutionEngine.Translator ? TranslationThreshold : null, slice: 10_000);
            Hypervisor.Hypervisor hv = machine.Hv;
            if (machine.Canary.Start(hv) is string problem)
            {
                result.Fail(Name, architecture, seed, FuzzFailureKind.IsolationBreak, $"{engine}: {problem}");
                return null;
            }
            DomainHandle fuzzer = hv.Dom0.CreateDomain(new DomainConfig { Name = "fuzzer", Kernel = image, MemoryBytes = Memory });
            hv.Dom0.Unpause(fuzzer.Id);
            ulong eventsBefore = machine.EventCount;
            HypervisorRunResult run;
            try
            {
                run = hv.Run(instructions);
            }
            finally
            {
                result.Instructions += hv.Dom0.GetInfo(fuzzer.Id).Instructions;
            }
            foreach (string p in machine.Canary.Check(hv).Concat(machine.Canary.CheckFuzzerMappings(hv, fuzzer.Id)))
            {
                result.Fail(Name, architecture, seed, FuzzFailureKind.IsolationBreak, $"{engine}: {p}");
            }
            return State(hv, fuzzer.Id, run, machine, eventsBefore);
        }
        catch (Exception e)
        {
            result.Fail(Name, architecture, seed, FuzzFailureKind.HostException,
                $"{engine}: {e.GetType().Name}: {Running.Testbed.OneLine(e.Message)} at {HypercallFuzzer.FirstFrame(e)}");
            return null;
        }
        finally
        {
            if (machine is not null)
            {
                result.AddEvents(machine.EventKinds);
                machine.Dispose();
            }
        }
    }

    /// <summary>Everything the two engines must agree on, one item per line.</summary>
    private static string State(Hypervisor.Hypervisor hv, DomainId d, HypervisorRunResult run, FuzzMachine machine, ulong eventsBefore)
    {
        var s = new StringBuilder();
        s.Append("run ").Append(run.Stop).Append(' ').Append(run.Instructions).Append(" time ").Append(run.VirtualTime).Append('\n');
        DomainInfo info = hv.Dom0.GetInfo(d);
        s.Append("domain ").Append(info.State).Append(' ').Append(info.Reason).Append(' ').Append(info.ExitCode)
            .Append(" instructions ").Append(info.Instructions).Append('\n');
        if (info.State != DomainState.Destroyed)
        {
            s.Append("pc 0x").Append(hv.Dom0.GetPc(d, 0).ToString("x")).Append(' ').Append(hv.Dom0.GetPrivilege(d, 0))
                .Append(" instret ").Append(hv.Dom0.GetInstret(d, 0)).Append('\n');
            for (int r = 1; r < 32; r++)
            {
                s.Append('x').Append(r).Append(" 0x").Append(hv.Dom0.GetRegister(d, 0, r).ToString("x")).Append('\n');
            }
            foreach (ushort csr in ComparedCsrs)
            {
                s.Append("csr 0x").Append(csr.ToString("x")).Append(' ')
                    .Append(hv.Dom0.TryGetCsr(d, 0, csr, out ulong v) ? "0x" + v.ToString("x") : "-").Append('\n');
            }
            byte[] ram = new byte[Memory];
            int error = hv.Dom0.ReadGuest(d, new GuestPhysicalAddress(GuestLayout.RamBase), ram);
            s.Append("ram ").Append(error).Append(' ').Append(Fnv(ram).ToString("x16")).Append('\n');
            for (ulong page = 0; page < Memory >> 12 && error == 0; page++)
            {
                // Per-page hashes, so a divergence names the page.
                s.Append("page 0x").Append((GuestLayout.RamBase + (page << 12)).ToString("x")).Append(' ')
                    .Append(Fnv(ram.AsSpan((int)(page << 12), 4096)).ToString("x16")).Append('\n');
            }
            s.Append("console ").Append(Fnv(Encoding.UTF8.GetBytes(hv.Dom0.ReadConsole(d))).ToString("x16")).Append('\n');
        }
        s.Append("events ").Append(machine.EventCount - eventsBefore).Append(' ').Append(machine.EventHash.ToString("x16")).Append('\n');
        foreach (var (kind, count) in machine.EventKinds)
        {
            s.Append("event ").Append(kind).Append(' ').Append(count).Append('\n');
        }
        return s.ToString();
    }

    private static ulong Fnv(ReadOnlySpan<byte> bytes)
    {
        ulong h = 0xCBF2_9CE4_8422_2325UL;
        foreach (byte b in bytes)
        {
            h = (h ^ b) * 0x0000_0100_0000_01B3UL;
        }
        return h;
    }

    private static string FirstDifference(string translated, string interpreted)
    {
        string[] a = translated.Split('\n'), b = interpreted.Split('\n');
        var diffs = new List<string>();
        for (int i = 0; i < Math.Min(a.Length, b.Length) && diffs.Count < 4; i++)
        {
            if (a[i] != b[i])
            {
                diffs.Add($"translator '{a[i]}' vs interpreter '{b[i]}'");
            }
        }
        return diffs.Count == 0 ? "states differ in length" : string.Join("; ", diffs);
    }
}
