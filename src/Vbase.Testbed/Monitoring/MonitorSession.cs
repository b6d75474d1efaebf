using System.Globalization;
using System.Text;
using Hv = Vbase.Hypervisor.Hypervisor;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Monitoring;

/// <summary>
/// The Monitor inside one testbed run: attaches it to the hypervisor before the domains are built, then drives
/// the run, either straight to its end or command by command (the REPL, docs/monitor.md).
/// </summary>
internal sealed partial class MonitorSession
{
    private const int DefaultReadLength = 16;

    private readonly MonitorSetup setup;
    private readonly Hv hv;
    private readonly Dom0Monitor monitor;
    private readonly string? outDirectory;
    private ulong executed;
    private HostStop? last;

    private MonitorSession(MonitorSetup setup, HypervisorHost host, Action<string> output, string? outDirectory)
    {
        this.setup = setup;
        this.outDirectory = outDirectory;
        hv = host.Hypervisor;
        monitor = Dom0Monitor.Attach(host, new MonitorOptions { Output = setup.Output ?? output, Rules = setup.Rules, SnapshotDirectory = outDirectory, Quiet = setup.Quiet });
        setup.Monitor = monitor;
    }

    public const string LogFile = "monitor.log";

    /// <exception cref="TestbedException">The host is not the real hypervisor (the monitor needs Dom0's API).</exception>
    public static MonitorSession Start(MonitorSetup setup, IGuestHost host, Action<string> output, string? outDirectory) =>
        host is HypervisorHost real
            ? new MonitorSession(setup, real, output, outDirectory)
            : throw new TestbedException(TestbedStage.Host, "the monitor needs the real hypervisor (Dom0's privileged API)");

    public Dom0Monitor Monitor => monitor;

