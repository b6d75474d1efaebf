using Vbase.Isa.Harts;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Testbed.Adversarial;

namespace Vbase.Testbed.Tests.Adversarial;

/// <summary>The short version of the hypercall fuzzer's soak (docs/adversarial.md): a few thousand calls per architecture.</summary>
public class HypercallFuzzerTests
{
    public static TheoryData<string> Architectures() => [.. FuzzRunner.AllArchitectures()];

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ThousandsOfRandomHypercallsBreakNoIsolationAndThrowNothing(string architecture)
    {
        FuzzCaseResult r = HypercallFuzzer.RunCase(architecture, seed: 0x5EED, calls: 3000);

        Assert.Empty(r.Failures);
        Assert.Equal(3000UL, r.Hypercalls); // the fuzzer survived to its last call
        // It reached the interesting paths: denials, refused and live grants, and the architecture's vbase_op.
        Assert.True(r.Events.GetValueOrDefault("hypercall.denied") > 0, "no hypercall was denied");
        Assert.True(r.Events.GetValueOrDefault("grant.refused") > 0, "no grant was refused");
        Assert.True(r.Events.GetValueOrDefault("grant.mapped") > 0, "the canary's grant was never mapped");
        Assert.True(r.Events.GetValueOrDefault("sapi.vbase_op") > 0, "vbase_op never reached the architecture");
    }

    [Fact]
    public void TheFuzzRegistersAndReleasesRegions()
    {
        FuzzCaseResult r = HypercallFuzzer.RunCase("none", seed: 3, calls: 3000);

        Assert.Empty(r.Failures);
        Assert.True(r.Events.GetValueOrDefault("sapi.region_protected") > 0, "no region was ever protected");
        Assert.True(r.Events.GetValueOrDefault("sapi.region_released") > 0, "no region was ever released");
    }

    [Fact]
    public void TheSameSeedGivesTheSameCaseUnderEitherEngine()
    {
        FuzzCaseResult a = HypercallFuzzer.RunCase("vbase", seed: 11, calls: 1000);
        FuzzCaseResult b = HypercallFuzzer.RunCase("vbase", seed: 11, calls: 1000, ExecutionEngine.Interpreter);
        FuzzCaseResult c = HypercallFuzzer.RunCase("vbase", seed: 12, calls: 1000);

        Assert.Equal(a.Instructions, b.Instructions);
        Assert.Equal(a.Events, b.Events);
        Assert.NotEqual(a.Instructions, c.Instructions); // the seed drives the guest
    }

    [Fact]
    public void TheCanaryCheckSeesMemoryRegistersAndP2mChanges()
    {
        using var machine = new FuzzMachine("none", 5, ExecutionEngine.Interpreter, null, 10_000);
        var hv = machine.Hv;
        Assert.Null(machine.Canary.Start(hv));
        Assert.Empty(machine.Canary.Check(hv));

        Assert.Equal(0, hv.Dom0.WriteGuest(machine.Canary.Id, new GuestPhysicalAddress(Canary.PatternGpa + 0x808), [0x55]));
        hv.Dom0.SetRegister(machine.Canary.Id, 0, 9, 1234); // s1
        List<string> problems = machine.Canary.Check(hv);

        Assert.Contains(problems, p => p.Contains("memory at 0x80300808", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("RAM at 0x80300808", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("canary x9 = 0x4d2", StringComparison.Ordinal));

        Gfn gfn = new GuestPhysicalAddress(Canary.PatternGpa + 0x4000).Gfn;
        P2mEntry e = hv.Dom0.GetP2mEntry(machine.Canary.Id, gfn);
        hv.Dom0.SetP2mEntry(machine.Canary.Id, gfn, e with { Type = P2mType.RamRo });
        Assert.Contains(machine.Canary.Check(hv), p => p.StartsWith("canary p2m changed", StringComparison.Ordinal));
    }

    [Fact]
    public void AFuzzerMappingOfACanaryFrameIsABreak()
    {
        using var machine = new FuzzMachine("none", 5, ExecutionEngine.Interpreter, null, 10_000);
        var hv = machine.Hv;
        Assert.Null(machine.Canary.Start(hv));
        var fuzzer = hv.Dom0.CreateDomain(new Hypervisor.Domains.DomainConfig
        {
            Name = "fuzzer",
            Kernel = HypercallFuzzer.Program(1, 10).ToArray(),
            MemoryBytes = 4UL << 20,
        });
        Assert.Empty(machine.Canary.CheckFuzzerMappings(hv, fuzzer.Id));

        Mfn canaryFrame = hv.Dom0.GetP2mEntry(machine.Canary.Id, new GuestPhysicalAddress(Canary.PatternGpa + 0x3000).Gfn).Mfn;
        hv.Dom0.SetP2mEntry(fuzzer.Id, new Gfn(0x90010), new P2mEntry(canaryFrame, P2mType.RamRw));

        Assert.Contains(machine.Canary.CheckFuzzerMappings(hv, fuzzer.Id), p => p.StartsWith("fuzzer p2m", StringComparison.Ordinal));
    }
}
