using System.Globalization;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Debugging;
using Vbase.Isa.Harts;
using Vbase.Platform.Loading;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Monitoring;

// The REPL's debugger commands (docs/monitor.md, "Stepping and breakpoints"): step, break, delete, virtual addresses
// (v:ADDR) and firing a catalogue attack by hand. Breakpoints and steps use the harts' own debug support
// (Isa/Debugging), so translated code stops exactly where the interpreter would.
internal sealed partial class MonitorSession
{
    private const ulong AttackPhaseStep = 10_000, AttackStep = 1_000;

    /// <summary>Per vCPU hart: the monitor's debugger on it, and which domain and vCPU it is.</summary>
    private readonly Dictionary<Hart, (HartDebugger Debugger, DomainId Domain, int Vcpu)> debuggers = [];
    /// <summary>Breakpoints: virtual address, and the domain it is for (null: every guest domain).</summary>
    private readonly List<(ulong Address, string? Domain)> breakpoints = [];
    /// <summary>The stop that ended the last run command, reported by it.</summary>
    private (DebugStop Stop, DomainId Domain, int Vcpu)? debugStop;

    private HartDebugger DebuggerOf(DebugDomain domain, int vcpu)
    {
        Hart hart = domain.Harts[vcpu];
        if (debuggers.TryGetValue(hart, out var known))
        {
            return known.Debugger;
        }
        var d = new HartDebugger();
        DomainId id = domain.Id;
        d.Stopped = (h, stop) =>
        {
            // Stop the whole run at this instruction boundary: the hart returns before running anything more.
            debugStop = (stop, id, vcpu);
            hv.RequestStop();
            return DebugResume.Continue;
        };
        hart.Debugger = d;
        debuggers[hart] = (d, id, vcpu);
        return d;
    }

    private DebugDomain GuestDomain(string nameOrId) =>
        DebugDomain.Find(hv, nameOrId) ?? throw new ArgumentException($"no guest domain '{nameOrId}'");

    private IEnumerable<DebugDomain> GuestDomains(string? only) =>
        only is not null ? [GuestDomain(only)] : hv.Dom0.ListDomains().Where(d => d.Id.Value != 0).Select(d => DebugDomain.Find(hv, d.Name)).OfType<DebugDomain>();

    /// <summary><c>break [ADDR [DOMAIN]]</c>: a breakpoint at virtual ADDR for every vCPU (of DOMAIN, or of every guest domain); no argument lists them.</summary>
    private void Break(string[] args)
    {
        if (args.Length == 0)
        {
            if (breakpoints.Count == 0)
            {
                monitor.Print("no breakpoints");
            }
            foreach (var (address, domain) in breakpoints)
            {
                monitor.Print(string.Create(CultureInfo.InvariantCulture, $"break 0x{address:x} {domain ?? "(every domain)"}"));
            }
            return;
        }
        ulong at = Number(args[0], "address");
        string? only = args.Length > 1 ? args[1] : null;
        foreach (DebugDomain d in GuestDomains(only))
        {
            for (int v = 0; v < d.Harts.Count; v++)
            {
                DebuggerOf(d, v).InsertBreakpoint(at);
            }
        }
        breakpoints.Add((at, only));
        monitor.Print(string.Create(CultureInfo.InvariantCulture, $"breakpoint at 0x{at:x} ({(only is null ? "every guest domain" : "dom " + GuestDomain(only).Id.Value)}, virtual address)"));
    }

    /// <summary><c>delete [ADDR|all]</c>: removes breakpoints (all of them without an argument).</summary>
    private void Delete(string[] args)
    {
        bool all = args.Length == 0 || args[0] == "all";
        ulong at = all ? 0 : Number(args[0], "address");
        int removed = breakpoints.RemoveAll(b => all || b.Address == at);
        foreach (var (debugger, _, _) in debuggers.Values)
        {
            foreach (ulong pc in debugger.Breakpoints.Where(pc => all || pc == at).ToArray())
            {
                debugger.RemoveBreakpoint(pc);
            }
        }
        monitor.Print(removed == 0 ? "no such breakpoint" : string.Create(CultureInfo.InvariantCulture, $"deleted {removed} breakpoint{(removed == 1 ? "" : "s")}"));
    }

