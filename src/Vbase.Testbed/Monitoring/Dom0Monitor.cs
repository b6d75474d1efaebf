using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using DomainState = Vbase.Hypervisor.Domains.DomainState;
using Hv = Vbase.Hypervisor.Hypervisor;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Dom0;
using Vbase.Hypervisor.Domains;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.P2m;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Monitoring;

/// <summary>How a <see cref="Dom0Monitor"/> reports and what it watches.</summary>
public sealed record MonitorOptions
{
    /// <summary>Receives each printed line (no newline), in order, on the thread that runs the hypervisor.</summary>
    public Action<string>? Output { get; init; }
    /// <summary>Watch rules from a monitoring script; more can be added with <see cref="Dom0Monitor.AddWatch"/>.</summary>
    public IReadOnlyList<WatchRule> Rules { get; init; } = [];
    /// <summary>Where <c>snapshot</c> writes region copies; null: digests and the first bytes go to the event log only.</summary>
    public string? SnapshotDirectory { get; init; }
    /// <summary>No built-in line per event (dropped writes, refusals, violations…); rules, VIRQ reports and counters still print.</summary>
    public bool Quiet { get; init; }
}

/// <summary>
/// The paper's Monitor (section 3, step 13): a Dom0 program that binds VIRQ_VBASE and VIRQ_DOM_EXC, asks the
/// hypervisor for region details (<c>vbase_op(query)</c>) when a region is registered, follows the hypervisor's
/// event stream, prints what it learns, and applies watch rules (docs/monitor.md). It acts only through the
/// privileged Dom0 API; it runs on the hypervisor's thread, inside the hypervisor's calls, so it must not run
/// guests itself.
/// </summary>
public sealed partial class Dom0Monitor : IHypervisorEventSink
{
    /// <summary>Events the monitor records itself (never matched by rules, so a rule cannot feed itself).</summary>
    public const string MatchEvent = "monitor.match", SnapshotEvent = "monitor.snapshot", ActionEvent = "monitor.action";

    private readonly Hv hv;
    private readonly MonitorOptions options;
    private readonly List<WatchRule> rules;
    private readonly Dictionary<string, long> counters = new(StringComparer.Ordinal);
    private readonly List<string> lines = [];
    private readonly Dictionary<int, string> domainNames = [];
    private readonly HashSet<int> reportedRegions = [], reportedReleases = [], reportedShutdowns = [];
    private int snapshots, nextRuleNumber;

    /// <summary>
    /// The counting rules the last recorded event of each kind and domain matched: the flood limiter's
    /// <c>log.suppressed</c> summary of that kind and domain is counted by them (its events are that flood's, which
    /// the recorded burst before it stands for; their numbers, which region and gpa conditions test, are gone).
    /// </summary>
    private readonly Dictionary<(string Kind, int Domain), WatchRule[]> lastCounted = [];

    public Dom0Monitor(Hv hypervisor, MonitorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(hypervisor);
        hv = hypervisor;
        this.options = options ?? new MonitorOptions();
        rules = [.. this.options.Rules];
        Quiet = this.options.Quiet;
        nextRuleNumber = rules.Count + 1;
        foreach (WatchRule rule in rules.Where(r => r.Actions.HasFlag(WatchAction.Count)))
        {
            counters[rule.Name] = 0;
        }
        hv.Dom0.BindVirq(Virq.Vbase, OnVbaseVirq);
        hv.Dom0.BindVirq(Virq.DomainException, OnDomainException);
    }

    /// <summary>A monitor that prints to <paramref name="output"/>, one line per message.</summary>
    public Dom0Monitor(Hv hypervisor, TextWriter output)
        : this(hypervisor, new MonitorOptions { Output = output.WriteLine })
    {
    }

    /// <summary>
    /// Builds a monitor on <paramref name="host"/>'s hypervisor and subscribes it to the event stream (without
    /// events it still answers VIRQs, but cannot report dropped writes or apply rules).
    /// </summary>
    public static Dom0Monitor Attach(HypervisorHost host, MonitorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        var monitor = new Dom0Monitor(host.Hypervisor, options);
        host.AddEventSink(monitor);
        return monitor;
    }

    /// <summary>Every line printed so far.</summary>
    public IReadOnlyList<string> Lines => lines;

    /// <summary>Matches per counting rule, in rule order (a rule that never matched counts 0).</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Counters => [.. counters];

    public IReadOnlyList<WatchRule> Watches => rules;

    /// <summary>Why a <c>stop</c> rule stopped the run; null if none did. <see cref="ClearStop"/> resets it.</summary>
    public string? StopReason { get; private set; }

    public void ClearStop() => StopReason = null;

