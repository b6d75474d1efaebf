using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Testbed.Monitoring;

namespace Vbase.Testbed.Tests.Monitoring;

/// <summary>Monitoring scripts and one-line rules: what they mean, and errors that name file, line, column and field.</summary>
public sealed class MonitorScriptTests
{
    private static MonitorScriptException Error(string yaml) =>
        Assert.Throws<MonitorScriptException>(() => MonitorScriptLoader.Parse(yaml, "watch.yaml"));

    [Theory]
    [InlineData("- kind: sapi.*\n  do: paws\n", "watch.yaml:2:7: [0].do: unknown action 'paws' (known: log, count, snapshot, pause, stop, print)")]
    [InlineData("- kind: sapi.*\n  do: [count, stpo]\n", "watch.yaml:2:15: [0].do: unknown action 'stpo' (known: log, count, snapshot, pause, stop, print)")]
    [InlineData("- kind: sapi.*\n  regoin: 1\n  do: count\n", "watch.yaml:2:3: [0].regoin: unknown key (known keys: name, kind, domain, region, gpa, details, do, message)")]
    [InlineData("- kind: sapi.*\n  do: count\n- kind: x\n  region: one\n  do: log\n", "watch.yaml:4:11: [1].region: 'one' is not a region id (a whole number from 1)")]
    [InlineData("- gpa: 0x2000-0x1000\n  do: log\n", "watch.yaml:1:8: [0].gpa: '0x2000-0x1000' is not an address or range (0x80212000, 0x80212000-0x80212fff or 0x80212000+0x1000)")]
    [InlineData("- kind: sapi.*\n", "watch.yaml:1:3: [0].do: missing; say what the rule does (log, count, snapshot, pause, stop, print)")]
    [InlineData("- {name: a, do: log}\n- {name: a, do: count}\n", "watch.yaml:2:3: [1].name: 'a' names an earlier rule too; rule names must be unique")]
    [InlineData("kind: sapi.*\n", "watch.yaml:1:1: a monitoring script is a list of watch rules ('- kind: sapi.write_dropped' …)")]
    [InlineData("- kind: [sapi\n", "watch.yaml:2:1: not valid YAML: While scanning a plain scalar value, found invalid mapping")]
    public void ErrorsNameFileLineColumnAndField(string yaml, string message)
    {
        // YamlDotNet words its own syntax errors; only their start is ours to fix.
        Assert.StartsWith(message.Split(" While ")[0], Error(yaml).Message, StringComparison.Ordinal);
        if (!message.Contains("not valid YAML", StringComparison.Ordinal))
        {
            Assert.Equal(message, Error(yaml).Message);
        }
    }

    [Fact]
    public void WithTheScenariosDomainsARuleMustNameOne()
    {
        string[] domains = ["app", "db"];
        Assert.Equal(3, MonitorScriptLoader.Parse("- {domain: app, do: log}\n- {domain: 2, do: log}\n- {domain: 0, do: log}\n", "w.yaml", domains).Count);
        MonitorScriptException e = Assert.Throws<MonitorScriptException>(() => MonitorScriptLoader.Parse("- kind: x\n  domain: nope\n  do: log\n", "w.yaml", domains));
        Assert.Equal("w.yaml:2:11: [0].domain: no domain 'nope' in the scenario (its domains: app, db; or an id from 0, Dom0, to 2)", e.Message);
        Assert.Throws<MonitorScriptException>(() => MonitorScriptLoader.Parse("- {domain: 3, do: log}\n", "w.yaml", domains));
        Assert.Equal("watch:1:8: domain: no domain 'nope' in the scenario (its domains: app, db; or an id from 0, Dom0, to 2)",
            Assert.Throws<MonitorScriptException>(() => MonitorScriptLoader.ParseLine("kind=x domain=nope do=log", 1, domains: domains)).Message);
        // Without the scenario (a script checked on its own), any domain is taken as written.
        Assert.Equal("nope", Assert.Single(MonitorScriptLoader.Parse("- {domain: nope, do: log}\n", "w.yaml")).Domain);
    }

    [Theory]
    [InlineData("- ? &k [*k]\n  : 1\n", "watch.yaml:1:5: a key must be a single value, not a list")]
    [InlineData("- kind: !re sapi.*\n  do: log\n", "watch.yaml:1:9: unknown YAML tag '!re'")]
    [InlineData("- kind:\n  do: log\n", "watch.yaml:1:8: [0].kind: has no value")]
    public void YamlVbaseNeverNeedsIsRefused(string yaml, string message) =>
        Assert.StartsWith(message, Error(yaml).Message, StringComparison.Ordinal);

    [Fact]
    public void AMissingScriptIsNamed() =>
        Assert.Equal("/nonexistent/watch.yaml: no such file", Assert.Throws<MonitorScriptException>(() => MonitorScriptLoader.Load("/nonexistent/watch.yaml")).Message);

