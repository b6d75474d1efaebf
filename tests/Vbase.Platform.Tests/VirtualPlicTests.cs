using Vbase.Platform.Devices;

namespace Vbase.Platform.Tests;

/// <summary>
/// A guest domain's PLIC on its own: the register map Linux's irq-sifive-plic driver uses (priorities, pending,
/// per-context enables, threshold, claim/complete), level-triggered gateways, and what a hostile guest's accesses do.
/// </summary>
public sealed class VirtualPlicTests
{
    private const int Sources = 31, Contexts = 2;
    private const ulong Window = 0x400_0000;

    private sealed class Rig
    {
        public readonly List<int> Changes = [];
        public readonly VirtualPlic Plic;

        public Rig() => Plic = new VirtualPlic(Sources, Contexts, Window, Changes.Add);

        public uint Read(ulong offset)
        {
            Assert.True(Plic.Read(offset, 4, out ulong value));
            return (uint)value;
        }

        public void Write(ulong offset, uint value) => Assert.True(Plic.Write(offset, 4, value));

        public static ulong Priority(int source) => 4UL * (ulong)source;
        public static ulong Enable(int context, int word = 0) => VirtualPlic.EnableBase + ((ulong)context * VirtualPlic.EnableStride) + (4UL * (ulong)word);
        public static ulong Threshold(int context) => VirtualPlic.ContextBase + ((ulong)context * VirtualPlic.ContextStride);
        public static ulong Claim(int context) => Threshold(context) + VirtualPlic.ClaimOffset;

        /// <summary>Source <paramref name="source"/> at priority 1 enabled in context 0, as Linux sets up a line.</summary>
        public Rig With(int source, int context = 0, uint priority = 1)
        {
            Write(Priority(source), priority);
            Write(Enable(context), Read(Enable(context)) | (1u << source));
            return this;
        }
    }

    [Fact]
    public void ALevelRaisesTheContextItIsEnabledInAndClaimCompleteRunsTheGateway()
    {
        Rig r = new Rig().With(2);
        r.Plic.SetLevel(2, true);
        Assert.True(r.Plic.Output(0));
        Assert.False(r.Plic.Output(1));
        Assert.Equal([0], r.Changes);
        Assert.Equal(1u << 2, r.Read(VirtualPlic.PendingBase));

        Assert.Equal(2u, r.Read(Rig.Claim(0)));
        Assert.False(r.Plic.Output(0));
        Assert.True(r.Plic.IsInFlight(2));
        Assert.Equal(0u, r.Read(VirtualPlic.PendingBase));
        // In flight: the gateway forwards nothing more, however often the line is raised.
        r.Plic.SetLevel(2, true);
        Assert.False(r.Plic.Output(0));
        Assert.Equal(0u, r.Read(Rig.Claim(0)));

        // Completed with the line still high: pending again (level-triggered).
        r.Write(Rig.Claim(0), 2);
        Assert.True(r.Plic.Output(0));
        Assert.Equal(2u, r.Read(Rig.Claim(0)));
        // The device lowers its line (the driver acknowledged InterruptStatus) before the completion: nothing more.
        r.Plic.SetLevel(2, false);
        r.Write(Rig.Claim(0), 2);
        Assert.False(r.Plic.Output(0));
        Assert.False(r.Plic.IsPending(2));
        Assert.False(r.Plic.IsInFlight(2));
    }

    [Fact]
    public void ALineThatFallsBeforeItIsClaimedIsNoLongerPending()
    {
        Rig r = new Rig().With(1);
        r.Plic.SetLevel(1, true);
        r.Plic.SetLevel(1, false);
        Assert.False(r.Plic.Output(0));
        Assert.Equal(0u, r.Read(Rig.Claim(0)));
    }

    [Fact]
    public void PriorityThresholdAndEnablesDecideWhoIsClaimedAndWhere()
    {
        Rig r = new Rig().With(3, priority: 2).With(5, priority: 6).With(7, priority: 6);
        r.With(9, context: 1, priority: 1);
        foreach (int s in (int[])[3, 5, 7, 9])
        {
            r.Plic.SetLevel(s, true);
        }
        Assert.True(r.Plic.Output(0));
        Assert.True(r.Plic.Output(1));
        // The highest priority first, the lowest id among equals; context 1 sees only its own source.
        Assert.Equal(5u, r.Read(Rig.Claim(0)));
        Assert.Equal(7u, r.Read(Rig.Claim(0)));
        Assert.Equal(9u, r.Read(Rig.Claim(1)));
        Assert.False(r.Plic.Output(1));
        // A threshold at or above the priority masks the source; priority 0 never interrupts.
        r.Write(Rig.Threshold(0), 2);
        Assert.False(r.Plic.Output(0));
        Assert.Equal(0u, r.Read(Rig.Claim(0)));
        r.Write(Rig.Threshold(0), 0);
        Assert.True(r.Plic.Output(0));
        r.Write(Rig.Priority(3), 0);
        Assert.False(r.Plic.Output(0));
        r.Write(Rig.Priority(3), 1);
        Assert.Equal(3u, r.Read(Rig.Claim(0)));
        // Disabling a source in a context takes it away from that context's output.
        r.Write(Rig.Claim(0), 3);
        Assert.True(r.Plic.Output(0));
        r.Write(Rig.Enable(0), 0);
        Assert.False(r.Plic.Output(0));
    }

