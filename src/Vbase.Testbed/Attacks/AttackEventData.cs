using Vbase.Sapi.Logging;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Attacks;

/// <summary>The event kinds an attack run adds to events.jsonl (docs/events.md).</summary>
public static class AttackEvents
{
    public const string Fired = "attack.fired", Action = "attack.action", Observed = "attack.observed", Failed = "attack.failed", Done = "attack.done";

    /// <summary>The Oracle's verdict at the end of the run.</summary>
    public const string Verdict = "oracle.verdict";
}

/// <summary><c>attack.fired</c>: firing <paramref name="Firing"/> of <paramref name="Firings"/> of the attack on region <paramref name="RegionId"/>.</summary>
/// <param name="Position">The attacker's position (<c>Dom0</c>, <c>guest_kernel</c>…).</param>
public sealed record AttackFiredData(string Attack, string Position, int Firing, int Firings, int RegionId) : EventData
{
    public override string Kind => AttackEvents.Fired;

    /// <summary>Instructions after the region's registration before the first firing, and what chose it.</summary>
    public ulong Delay { get; init; }
    public AttackChoiceSource DelaySource { get; init; }

    /// <summary>The region offset of the block the attack aims at, and what chose it; null for attacks on no one block.</summary>
    public int? Block { get; init; }
    public AttackChoiceSource? BlockSource { get; init; }

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("attack", Attack));
        w.Write(EventField.Of("position", Position));
        w.Write(EventField.Of("firing", Firing));
        w.Write(EventField.Of("firings", Firings));
        w.Write(EventField.Of("region", RegionId));
        w.Write(EventField.Of("delay", Delay));
        w.Write(EventField.Of("delay_by", DelaySource.Name()));
        // -1 rather than an absent field: every attack.fired has the same typed fields.
        w.Write(EventField.Of("block", (long)(Block ?? -1)));
        w.Write(EventField.Of("block_by", BlockSource?.Name()));
    }

    public override string Message() => $"attack={Attack} position={Position} firing={Firing}/{Firings} region={RegionId} delay={Delay} ({DelaySource.Name()})"
        + (Block is int block ? $" block={block} ({BlockSource?.Name()})" : "");
}

/// <summary><c>attack.action</c>: what the attack did, in its own words (also the Oracle's evidence).</summary>
public sealed record AttackActionData(string What) : EventData
{
    public override string Kind => AttackEvents.Action;
    public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Of("what", What));
    public override string Message() => What;
}

/// <summary><c>attack.observed</c>: the attacker read <paramref name="Bytes"/> bytes (<paramref name="What"/>), the first 16 as <paramref name="First"/> (hex).</summary>
public sealed record AttackObservedData(string What, int Bytes, string First) : EventData
{
    public override string Kind => AttackEvents.Observed;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("what", What));
        w.Write(EventField.Of("bytes", Bytes));
        w.Write(EventField.Of("first", First));
    }

    public override string Message() => $"{What}: {Bytes} bytes, first {First}";
}

/// <summary><c>attack.failed</c>: why the harness could not carry the attack out (the verdict is then <c>error</c>).</summary>
public sealed record AttackFailedData(string Reason) : EventData
{
    public override string Kind => AttackEvents.Failed;
    public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Of("reason", Reason));
    public override string Message() => Reason;
}

/// <summary><c>attack.done</c>: the attack's firings and later phases are over.</summary>
public sealed record AttackDoneData(string Attack) : EventData
{
    public override string Kind => AttackEvents.Done;
    public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Of("attack", Attack));
}

/// <summary><c>oracle.verdict</c>: the Oracle's verdict on the attack; <paramref name="Impact"/> only for a breach.</summary>
public sealed record OracleVerdictData(string Attack, Verdict Verdict, Impact? Impact) : EventData
{
    public override string Kind => AttackEvents.Verdict;

    public override void WriteFields(IEventFieldWriter w)
    {
        w.Write(EventField.Of("attack", Attack));
        w.Write(EventField.Of("verdict", Verdict.Name()));
        w.Write(EventField.Of("impact", Impact?.Name()));
    }
}
