using System.Globalization;
using Hv = Vbase.Hypervisor.Hypervisor;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Network;
using Vbase.Platform.Loading;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Testbed.Oracle;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Attacks;

/// <summary>
/// The paper's Controller, made automatic: it runs the guests in steps, waits until the application has
/// registered its region, lets it run into secure execution for the chosen delay, fires the attack (repeatedly
/// if asked), gives multi-phase attacks their later steps, runs the guests to the end, and hands what it saw to
/// the Oracle. Every step is counted in instructions, so a run is deterministic.
/// </summary>
internal sealed class Controller(AttackSpec spec, SecureApp app, IReadOnlyDictionary<string, string> parameters, bool hasAttackerVm, ulong seed)
    : IRunDriver, IHypervisorEventSink
{
    /// <summary>Instructions per step while waiting for the guest kernel's answer or a later phase.</summary>
    private const ulong Step = 1_000, PhaseStep = 10_000;

    private readonly Attack attack = AttackCatalogue.Create(spec);
    private readonly List<HypervisorEvent> violations = [];
    private readonly List<HypervisorEvent> refusals = [];
    private HypervisorHost? host;
    private DomainId appDomain, attackerDomain, clientDomain;
    private NetworkWatch? watch;
    private NetworkLink? link;
    private bool registered, stopOnRegistration = true, stoppedForRegistration;
    private ulong start, limit;

    public AttackEvidence Evidence { get; } = new();

    /// <summary>The Oracle's verdict, set when the run is over.</summary>
    public Judgement? Judgement { get; private set; }

    public void Start(IGuestHost guests, IReadOnlyList<int> domainIds)
    {
        host = guests as HypervisorHost ?? throw new InvalidOperationException("attacks need the real hypervisor");
        appDomain = new DomainId(checked((ushort)domainIds[0]));
        // A networked application's client VM comes second, an Attacker VM after it (AttackRunner.ScenarioOf).
        int next = 1;
        if (app.Network is not null)
        {
            clientDomain = new DomainId(checked((ushort)domainIds[next++]));
        }
        if (hasAttackerVm)
        {
            attackerDomain = new DomainId(checked((ushort)domainIds[next]));
        }
    }

    public void Record(HypervisorEvent e)
    {
        switch (e.Data)
        {
            case RegionProtectedData when e.Domain == appDomain && !registered:
                registered = true;
                if (stopOnRegistration)
                {
                    // Stop right after the registering hypercall, before the application runs on.
                    stoppedForRegistration = true;
                    host!.RequestStop();
                }
                break;
            case ViolationData when Evidence.FiredAt is not null:
                violations.Add(e);
                break;
            // The application's own dropped writes (vbase drops them all) are not the attacker's.
            case ProtectedAccessData { Owner: false } when Evidence.FiredAt is not null:
                refusals.Add(e);
                break;
        }
    }

    public HostStop Drive(IGuestHost guests, ulong maxInstructions)
    {
        Hv hv = host!.Hypervisor;
        start = guests.VirtualTime;
        limit = maxInstructions;
        WatchTheWire(hv);
        HostStop? stop = WaitForRegistration(guests);
        ProtectedRegion? region = hv.Sapi.Regions.FirstOrDefault(r => r.Domain == appDomain);
        if (region is null)
        {
            Evidence.Error = "the application never registered a protected region";
            return Finish(hv, guests, stop);
        }
        if (app.IsLinux && spec.Position == AttackPosition.GuestKernel)
        {
            // Found now, before the attack fires: what the scan reads is not the attacker's.
            MailboxOf(hv, appDomain, guests);
        }
        int? givenBlock = parameters.TryGetValue("block", out string? b) && b != "app" ? ParameterValue(b) : null;
        var context = new AttackContext
        {
            Target = AttackSeeding.Block(app, spec.Id, seed, givenBlock),
            Hv = hv,
            App = appDomain,
            AttackerVm = hasAttackerVm ? attackerDomain : null,
            AppSpec = app,
            Region = region,
            Parameters = parameters,
            Evidence = Evidence,
            RunUntil = (predicate, budget) => RunUntil(guests, predicate, budget),
            Mailbox = domain => MailboxOf(hv, domain, guests),
            Network = link,
        };
        (ulong delay, AttackChoiceSource delaySource) = AttackSeeding.Delay(app, spec.Id, seed, context.GivenParameter("delay"));
        (int Block, AttackChoiceSource Source)? aim = attack.Aim(context);
        if (delay > 0 && (stop = RunSome(guests, delay)) is not null || !ApplicationAlive(hv))
        {
            Evidence.Error = string.Create(CultureInfo.InvariantCulture, $"the application finished before the attack fired ({delay} instructions after registration)");
            return Finish(hv, guests, stop);
        }
        int repeat = attack.Repeatable ? Math.Max(1, context.IntParameter("repeat", 1)) : 1;
        ulong interval = (ulong)Math.Max(1, context.IntParameter("interval", 100_000));
        for (int i = 0; i < repeat; i++)
        {
            if (i > 0 && ((stop = RunSome(guests, interval)) is not null || !ApplicationAlive(hv)))
            {
                break;
            }
            Evidence.FiredAt ??= hv.Now;
            context.Record(new AttackFiredData(spec.Id, AttackSpec.Name(spec.Position).Replace(' ', '_'), i + 1, repeat, region.Id)
            {
                Delay = delay,
                DelaySource = delaySource,
                Block = aim?.Block,
                BlockSource = aim?.Source,
            });
            attack.Fire(context);
            if (Evidence.Error is not null)
            {
                return Finish(hv, guests, stop);
            }
        }
        while (!attack.Continue(context))
        {
            if ((stop = RunSome(guests, PhaseStep)) is not null)
            {
                attack.Continue(context);
                break;
            }
        }
        context.Record(new AttackDoneData(spec.Id));
        return Finish(hv, guests, stop, context);
    }

    /// <summary>
    /// A networked application: the Oracle's observer on the bridge from the first frame (the golden request log, the
    /// server's reports), and where the two cards are, for the network attacks.
    /// </summary>
    private void WatchTheWire(Hv hv)
    {
        if (app.Network is not NetworkApp net)
        {
            return;
        }
        NetworkBridge bridge = hv.Dom0.Network;
        BridgePort? server = bridge.Ports.FirstOrDefault(p => p.Domain == appDomain);
        BridgePort? client = bridge.Ports.FirstOrDefault(p => p.Domain == clientDomain);
        if (server is null || client is null)
        {
            return;
        }
        watch = new NetworkWatch(server.Index, client.Index);
        bridge.AddObserver(watch);
        link = new NetworkLink(bridge, server.Index, client.Index, net);
    }

    internal static int ParameterValue(string value) => int.Parse(value.StartsWith("0x", StringComparison.Ordinal) ? value[2..] : value,
        value.StartsWith("0x", StringComparison.Ordinal) ? NumberStyles.HexNumber : NumberStyles.Integer, CultureInfo.InvariantCulture);

    /// <summary>Null once the application has registered its region (the run goes on); else why the run ended first.</summary>
    private HostStop? WaitForRegistration(IGuestHost guests)
    {
        stoppedForRegistration = false;
        HostStop? stop = RunSome(guests, ulong.MaxValue);
        stopOnRegistration = false;
        return stop == HostStop.Stopped && stoppedForRegistration ? null : stop ?? HostStop.InstructionLimit;
    }

    /// <summary>
    /// Runs at most <paramref name="instructions"/> within the run's limit. Null: the step ran in full and the run
    /// goes on; otherwise why the run cannot go on (<see cref="HostStop.InstructionLimit"/>: the run's limit).
    /// </summary>
    private HostStop? RunSome(IGuestHost guests, ulong instructions)
    {
        ulong used = guests.VirtualTime - start;
        if (used >= limit)
        {
            return HostStop.InstructionLimit;
        }
        ulong budget = Math.Min(instructions, limit - used);
        HostStop stop = guests.Run(budget);
        if (stop != HostStop.InstructionLimit)
        {
            return stop;
        }
        return guests.VirtualTime - start >= limit ? HostStop.InstructionLimit : null;
    }

    private bool RunUntil(IGuestHost guests, Func<bool> predicate, ulong budget)
    {
        ulong spent = 0;
        while (!predicate())
        {
            if (spent >= budget)
            {
                return false;
            }
            ulong before = guests.VirtualTime;
            HostStop? stop = RunSome(guests, Math.Min(Step, budget - spent));
            spent += Math.Max(1, guests.VirtualTime - before);
            if (stop is not null)
            {
                return predicate();
            }
        }
        return true;
    }

    private bool ApplicationAlive(Hv hv) =>
        hv.Dom0.GetInfo(appDomain).State is not (Hypervisor.Domains.DomainState.Shutdown or Hypervisor.Domains.DomainState.Destroyed);

    private readonly Dictionary<ushort, KernelMailbox> mailboxes = [];
    private ulong? mailboxGpa;

    private KernelMailbox MailboxOf(Hv hv, DomainId domain, IGuestHost guests)
    {
        if (!mailboxes.TryGetValue(domain.Value, out KernelMailbox? m))
        {
            // Linux's mailbox is a page vbase.ko allocated, found by its contents; the small kernel's is its ELF symbol.
            ulong gpa = domain == appDomain && app.IsLinux
                ? KernelMailbox.FindInRam(hv, domain) ?? 0
                : mailboxGpa ??= ElfImage.Parse("kernel.elf", GuestImages.Bytes("kernel.elf")).TryGetSymbol(KernelMailbox.Symbol, out ulong at) ? at : 0;
            m = new KernelMailbox(hv, domain, gpa, (p, b) => RunUntil(guests, p, b));
            mailboxes[domain.Value] = m;
        }
        return m;
    }

    /// <summary>The run is over (or cannot go on): the Oracle judges while the hypervisor still holds the shadow.</summary>
    private HostStop Finish(Hv hv, IGuestHost guests, HostStop? ended, AttackContext? context = null)
    {
        // Whatever happened to the attack, the guests run to their end (so that the outputs are complete).
        HostStop stop = ended ?? RunSome(guests, ulong.MaxValue) ?? HostStop.InstructionLimit;
        if (context is not null)
        {
            attack.Summarize(context);
        }
        (bool finished, string state) = Ended(guests, appDomain, stop);
        if (spec.Position == AttackPosition.Network)
        {
            (bool clientFinished, string clientState) = app.Network is null ? (true, "") : Ended(guests, clientDomain, stop);
            Judgement = NetworkOracle.Judge(new NetworkOracleInputs(spec, app, Evidence, watch, finished && clientFinished,
                app.Network is null ? $"the application {state}" : $"the server {state}; the client {clientState}", refusals));
            hv.Sapi.Record(appDomain, null, new OracleVerdictData(spec.Id, Judgement.Verdict, Judgement.Impact));
            return stop;
        }
        IReadOnlyList<ShadowMismatch> mismatches = [.. hv.Dom0.ShadowMismatches.Where(m => Evidence.FiredAt is ulong t && m.Time >= t)];
        // The hypervisor keeps the first mismatches and counts the rest; those before the attack are all kept.
        long before = hv.Dom0.ShadowMismatches.Count - mismatches.Count;
        Judgement = AttackOracle.Judge(new OracleInputs(spec, app, Evidence, mismatches, violations, refusals, finished, state)
        {
            TamperedReads = hv.Dom0.ShadowMismatchCount - before,
        });
        hv.Sapi.Record(appDomain, null, new OracleVerdictData(spec.Id, Judgement.Verdict, Judgement.Impact));
        return stop;
    }

    /// <summary>Whether a domain shut down cleanly with exit code 0, and how it ended, in words.</summary>
    private static (bool Finished, string State) Ended(IGuestHost guests, DomainId domain, HostStop stop)
    {
        DomainOutcome outcome = guests.Outcome(domain.Value);
        bool finished = outcome is { State: Running.DomainState.Shutdown, Reason: ShutdownReason.Poweroff, ExitCode: 0 };
        string state = outcome.State == Running.DomainState.Shutdown
            ? $"shut down: {outcome.Reason?.ToString().ToLowerInvariant()}, exit code {outcome.ExitCode}"
            : $"{outcome.State.ToString().ToLowerInvariant()} when the run ended ({stop.ToString().ToLowerInvariant()})";
        return (finished, state);
    }
}