    /// <summary>
    /// <c>step [N] [DOMAIN [VCPU]]</c>: runs one vCPU (default: the first guest domain's vCPU 0) N instructions (default 1),
    /// the others running meanwhile as the scheduler interleaves them; prints where it stands.
    /// </summary>
    private bool StepCommand(string[] args, ulong limit, out HostStop? external)
    {
        external = null;
        int at = 0;
        ulong n = 1;
        if (args.Length > 0 && WatchRule.TryParseAddress(args[0], out ulong count))
        {
            n = count > 0 && count <= 1_000_000 ? count : throw new ArgumentException("step takes 1 to 1000000 instructions");
            at = 1;
        }
        DebugDomain domain = args.Length > at ? GuestDomain(args[at]) : GuestDomains(null).FirstOrDefault() ?? throw new ArgumentException("no guest domain");
        int vcpu = args.Length > at + 1 ? (int)Number(args[at + 1], "vcpu") : 0;
        if (vcpu < 0 || vcpu >= domain.Harts.Count)
        {
            throw new ArgumentException($"dom {domain.Id.Value} has no vcpu {vcpu}");
        }
        HartDebugger debugger = DebuggerOf(domain, vcpu);
        Hart hart = domain.Harts[vcpu];
        for (ulong i = 0; i < n; i++)
        {
            if (domain.IsShutdown)
            {
                monitor.Print($"dom {domain.Id.Value} ({domain.Name}) has shut down");
                return true;
            }
            debugger.RequestStep();
            debugStop = null;
            HypervisorRunResult result = hv.Run(limit - Math.Min(executed, limit));
            executed += result.Instructions;
            if (debugStop is not ({ Kind: DebugStopKind.Step } stop, _, _) || stop.Pc != hart.Pc || debuggers[hart].Domain != domain.Id)
            {
                // Something else ended the run first: a breakpoint, a rule, the limit, Ctrl-C.
                return ReportStop(Convert(result.Stop), result, limit, out external);
            }
            debugStop = null;
        }
        monitor.Print(string.Create(CultureInfo.InvariantCulture,
            $"dom {domain.Id.Value} vcpu {vcpu}: stepped {n}, now at pc 0x{hart.Pc:x} {hart.Privilege}-mode: {Disassemble(domain, vcpu, hart.Pc)} (t={hv.Now})"));
        return true;
    }

    /// <summary>A run command ended on a debugger stop: says which; false if the run stopped otherwise (handled by the caller).</summary>
    private bool ReportDebugStop(string at)
    {
        if (debugStop is not var (stop, domain, vcpu))
        {
            return false;
        }
        debugStop = null;
        string what = stop.Kind == DebugStopKind.Breakpoint ? "breakpoint" : "stop";
        monitor.Print(string.Create(CultureInfo.InvariantCulture,
            $"{what} at 0x{stop.Pc:x}: dom {domain.Value} ({monitor.DomainName(domain.Value)}) vcpu {vcpu} ({at})"));
        return true;
    }

    private string Disassemble(DebugDomain domain, int vcpu, ulong pc)
    {
        Span<byte> raw = stackalloc byte[4];
        int n = domain.Read(vcpu, pc, raw, []);
        if (n < 2)
        {
            return "(not readable)";
        }
        uint word = (raw[0] & 3) != 3 || n < 4 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(raw) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(raw);
        return Isa.Decoding.Disassembler.Disassemble(word, pc);
    }

