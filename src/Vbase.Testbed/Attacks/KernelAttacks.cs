using Vbase.Sapi.Memory;

namespace Vbase.Testbed.Attacks;

// The guest-kernel position: the application VM's own kernel, commanded through its attack mailbox, reads and
// writes with kernel privilege through its page tables, the p2m and the plug-in — the path kernel code takes.

internal abstract class KernelAttack(AttackSpec spec) : Attack(spec)
{
    protected static MailboxAnswer? Ask(AttackContext c, string what, MailboxOp op, ulong va, int length = 0, byte[]? data = null)
    {
        KernelMailbox mailbox = c.Mailbox(c.App);
        if (!mailbox.Ready)
        {
            c.Fail(c.AppSpec.IsLinux ? "the Linux guest has no attack mailbox (vbase.ko not loaded: no page with its magic and self_gfn in RAM)"
                : "the guest kernel has no attack mailbox (kernel.elf without vbase_attack_mailbox)");
            return null;
        }
        MailboxAnswer? answer = mailbox.Post(op, va, length, data);
        if (answer is null)
        {
            c.Fail($"the guest kernel did not answer the {what} command");
        }
        else
        {
            c.Act($"guest kernel {what} va 0x{va:x} (gfn 0x{answer.GfnBefore:x}) -> {answer.Result}");
        }
        return answer;
    }
}

internal sealed class KernelRead(AttackSpec spec) : KernelAttack(spec)
{
    public override void Fire(AttackContext c)
    {
        for (int page = 0; page < c.Region.Gfns.Count; page++)
        {
            for (int half = 0; half < 2; half++)
            {
                ulong va = c.Region.VirtualAddress.Value + (ulong)(page * PageSize.Bytes + half * KernelMailbox.DataBytes);
                MailboxAnswer? a = Ask(c, "read", MailboxOp.Read, va, KernelMailbox.DataBytes);
                if (a is null)
                {
                    return;
                }
                if (a.Result > 0)
                {
                    c.Saw($"kernel read of va 0x{va:x}", a.Data[..(int)a.Result]);
                }
            }
        }
    }
}

internal sealed class KernelWrite(AttackSpec spec) : KernelAttack(spec)
{
    public override void Fire(AttackContext c)
    {
        int block = c.Target.Block;
        byte[] data = c.ChosenData(Dram.BlockBytes);
        MailboxAnswer? a = Ask(c, "write", MailboxOp.Write, c.Region.VirtualAddress.Value + (ulong)block, data.Length, data);
        c.Evidence.Tampered |= a is { Result: > 0 };
    }
}

internal sealed class KernelRemap(AttackSpec spec) : KernelAttack(spec)
{
    public override bool Repeatable => false;

    /// <summary>The page of the target block is the one remapped.</summary>
    public override (int Block, AttackChoiceSource Source)? Aim(AttackContext c) => c.Target;

    public override void Fire(AttackContext c)
    {
        int block = c.Target.Block;
        int page = block / PageSize.Bytes;
        ulong va = c.Region.VirtualAddress.Value + (ulong)(page * PageSize.Bytes);
        MailboxAnswer? a = Ask(c, "remap", MailboxOp.Remap, va, 0, c.ChosenData(KernelMailbox.DataBytes));
        if (a is not { Result: >= 0 })
        {
            return;
        }
        // The Oracle follows the page to its new frame: what the application reads there is judged against the shadow.
        var mfn = c.Hv.Dom0.GetP2mEntry(c.App, new Gfn(a.GfnAfter)).Mfn;
        c.Hv.Sapi.Observe(c.Region, page, mfn);
        c.Evidence.Tampered = true;
        c.Act($"the application's page at va 0x{va:x} now maps gfn 0x{a.GfnAfter:x} (was 0x{a.GfnBefore:x})");
    }
}
