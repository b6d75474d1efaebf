using System.Globalization;

namespace Vbase.Testbed.Attacks;

/// <summary>
/// The co-resident-VM position: real guest code in the Attacker VM (the guest kernel booted with <c>attacker</c>)
/// tries every hypercall an unprivileged VM has on the application's frames and reports what it got.
/// </summary>
internal sealed class ForeignVmSweep(AttackSpec spec) : Attack(spec)
{
    public override bool Repeatable => false;

    public override void Fire(AttackContext c)
    {
        if (c.AttackerVm is not { } attacker)
        {
            c.Fail("no Attacker VM in this run");
            return;
        }
        KernelMailbox mailbox = c.Mailbox(attacker);
        if (!c.RunUntil(() => mailbox.Ready, KernelMailbox.AnswerBudget))
        {
            c.Fail("the Attacker VM's kernel never set up its attack mailbox");
            return;
        }
        MailboxAnswer? a = mailbox.Post(MailboxOp.ForeignSweep, targetDomain: c.App.Value, gfns: [.. c.Region.Gfns]);
        if (a is null)
        {
            c.Fail("the Attacker VM did not answer");
            return;
        }
        string codes = string.Join(" ", a.Codes.Select(x => x.ToString(CultureInfo.InvariantCulture)));
        c.Act($"Attacker VM (dom {attacker.Value}) made {a.Codes.Length} attempts on dom {c.App.Value}'s {c.Region.Gfns.Count} frame(s): results [{codes}], obtained {a.Obtained} bytes");
        if (a.Obtained > 0)
        {
            c.Saw("bytes the Attacker VM obtained", a.Data[..(int)Math.Min(a.Obtained, (uint)a.Data.Length)]);
        }
    }
}
