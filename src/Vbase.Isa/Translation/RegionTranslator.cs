using System.Reflection;
using System.Reflection.Emit;
using Vbase.Isa.Decoding;
using Vbase.Isa.Execution;
using Vbase.Isa.Harts;

namespace Vbase.Isa.Translation;

/// <summary>
/// Translates the hot code of a page into one IL method (a <see cref="DynamicMethod"/> the .NET JIT compiles to
/// machine code). Hand-written rather than a library because it is the hot path: each guest instruction becomes
/// a few IL operations on the register file, loads and stores inline the TLB lookup, and jumps between blocks
/// of the page are IL branches, so a loop runs without returning to the interpreter.
/// </summary>
/// <remarks>
/// Exactness. The translation keeps the interpreter's contract to the instruction:
/// <list type="bullet">
/// <item>Within a block, registers live in IL locals; they are written back to the hart's register file before
/// the block ends and before every slow-path call (a device, the hypervisor, a secure architecture), which so
/// sees exactly the interpreter's state.</item>
/// <item>A block runs only if all of it fits before the hart's next event (<c>eventCycle</c>: the budget, the
/// timer, a pending interrupt check); otherwise the region returns and the interpreter runs up to the event,
/// so interrupts are taken on exactly the instruction they would be without translation.</item>
/// <item>Before a slow-path access the region writes <c>Cycle</c> and the current slot, so the access sees the
/// right time and a fault the right pc; after it, the region leaves if the access trapped, raised an event,
/// changed the page's code (<see cref="TranslatedRegion.Valid"/>) or changed the register file.</item>
/// <item>Only instructions that cannot change privilege, translation or interrupt state are translated; CSR
/// accesses, fence.i, sfence.vma, xRETs, ecall/ebreak, WFI, atomics and illegal words end a block and are
/// interpreted.</item>
/// </list>
/// </remarks>
internal static unsafe class RegionTranslator
{
    /// <summary>A page is translated at most this many times before it is left to the interpreter.</summary>
    public const int MaxTranslationsPerPage = 64;
    /// <summary>Translations one page holds at once (each grown from one hot entry).</summary>
    public const int MaxRegionsPerPage = 32;
    /// <summary>A page whose code changed under its translations this many times is left to the interpreter.</summary>
    public const int MaxDropsPerPage = 8;
    private const int MaxBlockLength = 64;
    // A region's size budget. The JIT compiles very large methods without optimisation (MinOpts, at about
    // 60 KB of IL or 2000 basic blocks), which would cost more than it saves; a load or store is the largest
    // translation (about 150 bytes of IL and 6 basic blocks).
    private const int MaxRegionInstructions = 240;
    private const int MaxRegionMemoryAccesses = 72;

    private enum Kind : byte
    {
        Untranslated,
        Nop,
        Value,
        Load,
        Store,
        Branch,
        Jal,
        Jalr,
    }

    /// <summary>One translated block: straight-line code from a head slot to a jump or a fall-through.</summary>
    private sealed class Block(int head)
    {
        public readonly int Head = head;
        public readonly List<(int Slot, DecodedInstruction D)> Body = [];
        /// <summary>Where control goes after the last instruction when it is not a jump.</summary>
        public int FallThrough = -1;
    }

    /// <summary>
    /// Translates the code reachable from <paramref name="seed"/> along fall-throughs and direct jumps within
    /// the page, stopping at the heads of the page's other translations, and installs it. False if nothing
    /// could be translated (an untranslatable first instruction, or no room left in the page).
    /// </summary>
    internal static bool Translate(DecodedPage page, int seed)
    {
        List<Block> blocks = Explore(page, seed);
        if (blocks.Count == 0)
        {
            return false;
        }
        var heads = new int[blocks.Count];
        var lengths = new int[blocks.Count];
        for (int b = 0; b < blocks.Count; b++)
        {
            heads[b] = blocks[b].Head;
            lengths[b] = blocks[b].Body.Count;
        }
        var region = new TranslatedRegion(page, heads, lengths);
        foreach (Block block in blocks)
        {
            foreach (var (slot, d) in block.Body)
            {
                uint offset = (uint)slot * 2;
                region.Cover(offset, d.Length);
                page.MarkDecoded(offset, d.Length); // stores into translated code must invalidate it
            }
        }
        if (!page.TryAddRegion(region, out int index))
        {
            return false;
        }
        region.Code = new Emitter(page, blocks).Compile(region);
        for (int b = 0; b < blocks.Count; b++)
        {
            DecodedInstruction* slot = page.Slots + heads[b];
            *slot = blocks[b].Body[0].D;
            slot->RegionEntry = (ushort)(b + 1);
            slot->RegionIndex = (byte)index;
            slot->Execute = Hart.EnterRegionHandler;
        }
        return true;
    }

