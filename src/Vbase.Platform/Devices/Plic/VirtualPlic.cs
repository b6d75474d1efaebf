namespace Vbase.Platform.Devices;

/// <summary>
/// A guest domain's RISC-V platform-level interrupt controller with the register map of the PLIC specification 1.0.0 (SiFive's,
/// as QEMU's virt machine has it): per-source priorities, pending bits, per-context enables, a threshold and the
/// claim/complete register of each context. Sources are level-triggered, as virtio-mmio's interrupt is.
/// </summary>
/// <remarks>
/// <para>It has any number of contexts and drives no hart itself: the host reads <see cref="Output"/> when told a
/// context changed (the hypervisor: a Linux domain's vCPU n's SEIP is context n's output; the bare machine's
/// <see cref="Plic"/>: its hart's MEIP and SEIP are contexts 0 and 1).</para>
/// <para>Each source's gateway forwards its level as the pending bit while the source is not in flight (a source
/// that lowers its line before it is claimed stops being pending, as QEMU's PLIC does); a claim takes the
/// pending bit and holds the gateway until the context completes that source, after which a line still high is
/// pending again. A context's output (its hart's SEIP, for an S-mode context) is "some pending source enabled in
/// it has a priority above its threshold".</para>
/// <para>A hostile guest gets defined behaviour for everything: registers take aligned 32-bit accesses only (any
/// other access is an access fault, as the specification's 32-bit registers are); offsets the map does not name,
/// sources past <see cref="Sources"/> and contexts past <see cref="Contexts"/> read 0 and ignore writes (WARL);
/// pending bits are read-only; a claim with nothing to claim answers 0; a completion of a source that is not
/// enabled in that context or not in flight is ignored, as the specification says.</para>
/// </remarks>
public sealed class VirtualPlic : IDevice
{
    public const ulong PendingBase = 0x1000, EnableBase = 0x2000, EnableStride = 0x80, ContextBase = 0x20_0000, ContextStride = 0x1000;
    public const ulong ThresholdOffset = 0, ClaimOffset = 4;

    /// <summary>Priorities and thresholds are 3 bits (0 to 7; QEMU virt's PLIC has 7 levels too): 0 never interrupts.</summary>
    public const uint MaxPriority = 7;

    /// <summary>The largest source id the register map has room for.</summary>
    public const int MaxSources = 1023;

    private readonly uint[] priority;
    private readonly uint[] level, pending, inFlight;
    private readonly uint[][] enable;
    private readonly uint[] threshold;
    private readonly bool[] output;
    private readonly Action<int> outputChanged;