    [Fact]
    public void RegistersReadBackWithTheirImplementedBitsOnly()
    {
        var r = new Rig();
        r.Write(Rig.Priority(4), 0xFFFF_FFFF);
        Assert.Equal(VirtualPlic.MaxPriority, r.Read(Rig.Priority(4)));
        r.Write(Rig.Threshold(1), 100);
        Assert.Equal(VirtualPlic.MaxPriority, r.Read(Rig.Threshold(1)));
        // Source 0 does not exist: its priority and enable bit are hardwired to 0.
        r.Write(Rig.Priority(0), 5);
        Assert.Equal(0u, r.Read(Rig.Priority(0)));
        r.Write(Rig.Enable(0), 0xFFFF_FFFF);
        Assert.Equal(0xFFFF_FFFEu, r.Read(Rig.Enable(0)));
    }

    [Fact]
    public void AHostileGuestGetsDefinedAnswersAndNeverAnException()
    {
        Rig r = new Rig().With(2);
        // Only aligned 32-bit accesses: anything else is an access fault, as the specification's registers are 32-bit.
        Assert.False(r.Plic.Read(Rig.Claim(0), 8, out _));
        Assert.False(r.Plic.Read(Rig.Claim(0), 1, out _));
        Assert.False(r.Plic.Write(Rig.Priority(2) + 2, 4, 1));
        Assert.False(r.Plic.Write(Rig.Priority(2), 2, 1));
        Assert.False(r.Plic.Read(Window, 4, out _));
        Assert.False(r.Plic.Read(ulong.MaxValue - 3, 4, out _));
        // Sources past riscv,ndev, contexts past the vCPUs, gaps in the map: read 0, writes ignored.
        r.Write(Rig.Priority(Sources + 1), 7);
        Assert.Equal(0u, r.Read(Rig.Priority(Sources + 1)));
        r.Write(Rig.Enable(0, word: 1), 0xFFFF_FFFF);
        Assert.Equal(0u, r.Read(Rig.Enable(0, word: 1)));
        r.Write(Rig.Enable(Contexts), 0xFFFF_FFFF);
        Assert.Equal(0u, r.Read(Rig.Enable(Contexts)));
        r.Write(Rig.Threshold(Contexts), 1);
        Assert.Equal(0u, r.Read(Rig.Claim(Contexts)));
        Assert.Equal(0u, r.Read(Rig.Enable(15871)));
        Assert.Equal(0u, r.Read(Rig.Claim(15871)));
        Assert.Equal(0u, r.Read(VirtualPlic.PendingBase + 0x7C));
        Assert.Equal(0u, r.Read(Rig.Threshold(0) + 8));
        Assert.Equal(0u, r.Read(Window - 4));
        // Pending bits are read-only: a guest cannot make a source pending.
        r.Write(VirtualPlic.PendingBase, 0xFFFF_FFFF);
        Assert.Equal(0u, r.Read(VirtualPlic.PendingBase));
        Assert.False(r.Plic.Output(0));
        // Claims of sources never raised: 0. Completions of anything not in flight, or not enabled in that
        // context, or not a source at all: ignored.
        Assert.Equal(0u, r.Read(Rig.Claim(0)));
        foreach (uint id in (uint[])[0, 2, 5, Sources + 1, 1024, uint.MaxValue])
        {
            r.Write(Rig.Claim(0), id);
        }
        Assert.Empty(r.Changes);
        r.Plic.SetLevel(2, true);
        Assert.Equal(2u, r.Read(Rig.Claim(0)));
        r.Write(Rig.Claim(1), 2);                 // context 1 has source 2 disabled: its completion does not count
        Assert.True(r.Plic.IsInFlight(2));
        r.Write(Rig.Claim(0), 2);
        Assert.True(r.Plic.Output(0));            // the line is still high
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Plic.SetLevel(0, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Plic.SetLevel(Sources + 1, true));
    }

    [Fact]
    public void ARandomGuestNeverThrowsAndKeepsTheOutputConsistent()
    {
        var r = new Rig();
        var random = new Random(14);
        ulong[] hot = [0, 4, 8, 0x7C, VirtualPlic.PendingBase, VirtualPlic.EnableBase, VirtualPlic.EnableBase + 0x80, Rig.Threshold(0), Rig.Claim(0), Rig.Threshold(1), Rig.Claim(1)];
        for (int i = 0; i < 20_000; i++)
        {
            ulong offset = random.Next(3) == 0 ? (ulong)random.NextInt64(0, (long)Window + 16) : hot[random.Next(hot.Length)] + (ulong)(random.Next(8) == 0 ? random.Next(1, 4) : 0);
            int size = random.Next(10) == 0 ? 1 << random.Next(4) : 4;
            switch (random.Next(3))
            {
                case 0: r.Plic.Read(offset, size, out _); break;
                case 1: r.Plic.Write(offset, size, (ulong)random.NextInt64()); break;
                default: r.Plic.SetLevel(random.Next(1, Sources + 1), random.Next(2) == 0); break;
            }
        }
        // Each context's output is what a claim would find: high exactly when a claim answers a source.
        for (int c = 0; c < Contexts; c++)
        {
            bool output = r.Plic.Output(c);
            uint claimed = r.Read(Rig.Claim(c));
            Assert.Equal(output, claimed != 0);
        }
    }
}
