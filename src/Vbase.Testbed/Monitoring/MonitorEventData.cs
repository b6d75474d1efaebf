using Vbase.Sapi.Logging;

namespace Vbase.Testbed.Monitoring;

/// <summary><c>monitor.match</c>: an event matched a rule with the <c>log</c> action; <paramref name="Text"/> is the rule's message.</summary>
/// <param name="Matched">The kind of the event that matched.</param>
public sealed record MonitorMatchData(string Rule, string Matched, string Text) : EventData
{
    public override string Kind => Dom0Monitor.MatchEvent;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("rule", Rule));
        w.Write(EventField.Of("matched", Matched));
        w.Write(EventField.Of("text", Text));
    }
}

/// <summary><c>monitor.action</c>: a rule paused the event's domain or stopped the run.</summary>
/// <param name="Action"><c>pause</c> or <c>stop</c>.</param>
public sealed record MonitorActionData(string Rule, string Action) : EventData
{
    public override string Kind => Dom0Monitor.ActionEvent;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("rule", Rule));
        w.Write(EventField.Of("action", Action));
    }
}

/// <summary><c>monitor.snapshot</c>: a rule copied a region in the DRAM and plaintext views.</summary>
/// <param name="DramHead">The first 16 bytes of the DRAM view, hex.</param>
/// <param name="DramSha256">The first 16 hex digits of the DRAM view's SHA-256.</param>
/// <param name="Equal">The two views hold the same bytes.</param>
/// <param name="Files">The two files written (<c>….dram.bin,….plain.bin</c>), <c>unwritable</c>, or null without a snapshot directory.</param>
public sealed record MonitorSnapshotData(string Rule, int RegionId, ulong Length, string DramHead, string PlainHead, string DramSha256,
    string PlainSha256, bool Equal, string? Files) : EventData
{
    public override string Kind => Dom0Monitor.SnapshotEvent;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("rule", Rule));
        w.Write(EventField.Of("region", RegionId));
        w.Write(EventField.Of("length", Length));
        w.Write(EventField.Of("dram_head", DramHead));
        w.Write(EventField.Of("plain_head", PlainHead));
        w.Write(EventField.Of("dram_sha256", DramSha256));
        w.Write(EventField.Of("plain_sha256", PlainSha256));
        w.Write(EventField.Of("equal", Equal));
        w.Write(EventField.Of("files", Files));
    }
}
