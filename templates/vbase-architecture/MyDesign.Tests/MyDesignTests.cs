using Vbase.Architectures;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace MyDesign.Tests;

/// <summary>Attacks the design in-process, as a campaign cell would: the vault application, seed 1, the Oracle's verdict.</summary>
public sealed class MyDesignTests
{
    private static readonly ArchitectureRegistry Registry = BuiltInArchitectures.CreateRegistry().Register(typeof(MyDesignArchitecture));

    private static AttackRunResult Attack(string attack) =>
        AttackRunner.Run(new AttackRunRequest("example-design", attack, "vault", 1, null) { Registry = Registry });

    [Fact]
    public void ASpoofedLineInDramFailsItsMac()
    {
        AttackRunResult r = Attack("phys-spoof");
        Assert.True(r.Verdict == Verdict.Detected, $"{r.Verdict.Name()}: {r.Evidence}");
    }

    [Fact]
    public void TheGuestKernelReadsOnlyCiphertext()
    {
        AttackRunResult r = Attack("os-read");
        Assert.True(r.Verdict == Verdict.Prevented, $"{r.Verdict.Name()}: {r.Evidence}");
    }
}
