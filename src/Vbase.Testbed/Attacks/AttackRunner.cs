using Vbase.Architectures;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Oracle;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Attacks;

/// <summary>
/// Runs one attack against one architecture in a fresh testbed: the application VM (guest kernel + the secure
/// application), an Attacker VM when the attack needs one, the Controller, and the Oracle's verdict.
/// Thread-safe: every call builds its own hypervisor.
/// </summary>
public static class AttackRunner
{
    /// <summary>Enough for the longest application (the vault, ~11 M instructions) several times over.</summary>
    public const ulong MaxInstructions = 200_000_000;

    /// <exception cref="ArgumentException">An unknown architecture, attack or application.</exception>
    /// <exception cref="TestbedException">An output could not be written.</exception>
    public static AttackRunResult Run(AttackRunRequest request)
    {
        ArchitectureRegistry registry = request.Registry ?? BuiltInArchitectures.CreateRegistry();
        ArchitectureInfo arch = registry.Find(request.Architecture)
            ?? throw new ArgumentException($"unknown architecture '{request.Architecture}'", nameof(request));
        AttackSpec spec = AttackCatalogue.Find(request.Attack)
            ?? throw new ArgumentException($"unknown attack '{request.Attack}' (known: {string.Join(", ", AttackCatalogue.All.Select(a => a.Id))})", nameof(request));
        SecureApp app = AppCatalogue.Find(request.App)
            ?? throw new ArgumentException($"unknown application '{request.App}' (known: {string.Join(", ", AppCatalogue.Names)})", nameof(request));
        foreach (string name in request.Parameters?.Keys ?? [])
        {
            if (spec.Parameters.All(p => p.Name != name))
            {
                throw new ArgumentException($"attack {spec.Id} has no parameter '{name}' (it has: {string.Join(", ", spec.Parameters.Select(p => p.Name))})", nameof(request));
            }
        }

        bool attackerVm = spec.Position == AttackPosition.CoResidentVm;
        Scenario scenario = ScenarioOf(arch, app, spec.Id, request.Seed, attackerVm, request.ArchitectureParameters, request.Chip);
        var controller = new Controller(spec, app, request.Parameters ?? new Dictionary<string, string>(), attackerVm, request.Seed);
        var testbed = new Running.Testbed(scenario, settings =>
        {
            var host = (HypervisorHost)HypervisorHost.Create(settings with { Registry = registry });
            host.AddEventSink(controller);
            return host;
        });
        TestbedResult result = testbed.Run(new TestbedOptions(Stream.Null, request.OutDirectory, Driver: controller));
        // A plug-in that threw decides the run, whatever the Oracle saw before: the architecture was not put to the test.
        Judgement judgement = result.Failure is ArchitectureFailure failure ? new Judgement(Verdict.Error, null, failure.ToString())
            : controller.Judgement ?? new Judgement(Verdict.Error, null, "the run ended before the Controller could hand it to the Oracle");
        return new AttackRunResult(arch.Name, spec.Id, app.Name, judgement.Verdict, judgement.Impact,
            OutsideThreatModel: !arch.ThreatModel.Covers(spec.Principal), judgement.Evidence,
            request.OutDirectory is string dir ? Path.Combine(dir, Running.Testbed.EventsFile) : null,
            result.Instructions, result.VirtualTime)
        {
            Traffic = result.Traffic ?? DramTraffic.None,
        };
    }

    /// <summary>
    /// The application alone under <paramref name="architecture"/>, unattacked: the cost model's run (what crosses the
    /// chip boundary when nobody interferes). Null if the application did not finish cleanly.
    /// </summary>
    public static DramTraffic? RunCost(string architecture, string application, ulong seed, ChipOptions? chip = null,
        ArchitectureRegistry? registry = null, IReadOnlyDictionary<string, string>? architectureParameters = null)
    {
        registry ??= BuiltInArchitectures.CreateRegistry();
        ArchitectureInfo arch = registry.Find(architecture)
            ?? throw new ArgumentException($"unknown architecture '{architecture}'", nameof(architecture));
        SecureApp app = AppCatalogue.Find(application)
            ?? throw new ArgumentException($"unknown application '{application}'", nameof(application));
        Scenario scenario = ScenarioOf(arch, app, "cost", seed, attackerVm: false, architectureParameters, chip ?? new ChipOptions());
        TestbedResult result = new Running.Testbed(scenario, settings => HypervisorHost.Create(settings with { Registry = registry }))
            .Run(new TestbedOptions(Stream.Null));
        return result.Succeeded ? result.Traffic : null;
    }

    private static Scenario ScenarioOf(ArchitectureInfo arch, SecureApp app, string run, ulong seed, bool attackerVm,
        IReadOnlyDictionary<string, string>? parameters, ChipOptions chip)
    {
        DomainSpec appDomain = app.IsLinux
            ? new("app", app.MemoryBytes, 1, app.KernelPath, [], app.Bootargs, "", app.InitrdPath) { IsLinux = true }
            : new("app", app.MemoryBytes, 1, app.KernelPath, [app.ProgramPath], "", "");
        var domains = new List<DomainSpec> { appDomain };
        if (app.Network is NetworkApp net)
        {
            // The client's VM comes second (the Controller's domain ids follow this order); each card's ARP table holds the other.
            domains[0] = domains[0] with { Nic = new NicSpec(net.Server.Mac, net.Server.Ip, [(net.ClientNic.Ip, net.ClientNic.Mac)]) };
            domains.Add(new DomainSpec("client", 8UL << 20, 1, GuestImages.PathOf("kernel.elf"), [app.ClientPath!], "", "")
            {
                Nic = new NicSpec(net.ClientNic.Mac, net.ClientNic.Ip, [(net.Server.Ip, net.Server.Mac)]),
            });
        }
        if (attackerVm)
        {
            domains.Add(new DomainSpec("attacker", 8UL << 20, 1, GuestImages.PathOf("kernel.elf"), [], "attacker", ""));
        }
        return new Scenario($"({arch.Name} x {run})", $"{arch.Name}-{run}", seed, new ScenarioLimits(MaxInstructions, null, null), domains)
        {
            Architecture = arch.Name,
            ArchitectureParameters = parameters ?? new Dictionary<string, string>(),
            Chip = chip,
        };
    }
}