    /// <summary>
    /// Reads for <c>x/</c> and <c>mem</c>: a guest-physical address as Dom0 reads it, or <c>v:ADDR</c> (<c>v:ADDR@VCPU</c>),
    /// a virtual address through the vCPU's page tables as that vCPU's current context reads it (the architecture's view).
    /// Returns the bytes read; <paramref name="label"/> says which address space.
    /// </summary>
    private int ReadAt(DomainInfo domain, string address, Span<byte> dest, out ulong start, out string label)
    {
        if (!address.StartsWith("v:", StringComparison.Ordinal))
        {
            start = Number(address, "gpa");
            label = string.Create(CultureInfo.InvariantCulture, $"dom {domain.Id.Value}");
            int readable = dest.Length;
            while (readable > 0 && hv.Dom0.ReadGuest(domain.Id, new GuestPhysicalAddress(start), dest[..readable]) != 0)
            {
                readable -= 2; // the last words may lie past the end of RAM
            }
            return Math.Max(0, readable);
        }
        string text = address[2..];
        int vcpu = 0;
        int atSign = text.IndexOf('@');
        if (atSign >= 0)
        {
            vcpu = (int)Number(text[(atSign + 1)..], "vcpu");
            text = text[..atSign];
        }
        start = Number(text, "virtual address");
        DebugDomain d = GuestDomain(domain.Name);
        if (vcpu < 0 || vcpu >= d.Harts.Count)
        {
            throw new ArgumentException($"dom {domain.Id.Value} has no vcpu {vcpu}");
        }
        var notes = new List<DebugReadNote>();
        int n = d.Read(vcpu, start, dest, notes);
        foreach (DebugReadNote note in notes.DistinctBy(x => x.VirtualAddress >> PageSize.Shift))
        {
            monitor.Print(string.Create(CultureInfo.InvariantCulture,
                $"v:0x{note.VirtualAddress:x} is in protected region {note.Region}; vcpu {vcpu} ({(note.Accessor == Accessor.GuestUser ? "user mode" : "the kernel")}) sees {ViewName(note.View)}"));
        }
        label = string.Create(CultureInfo.InvariantCulture, $"dom {domain.Id.Value} vcpu {vcpu} v");
        return n;
    }

    private static string ViewName(PageView? view) => view switch
    {
        PageView.Plaintext => "plaintext",
        PageView.Abort => "an abort page",
        PageView.Fault => "nothing (refused)",
        _ => "the bytes in DRAM",
    };

