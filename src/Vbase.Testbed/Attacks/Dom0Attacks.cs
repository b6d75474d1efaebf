using Vbase.Hypervisor.Dom0;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Testbed.Attacks;

// The Dom0 position: the privileged API an administrator holds — foreign mapping and p2m changes.

internal sealed class Dom0Read(AttackSpec spec) : Attack(spec)
{
    public override void Fire(AttackContext c)
    {
        ForeignMapping m = c.Hv.Dom0.MapForeign(c.App, [.. c.Region.Gfns], writable: false);
        for (int i = 0; i < m.Count; i++)
        {
            if (m.Errors[i] != 0)
            {
                c.Act($"map_foreign of {c.Region.Gfns[i]} refused: {m.Errors[i]}");
                continue;
            }
            try
            {
                c.Saw($"Dom0 foreign read of {c.Region.Gfns[i]}", m.Read(i).ToArray());
            }
            catch (UnauthorizedAccessException e)
            {
                c.Act($"foreign read of {c.Region.Gfns[i]} refused by the architecture: {e.Message}");
            }
        }
        c.Act($"mapped {m.Count} frame(s) of region {c.Region.Id} read-only and read them");
    }
}

internal sealed class Dom0Write(AttackSpec spec) : Attack(spec)
{
    public override void Fire(AttackContext c)
    {
        int block = c.Target.Block;
        int page = block / PageSize.Bytes, offset = block % PageSize.Bytes;
        byte[] data = c.ChosenData(Dram.BlockBytes);
        ForeignMapping m = c.Hv.Dom0.MapForeign(c.App, [c.Region.Gfns[page]], writable: true);
        if (m.Errors[0] != 0)
        {
            c.Act($"writable map_foreign of {c.Region.Gfns[page]} refused: {m.Errors[0]}");
            return;
        }
        try
        {
            m.Write(0, offset, data);
            c.Evidence.Tampered = true;
            c.Act($"wrote {data.Length} bytes of 0x{data[0]:x2} at region offset {block} through a writable foreign mapping");
        }
        catch (UnauthorizedAccessException e)
        {
            c.Act($"foreign write refused by the architecture: {e.Message}");
        }
    }
}

internal sealed class Dom0Remap(AttackSpec spec) : Attack(spec)
{
    public override bool Repeatable => false;

    /// <summary>The page of the target block is the one remapped.</summary>
    public override (int Block, AttackChoiceSource Source)? Aim(AttackContext c) => c.Target;

    public override void Fire(AttackContext c)
    {
        int page = c.Target.Block / PageSize.Bytes;
        Gfn target = c.Region.Gfns[page];
        // The new frame comes from machine memory, as a toolstack's populate_physmap gives one, at the first hole
        // above the domain's RAM: no frame of the guest's own is overwritten (under Linux every RAM frame may be
        // live kernel memory), and the guest, which learnt its RAM at boot, never uses that GFN itself.
        IReadOnlyList<KeyValuePair<Gfn, P2mEntry>> p2m = c.Hv.Dom0.GetP2m(c.App);
        var mapped = p2m.Select(kv => kv.Key.Value).ToHashSet();
        ulong hole = p2m.Where(kv => kv.Value.Type is P2mType.RamRw or P2mType.RamRo).Max(kv => kv.Key.Value) + 1;
        while (mapped.Contains(hole))
        {
            hole++;
        }
        var spare = new Gfn(hole);
        Mfn fresh;
        try
        {
            fresh = c.Hv.Dom0.PopulatePhysmap(c.App, spare);
        }
        catch (UnauthorizedAccessException e)
        {
            c.Act($"populate_physmap of {spare} refused: {e.Message}");
            return;
        }
        catch (InvalidOperationException e)
        {
            c.Fail($"populate_physmap of {spare}: {e.Message}");
            return;
        }
        byte[] page0 = c.ChosenData(PageSize.Bytes);
        if (c.Hv.Dom0.WriteGuest(c.App, spare.Address, page0) is int rc and not 0)
        {
            c.Fail($"Dom0's fill of the fresh frame at {spare} failed: {rc}");
            return;
        }
        P2mEntry old = c.Hv.Dom0.GetP2mEntry(c.App, target);
        try
        {
            c.Hv.Dom0.SetP2mEntry(c.App, target, new P2mEntry(fresh, P2mType.RamRw));
        }
        catch (UnauthorizedAccessException e)
        {
            c.Act($"p2m change of {target} refused: {e.Message}");
            return;
        }
        P2mEntry now = c.Hv.Dom0.GetP2mEntry(c.App, target);
        if (now.Mfn != fresh)
        {
            c.Act($"p2m change of {target} refused (still {now.Mfn})");
            return;
        }
        c.Hv.Sapi.Observe(c.Region, page, fresh);
        c.Evidence.Tampered = true;
        c.Act($"p2m of {target}: {old.Type.ToXenName()} {old.Mfn} -> ram_rw {fresh} (a fresh frame Dom0 added at {spare} "
            + $"with populate_physmap and filled with 0x{page0[0]:x2})");
    }
}
