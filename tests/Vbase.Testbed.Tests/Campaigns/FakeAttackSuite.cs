using System.Collections.Concurrent;
using Vbase.Architectures;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Campaigns;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.Campaigns;

/// <summary>
/// An attack suite that judges in microseconds: under <c>none</c> every attack breaches; under any other architecture
/// physical spoofs breach integrity and the rest are prevented. Cells early in the matrix take longest, so with several
/// jobs they finish out of order. With an output folder it writes a one-line events.jsonl as the real runner does.
/// </summary>
internal sealed class FakeAttackSuite : IAttackSuite
{
    private static readonly AttackParameter Delay = new("delay", "app", "instructions before the attack fires");

    public static readonly IReadOnlyList<AttackSpec> Catalogue =
    [
        new("snoop", AttackPosition.Physical, AttackGoal.Confidentiality, "read DRAM", [Delay]),
        new("spoof", AttackPosition.Physical, AttackGoal.Integrity, "overwrite a block in DRAM", [Delay, new("data", "0x41", "the byte written")]),
        new("kernel-read", AttackPosition.GuestKernel, AttackGoal.Confidentiality, "the kernel reads the page", []),
        new("dom0-read", AttackPosition.Dom0, AttackGoal.Confidentiality, "Dom0 maps and reads the frames", []),
    ];

    private readonly ArchitectureRegistry registry = BuiltInArchitectures.CreateRegistry();

    public ConcurrentQueue<AttackRunRequest> Requests { get; } = new();

    /// <summary>Replaces the evidence paragraph (to test escaping).</summary>
    public Func<AttackRunRequest, string>? Evidence { get; init; }

    /// <summary>Cells whose run throws, as "arch/attack".</summary>
    public IReadOnlySet<string> Throwing { get; init; } = new HashSet<string>();

    /// <summary>Milliseconds the first cell takes; later cells take less, down to none.</summary>
    public int SlowestMilliseconds { get; init; }

    /// <summary>What each architecture's cost run gives (null: the interface's default, no figure).</summary>
    public Func<string, Vbase.Sapi.Chip.DramTraffic?>? Cost { get; init; }

    public IReadOnlyList<AttackSpec> Attacks => Catalogue;

    public Vbase.Sapi.Chip.DramTraffic? RunCost(string architecture, string app, ulong seed, Vbase.Sapi.Chip.ChipOptions chip) => Cost?.Invoke(architecture);

    public IReadOnlyList<string> Apps => ["paper", "vault"];

    public AttackRunResult Run(AttackRunRequest request)
    {
        Requests.Enqueue(request);
        ArchitectureInfo arch = registry.Get(request.Architecture);
        AttackSpec attack = Catalogue.Single(a => a.Id == request.Attack);
        int index = registry.All.ToList().FindIndex(a => a.Name == arch.Name) * Catalogue.Count + Catalogue.ToList().IndexOf(attack);
        if (SlowestMilliseconds > 0)
        {
            Thread.Sleep(Math.Max(0, SlowestMilliseconds - index * 10));
        }
        if (Throwing.Contains($"{request.Architecture}/{request.Attack}"))
        {
            throw new InvalidOperationException("the fake harness broke\non two lines");
        }
        (Verdict verdict, Impact? impact) = arch.Name == "none" || attack.Id == "spoof"
            ? (Verdict.Breached, attack.Goal == AttackGoal.Confidentiality ? Impact.Confidentiality : Impact.Integrity)
            : (Verdict.Prevented, (Impact?)null);
        string? events = null;
        if (request.OutDirectory is string directory)
        {
            events = Path.Combine(directory, "events.jsonl");
            File.WriteAllText(events, $"{{\"kind\":\"fake\",\"attack\":\"{attack.Id}\"}}\n");
        }
        string evidence = Evidence?.Invoke(request) ?? $"{attack.Id} against {arch.Name} with seed {request.Seed}: {verdict.Name()}.";
        return new AttackRunResult(arch.Name, attack.Id, request.App, verdict, impact, !arch.ThreatModel.Covers(attack.Principal),
            evidence, events, 1000UL + (ulong)index, 2000UL + (ulong)index);
    }
}
