using System.Buffers.Binary;
using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Isa.Tests.Infrastructure;

/// <summary>What the M-mode handler found when the test ended: mcause, mepc and mtval.</summary>
public readonly record struct TrapInfo(ulong Cause, ulong Epc, ulong Tval)
{
    public bool IsInterrupt => (Cause >> 63) != 0;
    public override string ToString() => $"mcause={Cause:x} mepc={Epc:x} mtval={Tval:x}";
}

/// <summary>
/// A hart on <see cref="TestMemory"/> with a trap handler in place. Programs are built with
/// <see cref="ProgramBuilder"/> and loaded at <see cref="TestMemory.RamBase"/> (the reset pc). The default M-mode
/// handler at <see cref="MachineHandler"/> is <c>sb x0, 0(x0)</c> — a write to the exit page, which stops the
/// hart with every register and CSR as the trap left them — so "run until ecall/ebreak" is
/// <see cref="RunToTrap"/>. <see cref="SupervisorHandler"/> (used when a test sets stvec to it) does <c>ecall</c>,
/// handing the S-level trap state back to M untouched.
/// </summary>
public sealed class TestMachine : IDisposable
{
    public const ulong RamBase = TestMemory.RamBase;
    /// <summary>The top page of RAM holds the handlers; programs and data stay below it.</summary>
    public const ulong HandlerPage = RamBase + TestMemory.RamSize - 0x1000;
    public const ulong MachineHandler = HandlerPage;
    public const ulong SupervisorHandler = HandlerPage + 0x100;
    /// <summary>An <c>mret</c> that <see cref="StartIn"/> runs to enter a privilege level.</summary>
    public const ulong MretStub = HandlerPage + 0x200;
    /// <summary>Scratch data area for tests (1 MiB above the program).</summary>
    public const ulong DataBase = RamBase + 0x10_0000;

    public TestMachine(HartOptions? options = null)
    {
        Memory = new TestMemory();
        Hart = new Hart(Memory, options ?? new HartOptions { TranslationThreshold = 1 });
        Memory.OnExit = _ => Hart.RequestStop();
        WriteWords(MachineHandler, Sb(Zero, Zero, 0), J(0));
        WriteWords(SupervisorHandler, Ecall(), J(0));
        WriteWords(MretStub, Mret());
        SetCsr(CsrAddress.Mtvec, MachineHandler);
    }

    public TestMemory Memory { get; }
    public Hart Hart { get; }

    public ulong this[int register]
    {
        get => Hart.GetRegister(register);
        set => Hart.SetRegister(register, value);
    }

    public static ProgramBuilder Program(ulong at = RamBase) => new(at);

    /// <summary>Copies a program into RAM at its base address.</summary>
    public void Load(ProgramBuilder program) => WriteBytes(program.BaseAddress, program.ToArray());

    /// <summary>Builds, loads and points the hart at a program.</summary>
    public void Load(Action<ProgramBuilder> build, ulong at = RamBase)
    {
        var p = Program(at);
        build(p);
        Load(p);
        Hart.Pc = at;
    }

    public HartExit Run(ulong maxInstructions = 100_000) => Hart.Run(maxInstructions);

    /// <summary>Runs until the M-mode handler stops the hart; fails the test if it never does.</summary>
    public TrapInfo RunToTrap(ulong maxInstructions = 100_000)
    {
        HartExit exit = Hart.Run(maxInstructions);
        if (exit != HartExit.Stopped)
        {
            throw new Xunit.Sdk.XunitException($"the hart did not reach the trap handler: {exit} at pc={Hart.Pc:x} ({Hart.Privilege})");
        }
        return LastTrap;
    }

    /// <summary>Runs until an <c>ebreak</c> reaches the M handler; any other trap fails the test with its details.</summary>
    public void RunToBreak(ulong maxInstructions = 100_000)
    {
        TrapInfo t = RunToTrap(maxInstructions);
        if (t.Cause != (ulong)ExceptionCause.Breakpoint)
        {
            throw new Xunit.Sdk.XunitException($"expected the program to end at ebreak, but it trapped: {t}");
        }
    }

    public TrapInfo LastTrap => new(Csr(CsrAddress.Mcause), Csr(CsrAddress.Mepc), Csr(CsrAddress.Mtval));

    /// <summary>Reads a CSR as M-mode would (the hart must be in M, as it is in the handler).</summary>
    public ulong Csr(ushort csr)
    {
        if (Hart.Privilege != Privilege.Machine)
        {
            throw new InvalidOperationException($"CSR reads from the host need M-mode; the hart is in {Hart.Privilege}");
        }
        return Hart.TryReadCsr(csr, false, out ulong v) ? v : throw new InvalidOperationException($"CSR 0x{csr:x} is not readable");
    }

    /// <summary>Writes a CSR from the host, with the hart's WARL rules but no privilege check.</summary>
    public void SetCsr(ushort csr, ulong value) => Hart.WriteCsr(csr, value);

    /// <summary>Makes the first instruction an <c>mret</c> into <paramref name="privilege"/> at <paramref name="entry"/>.</summary>
    public void StartIn(Privilege privilege, ulong entry)
    {
        ulong mstatus = Csr(CsrAddress.Mstatus) & ~MStatus.Mpp;
        SetCsr(CsrAddress.Mstatus, mstatus | ((ulong)privilege << MStatus.MppShift));
        SetCsr(CsrAddress.Mepc, entry);
        Hart.Pc = MretStub;
    }

    // ---- Physical memory from the host (keeps the hart's decoded-code cache coherent) ----

    public void WriteBytes(ulong address, ReadOnlySpan<byte> data)
    {
        data.CopyTo(Memory.Ram[(int)(address - RamBase)..]);
        Hart.InvalidateCode(address, (ulong)data.Length);
    }

    public void WriteWords(ulong address, params ReadOnlySpan<uint> words)
    {
        for (int i = 0; i < words.Length; i++)
        {
            Write32(address + (ulong)(4 * i), words[i]);
        }
    }

    public void Write64(ulong address, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Memory.Ram[(int)(address - RamBase)..], value);
        Hart.InvalidateCode(address, 8);
    }

    public void Write32(ulong address, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Memory.Ram[(int)(address - RamBase)..], value);
        Hart.InvalidateCode(address, 4);
    }

    public void Write16(ulong address, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(Memory.Ram[(int)(address - RamBase)..], value);
        Hart.InvalidateCode(address, 2);
    }

    public ulong Read64(ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(Memory.Ram[(int)(address - RamBase)..]);
    public uint Read32(ulong address) => BinaryPrimitives.ReadUInt32LittleEndian(Memory.Ram[(int)(address - RamBase)..]);
    public ushort Read16(ulong address) => BinaryPrimitives.ReadUInt16LittleEndian(Memory.Ram[(int)(address - RamBase)..]);
    public byte Read8(ulong address) => Memory.Ram[(int)(address - RamBase)];

    public void Dispose()
    {
        Hart.Dispose();
        Memory.Dispose();
    }
}
