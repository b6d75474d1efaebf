using Vbase.Architectures;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.Boundary;

/// <summary>
/// Metadata in DRAM is what physical attacks reach: a design whose counters have no tree over them falls to a
/// rollback of the line with its counter and MAC, which the designs with a tree catch.
/// </summary>
public sealed class RollbackTests
{
    private static readonly ArchitectureRegistry Registry = BuiltInArchitectures.CreateRegistry().Register(typeof(UntreedCountersArchitecture));

    private static AttackRunResult Run(string arch, string attack) =>
        AttackRunner.Run(new AttackRunRequest(arch, attack, "vault", 1, null) { Registry = Registry });

    [Fact]
    public void ARollbackOfLineCounterAndMacBreachesCountersWithoutATree()
    {
        AttackRunResult r = Run("untreed-counters", "phys-rollback");
        Assert.True(r.Verdict == Verdict.Breached, $"{r.Verdict.Name()}: {r.Evidence}");
        Assert.Equal(Impact.Integrity, r.Impact);
        Assert.Contains("counter at 0x", r.Evidence);
        Assert.Contains("mac at 0x", r.Evidence);
    }

    [Theory]
    [InlineData("phys-replay")]      // the line alone: its MAC binds the counter, which moved on
    [InlineData("phys-spoof")]
    [InlineData("phys-splice")]
    [InlineData("phys-meta-spoof")]  // chosen bytes over its counter and MAC
    public void EverythingElseOnDramFailsTheMac(string attack)
    {
        AttackRunResult r = Run("untreed-counters", attack);
        Assert.True(r.Verdict == Verdict.Detected, $"{attack}: {r.Verdict.Name()}: {r.Evidence}");
        Assert.Contains("line MAC mismatch", r.Evidence);
    }
}
