using Vbase.Isa.Harts;
using Vbase.Isa.Traps;

namespace Vbase.Platform.Devices;

/// <summary>Register offsets of the PLIC (SiFive layout, as on QEMU virt); arrays start at these offsets.</summary>
public enum PlicRegister : ulong
{
    /// <summary>4 bytes per source; source 0 does not exist.</summary>
    Priority = 0x0000,
    /// <summary>One bit per source, 32 per word.</summary>
    Pending = 0x1000,
    /// <summary>One bit per source, 32 per word; 0x80 bytes per context.</summary>
    Enable = 0x2000,
    /// <summary>0x1000 bytes per context.</summary>
    Threshold = 0x20_0000,
    /// <summary>Read = claim, write = complete; 0x1000 bytes per context.</summary>
    ClaimComplete = 0x20_0004,
}

/// <summary>
/// The platform-level interrupt controller for one hart with two contexts, as on QEMU virt: context 0 is the
/// hart's M-mode (drives MEIP), context 1 its S-mode (drives SEIP). Sources are level-triggered: a source is
/// pending while its line is high and it is not being served; after complete it is pending again if the line
/// is still high.
/// </summary>
public sealed class Plic : IDevice
{
    public const ulong DefaultBase = 0x0C00_0000;
    /// <summary>QEMU virt's 95 device sources plus the non-existent source 0.</summary>
    public const int SourceCount = 96;
    public const int ContextCount = 2;
    public const uint MaxPriority = 7;

    private const int Words = SourceCount / 32;
    private const int WordsPerEnableBlock = 0x80 / 4;
    private const ulong ContextStride = 0x1000;

    private readonly Hart hart;
    private readonly RegisterBank<PlicRegister> registers;
    private readonly uint[] priority = new uint[SourceCount];
    private readonly uint[] levels = new uint[Words];
    private readonly uint[] pending = new uint[Words];
    /// <summary>Sources claimed and not yet completed, by any context: their gateway holds further requests.</summary>
    private readonly uint[] inService = new uint[Words];
    private readonly uint[] enable = new uint[ContextCount * Words];
    private readonly uint[] threshold = new uint[ContextCount];
    private static readonly InterruptCause[] ContextLine = [InterruptCause.MachineExternal, InterruptCause.SupervisorExternal];

    public Plic(Hart hart)
    {
        this.hart = hart;
        registers = new RegisterBank<PlicRegister>(width: 4, maxAccess: 4)
            .DefineArray(PlicRegister.Priority, SourceCount, 4,
                i => priority[i],
                (i, v) => { if (i != 0) { priority[i] = (uint)v & MaxPriority; Update(); } })
            .DefineArray(PlicRegister.Pending, Words, 4, i => pending[i]) // read-only
                                                                          // Each context has 0x80 bytes of enable words, of which the first Words exist.
            .DefineArray(PlicRegister.Enable, ContextCount * WordsPerEnableBlock, 4,
                i => i % WordsPerEnableBlock < Words ? enable[EnableIndex(i)] : 0, WriteEnable)
            .DefineArray(PlicRegister.Threshold, ContextCount, ContextStride,
                c => threshold[c],
                (c, v) => { threshold[c] = (uint)v & MaxPriority; Update(); })
            .DefineArray(PlicRegister.ClaimComplete, ContextCount, ContextStride, Claim, Complete);
    }

    private static int EnableIndex(int register) =>
        register / WordsPerEnableBlock * Words + register % WordsPerEnableBlock;

    public string Name => "plic";
    public ulong Size => 0x400_0000;

    public bool Read(ulong offset, int size, out ulong value) => registers.Read(offset, size, out value);

    public bool Write(ulong offset, int size, ulong value) => registers.Write(offset, size, value);

    /// <summary>A device's interrupt line: level-triggered, as the 16550's is on QEMU virt.</summary>
    public void SetLevel(int source, bool level)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(source, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(source, SourceCount);
        uint bit = 1u << (source & 31);
        int word = source >> 5;
        levels[word] = level ? levels[word] | bit : levels[word] & ~bit;
        if (level && (inService[word] & bit) == 0)
        {
            pending[word] |= bit;
        }
        else if (!level)
        {
            pending[word] &= ~bit;
        }
        Update();
    }

    /// <summary>The source a claim by <paramref name="context"/> would return now, or 0 (for tests).</summary>
    public int Best(int context)
    {
        int best = 0;
        uint bestPriority = threshold[context];
        for (int word = 0; word < Words; word++)
        {
            uint candidates = pending[word] & enable[context * Words + word];
            while (candidates != 0)
            {
                int bit = System.Numerics.BitOperations.TrailingZeroCount(candidates);
                candidates &= candidates - 1;
                int source = word * 32 + bit;
                // Ties go to the lowest source number, as the PLIC spec says.
                if (priority[source] > bestPriority)
                {
                    best = source;
                    bestPriority = priority[source];
                }
            }
        }
        return best;
    }

    private void WriteEnable(int register, ulong value)
    {
        int word = register % WordsPerEnableBlock;
        if (word < Words)
        {
            // Source 0 does not exist: its enable bit is hardwired to zero.
            enable[EnableIndex(register)] = (uint)value & (word == 0 ? ~1u : ~0u);
            Update();
        }
    }

    private ulong Claim(int context)
    {
        int source = Best(context);
        if (source != 0)
        {
            uint bit = 1u << (source & 31);
            pending[source >> 5] &= ~bit;
            inService[source >> 5] |= bit;
            Update();
        }
        return (ulong)source;
    }

    private void Complete(int context, ulong value)
    {
        // A complete for a source this context has not enabled is ignored (PLIC spec, "Interrupt Completion").
        if (value == 0 || value >= SourceCount)
        {
            return;
        }
        int source = (int)value;
        uint bit = 1u << (source & 31);
        int word = source >> 5;
        if ((enable[context * Words + word] & bit) == 0 || (inService[word] & bit) == 0)
        {
            return;
        }
        inService[word] &= ~bit;
        if ((levels[word] & bit) != 0)
        {
            pending[word] |= bit;
        }
        Update();
    }

    private void Update()
    {
        for (int context = 0; context < ContextCount; context++)
        {
            hart.SetInterruptLine(ContextLine[context], Best(context) != 0);
        }
    }
}
