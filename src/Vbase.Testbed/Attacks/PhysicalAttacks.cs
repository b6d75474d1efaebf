using Vbase.Sapi;
using Vbase.Sapi.Memory;

namespace Vbase.Testbed.Attacks;

// The physical position: machine memory read and written directly (hv.Machine), below every MMU, p2m and
// plug-in — a bus probe or DRAM tampering. Blocks are 64 bytes, the line of the memory-encryption designs. Each
// attack first pushes its target lines out of the chip (written back and invalidated, with the architecture's
// cached metadata), as an attacker waits for or forces eviction: what it then does to DRAM is what the next fill
// sees. An attack stops acting once the region is released.

internal static class Dram
{
    public const int BlockBytes = 64;

    /// <summary>Forces <paramref name="length"/> bytes at region offset <paramref name="offset"/> off the chip.</summary>
    public static void Evict(AttackContext c, int offset, int length) =>
        c.Hv.Sapi.EvictForAttack(c.Region, (ulong)offset, (ulong)length);

    public static Span<byte> Block(AttackContext c, int offset)
    {
        (Mfn mfn, int inFrame) = c.Locate(offset);
        return c.Hv.Machine.Frame(mfn).Slice(inFrame, BlockBytes);
    }

    /// <summary>The off-chip metadata that covers the line at region offset <paramref name="offset"/>, as the architecture describes it.</summary>
    public static IReadOnlyList<MetadataRange> MetadataOf(AttackContext c, int offset) =>
        c.Hv.Sapi.DescribeMetadata(c.Region, offset / PageSize.Bytes, offset % PageSize.Bytes / BlockBytes);

    public static unsafe Span<byte> Bytes(AttackContext c, MetadataRange range) =>
        new(c.Hv.Machine.HostPointer(new Mfn(range.MachineAddress >> PageSize.Shift)) + (range.MachineAddress & PageSize.Mask), range.Length);

    public static string Describe(IReadOnlyList<MetadataRange> ranges) =>
        string.Join(", ", ranges.Select(r => $"{r.What} at 0x{r.MachineAddress:x} ({r.Length} bytes)"));
}

internal sealed class PhysicalSnoop(AttackSpec spec) : Attack(spec)
{
    public override void Fire(AttackContext c)
    {
        Dram.Evict(c, 0, (int)c.Region.Length);
        for (int i = 0; i < c.Region.Mfns.Count; i++)
        {
            byte[] frame = new byte[PageSize.Bytes];   // kept as evidence: one array per frame
            c.Hv.Sapi.ReadDram(c.Region.Mfns[i], 0, frame);
            c.Saw($"DRAM frame mfn 0x{c.Region.Mfns[i].Value:x}", frame);
        }
        c.Act($"forced region {c.Region.Id} off the chip and read its {c.Region.Mfns.Count} frame(s) from machine memory");
    }
}

internal sealed class PhysicalSpoof(AttackSpec spec) : Attack(spec)
{
    public override void Fire(AttackContext c)
    {
        int block = c.Target.Block;
        (Mfn mfn, int offset) = c.Locate(block);
        Dram.Evict(c, block, Dram.BlockBytes);
        byte[] data = c.ChosenData(Dram.BlockBytes);
        data.CopyTo(Dram.Block(c, block));
        c.Hv.Sapi.NotifyDramWritten(mfn);
        c.Evidence.Tampered = true;
        c.Act($"overwrote region offset {block} (mfn 0x{mfn.Value:x} + {offset}) in machine memory with {Dram.BlockBytes} bytes of 0x{data[0]:x2}");
    }
}

internal sealed class PhysicalSplice(AttackSpec spec) : Attack(spec)
{
    public override void Fire(AttackContext c)
    {
        int block = c.Target.Block, source = c.SpliceSource;
        if (source == block || source + Dram.BlockBytes > (int)c.Region.Length)
        {
            c.Fail($"no other block at region offset {source} to splice from");
            return;
        }
        Dram.Evict(c, source, Dram.BlockBytes);
        Dram.Evict(c, block, Dram.BlockBytes);
        Dram.Block(c, source).CopyTo(Dram.Block(c, block));
        c.Hv.Sapi.NotifyDramWritten(c.Locate(block).Mfn);
        c.Evidence.Tampered = true;
        c.Act($"copied the DRAM block at region offset {source} over region offset {block}");
    }
}

