using System.Globalization;
using Hv = Vbase.Hypervisor.Hypervisor;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;

namespace Vbase.Testbed.Attacks;

/// <summary>What an attack did and saw: the Oracle's evidence from the attacker's side.</summary>
public sealed class AttackEvidence
{
    /// <summary>Virtual time of the first firing; null if it never fired.</summary>
    public ulong? FiredAt { get; internal set; }
    public List<string> Actions { get; } = [];
    /// <summary>Everything the attacker read (to be searched for declared secrets).</summary>
    public List<(string What, byte[] Bytes)> Observed { get; } = [];
    /// <summary>Why the harness could not carry the attack out; null if it could.</summary>
    public string? Error { get; internal set; }
    /// <summary>The attack changed something the application may read (a write or remap that took effect).</summary>
    public bool Tampered { get; internal set; }
    /// <summary>Why the attack could not take effect (the Oracle's <c>inconclusive</c>); null if it could.</summary>
    public string? Inconclusive { get; internal set; }
}

/// <summary>What an attack may use while it runs: the hypervisor (as Dom0 and as the bus), its target and a way to let the guests run.</summary>
internal sealed class AttackContext
{
    public required Hv Hv { get; init; }
    public required DomainId App { get; init; }
    public DomainId? AttackerVm { get; init; }
    public required SecureApp AppSpec { get; init; }
    public required ProtectedRegion Region { get; init; }
    public required IReadOnlyDictionary<string, string> Parameters { get; init; }
    public required AttackEvidence Evidence { get; init; }
    /// <summary>The block the attack targets (the <c>block</c> parameter, or the seed's pick among the app's candidates).</summary>
    public required (int Block, AttackChoiceSource Source) Target { get; init; }
    /// <summary>Runs the guests until the predicate holds or the budget is spent; false if it never held.</summary>
    public required Func<Func<bool>, ulong, bool> RunUntil { get; init; }
    /// <summary>The application's two cards on Dom0's bridge; null: it has no network.</summary>
    public NetworkLink? Network { get; init; }

    /// <summary>The guest kernel's attack mailbox in a domain (its GPA from kernel.elf's symbols).</summary>
    public required Func<DomainId, KernelMailbox> Mailbox { get; init; }

    /// <summary>Adds an <c>attack.*</c> event to the run's event log.</summary>
    public void Record(EventData data) => Hv.Sapi.Record(App, null, data);

    public void Act(string what)
    {
        Evidence.Actions.Add(what);
        Record(new AttackActionData(what));
    }

    public void Saw(string what, byte[] bytes)
    {
        Evidence.Observed.Add((what, bytes));
        Record(new AttackObservedData(what, bytes.Length, Convert.ToHexStringLower(bytes.AsSpan(0, Math.Min(16, bytes.Length)))));
    }

    public void Fail(string why)
    {
        Evidence.Error ??= why;
        Record(new AttackFailedData(why));
    }

    public int IntParameter(string name, int appDefault) => Parameters.TryGetValue(name, out string? v) && v != "app"
        ? int.Parse(v.StartsWith("0x", StringComparison.Ordinal) ? v[2..] : v,
            v.StartsWith("0x", StringComparison.Ordinal) ? NumberStyles.HexNumber : NumberStyles.Integer, CultureInfo.InvariantCulture)
        : appDefault;

    /// <summary>The block replay and rollback snapshot: the <c>block</c> parameter, the manifest's <c>replay_block</c>, or <see cref="Target"/>.</summary>
    public (int Block, AttackChoiceSource Source) ReplayTarget =>
        Target.Source != AttackChoiceSource.Parameter && AppSpec.HasReplayBlock ? (AppSpec.ReplayBlock, AttackChoiceSource.App) : Target;

    /// <summary>The block a splice copies: the <c>source</c> parameter, else the app's splice source (its target block if that is the one picked).</summary>
    public int SpliceSource => IntParameter("source", AppSpec.OtherBlock != Target.Block ? AppSpec.OtherBlock : AppSpec.Block);

    /// <summary>The parameter's value if it was given (not absent, not <c>app</c>).</summary>
    public int? GivenParameter(string name) => Parameters.TryGetValue(name, out string? v) && v != "app" ? IntParameter(name, 0) : null;

    /// <summary>The attacker's chosen data: <c>data</c> repeated (default 0x41, 'A').</summary>
    public byte[] ChosenData(int length)
    {
        byte b = (byte)IntParameter("data", 0x41);
        return Enumerable.Repeat(b, length).ToArray();
    }

    /// <summary>The region's machine frame and offset holding region offset <paramref name="offset"/>.</summary>
    public (Mfn Mfn, int Offset) Locate(int offset) => (Region.Mfns[offset / PageSize.Bytes], offset % PageSize.Bytes);
}

/// <summary>One attack's behaviour. A fresh object per run.</summary>
internal abstract class Attack(AttackSpec spec)
{
    public AttackSpec Spec { get; } = spec;

    /// <summary>One firing, at an instruction boundary while the application is in secure execution.</summary>
    public abstract void Fire(AttackContext c);

    /// <summary>Called between steps after the firings, for attacks with a later phase; true once finished.</summary>
    public virtual bool Continue(AttackContext c) => true;

    /// <summary>The block the attack aims at, for the <c>attack.fired</c> event; null: it aims at no one block.</summary>
    public virtual (int Block, AttackChoiceSource Source)? Aim(AttackContext c) =>
        Spec.Parameters.Any(p => p.Name == "block") ? c.Target : null;

    /// <summary>Called once when the run is over, before the Oracle judges: a last word for the evidence.</summary>
    public virtual void Summarize(AttackContext c)
    {
    }

    /// <summary>Fired repeatedly (the <c>repeat</c> parameter) unless the attack is a one-shot by nature.</summary>
    public virtual bool Repeatable => true;
}
