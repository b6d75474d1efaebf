using System.Reflection;
using System.Reflection.Emit;
using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Translation;

/// <summary>
/// Writes one region's method. Arguments: 0 the region (the delegate's target), 1 the hart, 2 the entry
/// block. Locals hold the register file pointer, the cycle count at the start of the current block, the
/// page's virtual base and the TLBs, read once per entry (nothing that can change them is translated).
/// Within a block, guest registers live in IL locals: each is read from the register file at its first use
/// and written back before the block ends and before every slow path, which sees exactly the
/// interpreter's register file (if it changes it, the slow path makes the code leave).
/// The per-instruction IL comes from the instruction's emitter (<c>Emitters.&lt;extension&gt;.cs</c>), which the
/// generated <see cref="Emitters.Emit"/> picks by <see cref="InstructionId"/>; this class holds what they share:
/// the guest registers in locals, the inline TLB paths of loads and stores, branches and exits.
/// </summary>
internal sealed unsafe class RegionEmitter
{
    // The hart's hot state (Harts/HartState.cs) is addressed as ldarg.1 (the hart), ldflda Hot, then a field of
    // the struct: tokens resolved once, through nameof, so a renamed field breaks the build.
    private static readonly FieldInfo HotField = typeof(Hart).GetField(nameof(Hart.Hot), BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new MissingFieldException(nameof(Hart), nameof(Hart.Hot));

    private static FieldInfo StateField(string name) =>
        typeof(HartState).GetField(name) ?? throw new MissingFieldException(nameof(HartState), name);

    private static readonly FieldInfo RegistersField = StateField(nameof(HartState.X));
    private static readonly FieldInfo CycleField = StateField(nameof(HartState.Cycle));
    private static readonly FieldInfo EventCycleField = StateField(nameof(HartState.EventCycle));
    private static readonly FieldInfo NextPcField = StateField(nameof(HartState.NextPc));
    private static readonly FieldInfo VirtualBaseField = StateField(nameof(HartState.FetchVirtualBase));
    private static readonly FieldInfo LoadTlbField = StateField(nameof(HartState.LoadTlb));
    private static readonly FieldInfo StoreTlbField = StateField(nameof(HartState.StoreTlb));
    private static readonly FieldInfo ExitField = StateField(nameof(HartState.TranslatedExit));
    private static readonly FieldInfo LoadLineMasksField = StateField(nameof(HartState.LoadLineMasks));
    private static readonly FieldInfo StoreLineMasksField = StateField(nameof(HartState.StoreLineMasks));
    private static readonly FieldInfo LineHitsField = StateField(nameof(HartState.LineHits));

    // The slow paths, bound through delegates of their exact signatures (a changed signature breaks the build).
    private delegate bool LoadSlowPathFunction(Hart h, ulong va, int size, out ulong value, ulong cycle, DecodedInstruction* slot,
        int length, TranslatedRegion region);
    private delegate bool StoreSlowPathFunction(Hart h, ulong va, int size, ulong value, ulong cycle, DecodedInstruction* slot,
        int length, TranslatedRegion region);
    private static readonly MethodInfo LoadSlowPath = new LoadSlowPathFunction(Hart.TranslatedLoad).Method;
    private static readonly MethodInfo StoreSlowPath = new StoreSlowPathFunction(Hart.TranslatedStore).Method;
    private delegate bool HandlerCallFunction(Hart h, ulong cycle, DecodedInstruction* slot, int length, TranslatedRegion region);
    private static readonly MethodInfo HandlerCall = new HandlerCallFunction(Hart.TranslatedCall).Method;

    private static readonly int SlotSizeLog2 = System.Numerics.BitOperations.Log2((uint)sizeof(DecodedInstruction));
    private static readonly int TlbEntrySizeLog2 = System.Numerics.BitOperations.Log2((uint)sizeof(TlbEntry));

    private readonly DecodedPage page;
    private readonly List<RegionTranslator.Block> blocks;
    private readonly Dictionary<int, int> blockAt = [];
    private readonly DynamicMethod method;
    public readonly ILGenerator Il;
    private readonly LocalBuilder registers, cycle, virtualBase, loadTlb, storeTlb, loadMasks, storeMasks, address, value, entry;
    private readonly LocalBuilder?[] guest = new LocalBuilder?[32];
    private readonly bool[] loaded = new bool[32], dirty = new bool[32];
    private readonly Label[] heads, bodies;
    private readonly Label leave;
    // The instruction being emitted: its slot, its index in its block and the block's length.
    private int slot, index, blockLength;

    /// <summary>The instructions compiled into the region, in order (what tests check the table against).</summary>
    public readonly List<InstructionId> Emitted = [];

    public RegionEmitter(DecodedPage page, List<RegionTranslator.Block> blocks)
    {
        this.page = page;
        this.blocks = blocks;
        for (int b = 0; b < blocks.Count; b++)
        {
            blockAt[blocks[b].Head] = b;
        }
        method = new DynamicMethod($"region_{page.PhysicalPage:x}", typeof(DecodedInstruction*),
            [typeof(TranslatedRegion), typeof(Hart), typeof(int)], typeof(Hart), skipVisibility: true);
        Il = method.GetILGenerator();
        registers = Il.DeclareLocal(typeof(ulong*));
        cycle = Il.DeclareLocal(typeof(ulong));
        virtualBase = Il.DeclareLocal(typeof(ulong));
        loadTlb = Il.DeclareLocal(typeof(byte*));
        storeTlb = Il.DeclareLocal(typeof(byte*));
        loadMasks = Il.DeclareLocal(typeof(byte*));
        storeMasks = Il.DeclareLocal(typeof(byte*));
        address = Il.DeclareLocal(typeof(ulong));
        value = Il.DeclareLocal(typeof(ulong));
        entry = Il.DeclareLocal(typeof(byte*));
        heads = new Label[blocks.Count];
        bodies = new Label[blocks.Count];
        for (int b = 0; b < blocks.Count; b++)
        {
            heads[b] = Il.DefineLabel();
            bodies[b] = Il.DefineLabel();
        }
        leave = Il.DefineLabel();
    }

    public RegionCode Compile(TranslatedRegion region)
    {
        LoadHartField(RegistersField, registers);
        LoadHartField(CycleField, cycle);
        LoadHartField(VirtualBaseField, virtualBase);
        LoadHartField(LoadTlbField, loadTlb);
        LoadHartField(StoreTlbField, storeTlb);
        LoadHartField(LoadLineMasksField, loadMasks);
        LoadHartField(StoreLineMasksField, storeMasks);
        // EnterRegion has checked that the entry block fits: start in its body.
        Il.Emit(OpCodes.Ldarg_2);
        Il.Emit(OpCodes.Switch, bodies);
        Il.Emit(OpCodes.Ldstr, "no such block in this region");
        Il.Emit(OpCodes.Newobj, typeof(InvalidOperationException).GetConstructor([typeof(string)])!);
        Il.Emit(OpCodes.Throw);
        for (int b = 0; b < blocks.Count; b++)
        {
            EmitBlock(b);
        }
        // Where a slow path that said "leave" goes: it has set Cycle and the continuation.
        Il.MarkLabel(leave);
        PushState();
        Il.Emit(OpCodes.Ldfld, ExitField);
        Il.Emit(OpCodes.Ret);
        return (RegionCode)method.CreateDelegate(typeof(RegionCode), region);
    }

    private void LoadHartField(FieldInfo field, LocalBuilder into)
    {
        PushState();
        Il.Emit(OpCodes.Ldfld, field);
        Il.Emit(OpCodes.Stloc, into);
    }

    /// <summary>Pushes the address of the hart's hot state (<c>ref hart.Hot</c>).</summary>
    private void PushState()
    {
        Il.Emit(OpCodes.Ldarg_1);
        Il.Emit(OpCodes.Ldflda, HotField);
    }

    private void EmitBlock(int b)
    {
        RegionTranslator.Block block = blocks[b];
        int length = block.Body.Count;
        Array.Clear(loaded);
        Array.Clear(dirty);
        // Head: run the block only if all of it fits before the next event; else let the interpreter step.
        Il.MarkLabel(heads[b]);
        Il.Emit(OpCodes.Ldloc, cycle);
        Const(length);
        Il.Emit(OpCodes.Add);
        PushState();
        Il.Emit(OpCodes.Ldfld, EventCycleField);
        Il.Emit(OpCodes.Ble_Un, bodies[b]);
        ExitToSlot(block.Head, -1);
        Il.MarkLabel(bodies[b]);
        for (int i = 0; i < length; i++)
        {
            var (at, d) = block.Body[i];
            slot = at;
            EmitInstruction(in d, i, length);
        }
        if (block.FallThrough >= 0)
        {
            WriteBack();
            GoTo(block.FallThrough, length);
        }
    }

    private void EmitInstruction(in DecodedInstruction d, int index, int blockLength)
    {
        (this.index, this.blockLength) = (index, blockLength);
        TranslationClass translation = d.IsIllegal ? TranslationClass.NotTranslated : InstructionTable.Row(d.Id).Translation;
        if (translation == TranslationClass.Value)
        {
            // A value emitter pushes rd's new value; a write to x0 computes nothing.
            if (d.Rd != DecodedInstruction.SinkRegister)
            {
                EmitOrThrow(in d);
                SetRegister(d.Rd);
            }
        }
        else
        {
            EmitOrThrow(in d);
        }
        Emitted.Add(d.Id);
    }

    private void EmitOrThrow(in DecodedInstruction d)
    {
        if (!Emitters.Emit(this, in d))
        {
            throw new InvalidOperationException($"{d.Mnemonic} has no emitter: exploration should have ended the block before it");
        }
    }

    /// <summary>A conditional branch: <paramref name="taken"/> is the IL branch taken when the RISC-V one is.</summary>
    public void EmitBranch(in DecodedInstruction d, OpCode taken)
    {
        Label target = Il.DefineLabel();
        Use(d.Rs1);
        Use(d.Rs2);
        WriteBack();
        PushRegister(d.Rs1);
        PushRegister(d.Rs2);
        Il.Emit(taken, target);
        GoTo(slot + d.Length / 2, blockLength);
        Il.MarkLabel(target);
        GoToOffset(slot * 2L + d.Imm, blockLength);
    }

    public void EmitJal(in DecodedInstruction d)
    {
        WriteLink(in d);
        WriteBack();
        GoToOffset(slot * 2L + d.Imm, blockLength);
    }

    public void EmitJalr(in DecodedInstruction d)
    {
        // target = (rs1 + imm) & ~1, read before rd is written (they may be the same register).
        PushRegister(d.Rs1);
        Const(d.Imm);
        Il.Emit(OpCodes.Add);
        Const(~1L);
        Il.Emit(OpCodes.And);
        Il.Emit(OpCodes.Stloc, address);
        WriteLink(in d);
        WriteBack();
        // Within the page: continue at the target's slot (re-entering translation if it is a head).
        Label away = Il.DefineLabel();
        Il.Emit(OpCodes.Ldloc, address);
        Il.Emit(OpCodes.Ldloc, virtualBase);
        Il.Emit(OpCodes.Xor);
        ConstInt(12);
        Il.Emit(OpCodes.Shr_Un);
        Il.Emit(OpCodes.Brtrue, away);
        SetCycle(blockLength - 1);
        PushSlot(0);
        Il.Emit(OpCodes.Ldloc, address);
        Const(0xFFF);
        Il.Emit(OpCodes.And);
        ConstInt(SlotSizeLog2 - 1); // (offset / 2) slots
        Il.Emit(OpCodes.Shl);
        Il.Emit(OpCodes.Conv_U);
        Il.Emit(OpCodes.Add);
        Il.Emit(OpCodes.Ret);
        Il.MarkLabel(away);
        ExitToPc(() => Il.Emit(OpCodes.Ldloc, address), blockLength - 1);
    }

    private void WriteLink(in DecodedInstruction d)
    {
        if (d.Rd != DecodedInstruction.SinkRegister)
        {
            PushPc(d.Length);
            SetRegister(d.Rd);
        }
    }

    /// <summary>
    /// A load of <paramref name="size"/> bytes: the TLB fast path inline (as <c>Hart.Load</c>) with the host read
    /// <paramref name="read"/> (which extends to 32 bits), the interpreter's slow path otherwise; the result is
    /// sign- or zero-extended to 64 bits as <paramref name="signed"/> says. The value is written only if the
    /// access did not trap.
    /// </summary>
    public void EmitLoad(in DecodedInstruction d, int size, OpCode read, bool signed)
    {
        var op = (Size: size, Read: read, Signed: signed);
        Label slow = Il.DefineLabel(), done = Il.DefineLabel(), fast = Il.DefineLabel(), lines = Il.DefineLabel();
        Use(d.Rs1);
        bool[] dirtyBefore = (bool[])dirty.Clone();
        ComputeAddressAndProbe(in d, loadTlb, op.Size, lines);
        // Fast: value = *(T*)(entry->Host + (va & 0xFFF))
        Il.MarkLabel(fast);
        PushHostPointer();
        Il.Emit(op.Read);
        if (op.Size != 8)
        {
            Il.Emit(op.Signed ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
        }
        SetLoaded(d.Rd);
        Il.Emit(OpCodes.Br, done);

        // A line-checked page (a protected line on chip) whose line may be read: the fast path after all.
        Il.MarkLabel(lines);
        EmitLineProbe(loadMasks, op.Size, fast, slow);

        // Slow: the register state is the one before the fast path wrote rd.
        Il.MarkLabel(slow);
        Flush(dirtyBefore);
        Il.Emit(OpCodes.Ldarg_1);
        Il.Emit(OpCodes.Ldloc, address);
        ConstInt(op.Size);
        Il.Emit(OpCodes.Ldloca, value);
        SlowPathArguments(d.Length);
        Label carryOn = Il.DefineLabel();
        Il.Emit(OpCodes.Call, LoadSlowPath);
        Il.Emit(OpCodes.Brtrue, carryOn);
        // Leaving: after a trap (no continuation) rd keeps its value; after an event the load completed, so
        // rd gets it in the register file (the others were flushed before the call).
        PushState();
        Il.Emit(OpCodes.Ldfld, ExitField);
        Il.Emit(OpCodes.Brfalse, leave);
        if (d.Rd != DecodedInstruction.SinkRegister)
        {
            PushRegisterAddress(d.Rd);
            PushSlowLoadValue(op);
            Il.Emit(OpCodes.Stind_I8);
        }
        Il.Emit(OpCodes.Br, leave);
        Il.MarkLabel(carryOn);
        PushSlowLoadValue(op);
        SetLoaded(d.Rd);
        Il.MarkLabel(done);
    }

    /// <summary>The slow path's raw value, extended as the interpreter does.</summary>
    private void PushSlowLoadValue((int Size, OpCode Read, bool Signed) op)
    {
        Il.Emit(OpCodes.Ldloc, value);
        if (op.Signed)
        {
            Il.Emit(op.Size switch { 1 => OpCodes.Conv_I1, 2 => OpCodes.Conv_I2, _ => OpCodes.Conv_I4 });
            Il.Emit(OpCodes.Conv_I8);
        }
    }

    private void SetLoaded(byte rd)
    {
        if (rd != DecodedInstruction.SinkRegister)
        {
            SetRegister(rd);
        }
        else
        {
            Il.Emit(OpCodes.Pop);
        }
    }

    /// <summary>A store of <paramref name="size"/> bytes with the host write <paramref name="write"/>: the TLB fast path inline, else the slow path.</summary>
    public void EmitStore(in DecodedInstruction d, int size, OpCode write)
    {
        var op = (Size: size, Write: write);
        Label slow = Il.DefineLabel(), done = Il.DefineLabel(), fast = Il.DefineLabel(), lines = Il.DefineLabel();
        Use(d.Rs1);
        Use(d.Rs2);
        ComputeAddressAndProbe(in d, storeTlb, op.Size, lines);
        Il.MarkLabel(fast);
        PushHostPointer();
        PushRegister(d.Rs2);
        if (op.Size != 8)
        {
            Il.Emit(OpCodes.Conv_U4);
        }
        Il.Emit(op.Write);
        Il.Emit(OpCodes.Br, done);

        Il.MarkLabel(lines);
        Label dropping = Il.DefineLabel();
        EmitLineProbe(storeMasks, op.Size, fast, dropping);
        Il.MarkLabel(dropping);
        EmitDropProbe(op.Size, done, slow);

        Il.MarkLabel(slow);
        Flush(dirty);
        Il.Emit(OpCodes.Ldarg_1);
        Il.Emit(OpCodes.Ldloc, address);
        ConstInt(op.Size);
        PushRegister(d.Rs2);
        SlowPathArguments(d.Length);
        Il.Emit(OpCodes.Call, StoreSlowPath);
        Il.Emit(OpCodes.Brfalse, leave);
        Il.MarkLabel(done);
    }

    /// <summary>
    /// A class-call row: its interpreter handler runs on the register file, so the registers written so far go
    /// there first (they stay dirty, the locals still hold them), and an integer destination is read back at
    /// its next use. If the handler trapped (or the slow-path rules say so) the code leaves.
    /// </summary>
    public void EmitHandlerCall(in DecodedInstruction d)
    {
        Flush(dirty);
        Il.Emit(OpCodes.Ldarg_1);
        Il.Emit(OpCodes.Ldloc, cycle);
        Const(index);
        Il.Emit(OpCodes.Add);
        PushSlot(slot);
        ConstInt(d.Length);
        Il.Emit(OpCodes.Ldarg_0);
        Il.Emit(OpCodes.Call, HandlerCall);
        Il.Emit(OpCodes.Brfalse, leave);
        if (!InstructionDecoder.WritesFloatRegister(InstructionTable.Row(d.Id).Format) && d.Rd is > 0 and < 32)
        {
            loaded[d.Rd] = dirty[d.Rd] = false;
        }
    }

    /// <summary>cycle (this instruction's: the block's start + index), slot, length, region.</summary>
    private void SlowPathArguments(int length)
    {
        Il.Emit(OpCodes.Ldloc, cycle);
        Const(index);
        Il.Emit(OpCodes.Add);
        PushSlot(slot);
        ConstInt(length);
        Il.Emit(OpCodes.Ldarg_0);
    }

    /// <summary>
    /// address = rs1 + imm; entry = tlb + (vpn &amp; 255); goes to <paramref name="slow"/> unless the entry
    /// holds the page and the access stays inside it.
    /// </summary>
    private void ComputeAddressAndProbe(in DecodedInstruction d, LocalBuilder tlb, int size, Label slow)
    {
        PushRegister(d.Rs1);
        if (d.Imm != 0)
        {
            Const(d.Imm);
            Il.Emit(OpCodes.Add);
        }
        Il.Emit(OpCodes.Stloc, address);
        Il.Emit(OpCodes.Ldloc, tlb);
        Il.Emit(OpCodes.Ldloc, address);
        ConstInt(12 - TlbEntrySizeLog2);
        Il.Emit(OpCodes.Shr_Un);
        Const((Hart.TlbEntries - 1) << TlbEntrySizeLog2);
        Il.Emit(OpCodes.And);
        Il.Emit(OpCodes.Conv_U);
        Il.Emit(OpCodes.Add);
        Il.Emit(OpCodes.Stloc, entry);
        // entry->Tag == va >> 12
        Il.Emit(OpCodes.Ldloc, entry);
        Il.Emit(OpCodes.Ldind_I8);
        Il.Emit(OpCodes.Ldloc, address);
        ConstInt(12);
        Il.Emit(OpCodes.Shr_Un);
        Il.Emit(OpCodes.Bne_Un, slow);
        BranchUnlessInPage(size, slow);
    }

    /// <summary>Goes to <paramref name="slow"/> if the <paramref name="size"/>-byte access at address crosses its page.</summary>
    private void BranchUnlessInPage(int size, Label slow)
    {
        if (size > 1)
        {
            Il.Emit(OpCodes.Ldloc, address);
            Const(0xFFF);
            Il.Emit(OpCodes.And);
            Const(4096 - size);
            Il.Emit(OpCodes.Bgt_Un, slow);
        }
    }

    /// <summary>Goes to <paramref name="slow"/> unless entry->Tag == (va >> 12) | <paramref name="tag"/>.</summary>
    private void BranchUnlessTagged(ulong tag, Label slow)
    {
        Il.Emit(OpCodes.Ldloc, entry);
        Il.Emit(OpCodes.Ldind_I8);
        Il.Emit(OpCodes.Ldloc, address);
        ConstInt(12);
        Il.Emit(OpCodes.Shr_Un);
        Il.Emit(OpCodes.Ldc_I8, unchecked((long)tag));
        Il.Emit(OpCodes.Or);
        Il.Emit(OpCodes.Bne_Un, slow);
    }

    /// <summary>Pushes masks[(va >> 12) &amp; 255]: the entry's line mask (or a dropping page's counter).</summary>
    private void PushEntryMask(LocalBuilder masks)
    {
        Il.Emit(OpCodes.Ldloc, masks);
        Il.Emit(OpCodes.Ldloc, address);
        ConstInt(12 - 3);
        Il.Emit(OpCodes.Shr_Un);
        Const((Hart.TlbEntries - 1) << 3);
        Il.Emit(OpCodes.And);
        Il.Emit(OpCodes.Conv_U);
        Il.Emit(OpCodes.Add);
        Il.Emit(OpCodes.Ldind_I);
    }

    /// <summary>(*pointer)++ for the 64-bit counter whose address is on the stack.</summary>
    private void IncrementCounter()
    {
        Il.Emit(OpCodes.Dup);
        Il.Emit(OpCodes.Ldind_I8);
        Const(1);
        Il.Emit(OpCodes.Add);
        Il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>
    /// After the plain tag missed: goes to <paramref name="onChip"/> (counting a line hit) if the entry is the
    /// page's line-checked one (tag vpn | LineTag), the access stays in one 64-byte line and the line's bit is set
    /// in the page's mask (as <c>Hart.LineLoad</c>), else to <paramref name="slow"/>. No call, no register flush.
    /// </summary>
    private void EmitLineProbe(LocalBuilder masks, int size, Label onChip, Label slow)
    {
        BranchUnlessTagged(Hart.LineTag, slow);
        if (size > 1)
        {
            // ((va ^ (va + size - 1)) & ~63) == 0: one line
            Il.Emit(OpCodes.Ldloc, address);
            Il.Emit(OpCodes.Ldloc, address);
            Const(size - 1);
            Il.Emit(OpCodes.Add);
            Il.Emit(OpCodes.Xor);
            Const(~(long)(Hart.LineBytes - 1));
            Il.Emit(OpCodes.And);
            Il.Emit(OpCodes.Brtrue, slow);
        }
        // (*masks[(va >> 12) & 255] >> ((va >> 6) & 63)) & 1
        PushEntryMask(masks);
        Il.Emit(OpCodes.Ldind_I8);
        Il.Emit(OpCodes.Ldloc, address);
        ConstInt(6);
        Il.Emit(OpCodes.Shr_Un);
        Il.Emit(OpCodes.Conv_I4);
        ConstInt(63);
        Il.Emit(OpCodes.And);
        Il.Emit(OpCodes.Shr_Un);
        Const(1);
        Il.Emit(OpCodes.And);
        Il.Emit(OpCodes.Brfalse, slow);
        // h.LineHits++
        PushState();
        Il.Emit(OpCodes.Ldflda, LineHitsField);
        IncrementCounter();
        Il.Emit(OpCodes.Br, onChip);
    }

    /// <summary>
    /// After the plain and line tags missed on a store: goes to <paramref name="dropped"/> having counted the store in
    /// the entry's counter if the entry is the page's dropping one (tag vpn | DropTag) and the store stays in the
    /// page (as <c>Hart.DropStore</c>), else to <paramref name="slow"/>. This keeps a design that drops every store to
    /// its pages (vbase's <c>ram_ro</c>) on the fast path after the first one.
    /// </summary>
    private void EmitDropProbe(int size, Label dropped, Label slow)
    {
        BranchUnlessTagged(Hart.DropTag, slow);
        BranchUnlessInPage(size, slow);
        PushEntryMask(storeMasks);
        IncrementCounter();
        Il.Emit(OpCodes.Br, dropped);
    }

    /// <summary>Pushes entry->Host + (address &amp; 0xFFF).</summary>
    private void PushHostPointer()
    {
        Il.Emit(OpCodes.Ldloc, entry);
        ConstInt(sizeof(ulong));
        Il.Emit(OpCodes.Add);
        Il.Emit(OpCodes.Ldind_I);
        Il.Emit(OpCodes.Ldloc, address);
        Const(0xFFF);
        Il.Emit(OpCodes.And);
        Il.Emit(OpCodes.Conv_U);
        Il.Emit(OpCodes.Add);
    }

    /// <summary>Continues at page offset <paramref name="offset"/> after a block of <paramref name="blockLength"/>.</summary>
    private void GoToOffset(long offset, int blockLength)
    {
        if (offset is >= 0 and < 4096)
        {
            GoTo((int)(offset >> 1), blockLength);
        }
        else
        {
            ExitToPc(() =>
            {
                Il.Emit(OpCodes.Ldloc, virtualBase);
                Const(offset);
                Il.Emit(OpCodes.Add);
            }, blockLength - 1);
        }
    }

    /// <summary>Continues at <paramref name="target"/>: a branch to its block, or a return to the interpreter.</summary>
    private void GoTo(int target, int blockLength)
    {
        if (blockAt.TryGetValue(target, out int b))
        {
            Il.Emit(OpCodes.Ldloc, cycle);
            Const(blockLength);
            Il.Emit(OpCodes.Add);
            Il.Emit(OpCodes.Stloc, cycle);
            Il.Emit(OpCodes.Br, heads[b]);
        }
        else if (target < DecodedPage.SlotCount)
        {
            ExitToSlot(target, blockLength - 1);
        }
        else
        {
            GoToOffset(target * 2L, blockLength); // off the end of the page
        }
    }

    /// <summary>Returns to the run loop at a slot; the loop counts one more instruction (hence −1 conventions).</summary>
    private void ExitToSlot(int target, int cycleDelta)
    {
        SetCycle(cycleDelta);
        PushSlot(target);
        Il.Emit(OpCodes.Ret);
    }

    private void ExitToPc(Action pushTarget, int cycleDelta)
    {
        PushState();
        pushTarget();
        Il.Emit(OpCodes.Stfld, NextPcField);
        SetCycle(cycleDelta);
        Il.Emit(OpCodes.Ldc_I4_0);
        Il.Emit(OpCodes.Conv_U);
        Il.Emit(OpCodes.Ret);
    }

    /// <summary>hart.Cycle = cycle at the start of this block + <paramref name="delta"/>.</summary>
    private void SetCycle(long delta)
    {
        PushState();
        Il.Emit(OpCodes.Ldloc, cycle);
        Const(delta);
        Il.Emit(OpCodes.Add);
        Il.Emit(OpCodes.Stfld, CycleField);
    }

    private void PushSlot(int target)
    {
        Il.Emit(OpCodes.Ldc_I8, (long)(page.Slots + target));
        Il.Emit(OpCodes.Conv_U);
    }

    /// <summary>Pushes the pc of the current instruction plus <paramref name="delta"/>.</summary>
    public void PushPc(long delta)
    {
        Il.Emit(OpCodes.Ldloc, virtualBase);
        Const(slot * 2L + delta);
        Il.Emit(OpCodes.Add);
    }

    // ---- Guest registers in locals ----

    private LocalBuilder Local(int register) => guest[register] ??= Il.DeclareLocal(typeof(ulong));

    /// <summary>Makes sure the register's local holds its value (read from the register file at first use in the block).</summary>
    public void Use(byte register)
    {
        if (register is 0 or DecodedInstruction.SinkRegister || loaded[register])
        {
            return;
        }
        PushRegisterAddress(register);
        Il.Emit(OpCodes.Ldind_I8);
        Il.Emit(OpCodes.Stloc, Local(register));
        loaded[register] = true;
    }

    public void PushRegister(byte register)
    {
        if (register == 0)
        {
            Const(0);
            return;
        }
        Use(register);
        Il.Emit(OpCodes.Ldloc, Local(register));
    }

    /// <summary>Pops the value on the stack into a register (never x0: the caller skips writes to the sink).</summary>
    private void SetRegister(byte register)
    {
        Il.Emit(OpCodes.Stloc, Local(register));
        loaded[register] = dirty[register] = true;
    }

    /// <summary>The second operand: the immediate, or rs2.</summary>
    public void PushOperand2(in DecodedInstruction d, bool immediate)
    {
        if (immediate)
        {
            Const(d.Imm);
        }
        else
        {
            PushRegister(d.Rs2);
        }
    }

    /// <summary>Stores the registers written in this block so far (before a slow path: they stay dirty for the fast path).</summary>
    private void Flush(bool[] written)
    {
        for (int r = 1; r < 32; r++)
        {
            if (written[r])
            {
                PushRegisterAddress(r);
                Il.Emit(OpCodes.Ldloc, Local(r));
                Il.Emit(OpCodes.Stind_I8);
            }
        }
    }

    /// <summary>Stores the registers written in this block: it ends next.</summary>
    private void WriteBack()
    {
        Flush(dirty);
        Array.Clear(dirty);
    }

    private void PushRegisterAddress(int register)
    {
        Il.Emit(OpCodes.Ldloc, registers);
        ConstInt(register * sizeof(ulong));
        Il.Emit(OpCodes.Add);
    }

    // ---- Compact constants (the JIT folds the widening) ----

    public void Const(long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            ConstInt((int)value);
            Il.Emit(OpCodes.Conv_I8);
        }
        else
        {
            Il.Emit(OpCodes.Ldc_I8, value);
        }
    }

    public void ConstInt(int value)
    {
        if (value is >= -1 and <= 8)
        {
            Il.Emit(value switch
            {
                -1 => OpCodes.Ldc_I4_M1,
                0 => OpCodes.Ldc_I4_0,
                1 => OpCodes.Ldc_I4_1,
                2 => OpCodes.Ldc_I4_2,
                3 => OpCodes.Ldc_I4_3,
                4 => OpCodes.Ldc_I4_4,
                5 => OpCodes.Ldc_I4_5,
                6 => OpCodes.Ldc_I4_6,
                7 => OpCodes.Ldc_I4_7,
                _ => OpCodes.Ldc_I4_8,
            });
        }
        else if (value is >= sbyte.MinValue and <= sbyte.MaxValue)
        {
            Il.Emit(OpCodes.Ldc_I4_S, (sbyte)value);
        }
        else
        {
            Il.Emit(OpCodes.Ldc_I4, value);
        }
    }
}