    /// <param name="sources">Source ids 1 to <paramref name="sources"/> (the device tree's <c>riscv,ndev</c>).</param>
    /// <param name="contexts">Contexts 0 to <paramref name="contexts"/> - 1.</param>
    /// <param name="size">The window's bytes (at most the specification's 64 MiB, at least every context's registers).</param>
    /// <param name="outputChanged">Called with a context whose output line changed level (read it with <see cref="Output"/>).</param>
    public VirtualPlic(int sources, int contexts, ulong size, Action<int> outputChanged)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sources, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sources, MaxSources);
        ArgumentOutOfRangeException.ThrowIfLessThan(contexts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, ContextBase + ((ulong)contexts * ContextStride));
        ArgumentNullException.ThrowIfNull(outputChanged);
        Sources = sources;
        Contexts = contexts;
        Size = size;
        this.outputChanged = outputChanged;
        int words = (sources / 32) + 1;
        priority = new uint[sources + 1];
        level = new uint[words];
        pending = new uint[words];
        inFlight = new uint[words];
        enable = new uint[contexts][];
        for (int c = 0; c < contexts; c++)
        {
            enable[c] = new uint[words];
        }
        threshold = new uint[contexts];
        output = new bool[contexts];
    }

    public string Name => "plic";
    public ulong Size { get; }
    public int Sources { get; }
    public int Contexts { get; }

    /// <summary>The level of context <paramref name="context"/>'s interrupt output.</summary>
    public bool Output(int context) => (uint)context < (uint)Contexts && output[context];

    /// <summary>Whether <paramref name="source"/> is pending (its line high, not in flight).</summary>
    public bool IsPending(int source) => Valid(source) && Bit(pending, source);

    /// <summary>Whether <paramref name="source"/> was claimed and not yet completed.</summary>
    public bool IsInFlight(int source) => Valid(source) && Bit(inFlight, source);

    /// <summary>A device drives <paramref name="source"/>'s line (level-triggered).</summary>
    public void SetLevel(int source, bool high)
    {
        if (!Valid(source))
        {
            throw new ArgumentOutOfRangeException(nameof(source), source, $"PLIC sources are 1 to {Sources}");
        }
        Set(level, source, high);
        if (!Bit(inFlight, source))
        {
            Set(pending, source, high);
        }
        Update();
    }

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        if (size != 4 || offset % 4 != 0 || offset >= Size)
        {
            return false;
        }
        if (offset < PendingBase)
        {
            int source = (int)(offset / 4);
            value = Valid(source) ? priority[source] : 0;
        }
        else if (offset < EnableBase)
        {
            ulong word = (offset - PendingBase) / 4;
            value = word < (ulong)pending.Length ? pending[word] : 0;
        }
        else if (offset < ContextBase)
        {
            value = EnableWord(offset, out int context, out int word) ? enable[context][word] : 0;
        }
        else
        {
            ulong context = (offset - ContextBase) / ContextStride;
            ulong register = (offset - ContextBase) % ContextStride;
            if (context < (ulong)Contexts)
            {
                value = register switch
                {
                    ThresholdOffset => threshold[context],
                    ClaimOffset => (uint)Claim((int)context),
                    _ => 0,
                };
            }
        }
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        if (size != 4 || offset % 4 != 0 || offset >= Size)
        {
            return false;
        }
        uint v = (uint)value;
        if (offset < PendingBase)
        {
            int source = (int)(offset / 4);
            if (Valid(source))
            {
                priority[source] = Math.Min(v, MaxPriority);
                Update();
            }
        }
        else if (offset < EnableBase)
        {
            // Pending bits are read-only: only a device's line and a claim change them.
        }
        else if (offset < ContextBase)
        {
            if (EnableWord(offset, out int context, out int word))
            {
                enable[context][word] = v & ImplementedMask(word);
                Update();
            }
        }
        else
        {
            ulong context = (offset - ContextBase) / ContextStride;
            ulong register = (offset - ContextBase) % ContextStride;
            if (context < (ulong)Contexts)
            {
                if (register == ThresholdOffset)
                {
                    threshold[context] = Math.Min(v, MaxPriority);
                    Update();
                }
                else if (register == ClaimOffset)
                {
                    Complete((int)context, v);
                }
            }
        }
        return true;
    }

    /// <summary>
    /// The claim: the pending source enabled in <paramref name="context"/> with the highest priority above its
    /// threshold (the lowest id among equals), now in flight; 0 when there is none.
    /// </summary>
    private int Claim(int context)
    {
        int best = Best(context);
        if (best != 0)
        {
            Set(pending, best, false);
            Set(inFlight, best, true);
            Update();
        }
        return best;
    }

    /// <summary>The completion: releases the gateway of a source in flight that is enabled in the context; anything else is ignored.</summary>
    private void Complete(int context, uint id)
    {
        if (id > (uint)Sources || id == 0 || !Bit(enable[context], (int)id) || !Bit(inFlight, (int)id))
        {
            return;
        }
        int source = (int)id;
        Set(inFlight, source, false);
        Set(pending, source, Bit(level, source));
        Update();
    }

    /// <summary>The source a claim by <paramref name="context"/> would return now, or 0 (nothing changes).</summary>
    public int Best(int context)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(context);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(context, Contexts);
        uint[] en = enable[context];
        int best = 0;
        uint bestPriority = threshold[context];
        for (int w = 0; w < pending.Length; w++)
        {
            uint live = pending[w] & en[w];
            while (live != 0)
            {
                int source = (w * 32) + System.Numerics.BitOperations.TrailingZeroCount(live);
                live &= live - 1;
                if (priority[source] > bestPriority)
                {
                    best = source;
                    bestPriority = priority[source];
                }
            }
        }
        return best;
    }

    /// <summary>Recomputes every context's output and tells the host of each that changed.</summary>
    private void Update()
    {
        for (int c = 0; c < Contexts; c++)
        {
            bool high = Best(c) != 0;
            if (high != output[c])
            {
                output[c] = high;
                outputChanged(c);
            }
        }
    }

    private bool EnableWord(ulong offset, out int context, out int word)
    {
        ulong c = (offset - EnableBase) / EnableStride;
        ulong w = (offset - EnableBase) % EnableStride / 4;
        context = (int)Math.Min(c, int.MaxValue);
        word = (int)w;
        return c < (ulong)Contexts && w < (ulong)pending.Length;
    }

    /// <summary>The bits of enable word <paramref name="word"/> that name a source (source 0 does not exist).</summary>
    private uint ImplementedMask(int word)
    {
        uint mask = uint.MaxValue;
        int last = Sources - (word * 32);
        if (last < 31)
        {
            mask = (1u << (last + 1)) - 1;
        }
        return word == 0 ? mask & ~1u : mask;
    }

    private bool Valid(int source) => source >= 1 && source <= Sources;

    private static bool Bit(uint[] words, int source) => (words[source >> 5] & (1u << (source & 31))) != 0;

    private static void Set(uint[] words, int source, bool on)
    {
        uint bit = 1u << (source & 31);
        words[source >> 5] = on ? words[source >> 5] | bit : words[source >> 5] & ~bit;
    }
}