    private static List<Block> Explore(DecodedPage page, int seed)
    {
        var blocks = new List<Block>();
        var leaders = new HashSet<int>();
        var work = new Queue<int>();
        void AddLeader(int slot)
        {
            // Another translation's head is entered through its slot, not copied.
            if (slot is >= 0 and < DecodedPage.SlotCount && page.Slots[slot].RegionEntry == 0 && leaders.Add(slot))
            {
                work.Enqueue(slot);
            }
        }
        AddLeader(seed);
        int instructions = 0, accesses = 0;
        while (work.Count > 0 && instructions < MaxRegionInstructions && accesses < MaxRegionMemoryAccesses)
        {
            var block = new Block(work.Dequeue());
            int slot = block.Head;
            while (true)
            {
                if (!TryDecode(page, slot, out DecodedInstruction d))
                {
                    block.FallThrough = slot; // straddling into the next page, or written under an earlier translation
                    break;
                }
                int next = slot + d.Length / 2;
                Kind kind = KindOf(in d);
                if (kind == Kind.Untranslated)
                {
                    // Interpreted; where it continues is worth entering again.
                    block.FallThrough = slot;
                    if (!d.IsIllegal)
                    {
                        AddLeader(next);
                    }
                    break;
                }
                block.Body.Add((slot, d));
                accesses += kind is Kind.Load or Kind.Store ? 1 : 0;
                if (kind is Kind.Branch or Kind.Jal)
                {
                    long target = slot * 2L + d.Imm;
                    if (target is >= 0 and < 4096)
                    {
                        AddLeader((int)(target >> 1));
                    }
                }
                if (kind == Kind.Branch || (kind is Kind.Jal or Kind.Jalr && d.Rd != DecodedInstruction.SinkRegister))
                {
                    AddLeader(next); // the not-taken path, or where a call returns
                }
                if (kind is Kind.Branch or Kind.Jal or Kind.Jalr)
                {
                    break;
                }
                if (next >= DecodedPage.SlotCount || block.Body.Count >= MaxBlockLength || leaders.Contains(next)
                    || page.Slots[next].RegionEntry != 0)
                {
                    AddLeader(next);
                    block.FallThrough = next;
                    break;
                }
                slot = next;
            }
            if (block.Body.Count > 0)
            {
                blocks.Add(block);
                instructions += block.Body.Count;
            }
        }
        return blocks;
    }

    private static bool TryDecode(DecodedPage page, int slot, out DecodedInstruction d)
    {
        uint offset = (uint)slot * 2;
        uint low = *(ushort*)(page.Host + offset);
        if ((low & 3) == 3 && offset > 0xFFC)
        {
            d = default;
            return false;
        }
        InstructionDecoder.Decode((low & 3) == 3 ? *(uint*)(page.Host + offset) : low, out d);
        return !page.WasWritten(offset, d.Length);
    }

    private static Kind KindOf(in DecodedInstruction d)
    {
        if (d.IsIllegal)
        {
            return Kind.Untranslated;
        }
        string name = d.Mnemonic;
        if (ValueOps.ContainsKey(name))
        {
            return Kind.Value;
        }
        if (LoadOps.ContainsKey(name))
        {
            return Kind.Load;
        }
        if (StoreOps.ContainsKey(name))
        {
            return Kind.Store;
        }
        if (BranchOps.ContainsKey(name))
        {
            return Kind.Branch;
        }
        return name switch
        {
            "jal" => Kind.Jal,
            "jalr" => Kind.Jalr,
            "fence" => Kind.Nop,
            _ => Kind.Untranslated,
        };
    }

