using Vbase.Isa.Decoding;
using Vbase.Isa.Harts;
using Vbase.Isa.Tests.Infrastructure;
using Vbase.Isa.Traps;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;
using static Vbase.Isa.Tests.Infrastructure.PageTables;

namespace Vbase.Isa.Tests.Robustness;

/// <summary>
/// Executes random instruction words from M, S and U. Whatever a word does — trap, jump anywhere, rewrite CSRs,
/// wait — the hart must not throw a host exception, and every trap it reports must be one the spec defines.
/// The harness puts the hart back into a known state between words instead of resetting it, so caches,
/// TLBs and decoded pages carry over from one word to the next as they would in a long run.
/// </summary>
public class RandomInstructionTests
{
    private const ulong Slot = TestMachine.RamBase + 0x4000;
    private const ulong Scratch = TestMachine.DataBase + 0x800;
    private const ulong Msip = 1 << 3;

    private static readonly HashSet<ulong> DefinedExceptions = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15];

    private sealed class Harness : IDisposable
    {
        public readonly TestMachine M = new();
        private readonly ulong supervisorSatp, userSatp;

        public Harness()
        {
            var s = new PageTables(M);
            s.Map(TestMachine.RamBase, TestMachine.RamBase, Rwx | AccessedDirty, level: 2);
            supervisorSatp = s.Satp;
            var u = new PageTables(M, PageTables.PoolBase + 0x10000);
            u.Map(TestMachine.RamBase, TestMachine.RamBase, Rwx | U | AccessedDirty, level: 2);
            userSatp = u.Satp;
        }

        /// <summary>Gets the hart back to M whatever the last word did: an M-level interrupt preempts any lower mode and ends WFI.</summary>
        private void BackToMachine()
        {
            M.SetCsr(Medeleg, 0);
            M.SetCsr(Mideleg, 0);
            M.SetCsr(Mtvec, TestMachine.MachineHandler);
            M.SetCsr(Mie, Msip);
            M.Hart.SetInterruptLine(InterruptCause.MachineSoftware, true);
            for (int i = 0; i < 4 && (M.Hart.Privilege != Privilege.Machine || M.Hart.IsWaitingForInterrupt); i++)
            {
                M.Hart.Run(2);
            }
            M.Hart.SetInterruptLine(InterruptCause.MachineSoftware, false);
            Assert.Equal(Privilege.Machine, M.Hart.Privilege);
            M.SetCsr(Mie, 0);
            M.SetCsr(Mip, 0);
        }

        /// <summary>Runs one random word in <paramref name="privilege"/>; returns the trap cause the M handler saw, or null.</summary>
        public ulong? Execute(Privilege privilege, uint word, bool compressed)
        {
            BackToMachine();
            for (int r = 1; r < 32; r++)
            {
                M[r] = Scratch;
            }
            if (compressed)
            {
                M.Write16(Slot, (ushort)word);
                M.Write32(Slot + 2, Ecall());
            }
            else
            {
                M.Write32(Slot, word);
                M.Write32(Slot + 4, Ecall());
            }
            M.SetCsr(Satp, privilege switch { Privilege.Supervisor => supervisorSatp, Privilege.User => userSatp, _ => 0 });
            M.SetCsr(Stvec, TestMachine.SupervisorHandler);
            M.SetCsr(Mstatus, (ulong)privilege << 11);
            M.SetCsr(Mepc, Slot);
            M.Hart.Pc = TestMachine.MretStub;
            int exitsBefore = M.Memory.ExitWrites;
            HartExit exit = M.Hart.Run(6);
            if (exit != HartExit.Stopped || M.Hart.Privilege != Privilege.Machine || M.Memory.ExitWrites == exitsBefore)
            {
                return null; // still running (a jump, a loop), waiting in WFI, or stopped by the word's own store
            }
            return M.Csr(Mcause);
        }

        public void Dispose() => M.Dispose();
    }

    [Theory]
    [InlineData(Privilege.Machine)]
    [InlineData(Privilege.Supervisor)]
    [InlineData(Privilege.User)]
    public void RandomWordsEndInDefinedTraps(Privilege privilege)
    {
        using var h = new Harness();
        var rng = new Random(1234 + (int)privilege);
        var causes = new Dictionary<ulong, int>();
        for (int i = 0; i < 7000; i++)
        {
            bool compressed = i % 3 == 2;
            uint word = compressed ? (uint)rng.Next(0x10000) : (uint)rng.NextInt64(0, 1L << 32) | 3;
            if (compressed && (word & 3) == 3)
            {
                word &= ~1u;
            }
            ulong? cause = h.Execute(privilege, word, compressed);
            if (cause is not ulong c)
            {
                continue;
            }
            Assert.True((c >> 63) == 0 ? DefinedExceptions.Contains(c) : (c & 63) is 1 or 3 or 5 or 7 or 9 or 11,
                $"0x{word:x8} in {privilege}: undefined cause 0x{c:x}");
            causes[c] = causes.GetValueOrDefault(c) + 1;
        }
        // The sample must have exercised the common outcomes: illegal instructions and ecalls after a retired word.
        Assert.True(causes.GetValueOrDefault(2UL) > 100, string.Join(", ", causes.Select(kv => $"{kv.Key}:{kv.Value}")));
        Assert.True(causes.GetValueOrDefault((ulong)PrivilegeRuns.EcallFrom(privilege)) > 100);
    }

    [Fact]
    public void IllegalWordsReportThemselvesInMtval()
    {
        using var h = new Harness();
        var rng = new Random(99);
        int checkedWords = 0;
        for (int i = 0; i < 3000; i++)
        {
            uint word = (uint)rng.NextInt64(0, 1L << 32) | 3;
            if (InstructionDecoder.Lookup(word) >= 0)
            {
                continue;
            }
            Assert.Equal((ulong)ExceptionCause.IllegalInstruction, h.Execute(Privilege.Supervisor, word, compressed: false));
            Assert.Equal(Slot, h.M.Csr(Mepc));
            Assert.Equal(word, h.M.Csr(Mtval));
            checkedWords++;
        }
        Assert.True(checkedWords > 1000);
    }

    [Fact]
    public void DecodingAndDisassemblingRandomWordsNeverThrows()
    {
        var rng = new Random(5);
        for (int i = 0; i < 200_000; i++)
        {
            uint word = (uint)rng.NextInt64(0, 1L << 32);
            InstructionDecoder.Decode(word, out DecodedInstruction d);
            Assert.True(d.Length is 2 or 4);
            _ = Disassembler.Disassemble(in d, 0x8000_0000);
        }
    }
}