    /// <summary>
    /// <c>attack NAME [region=ID] [app=paper|vault|paper-linux|vault-linux] [KEY=VALUE…]</c>: fires a catalogue attack now, at this instruction
    /// boundary, on a protected region (default: the first active one), as the Controller fires it, and prints what
    /// it did and saw. Later phases run the guests in steps of 10,000 instructions. No verdict: that needs a whole run
    /// (vbase campaign); attacks from a co-resident VM need its Attacker VM and are for campaigns too.
    /// </summary>
    private bool AttackCommand(string[] args, ulong limit, out HostStop? external)
    {
        external = null;
        Need(args, 1, "attack NAME [region=ID] [app=paper|vault|paper-linux|vault-linux] [KEY=VALUE…] (vbase list attacks)");
        AttackSpec spec = AttackCatalogue.Find(args[0]) ?? throw new ArgumentException($"no attack '{args[0]}' (vbase list attacks)");
        if (spec.Position == AttackPosition.CoResidentVm)
        {
            throw new ArgumentException($"{spec.Id} runs in an Attacker VM: fire it from a campaign (vbase campaign)");
        }
        if (spec.Position == AttackPosition.Network)
        {
            // Its taps sit on the bridge between the bank's two VMs, which a campaign sets up before the run starts.
            throw new ArgumentException($"{spec.Id} acts on the wire between the bank's VMs: fire it from a campaign (vbase campaign --app net-plain or net-sealed)");
        }
        var parameters = new Dictionary<string, string>();
        foreach (string a in args.Skip(1))
        {
            int eq = a.IndexOf('=');
            if (eq <= 0)
            {
                throw new ArgumentException($"'{a}' is not KEY=VALUE");
            }
            parameters[a[..eq]] = a[(eq + 1)..];
        }
        ProtectedRegion region = (parameters.Remove("region", out string? id)
            ? hv.Sapi.Regions.FirstOrDefault(r => r.Id.ToString(CultureInfo.InvariantCulture) == id)
            : hv.Sapi.Regions.FirstOrDefault(r => r.IsActive))
            ?? throw new ArgumentException(id is null ? "no active protected region yet (run until one is registered)" : $"no region {id}");
        SecureApp app = (parameters.Remove("app", out string? appName) ? AppCatalogue.Find(appName) : AppCatalogue.All[0])
            ?? throw new ArgumentException($"no app '{appName}' (known: {string.Join(", ", AppCatalogue.Names)})");
        Attack attack = AttackCatalogue.Create(spec);
        var evidence = new AttackEvidence();
        var mailboxes = new Dictionary<ushort, KernelMailbox>();
        // By hand: the block given, else the application's default (no seed picks one here).
        (int, AttackChoiceSource) target = parameters.TryGetValue("block", out string? block) && block != "app"
            ? (Controller.ParameterValue(block), AttackChoiceSource.Parameter)
            : (app.Block, AttackChoiceSource.App);
        var context = new AttackContext
        {
            Target = target,
            Hv = hv,
            App = region.Domain,
            AppSpec = app,
            Region = region,
            Parameters = parameters,
            Evidence = evidence,
            RunUntil = (predicate, budget) => RunUntil(predicate, budget, limit),
            Mailbox = domain =>
            {
                if (!mailboxes.TryGetValue(domain.Value, out KernelMailbox? m))
                {
                    // A Linux-hosted application's mailbox is vbase.ko's page (docs/linux.md); the small kernel's, its symbol.
                    ulong gpa = app.IsLinux && domain == region.Domain ? KernelMailbox.FindInRam(hv, domain) ?? 0
                        : ElfImage.Parse("kernel.elf", GuestImages.Bytes("kernel.elf")).TryGetSymbol(KernelMailbox.Symbol, out ulong a) ? a : 0;
                    m = mailboxes[domain.Value] = new KernelMailbox(hv, domain, gpa, (p, b) => RunUntil(p, b, limit));
                }
                return m;
            },
        };
        evidence.FiredAt = hv.Now;
        context.Record(new AttackFiredData(spec.Id, AttackSpec.Name(spec.Position).Replace(' ', '_'), 1, 1, region.Id));
        attack.Fire(context);
        while (evidence.Error is null && !attack.Continue(context))
        {
            HypervisorRunResult result = hv.Run(Math.Min(AttackPhaseStep, limit - Math.Min(executed, limit)));
            executed += result.Instructions;
            if (result.Stop != HypervisorStop.InstructionLimit || executed >= limit)
            {
                attack.Continue(context);
                break;
            }
        }
        context.Record(new AttackDoneData(spec.Id));
        monitor.Print(string.Create(CultureInfo.InvariantCulture, $"attack {spec.Id} on region {region.Id} at t={evidence.FiredAt}"));
        foreach (string action in evidence.Actions)
        {
            monitor.Print("  did: " + action);
        }
        foreach (var (what, bytes) in evidence.Observed)
        {
            monitor.Print($"  saw: {what}: {System.Convert.ToHexStringLower(bytes.AsSpan(0, Math.Min(bytes.Length, 32)))}{(bytes.Length > 32 ? "…" : "")}");
        }
        if (evidence.Error is string error)
        {
            monitor.Print("  error: " + error);
        }
        if (evidence.Inconclusive is string why)
        {
            monitor.Print("  inconclusive: " + why);
        }
        return true;
    }

    /// <summary>Runs the guests in steps until <paramref name="predicate"/> holds (an attack waiting on the guest kernel).</summary>
    private bool RunUntil(Func<bool> predicate, ulong budget, ulong limit)
    {
        ulong spent = 0;
        while (!predicate())
        {
            if (spent >= budget || executed >= limit)
            {
                return false;
            }
            HypervisorRunResult result = hv.Run(Math.Min(Math.Min(AttackStep, budget - spent), limit - executed));
            executed += result.Instructions;
            spent += Math.Max(1, result.Instructions);
            if (result.Stop != HypervisorStop.InstructionLimit)
            {
                return predicate();
            }
        }
        return true;
    }
}