    // ---- The instruction set, as data ---------------------------------------------------------------------
    //
    // A value instruction computes rd from rs1 and rs2 (or the immediate). Its row pushes operand a, operand b
    // (each through an optional conversion) and applies the operation; "w" forms sign-extend a 32-bit result.

    private delegate void ValueEmitter(Emitter e, in DecodedInstruction d);

    private static ValueEmitter Binary(OpCode op, bool immediate, bool word = false) => (Emitter e, in DecodedInstruction d) =>
    {
        e.PushRegister(d.Rs1);
        e.PushOperand2(in d, immediate);
        e.Il.Emit(op);
        if (word)
        {
            e.Il.Emit(OpCodes.Conv_I4);
            e.Il.Emit(OpCodes.Conv_I8);
        }
    };

    /// <summary>Shifts: the amount is masked to 6 bits (5 for the word forms), as RV64 requires and IL does not.</summary>
    private static ValueEmitter Shift(OpCode op, bool immediate, OpCode? word = null) => (Emitter e, in DecodedInstruction d) =>
    {
        e.PushRegister(d.Rs1);
        if (word is { } narrow)
        {
            e.Il.Emit(narrow);
        }
        if (immediate)
        {
            e.ConstInt((int)d.Imm & (word is null ? 63 : 31)); // the decoder already masked it
        }
        else
        {
            e.PushRegister(d.Rs2);
            e.Il.Emit(OpCodes.Conv_I4);
            e.ConstInt(word is null ? 63 : 31);
            e.Il.Emit(OpCodes.And);
        }
        e.Il.Emit(op);
        e.Il.Emit(OpCodes.Conv_I8);
    };

    private static ValueEmitter Compare(OpCode op, bool immediate) => (Emitter e, in DecodedInstruction d) =>
    {
        e.PushRegister(d.Rs1);
        e.PushOperand2(in d, immediate);
        e.Il.Emit(op);
        e.Il.Emit(OpCodes.Conv_U8);
    };

