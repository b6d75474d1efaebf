using Vbase.Isa.Harts;
using Vbase.Testbed.Adversarial;

namespace Vbase.Testbed.Tests.Adversarial;

/// <summary>
/// The short version of the random-code soak (docs/adversarial.md): a few cases per architecture and mode, each
/// run under the translator and the interpreter and compared, next to the canary.
/// </summary>
public class CodeFuzzerTests
{
    public static TheoryData<string, bool> ArchitecturesAndModes()
    {
        var data = new TheoryData<string, bool>();
        foreach (string arch in FuzzRunner.AllArchitectures())
        {
            data.Add(arch, false);
            data.Add(arch, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ArchitecturesAndModes))]
    public void RandomCodeRunsAlikeUnderBothEnginesAndLeavesTheCanaryAlone(string architecture, bool userMode)
    {
        for (ulong i = 0; i < 2; i++)
        {
            ulong seed = 100 + (2 * i) + (userMode ? 1UL : 0); // odd seeds run in U-mode
            FuzzCaseResult r = CodeFuzzer.RunCase(architecture, seed, instructions: 30_000);

            Assert.True(r.Failures.Count == 0, string.Join("\n", r.Failures));
            Assert.True(r.Instructions > 30_000, $"seed {seed}: only {r.Instructions} instructions over both engines");
        }
    }

    [Fact]
    public void TheGeneratorIsDeterministicAndTheSeedMatters()
    {
        byte[] a = new RandomCode(42, userMode: false, 300).Program.ToArray();
        byte[] b = new RandomCode(42, userMode: false, 300).Program.ToArray();
        byte[] c = new RandomCode(43, userMode: false, 300).Program.ToArray();

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void TheComparedStateCoversRegistersMemoryAndEvents()
    {
        var r = new FuzzCaseResult();
        string? a = CodeFuzzer.FinalState(ExecutionEngine.Translator, "vbase", 8, 30_000, 300, r);
        string? again = CodeFuzzer.FinalState(ExecutionEngine.Translator, "vbase", 8, 30_000, 300, r);
        string? other = CodeFuzzer.FinalState(ExecutionEngine.Translator, "vbase", 9, 30_000, 300, r);

        Assert.Empty(r.Failures);
        Assert.Equal(a, again);
        Assert.NotEqual(a, other);
        Assert.Contains("\nx31 0x", a, StringComparison.Ordinal);
        Assert.Contains("\ncsr 0x180 ", a, StringComparison.Ordinal);
        Assert.Contains("\npage 0x80300000 ", a, StringComparison.Ordinal);
        Assert.Contains("\nevents ", a, StringComparison.Ordinal);
        // Seed 9 is odd: its block runs in U-mode, so its traps came from the block's user alias at 0x4022_0000.
        string Sepc(string state) => state.Split('\n').Single(l => l.StartsWith("csr 0x141 ", StringComparison.Ordinal));
        Assert.StartsWith("csr 0x141 0x4022", Sepc(other!), StringComparison.Ordinal);
        Assert.StartsWith("csr 0x141 0x80", Sepc(a!), StringComparison.Ordinal); // seed 8 is even: S-mode, identity-mapped
    }
}
