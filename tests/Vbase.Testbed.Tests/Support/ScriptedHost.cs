using System.Text;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Tests.Support;

/// <summary>
/// A stand-in hypervisor for testing the harness around it: each domain's "kernel" is an ELF magic followed by a
/// script, one command per line, run one command per turn, domains round-robin in domain-id order:
/// <c>print TEXT</c> (a line), <c>write TEXT</c> (no newline), <c>input</c> (echo the console input),
/// <c>modules</c> (one line of module names), <c>exit N</c>, <c>crash</c>, <c>block</c> (forever),
/// <c>spin</c> (runs forever), <c>interrupt</c> (as if Ctrl-C were pressed now). Each turn retires 100 instructions.
/// </summary>
internal sealed class ScriptedHost(HostSettings settings) : IGuestHost
{
    public const ulong TurnInstructions = 100;

    private readonly List<ScriptedDomain> domains = [];
    private volatile bool stopRequested;

    public HostSettings Settings { get; } = settings;
    public ulong VirtualTime { get; private set; }
    public bool Disposed { get; private set; }

    /// <summary>Builds the bytes of a scripted kernel.</summary>
    public static byte[] Kernel(params string[] lines) => Encoding.UTF8.GetBytes("\u007fELF\n" + string.Join("\n", lines) + "\n");

    public int CreateDomain(DomainImages images, Action<ReadOnlySpan<byte>> console)
    {
        string[] script = Encoding.UTF8.GetString(images.Kernel, 4, images.Kernel.Length - 4)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        domains.Add(new ScriptedDomain(images, script, console));
        return domains.Count;
    }

    public void Unpause(int domainId) => domains[domainId - 1].Paused = false;

    public void RequestStop() => stopRequested = true;

    public DomainOutcome Outcome(int domainId)
    {
        ScriptedDomain d = domains[domainId - 1];
        DomainState state = d.Reason is not null ? DomainState.Shutdown : d.Paused ? DomainState.Paused : d.Blocked ? DomainState.Blocked : DomainState.Running;
        return new DomainOutcome(state, d.Reason, d.ExitCode, d.Instructions);
    }

    public HostStop Run(ulong maxInstructions)
    {
        ulong executed = 0;
        while (true)
        {
            var runnable = domains.Where(d => !d.Paused && d.Reason is null && !d.Blocked).ToList();
            if (runnable.Count == 0)
            {
                return domains.All(d => d.Reason is not null) ? HostStop.AllShutDown : HostStop.Idle;
            }
            foreach (ScriptedDomain d in runnable)
            {
                if (stopRequested)
                {
                    return HostStop.Stopped;
                }
                if (executed + TurnInstructions > maxInstructions)
                {
                    return HostStop.InstructionLimit;
                }
                executed += TurnInstructions;
                d.Instructions += TurnInstructions;
                VirtualTime += TurnInstructions;
                Step(d);
            }
        }
    }

    private void Step(ScriptedDomain d)
    {
        if (d.Next >= d.Script.Length)
        {
            d.Reason = ShutdownReason.Poweroff;
            d.ExitCode = 0;
            return;
        }
        string line = d.Script[d.Next];
        int space = line.IndexOf(' ');
        string command = space < 0 ? line : line[..space];
        string argument = space < 0 ? "" : line[(space + 1)..];
        if (command != "spin")
        {
            d.Next++;
        }
        switch (command)
        {
            case "print": d.Console(Encoding.UTF8.GetBytes(argument + "\n")); break;
            case "write": d.Console(Encoding.UTF8.GetBytes(argument)); break;
            case "input": d.Console(Encoding.UTF8.GetBytes(d.Images.Spec.ConsoleInput)); break;
            case "modules": d.Console(Encoding.UTF8.GetBytes(string.Join(" ", d.Images.Modules.Select(m => m.Name)) + "\n")); break;
            case "exit": d.Reason = ShutdownReason.Poweroff; d.ExitCode = long.Parse(argument, System.Globalization.CultureInfo.InvariantCulture); break;
            case "crash": d.Reason = ShutdownReason.Crash; d.ExitCode = 0; break;
            case "block": d.Blocked = true; break;
            case "spin": break;
            case "interrupt": RequestStop(); break;
            default: throw new InvalidOperationException($"unknown script command '{line}'");
        }
    }

    public void Dispose() => Disposed = true;

    private sealed class ScriptedDomain(DomainImages images, string[] script, Action<ReadOnlySpan<byte>> console)
    {
        public DomainImages Images { get; } = images;
        public string[] Script { get; } = script;
        public Action<ReadOnlySpan<byte>> Console { get; } = console;
        public int Next { get; set; }
        public bool Paused { get; set; } = true;
        public bool Blocked { get; set; }
        public ShutdownReason? Reason { get; set; }
        public long? ExitCode { get; set; }
        public ulong Instructions { get; set; }
    }
}