    [Fact]
    public void OneLineRulesMeanWhatScriptRulesMean()
    {
        WatchRule line = MonitorScriptLoader.ParseLine("kind=sapi.* domain=app region=1 gpa=0x80212000-0x80212fff accessor=dom0 do=print,count message=\"at {gpa}\" name=w", 1);
        WatchRule script = Assert.Single(MonitorScriptLoader.Parse("""
            - name: w
              kind: sapi.*
              domain: app
              region: 1
              gpa: 0x80212000-0x80212fff
              details: { accessor: dom0 }
              do: [print, count]
              message: at {gpa}
            """, "w.yaml"));
        Assert.Equal(script.ToString(), line.ToString());
        Assert.Equal("name=w kind=sapi.* domain=app region=1 gpa=0x80212000-0x80212fff accessor=dom0 do=count,print message=\"at {gpa}\"", line.ToString());
        Assert.Equal("rule7", MonitorScriptLoader.ParseLine("do=log", 7).Name);
        MonitorScriptException e = Assert.Throws<MonitorScriptException>(() => MonitorScriptLoader.ParseLine("kind=x do=jump", 1));
        Assert.Equal("watch:1:8: do: unknown action 'jump' (known: log, count, snapshot, pause, stop, print)", e.Message);
    }

    [Theory]
    [InlineData("sapi.*", "sapi.write_dropped", true)]
    [InlineData("sapi.*", "oracle.read_mismatch", false)]
    [InlineData("*.write_*", "sapi.write_dropped", true)]
    [InlineData("sapi.write_dropped", "sapi.write_dropped", true)]
    [InlineData("sapi.write", "sapi.write_dropped", false)]
    [InlineData("virq.sen?", "virq.sent", true)]
    public void KindsMatchExactlyOrByGlob(string pattern, string kind, bool matches)
    {
        var rule = new WatchRule { Name = "r", Kind = pattern, Actions = WatchAction.Count };
        var e = new HypervisorEvent(0, null, null, new PlugInEventData(kind, []));
        Assert.Equal(matches, rule.Matches(e, null, e.Data.Fields()));
    }

    private static readonly HypervisorEvent Dropped = new(5, new DomainId(1), 0, new WriteDroppedData(1, Accessor.GuestUser, true,
        new GuestPhysicalAddress(0x8021_2010), new Mfn(0x212), 4, "40e20100", P2mType.RamRo, DropCause.P2m));

    [Fact]
    public void ConditionsOnDomainRegionAddressAndFieldsMustAllHold()
    {
        EventFieldList fields = Dropped.Data.Fields();
        var all = new WatchRule
        {
            Name = "r",
            Domain = "app",
            Region = 1,
            Gpa = new AddressRange(0x80212000, 0x80212fff),
            Details = [new("accessor", "guest_*"), new("size", "4")],
            Actions = WatchAction.Count,
        };
        Assert.True(all.Matches(Dropped, "app", fields));
        Assert.True((all with { Domain = "1" }).Matches(Dropped, "app", fields));
        Assert.False((all with { Domain = "attacker" }).Matches(Dropped, "app", fields));
        Assert.False((all with { Region = 2 }).Matches(Dropped, "app", fields));
        Assert.False((all with { Gpa = new AddressRange(0x80213000, 0x80213fff) }).Matches(Dropped, "app", fields));
        Assert.False((all with { Details = [new("accessor", "dom0")] }).Matches(Dropped, "app", fields));
        Assert.False((all with { Details = [new("missing", "*")] }).Matches(Dropped, "app", fields));
    }

    [Theory]
    [InlineData("size", "4", true)]
    [InlineData("size", "0x4", true)]                 // a number is compared as a number, in either base
    [InlineData("size", "5", false)]
    [InlineData("mfn", "0x212", true)]
    [InlineData("mfn", "530", true)]
    [InlineData("mfn", "0x0212", true)]
    [InlineData("mfn", "0x2*", true)]                 // a glob matches the value as the message shows it
    [InlineData("gpa", "0x80212010", true)]
    [InlineData("owner", "yes", true)]
    [InlineData("owner", "true", true)]
    [InlineData("owner", "no", false)]
    [InlineData("by", "p2m", true)]
    [InlineData("by", "arch", false)]
    [InlineData("data", "40e2*", true)]
    [InlineData("p2m", "ram_r?", true)]
    public void AFieldConditionComparesTheTypedValue(string field, string pattern, bool matches)
    {
        var rule = new WatchRule { Name = "r", Details = [new(field, pattern)], Actions = WatchAction.Count };
        Assert.Equal(matches, rule.Matches(Dropped, "app", Dropped.Data.Fields()));
    }

    [Fact]
    public void ANegativeNumberMatchesASignedField()
    {
        var refused = new HypervisorEvent(1, new DomainId(2), 0, new GrantRefusedData(new DomainId(1), 3, -2));
        Assert.True(new WatchRule { Name = "r", Details = [new("rc", "-2")], Actions = WatchAction.Log }.Matches(refused, null, refused.Data.Fields()));
        Assert.False(new WatchRule { Name = "r", Details = [new("rc", "2")], Actions = WatchAction.Log }.Matches(refused, null, refused.Data.Fields()));
    }
}