    /// <summary>Adds a watch; a rule without an explicit name gets <c>ruleN</c>.</summary>
    public WatchRule AddWatch(WatchRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (rules.Any(r => r.Name == rule.Name))
        {
            throw new ArgumentException($"a watch named '{rule.Name}' exists already", nameof(rule));
        }
        rules.Add(rule);
        nextRuleNumber++;
        if (rule.Actions.HasFlag(WatchAction.Count))
        {
            counters.TryAdd(rule.Name, 0);
        }
        return rule;
    }

    /// <summary>The number the next unnamed watch gets.</summary>
    public int NextRuleNumber => nextRuleNumber;

    /// <summary>Removes a watch by name; its counter stays.</summary>
    public bool RemoveWatch(string name) => rules.RemoveAll(r => r.Name == name) > 0;

    public void ClearWatches() => rules.Clear();

    /// <summary>The domain's name as the monitor knows it ("dom N" if it never saw it).</summary>
    public string DomainName(int id)
    {
        if (domainNames.TryGetValue(id, out string? name))
        {
            return name;
        }
        DomainInfo? info = hv.Dom0.ListDomains().FirstOrDefault(d => d.Id.Value == id);
        return info is null ? $"dom {id}" : domainNames[id] = info.Name;
    }

    /// <summary>Prints a line (prefixed "monitor: ") to the output and <see cref="Lines"/>.</summary>
    public void Print(string message)
    {
        string line = "monitor: " + message;
        lines.Add(line);
        options.Output?.Invoke(line);
    }