    /// <summary>Calls the interpreter's value function (M extension), so both engines share one definition.</summary>
    private static ValueEmitter Call(string function, OpCode? narrow = null)
    {
        MethodInfo method = typeof(Executors).GetMethod(function, BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new MissingMethodException(nameof(Executors), function);
        return (Emitter e, in DecodedInstruction d) =>
        {
            e.PushRegister(d.Rs1);
            if (narrow is { } n1)
            {
                e.Il.Emit(n1);
            }
            e.PushRegister(d.Rs2);
            if (narrow is { } n2)
            {
                e.Il.Emit(n2);
            }
            e.Il.Emit(OpCodes.Call, method);
            e.Il.Emit(OpCodes.Conv_I8); // no-op for 64-bit results; sign-extends the 32-bit ones
        };
    }

    private static readonly Dictionary<string, ValueEmitter> ValueOps = new()
    {
        ["lui"] = (Emitter e, in DecodedInstruction d) => e.Const(d.Imm),
        ["auipc"] = (Emitter e, in DecodedInstruction d) => e.PushPc(d.Imm),
        ["addi"] = Binary(OpCodes.Add, true),
        ["slti"] = Compare(OpCodes.Clt, true),
        ["sltiu"] = Compare(OpCodes.Clt_Un, true),
        ["xori"] = Binary(OpCodes.Xor, true),
        ["ori"] = Binary(OpCodes.Or, true),
        ["andi"] = Binary(OpCodes.And, true),
        ["slli"] = Shift(OpCodes.Shl, true),
        ["srli"] = Shift(OpCodes.Shr_Un, true),
        ["srai"] = Shift(OpCodes.Shr, true),
        ["add"] = Binary(OpCodes.Add, false),
        ["sub"] = Binary(OpCodes.Sub, false),
        ["sll"] = Shift(OpCodes.Shl, false),
        ["slt"] = Compare(OpCodes.Clt, false),
        ["sltu"] = Compare(OpCodes.Clt_Un, false),
        ["xor"] = Binary(OpCodes.Xor, false),
        ["srl"] = Shift(OpCodes.Shr_Un, false),
        ["sra"] = Shift(OpCodes.Shr, false),
        ["or"] = Binary(OpCodes.Or, false),
        ["and"] = Binary(OpCodes.And, false),
        ["addiw"] = Binary(OpCodes.Add, true, word: true),
        ["slliw"] = Shift(OpCodes.Shl, true, OpCodes.Conv_I4),
        ["srliw"] = Shift(OpCodes.Shr_Un, true, OpCodes.Conv_U4),
        ["sraiw"] = Shift(OpCodes.Shr, true, OpCodes.Conv_I4),
        ["addw"] = Binary(OpCodes.Add, false, word: true),
        ["subw"] = Binary(OpCodes.Sub, false, word: true),
        ["sllw"] = Shift(OpCodes.Shl, false, OpCodes.Conv_I4),
        ["srlw"] = Shift(OpCodes.Shr_Un, false, OpCodes.Conv_U4),
        ["sraw"] = Shift(OpCodes.Shr, false, OpCodes.Conv_I4),
        ["mul"] = Binary(OpCodes.Mul, false),
        ["mulw"] = Binary(OpCodes.Mul, false, word: true),
        ["mulh"] = Call(nameof(Executors.MulHighSigned)),
        ["mulhu"] = Call(nameof(Executors.MulHighUnsigned)),
        ["mulhsu"] = Call(nameof(Executors.MulHighSignedUnsigned)),
        ["div"] = Call(nameof(Executors.SignedDiv)),
        ["divu"] = Call(nameof(Executors.UnsignedDiv)),
        ["rem"] = Call(nameof(Executors.SignedRem)),
        ["remu"] = Call(nameof(Executors.UnsignedRem)),
        ["divw"] = Call(nameof(Executors.SignedDiv32), OpCodes.Conv_I4),
        ["divuw"] = Call(nameof(Executors.UnsignedDiv32), OpCodes.Conv_U4),
        ["remw"] = Call(nameof(Executors.SignedRem32), OpCodes.Conv_I4),
        ["remuw"] = Call(nameof(Executors.UnsignedRem32), OpCodes.Conv_U4),
    };

    /// <summary>
    /// Loads: size, the host read (which extends to 32 bits), and how the result becomes 64 bits. The slow path
    /// returns the raw value, which gets the interpreter's extension (<c>(ulong)(sbyte)v</c>, … or none).
    /// </summary>
    private static readonly Dictionary<string, (int Size, OpCode Read, bool Signed)> LoadOps = new()
    {
        ["lb"] = (1, OpCodes.Ldind_I1, true),
        ["lh"] = (2, OpCodes.Ldind_I2, true),
        ["lw"] = (4, OpCodes.Ldind_I4, true),
        ["ld"] = (8, OpCodes.Ldind_I8, false),
        ["lbu"] = (1, OpCodes.Ldind_U1, false),
        ["lhu"] = (2, OpCodes.Ldind_U2, false),
        ["lwu"] = (4, OpCodes.Ldind_U4, false),
    };

    private static readonly Dictionary<string, (int Size, OpCode Write)> StoreOps = new()
    {
        ["sb"] = (1, OpCodes.Stind_I1),
        ["sh"] = (2, OpCodes.Stind_I2),
        ["sw"] = (4, OpCodes.Stind_I4),
        ["sd"] = (8, OpCodes.Stind_I8),
    };

    /// <summary>Branches: the IL branch taken when the RISC-V one is.</summary>
    private static readonly Dictionary<string, OpCode> BranchOps = new()
    {
        ["beq"] = OpCodes.Beq,
        ["bne"] = OpCodes.Bne_Un,
        ["blt"] = OpCodes.Blt,
        ["bge"] = OpCodes.Bge,
        ["bltu"] = OpCodes.Blt_Un,
        ["bgeu"] = OpCodes.Bge_Un,
    };

    // ---- IL generation --------------------------------------------------------------------------------------

    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private static FieldInfo HartField(string name) =>
        typeof(Hart).GetField(name, Instance) ?? throw new MissingFieldException(nameof(Hart), name);

    private static MethodInfo HartMethod(string name) =>
        typeof(Hart).GetMethod(name, Instance | BindingFlags.Static) ?? throw new MissingMethodException(nameof(Hart), name);

    private static readonly FieldInfo RegistersField = HartField("X");
    private static readonly FieldInfo CycleField = HartField(nameof(Hart.Cycle));
    private static readonly FieldInfo EventCycleField = HartField("eventCycle");
    private static readonly FieldInfo NextPcField = HartField(nameof(Hart.NextPc));
    private static readonly FieldInfo VirtualBaseField = HartField("fetchVirtualBase");
    private static readonly FieldInfo LoadTlbField = HartField("loadTlb");
    private static readonly FieldInfo StoreTlbField = HartField("storeTlb");
    private static readonly FieldInfo ExitField = HartField("translatedExit");
    private static readonly MethodInfo LoadSlowPath = HartMethod(nameof(Hart.TranslatedLoad));
    private static readonly MethodInfo StoreSlowPath = HartMethod(nameof(Hart.TranslatedStore));
    private static readonly FieldInfo LoadLineMasksField = HartField("loadLineMasks");
    private static readonly FieldInfo StoreLineMasksField = HartField("storeLineMasks");
    private static readonly FieldInfo LineHitsField = HartField(nameof(Hart.LineHits));
    private static readonly int SlotSizeLog2 = System.Numerics.BitOperations.Log2((uint)sizeof(DecodedInstruction));
    private static readonly int TlbEntrySizeLog2 = System.Numerics.BitOperations.Log2((uint)sizeof(TlbEntry));

    /// <summary>
    /// Writes one region's method. Arguments: 0 the region (the delegate's target), 1 the hart, 2 the entry
    /// block. Locals hold the register file pointer, the cycle count at the start of the current block, the
    /// page's virtual base and the TLBs, read once per entry (nothing that can change them is translated).
    /// Within a block, guest registers live in IL locals: each is read from the register file at its first use
    /// and written back before the block ends and before every slow path, which sees exactly the
    /// interpreter's register file (if it changes it, the slow path makes the code leave).
    /// </summary>
    private sealed class Emitter
    {
        private readonly DecodedPage page;
        private readonly List<Block> blocks;
        private readonly Dictionary<int, int> blockAt = [];
        private readonly DynamicMethod method;
        public readonly ILGenerator Il;
        private readonly LocalBuilder registers, cycle, virtualBase, loadTlb, storeTlb, loadMasks, storeMasks, address, value, entry;
        private readonly LocalBuilder?[] guest = new LocalBuilder?[32];
        private readonly bool[] loaded = new bool[32], dirty = new bool[32];
        private readonly Label[] heads, bodies;
        private readonly Label leave;
        private int slot; // of the instruction being emitted

        public Emitter(DecodedPage page, List<Block> blocks)
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
            Il.Emit(OpCodes.Ldarg_1);
            Il.Emit(OpCodes.Ldfld, ExitField);
            Il.Emit(OpCodes.Ret);
            return (RegionCode)method.CreateDelegate(typeof(RegionCode), region);
        }

        private void LoadHartField(FieldInfo field, LocalBuilder into)
        {
            Il.Emit(OpCodes.Ldarg_1);
            Il.Emit(OpCodes.Ldfld, field);
            Il.Emit(OpCodes.Stloc, into);
        }

        private void EmitBlock(int b)
        {
            Block block = blocks[b];
            int length = block.Body.Count;
            Array.Clear(loaded);
            Array.Clear(dirty);
            // Head: run the block only if all of it fits before the next event; else let the interpreter step.
            Il.MarkLabel(heads[b]);
            Il.Emit(OpCodes.Ldloc, cycle);
            Const(length);
            Il.Emit(OpCodes.Add);
            Il.Emit(OpCodes.Ldarg_1);
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
            string name = d.Mnemonic;
            int next = slot + d.Length / 2;
            switch (KindOf(in d))
            {
                case Kind.Nop:
                    break;
                case Kind.Value:
                    if (d.Rd != DecodedInstruction.SinkRegister)
                    {
                        ValueOps[name](this, in d);
                        SetRegister(d.Rd);
                    }
                    break;
                case Kind.Load:
                    EmitLoad(in d, LoadOps[name], index);
                    break;
                case Kind.Store:
                    EmitStore(in d, StoreOps[name], index);
                    break;
                case Kind.Branch:
                    {
                        Label taken = Il.DefineLabel();
                        Use(d.Rs1);
                        Use(d.Rs2);
                        WriteBack();
                        PushRegister(d.Rs1);
                        PushRegister(d.Rs2);
                        Il.Emit(BranchOps[name], taken);
                        GoTo(next, blockLength);
                        Il.MarkLabel(taken);
                        GoToOffset(slot * 2L + d.Imm, blockLength);
                        break;
                    }
                case Kind.Jal:
                    WriteLink(in d);
                    WriteBack();
                    GoToOffset(slot * 2L + d.Imm, blockLength);
                    break;
                case Kind.Jalr:
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
                        break;
                    }
                default:
                    throw new InvalidOperationException($"{name} is not translated");
            }
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
        /// The TLB fast path inline (as <c>Hart.Load</c>), the interpreter's slow path otherwise. The value is
        /// written only if the access did not trap.
        /// </summary>
        private void EmitLoad(in DecodedInstruction d, (int Size, OpCode Read, bool Signed) op, int index)
        {
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
            SlowPathArguments(index, d.Length);
            Label carryOn = Il.DefineLabel();
            Il.Emit(OpCodes.Call, LoadSlowPath);
            Il.Emit(OpCodes.Brtrue, carryOn);
            // Leaving: after a trap (no continuation) rd keeps its value; after an event the load completed, so
            // rd gets it in the register file (the others were flushed before the call).
            Il.Emit(OpCodes.Ldarg_1);
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

        private void EmitStore(in DecodedInstruction d, (int Size, OpCode Write) op, int index)
        {
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
            EmitLineProbe(storeMasks, op.Size, fast, slow);

            Il.MarkLabel(slow);
            Flush(dirty);
            Il.Emit(OpCodes.Ldarg_1);
            Il.Emit(OpCodes.Ldloc, address);
            ConstInt(op.Size);
            PushRegister(d.Rs2);
            SlowPathArguments(index, d.Length);
            Il.Emit(OpCodes.Call, StoreSlowPath);
            Il.Emit(OpCodes.Brfalse, leave);
            Il.MarkLabel(done);
        }

        /// <summary>cycle (this instruction's: the block's start + index), slot, length, region.</summary>
        private void SlowPathArguments(int index, int length)
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
            if (size > 1)
            {
                Il.Emit(OpCodes.Ldloc, address);
                Const(0xFFF);
                Il.Emit(OpCodes.And);
                Const(4096 - size);
                Il.Emit(OpCodes.Bgt_Un, slow);
            }
        }

        /// <summary>
        /// After the plain tag missed: goes to <paramref name="onChip"/> (counting a line hit) if the entry is the
        /// page's line-checked one (tag vpn | LineTag), the access stays in one 64-byte line and the line's bit is set
        /// in the page's mask (as <c>Hart.LineLoad</c>), else to <paramref name="slow"/>. No call, no register flush.
        /// </summary>
        private void EmitLineProbe(LocalBuilder masks, int size, Label onChip, Label slow)
        {
            // entry->Tag == (va >> 12) | LineTag
            Il.Emit(OpCodes.Ldloc, entry);
            Il.Emit(OpCodes.Ldind_I8);
            Il.Emit(OpCodes.Ldloc, address);
            ConstInt(12);
            Il.Emit(OpCodes.Shr_Un);
            Il.Emit(OpCodes.Ldc_I8, unchecked((long)Hart.LineTag));
            Il.Emit(OpCodes.Or);
            Il.Emit(OpCodes.Bne_Un, slow);
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
            Il.Emit(OpCodes.Ldloc, masks);
            Il.Emit(OpCodes.Ldloc, address);
            ConstInt(12 - 3);
            Il.Emit(OpCodes.Shr_Un);
            Const((Hart.TlbEntries - 1) << 3);
            Il.Emit(OpCodes.And);
            Il.Emit(OpCodes.Conv_U);
            Il.Emit(OpCodes.Add);
            Il.Emit(OpCodes.Ldind_I);
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
            Il.Emit(OpCodes.Ldarg_1);
            Il.Emit(OpCodes.Ldflda, LineHitsField);
            Il.Emit(OpCodes.Dup);
            Il.Emit(OpCodes.Ldind_I8);
            Const(1);
            Il.Emit(OpCodes.Add);
            Il.Emit(OpCodes.Stind_I8);
            Il.Emit(OpCodes.Br, onChip);
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
            Il.Emit(OpCodes.Ldarg_1);
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
            Il.Emit(OpCodes.Ldarg_1);
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
}