/// <summary>
/// Snapshot a block (and, for a rollback, all its off-chip metadata) now; force it out of the chip until the
/// application's write of it reaches DRAM; put the snapshot back. Inconclusive if the block never changes in DRAM
/// before the wait runs out, or the region is released first.
/// </summary>
internal class PhysicalReplay(AttackSpec spec) : Attack(spec)
{
    private byte[]? snapshot;
    private List<(MetadataRange Range, byte[] Bytes)> metadata = [];
    private int block;
    private ulong deadline;

    public override bool Repeatable => false;

    public override (int Block, AttackChoiceSource Source)? Aim(AttackContext c) => c.ReplayTarget;

    /// <summary>Whether the off-chip metadata is snapshot and restored with the data (phys-rollback).</summary>
    protected virtual bool WithMetadata => false;

    public override void Fire(AttackContext c)
    {
        block = c.ReplayTarget.Block;
        (Mfn mfn, int offset) = c.Locate(block);
        Dram.Evict(c, block, Dram.BlockBytes);
        snapshot = Dram.Block(c, block).ToArray();
        IReadOnlyList<MetadataRange> ranges = WithMetadata ? Dram.MetadataOf(c, block) : [];
        metadata = [.. ranges.Select(r => (r, Dram.Bytes(c, r).ToArray()))];
        deadline = c.Hv.Now + (ulong)c.IntParameter("wait", 5_000_000);
        c.Act(WithMetadata
            ? $"snapshot of the DRAM block at region offset {block} (mfn 0x{mfn.Value:x} + {offset}) with its off-chip metadata: {(ranges.Count == 0 ? "none (the architecture keeps none)" : Dram.Describe(ranges))}"
            : $"snapshot of the DRAM block at region offset {block} (mfn 0x{mfn.Value:x} + {offset})");
    }

    public override bool Continue(AttackContext c)
    {
        if (snapshot is null)
        {
            return true;
        }
        if (!c.Region.IsActive)
        {
            c.Evidence.Inconclusive = "the region was released before the application's write of the block reached DRAM; nothing to put back";
            c.Act("the region was released: the attack stops without acting");
            snapshot = null;
            return true;
        }
        Dram.Evict(c, block, Dram.BlockBytes);   // the attacker keeps forcing the line out, so the write reaches DRAM
        bool changed = !Dram.Block(c, block).SequenceEqual(snapshot);
        if (!changed)
        {
            if (c.Hv.Now < deadline)
            {
                return false;
            }
            c.Evidence.Inconclusive = "the block never changed in DRAM before the wait ran out; nothing to replay";
            c.Act("the block never changed in DRAM: nothing put back");
            snapshot = null;
            return true;
        }
        snapshot.CopyTo(Dram.Block(c, block));
        foreach ((MetadataRange range, byte[] bytes) in metadata)
        {
            bytes.CopyTo(Dram.Bytes(c, range));
        }
        c.Hv.Sapi.NotifyDramWritten(c.Locate(block).Mfn);
        c.Evidence.Tampered = true;
        c.Act(WithMetadata
            ? $"the application wrote the block; put back the older block and its {metadata.Count} metadata range(s) in machine memory"
            : "the application wrote the block; restored the older snapshot in machine memory");
        snapshot = null;
        return true;
    }
}

/// <summary>phys-rollback: a replay of the block together with every byte of off-chip metadata that covers it.</summary>
internal sealed class PhysicalRollback(AttackSpec spec) : PhysicalReplay(spec)
{
    protected override bool WithMetadata => true;
}

/// <summary>Chosen bytes over the off-chip metadata (counters, MACs, tree nodes) covering the target line.</summary>
internal sealed class PhysicalMetadataSpoof(AttackSpec spec) : Attack(spec)
{
    public override void Fire(AttackContext c)
    {
        int block = c.Target.Block;
        Dram.Evict(c, block, Dram.BlockBytes);
        IReadOnlyList<MetadataRange> ranges = Dram.MetadataOf(c, block);
        if (ranges.Count == 0)
        {
            c.Evidence.Inconclusive = "the architecture keeps no off-chip metadata for the line; there is nothing to spoof";
            c.Act($"looked for off-chip metadata covering region offset {block}: none");
            return;
        }
        byte b = (byte)c.IntParameter("data", 0x41);
        foreach (MetadataRange range in ranges)
        {
            Dram.Bytes(c, range).Fill(b);
        }
        c.Evidence.Tampered = true;
        c.Act($"overwrote the off-chip metadata covering region offset {block} with 0x{b:x2}: {Dram.Describe(ranges)}");
    }
}