    /// <summary>Called by the hypervisor for every event it records (the monitor's subscription).</summary>
    public void Record(HypervisorEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Kind.StartsWith("monitor.", StringComparison.Ordinal))
        {
            return;
        }
        if (e.Data is DomainCreatedData created && e.Domain is DomainId createdId)
        {
            domainNames[createdId.Value] = created.Name;
        }
        Describe(e);
        if (e.Data is WriteDroppedData dropped)
        {
            lastDrop[(dropped.RegionId, dropped.Accessor, dropped.Owner)] = e;
        }
        if (rules.Count == 0)
        {
            return;
        }
        EventFieldList fields = e.Data.Fields();
        string? domainName = e.Domain is DomainId d ? DomainName(d.Value) : null;
        if (e.Data is WritesDroppedData countedDrops)
        {
            CountHartDrops(countedDrops, domainName);
        }
        List<WatchRule>? counted = null;
        foreach (WatchRule rule in rules.ToList())
        {
            if (rule.Matches(e, domainName, fields))
            {
                Apply(rule, e, domainName, fields);
                if (rule.Actions.HasFlag(WatchAction.Count))
                {
                    (counted ??= []).Add(rule);
                }
            }
        }
        int domain = e.Domain?.Value ?? -1;
        if (e.Data is EventsSuppressedData suppressed)
        {
            CountSuppressed(suppressed, domain);
        }
        else if (counted is not null)
        {
            lastCounted[(e.Kind, domain)] = [.. counted];
        }
        else
        {
            lastCounted.Remove((e.Kind, domain));
        }
    }

    /// <summary>
    /// The last <c>sapi.write_dropped</c> of each (region, accessor, owner): the stand-in, for counting rules, of the
    /// stores the harts dropped and counted after it (<c>sapi.writes_dropped</c> carries no address).
    /// </summary>
    private readonly Dictionary<(int Region, Accessor Accessor, bool Owner), HypervisorEvent> lastDrop = [];

    /// <summary>Adds the drops a hart counted to the counters of the rules that count the reported drop they followed.</summary>
    private void CountHartDrops(WritesDroppedData drops, string? domainName)
    {
        if (!lastDrop.TryGetValue((drops.RegionId, drops.Accessor, drops.Owner), out HypervisorEvent? standIn))
        {
            return;
        }
        EventFieldList fields = standIn.Data.Fields();
        foreach (WatchRule rule in rules)
        {
            if (rule.Actions.HasFlag(WatchAction.Count) && rule.Matches(standIn, domainName, fields))
            {
                counters[rule.Name] = counters.GetValueOrDefault(rule.Name) + drops.Count;
            }
        }
    }

    /// <summary>Adds a summary's suppressed events to the counters of the rules that counted the last one recorded like them.</summary>
    private void CountSuppressed(EventsSuppressedData summary, int domain)
    {
        if (!lastCounted.TryGetValue((summary.SuppressedKind, domain), out WatchRule[]? counting))
        {
            return;
        }
        foreach (WatchRule rule in counting.Where(rules.Contains))
        {
            counters[rule.Name] = counters.GetValueOrDefault(rule.Name) + summary.Suppressed;
        }
    }

    /// <summary>Prints the counters (called at the end of a run).</summary>
    public void PrintCounters()
    {
        foreach (var (name, count) in counters)
        {
            Print(string.Create(CultureInfo.InvariantCulture, $"counter {name} = {count}"));
        }
    }

    // ---- VIRQs: the paper's Algorithm 1 ----

    private void OnVbaseVirq(Dom0Virq virq)
    {
        // VIRQ_VBASE says "something changed"; the details come from the privileged query, as in the paper.
        foreach (RegionReport region in hv.Dom0.QueryRegions())
        {
            if (reportedRegions.Add(region.Id))
            {
                Print(string.Create(CultureInfo.InvariantCulture, $"VIRQ_VBASE at t={virq.Time}: {DescribeRegion(region)}"));
            }
            else if (!region.Active && reportedReleases.Add(region.Id))
            {
                Print(string.Create(CultureInfo.InvariantCulture, $"VIRQ_VBASE at t={virq.Time}: region {region.Id} of {Dom(region.Domain.Value)} released"));
            }
        }
    }

    private void OnDomainException(Dom0Virq virq)
    {
        foreach (DomainInfo info in hv.Dom0.ListDomains())
        {
            if (info.State == DomainState.Shutdown && reportedShutdowns.Add(info.Id.Value))
            {
                string how = info.Reason is null ? "" : $": {info.Reason.ToString()!.ToLowerInvariant()}";
                string code = info.ExitCode is long c ? string.Create(CultureInfo.InvariantCulture, $", exit code {c}") : "";
                Print(string.Create(CultureInfo.InvariantCulture, $"VIRQ_DOM_EXC at t={virq.Time}: {Dom(info.Id.Value)} shut down{how}{code}"));
            }
        }
    }

    private string DescribeRegion(RegionReport r)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"region {r.Id} of {Dom(r.Domain.Value)} registered: va 0x{r.VirtualAddress.Value:x}, ");
        s.Append(CultureInfo.InvariantCulture, $"{r.Gfns.Count} page{(r.Gfns.Count == 1 ? "" : "s")}, ");
        s.Append(CultureInfo.InvariantCulture, $"gfn 0x{r.Gfns[0].Value:x} -> mfn 0x{r.Mfns[0].Value:x}");
        if (r.Gfns.Count > 1)
        {
            s.Append(CultureInfo.InvariantCulture, $" (+{r.Gfns.Count - 1} more)");
        }
        P2mEntry entry = hv.Dom0.GetP2mEntry(r.Domain, r.Gfns[0]);
        s.Append(", p2m ").Append(entry.Type.ToXenName());
        int length = r.Gfns.Count * Vbase.Sapi.Memory.PageSize.Bytes;
        byte[] dram = new byte[length], plain = new byte[length];
        if (hv.Dom0.ReadRegion(r.Id, 0, dram, MemoryView.Dram) == 0 && hv.Dom0.ReadRegion(r.Id, 0, plain, MemoryView.Application) == 0)
        {
            s.Append(dram.AsSpan().SequenceEqual(plain) ? ", dram = plaintext" : ", dram != plaintext");
        }
        if (r.State.Count > 0)
        {
            s.Append("; ").Append(hv.Sapi.Architecture?.Name ?? "architecture").Append(": ");
            s.Append(string.Join(", ", r.State.Select(kv => $"{kv.Key} {kv.Value}")));
        }
        return s.ToString();
    }

    // ---- the event stream ----

    private void Describe(HypervisorEvent e)
    {
        string? message = e.Data switch
        {
            WriteDroppedData w => string.Create(CultureInfo.InvariantCulture,
                $"dropped write by {SapiHost.Name(w.Accessor)} to region {w.RegionId} at gpa 0x{w.Address.Value:x} (t={e.Time})"),
            WritesDroppedData c => string.Create(CultureInfo.InvariantCulture,
                $"{c.Count} more writes by {SapiHost.Name(c.Accessor)} to region {c.RegionId} dropped and counted on the hart (t={e.Time})"),
            AccessRefusedData r => string.Create(CultureInfo.InvariantCulture,
                $"refused {SapiHost.Name(r.Access)} by {SapiHost.Name(r.Accessor)} to region {r.RegionId} at gpa 0x{r.Address.Value:x} (t={e.Time})"),
            ViolationData => $"violation in {DomOf(e)}: {e.Message} (t={e.Time})",
            ShadowMismatchData m => string.Create(CultureInfo.InvariantCulture,
                $"oracle: the application read region {m.RegionId} at gpa 0x{m.Address.Value:x} and got data that differs from what it wrote (t={e.Time})"),
            RegionReleasedData r when reportedReleases.Add(r.RegionId) =>
                string.Create(CultureInfo.InvariantCulture, $"region {r.RegionId} of {DomOf(e)} released (t={e.Time})"),
            _ => null,
        };
        if (message is not null && !Quiet)
        {
            Print(message);
        }
    }

    /// <summary>Whether the built-in per-event lines are off (<see cref="MonitorOptions.Quiet"/>, the REPL's <c>quiet</c>).</summary>
    public bool Quiet { get; set; }

    private void Apply(WatchRule rule, HypervisorEvent e, string? domainName, EventFieldList fields)
    {
        string text = Expand(rule.Message ?? "{rule}: {kind} {domain} {message}", rule, e, domainName, fields);
        if (rule.Actions.HasFlag(WatchAction.Count))
        {
            counters[rule.Name] = counters.GetValueOrDefault(rule.Name) + 1;
        }
        if (rule.Actions.HasFlag(WatchAction.Log))
        {
            hv.Sapi.Record(e.Domain, e.Vcpu, new MonitorMatchData(rule.Name, e.Kind, text));
        }
        if (rule.Actions.HasFlag(WatchAction.Print))
        {
            Print(text);
        }
        if (rule.Actions.HasFlag(WatchAction.Snapshot))
        {
            Snapshot(rule, e, fields);
        }
        if (rule.Actions.HasFlag(WatchAction.Pause) && e.Domain is DomainId pause && pause != DomainId.Dom0
            && hv.Dom0.ListDomains().FirstOrDefault(d => d.Id == pause) is { State: not (DomainState.Shutdown or DomainState.Paused) })
        {
            hv.Dom0.Pause(pause);
            hv.Sapi.Record(pause, null, new MonitorActionData(rule.Name, "pause"));
            Print($"rule {rule.Name} paused {Dom(pause.Value)} (t={e.Time})");
        }
        if (rule.Actions.HasFlag(WatchAction.Stop))
        {
            StopReason = $"rule {rule.Name} on {e.Kind} at t={e.Time}";
            hv.Sapi.Record(e.Domain, e.Vcpu, new MonitorActionData(rule.Name, "stop"));
            Print($"rule {rule.Name} stops the run (t={e.Time})");
            hv.RequestStop();
        }
    }

    private void Snapshot(WatchRule rule, HypervisorEvent e, EventFieldList fields)
    {
        IEnumerable<ProtectedRegion> regions = fields.TryGet("region", out EventField id)
            ? hv.Sapi.Regions.Where(r => id.TryGetUnsigned(out ulong n) && (ulong)r.Id == n)
            : hv.Sapi.Regions.Where(r => r.IsActive && e.Domain is DomainId d && r.Domain == d);
        foreach (ProtectedRegion region in regions.ToList())
        {
            int n = ++snapshots;
            byte[] dram = new byte[region.Length], plain = new byte[region.Length];
            hv.Dom0.ReadRegion(region.Id, 0, dram, MemoryView.Dram);
            hv.Dom0.ReadRegion(region.Id, 0, plain, MemoryView.Application);
            string? files = null;
            if (options.SnapshotDirectory is string directory)
            {
                string stem = string.Create(CultureInfo.InvariantCulture, $"snapshot-{n:000}-t{e.Time}-region{region.Id}");
                try
                {
                    File.WriteAllBytes(Path.Combine(directory, stem + ".dram.bin"), dram);
                    File.WriteAllBytes(Path.Combine(directory, stem + ".plain.bin"), plain);
                    files = $"{stem}.dram.bin,{stem}.plain.bin";
                }
                catch (Exception x) when (x is IOException or UnauthorizedAccessException)
                {
                    files = "unwritable";
                }
            }
            hv.Sapi.Record(region.Domain, e.Vcpu, new MonitorSnapshotData(rule.Name, region.Id, region.Length, Hex(dram), Hex(plain), Sha(dram), Sha(plain),
                dram.AsSpan().SequenceEqual(plain), files));
        }
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes.AsSpan(0, Math.Min(16, bytes.Length)));

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];

    /// <summary>Fills {time} {kind} {domain} {domain_id} {vcpu} {message} ({details}) {rule} and any {field}; unknown names stay.</summary>
    private static string Expand(string template, WatchRule rule, HypervisorEvent e, string? domainName, EventFieldList fields) =>
        Placeholder().Replace(template, m => m.Groups[1].Value switch
        {
            "time" => e.Time.ToString(CultureInfo.InvariantCulture),
            "kind" => e.Kind,
            "domain" => domainName ?? "-",
            "domain_id" => e.Domain?.Value.ToString(CultureInfo.InvariantCulture) ?? "-",
            "vcpu" => e.Vcpu?.ToString(CultureInfo.InvariantCulture) ?? "-",
            "message" or "details" => e.Message,
            "rule" => rule.Name,
            string key => fields.TryGet(key, out EventField f) ? f.FormatValue() : m.Value,
        });

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Placeholder();

    private string Dom(int id) => string.Create(CultureInfo.InvariantCulture, $"dom {id} ({DomainName(id)})");

    private string DomOf(HypervisorEvent e) => e.Domain is DomainId d ? Dom(d.Value) : "the hypervisor";
}
