using Vbase.Hypervisor.Memory;

namespace Vbase.Testbed.Attacks;

// The physical position: machine memory read and written directly (hv.Machine), below every MMU, p2m and
// plug-in — a bus probe or DRAM tampering. Blocks are 64 bytes, the line of the memory-encryption designs.

internal sealed class PhysicalSnoop(AttackSpec spec) : Attack(spec)
{
    public override void Fire(AttackContext c)
    {
        for (int i = 0; i < c.Region.Mfns.Count; i++)
        {
            c.Saw($"DRAM frame mfn 0x{c.Region.Mfns[i].Value:x}", c.Hv.Machine.Frame(c.Region.Mfns[i]).ToArray());
        }
        c.Act($"read {c.Region.Mfns.Count} frame(s) of region {c.Region.Id} from machine memory");
    }
}

internal sealed class PhysicalSpoof(AttackSpec spec) : Attack(spec)
{
    public const int BlockBytes = 64;

    public override void Fire(AttackContext c)
    {
        int block = c.IntParameter("block", c.AppSpec.Block);
        (Mfn mfn, int offset) = c.Locate(block);
        byte[] data = c.ChosenData(BlockBytes);
        data.CopyTo(c.Hv.Machine.Frame(mfn)[offset..]);
        c.Hv.Sapi.NotifyDramWritten(mfn);
        c.Evidence.Tampered = true;
        c.Act($"overwrote region offset {block} (mfn 0x{mfn.Value:x} + {offset}) in machine memory with {BlockBytes} bytes of 0x{data[0]:x2}");
    }
}

internal sealed class PhysicalSplice(AttackSpec spec) : Attack(spec)
{
    public override void Fire(AttackContext c)
    {
        int block = c.IntParameter("block", c.AppSpec.Block), source = c.IntParameter("source", c.AppSpec.OtherBlock);
        if (source == block || source + PhysicalSpoof.BlockBytes > (int)c.Region.Length)
        {
            c.Fail($"no other block at region offset {source} to splice from");
            return;
        }
        (Mfn from, int fromOffset) = c.Locate(source);
        (Mfn to, int toOffset) = c.Locate(block);
        byte[] copy = c.Hv.Machine.Frame(from).Slice(fromOffset, PhysicalSpoof.BlockBytes).ToArray();
        copy.CopyTo(c.Hv.Machine.Frame(to)[toOffset..]);
        c.Hv.Sapi.NotifyDramWritten(to);
        c.Evidence.Tampered = true;
        c.Act($"copied the DRAM block at region offset {source} over region offset {block}");
    }
}

/// <summary>Snapshot now; when the application has written the block (its DRAM bytes changed), put the snapshot back.</summary>
internal sealed class PhysicalReplay(AttackSpec spec) : Attack(spec)
{
    private byte[]? snapshot;
    private Mfn mfn;
    private int offset, block;
    private ulong deadline;

    public override bool Repeatable => false;

    public override void Fire(AttackContext c)
    {
        block = c.IntParameter("block", c.AppSpec.Block);
        (mfn, offset) = c.Locate(block);
        snapshot = c.Hv.Machine.Frame(mfn).Slice(offset, PhysicalSpoof.BlockBytes).ToArray();
        deadline = c.Hv.Now + (ulong)c.IntParameter("wait", 5_000_000);
        c.Act($"snapshot of the DRAM block at region offset {block} (mfn 0x{mfn.Value:x} + {offset})");
    }

    public override bool Continue(AttackContext c)
    {
        if (snapshot is null)
        {
            return true;
        }
        bool changed = !c.Hv.Machine.Frame(mfn).Slice(offset, PhysicalSpoof.BlockBytes).SequenceEqual(snapshot);
        if (!changed && c.Hv.Now < deadline)
        {
            return false;
        }
        snapshot.CopyTo(c.Hv.Machine.Frame(mfn)[offset..]);
        c.Hv.Sapi.NotifyDramWritten(mfn);
        c.Evidence.Tampered = changed;
        c.Act(changed
            ? "the application wrote the block; restored the older snapshot in machine memory"
            : "the block never changed in DRAM before the wait ran out; restored the (identical) snapshot");
        snapshot = null;
        return true;
    }
}