    /// <summary>Runs to the end (no REPL) or as the commands say; returns why the run ended.</summary>
    public HostStop Drive(ulong limit)
    {
        if (setup.Commands is not TextReader commands)
        {
            HostStop stop = Convert(hv.Run(limit).Stop);
            if (stop == HostStop.Stopped && monitor.StopReason is string reason)
            {
                setup.StopReason = reason;
            }
            return stop;
        }
        monitor.Print($"ready at t={hv.Now}: domains built and unpaused, no instruction run yet; 'help' lists the commands");
        while (commands.ReadLine() is string line)
        {
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }
            if (setup.EchoCommands)
            {
                monitor.Print("> " + trimmed);
            }
            try
            {
                if (!Execute(trimmed, limit, out HostStop? external))
                {
                    return Finish(external);
                }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or MonitorScriptException)
            {
                monitor.Print("error: " + e.Message.ReplaceLineEndings(" "));
            }
        }
        // The end of the commands is a quit: the run ends where it stands.
        return Finish(null);
    }

    /// <summary>Prints the counters and writes monitor.log (after the run).</summary>
    public void Finish()
    {
        monitor.PrintCounters();
        if (outDirectory is string directory)
        {
            try
            {
                File.WriteAllText(Path.Combine(directory, LogFile), string.Concat(monitor.Lines.Select(l => l + "\n")));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TestbedException(TestbedStage.Outputs, $"cannot write {Path.Combine(directory, LogFile)}: {Testbed.Running.Testbed.OneLine(e.Message)}");
            }
        }
    }

    private HostStop Finish(HostStop? external)
    {
        if (external is HostStop stop)
        {
            return stop;
        }
        if (last is HostStop done && done != HostStop.Stopped)
        {
            return done;
        }
        setup.StopReason = "quit";
        return HostStop.Stopped;
    }

    /// <summary>False: the REPL ends (quit, or the run was stopped from outside: Ctrl-C, timeout).</summary>
    private bool Execute(string line, ulong limit, out HostStop? external)
    {
        external = null;
        List<(string Word, int Column)> words = CommandLine.Split(line);
        string command = words[0].Word;
        string[] args = [.. words.Skip(1).Select(w => w.Word)];
        switch (command)
        {
            case "help":
                monitor.Print("commands: domains | regions | read REGION [OFFSET] [LENGTH] [dram|plain|shadow|all] | mem DOMAIN GPA [LENGTH] [dom0|dram] | "
                    + "regs DOMAIN [VCPU] | x/Nx DOMAIN GPA|v:VA[@VCPU] | x/Ni DOMAIN GPA|v:VA[@VCPU] | write DOMAIN GPA HEX | quiet on|off | "
                    + "step [N] [DOMAIN [VCPU]] | break [VA [DOMAIN]] | delete [VA|all] | attack NAME [region=ID] [app=NAME] [KEY=VALUE…] | "
                    + "watch KEY=VALUE… do=ACTIONS | watches | unwatch NAME|all | counters | pause DOMAIN | resume DOMAIN | run N | continue | quit");
                return true;
            case "domains":
                foreach (DomainInfo d in hv.Dom0.ListDomains())
                {
                    string how = d.Reason is null ? "" : $" {d.Reason.ToString()!.ToLowerInvariant()}" + (d.ExitCode is long c ? string.Create(CultureInfo.InvariantCulture, $" exit {c}") : "");
                    monitor.Print(string.Create(CultureInfo.InvariantCulture,
                        $"dom {d.Id.Value} {d.Name}: {d.State.ToString().ToLowerInvariant()}{how}, {d.Instructions} instructions, {d.VcpuCount} vcpu, {d.MemoryBytes >> 20} MiB"));
                }
                return true;
            case "regions":
                IReadOnlyList<RegionReport> regions = hv.Dom0.QueryRegions();
                if (regions.Count == 0)
                {
                    monitor.Print("no protected regions");
                }
                foreach (RegionReport r in regions)
                {
                    monitor.Print(string.Create(CultureInfo.InvariantCulture,
                        $"region {r.Id}: dom {r.Domain.Value} ({monitor.DomainName(r.Domain.Value)}) vcpu {r.Vcpu} va 0x{r.VirtualAddress.Value:x} {r.Gfns.Count} page{(r.Gfns.Count == 1 ? "" : "s")} gfn 0x{r.Gfns[0].Value:x} mfn 0x{r.Mfns[0].Value:x} {(r.Active ? "active" : "released")} since t={r.ProtectedAt}")
                        + (r.State.Count > 0 ? "; " + string.Join(", ", r.State.Select(kv => $"{kv.Key} {kv.Value}")) : ""));
                }
                return true;
            case "read":
                ReadRegion(args);
                return true;
            case "mem":
                ReadGuest(args);
                return true;
            case "regs":
                Registers(args);
                return true;
            case "write":
                WriteGuest(args);
                return true;
            case "quiet":
                Need(args, 1, "quiet on|off");
                monitor.Quiet = args[0] switch { "on" => true, "off" => false, _ => throw new ArgumentException($"'{args[0]}' is not on or off") };
                monitor.Print($"quiet {args[0]}: the built-in per-event lines are {(monitor.Quiet ? "off" : "on")}");
                return true;
            case var x when x.StartsWith("x/", StringComparison.Ordinal):
                Examine(x, args);
                return true;
            case "watch":
                string ruleText = line[words[0].Word.Length..].Trim();
                WatchRule rule = monitor.AddWatch(MonitorScriptLoader.ParseLine(ruleText, monitor.NextRuleNumber,
                    domains: [.. hv.Dom0.ListDomains().Select(d => d.Name)]));
                monitor.Print($"watch {rule}");
                return true;
            case "watches":
                if (monitor.Watches.Count == 0)
                {
                    monitor.Print("no watches");
                }
                foreach (WatchRule w in monitor.Watches)
                {
                    monitor.Print($"watch {w}");
                }
                return true;
            case "unwatch":
                Need(args, 1, "unwatch NAME|all");
                if (args[0] == "all")
                {
                    monitor.ClearWatches();
                    monitor.Print("no watches");
                }
                else
                {
                    monitor.Print(monitor.RemoveWatch(args[0]) ? $"unwatched {args[0]}" : $"error: no watch named '{args[0]}'");
                }
                return true;
            case "counters":
                monitor.PrintCounters();
                return true;
            case "pause":
            case "resume":
                Need(args, 1, $"{command} DOMAIN");
                DomainInfo target = FindDomain(args[0]);
                if (command == "pause")
                {
                    hv.Dom0.Pause(target.Id);
                }
                else
                {
                    hv.Dom0.Unpause(target.Id);
                }
                monitor.Print($"dom {target.Id.Value} ({target.Name}) {(command == "pause" ? "paused" : "resumed")}");
                return true;
            case "run":
                Need(args, 1, "run N");
                ulong n = WatchRule.TryParseAddress(args[0], out ulong count) && count > 0 ? count : throw new ArgumentException($"'{args[0]}' is not a number of instructions");
                return RunFor(Math.Min(n, limit - Math.Min(executed, limit)), limit, out external);
            case "continue":
                return RunFor(limit - Math.Min(executed, limit), limit, out external);
            case "step":
                return StepCommand(args, limit, out external);
            case "break":
                Break(args);
                return true;
            case "delete":
                Delete(args);
                return true;
            case "attack":
                return AttackCommand(args, limit, out external);
            case "quit":
                return false;
            default:
                monitor.Print($"error: unknown command '{command}' ('help' lists the commands)");
                return true;
        }
    }

    private bool RunFor(ulong budget, ulong limit, out HostStop? external)
    {
        external = null;
        if (budget == 0)
        {
            monitor.Print(string.Create(CultureInfo.InvariantCulture, $"the instruction limit {limit} is reached; nothing more runs"));
            last = HostStop.InstructionLimit;
            return true;
        }
        debugStop = null;
        HypervisorRunResult result = hv.Run(budget);
        executed += result.Instructions;
        return ReportStop(Convert(result.Stop), result, limit, out external);
    }

    /// <summary>Says why a run command ended; false if the REPL must end (Ctrl-C, the timeout).</summary>
    private bool ReportStop(HostStop stop, HypervisorRunResult result, ulong limit, out HostStop? external)
    {
        external = null;
        string at = string.Create(CultureInfo.InvariantCulture, $"t={result.VirtualTime}, {executed} instructions in all");
        switch (stop)
        {
            case HostStop.Stopped when ReportDebugStop(at):
                last = HostStop.Stopped;
                return true;
            case HostStop.Stopped when monitor.StopReason is string reason:
                monitor.Print($"stopped by {reason} ({at})");
                monitor.ClearStop();
                last = HostStop.Stopped;
                return true;
            case HostStop.Stopped:
                // Ctrl-C or the wall-clock timeout: the run ends as it would without the REPL.
                external = HostStop.Stopped;
                return false;
            case HostStop.AllShutDown:
                monitor.Print($"every domain has shut down ({at})");
                break;
            case HostStop.Idle:
                monitor.Print($"nothing can run: every vCPU is blocked or paused ({at})");
                break;
            default:
                monitor.Print(executed >= limit
                    ? string.Create(CultureInfo.InvariantCulture, $"instruction limit {limit} reached ({at})")
                    : string.Create(CultureInfo.InvariantCulture, $"ran {result.Instructions} instructions ({at})"));
                stop = executed >= limit ? HostStop.InstructionLimit : HostStop.Stopped;
                break;
        }
        last = stop;
        return true;
    }

    private void ReadRegion(string[] args)
    {
        Need(args, 1, "read REGION [OFFSET] [LENGTH] [dram|plain|shadow|all]");
        int region = int.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out int r) ? r : throw new ArgumentException($"'{args[0]}' is not a region id");
        ulong offset = args.Length > 1 ? Number(args[1], "offset") : 0;
        int length = args.Length > 2 ? (int)Math.Min(Number(args[2], "length"), 1 << 20) : DefaultReadLength;
        string which = args.Length > 3 ? args[3] : "all";
        (string Name, MemoryView View)[] views = which switch
        {
            "all" => [("dram", MemoryView.Dram), ("plain", MemoryView.Application), ("shadow", MemoryView.Shadow)],
            "dram" => [("dram", MemoryView.Dram)],
            "plain" or "application" or "app" => [("plain", MemoryView.Application)],
            "shadow" => [("shadow", MemoryView.Shadow)],
            _ => throw new ArgumentException($"unknown view '{which}' (dram, plain, shadow, all)"),
        };
        byte[] buffer = new byte[length];
        foreach (var (name, view) in views)
        {
            int error = hv.Dom0.ReadRegion(region, offset, buffer, view);
            if (error != 0)
            {
                monitor.Print(string.Create(CultureInfo.InvariantCulture, $"error: region {region} +0x{offset:x} length {length}: {(error == -2 ? "no such region" : "outside the region")}"));
                return;
            }
            Dump($"region {region} {name}", offset, buffer);
        }
    }

    private void ReadGuest(string[] args)
    {
        Need(args, 2, "mem DOMAIN GPA|v:VA[@VCPU] [LENGTH] [dom0|dram]");
        DomainInfo domain = FindDomain(args[0]);
        int length = args.Length > 2 ? (int)Math.Min(Number(args[2], "length"), 1 << 20) : DefaultReadLength;
        string view = args.Length > 3 ? args[3] : "dom0";
        byte[] buffer = new byte[length];
        if (args[1].StartsWith("v:", StringComparison.Ordinal))
        {
            // A virtual address: as the vCPU's current context reads it (its page tables, the p2m, the architecture).
            int n = view == "dom0" ? ReadAt(domain, args[1], buffer, out ulong va, out string label)
                : throw new ArgumentException("a virtual address (v:) is read as its vCPU sees it: no view to choose");
            if (n == 0)
            {
                monitor.Print(string.Create(CultureInfo.InvariantCulture, $"error: {label} 0x{va:x}: not readable"));
                return;
            }
            Dump(label, va, buffer[..n]);
            return;
        }
        ulong gpa = Number(args[1], "gpa");
        if (view == "dom0")
        {
            // What the toolstack's debug read gets through the p2m and the plugged-in architecture (an encrypted VM's
            // private memory in plaintext, as SEV's debug commands give it).
            if (hv.Dom0.ReadGuest(domain.Id, new GuestPhysicalAddress(gpa), buffer) != 0)
            {
                monitor.Print(string.Create(CultureInfo.InvariantCulture, $"error: dom {domain.Id.Value} gpa 0x{gpa:x}: not readable"));
                return;
            }
        }
        else if (view == "dram")
        {
            // The machine frames behind the guest pages as the bus carries them, below every MMU and plug-in (a
            // physical attacker's view: an encrypted VM's private memory as ciphertext).
            for (int done = 0; done < length;)
            {
                ulong at = gpa + (ulong)done;
                P2mEntry entry = hv.Dom0.GetP2mEntry(domain.Id, new Gfn(at >> PageSize.Shift));
                if (entry.Type is not (P2mType.RamRw or P2mType.RamRo))
                {
                    monitor.Print(string.Create(CultureInfo.InvariantCulture, $"error: dom {domain.Id.Value} gpa 0x{at:x}: not RAM"));
                    return;
                }
                int offset = (int)(at & PageSize.Mask), n = Math.Min(PageSize.Bytes - offset, length - done);
                hv.Sapi.ReadDram(entry.Mfn, offset, buffer.AsSpan(done, n));
                done += n;
            }
        }
        else
        {
            throw new ArgumentException($"unknown view '{view}' (dom0, dram)");
        }
        Dump($"dom {domain.Id.Value} {view}", gpa, buffer);
    }

    /// <summary><c>regs DOMAIN [VCPU]</c>: pc, privilege, retired instructions and the 31 integer registers by ABI name.</summary>
    private void Registers(string[] args)
    {
        Need(args, 1, "regs DOMAIN [VCPU]");
        DomainInfo domain = FindDomain(args[0]);
        int vcpu = args.Length > 1 ? (int)Number(args[1], "vcpu") : 0;
        if (vcpu >= hv.Dom0.VcpuCount(domain.Id))
        {
            throw new ArgumentException($"dom {domain.Id.Value} has no vcpu {vcpu}");
        }
        monitor.Print(string.Create(CultureInfo.InvariantCulture,
            $"dom {domain.Id.Value} vcpu {vcpu}: pc 0x{hv.Dom0.GetPc(domain.Id, vcpu):x16} {hv.Dom0.GetPrivilege(domain.Id, vcpu)}-mode, {hv.Dom0.GetInstret(domain.Id, vcpu)} instructions"));
        for (int first = 1; first < 32; first += 4)
        {
            var row = new StringBuilder();
            for (int r = first; r < Math.Min(first + 4, 32); r++)
            {
                row.Append(CultureInfo.InvariantCulture, $"{Isa.Decoding.Disassembler.AbiNames[r],-4} 0x{hv.Dom0.GetRegister(domain.Id, vcpu, r):x16}  ");
            }
            monitor.Print(row.ToString().TrimEnd());
        }
    }

    /// <summary>
    /// <c>x/Nx DOMAIN GPA</c> (N 32-bit words in hex) and <c>x/Ni DOMAIN GPA</c> (N instructions disassembled), as gdb's
    /// x; at guest-physical addresses, read as Dom0 reads them (through the p2m and the architecture).
    /// </summary>
    private void Examine(string command, string[] args)
    {
        Need(args, 2, "x/Nx DOMAIN GPA | x/Ni DOMAIN GPA");
        string spec = command[2..];
        char format = spec.Length > 0 ? spec[^1] : ' ';
        string digits = spec.Length > 0 ? spec[..^1] : "";
        int count = digits.Length == 0 ? 1
            : int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is > 0 and <= 4096 ? n
            : throw new ArgumentException($"'{command}': the count is 1 to 4096");
        if (format is not ('x' or 'i'))
        {
            throw new ArgumentException($"'{command}': the format is x (words in hex) or i (instructions)");
        }
        DomainInfo domain = FindDomain(args[0]);
        byte[] bytes = new byte[format == 'x' ? count * 4 : count * 4 + 2];
        int readable = ReadAt(domain, args[1], bytes, out ulong gpa, out string label);
        if (readable <= 0)
        {
            monitor.Print(string.Create(CultureInfo.InvariantCulture, $"error: {label} 0x{gpa:x}: not readable"));
            return;
        }
        if (format == 'x')
        {
            for (int i = 0; i + 4 <= readable; i += 16)
            {
                var row = new StringBuilder();
                for (int j = i; j < Math.Min(i + 16, readable - 3); j += 4)
                {
                    row.Append(CultureInfo.InvariantCulture, $" 0x{System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(j)):x8}");
                }
                monitor.Print(string.Create(CultureInfo.InvariantCulture, $"{label} 0x{gpa + (ulong)i:x}:{row}"));
            }
            return;
        }
        int at = 0;
        for (int i = 0; i < count && at + 2 <= readable; i++)
        {
            ushort low = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at));
            bool compressed = (low & 3) != 3;
            if (!compressed && at + 4 > readable)
            {
                break;
            }
            uint raw = compressed ? low : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            ulong pc = gpa + (ulong)at;
            string hex = compressed ? string.Create(CultureInfo.InvariantCulture, $"{raw:x4}    ") : string.Create(CultureInfo.InvariantCulture, $"{raw:x8}");
            monitor.Print(string.Create(CultureInfo.InvariantCulture, $"{label} 0x{pc:x}: {hex}  {Isa.Decoding.Disassembler.Disassemble(raw, pc)}"));
            at += compressed ? 2 : 4;
        }
    }

    /// <summary><c>write DOMAIN GPA HEX</c>: Dom0 writes the bytes into the guest (through the p2m and the architecture).</summary>
    private void WriteGuest(string[] args)
    {
        Need(args, 3, "write DOMAIN GPA HEX");
        DomainInfo domain = FindDomain(args[0]);
        ulong gpa = Number(args[1], "gpa");
        byte[] bytes;
        try
        {
            bytes = System.Convert.FromHexString(string.Concat(args.Skip(2)));
        }
        catch (FormatException)
        {
            throw new ArgumentException($"'{string.Join(' ', args.Skip(2))}' is not hex bytes (e.g. 40e20100)");
        }
        if (bytes.Length is 0 or > 4096)
        {
            throw new ArgumentException("write takes 1 to 4096 bytes");
        }
        monitor.Print(hv.Dom0.WriteGuest(domain.Id, new GuestPhysicalAddress(gpa), bytes) == 0
            ? string.Create(CultureInfo.InvariantCulture, $"dom {domain.Id.Value} gpa 0x{gpa:x}: wrote {bytes.Length} bytes")
            : string.Create(CultureInfo.InvariantCulture, $"error: dom {domain.Id.Value} gpa 0x{gpa:x}: not writable"));
    }

    private void Dump(string label, ulong address, byte[] bytes)
    {
        for (int i = 0; i < bytes.Length; i += 16)
        {
            ReadOnlySpan<byte> row = bytes.AsSpan(i, Math.Min(16, bytes.Length - i));
            var hex = new StringBuilder();
            foreach (byte b in row)
            {
                hex.Append(CultureInfo.InvariantCulture, $" {b:x2}");
            }
            monitor.Print(string.Create(CultureInfo.InvariantCulture, $"{label} 0x{address + (ulong)i:x}:{hex}"));
        }
    }

    private DomainInfo FindDomain(string nameOrId) =>
        hv.Dom0.ListDomains().FirstOrDefault(d => d.Name == nameOrId || d.Id.Value.ToString(CultureInfo.InvariantCulture) == nameOrId)
        ?? throw new ArgumentException($"no domain '{nameOrId}'");

    private static ulong Number(string text, string what) =>
        WatchRule.TryParseAddress(text, out ulong value) ? value : throw new ArgumentException($"'{text}' is not a valid {what}");

    private static void Need(string[] args, int count, string usage)
    {
        if (args.Length < count)
        {
            throw new ArgumentException($"usage: {usage}");
        }
    }

    private static HostStop Convert(HypervisorStop stop) => stop switch
    {
        HypervisorStop.AllShutDown => HostStop.AllShutDown,
        HypervisorStop.InstructionLimit => HostStop.InstructionLimit,
        HypervisorStop.Idle => HostStop.Idle,
        _ => HostStop.Stopped,
    };
}
