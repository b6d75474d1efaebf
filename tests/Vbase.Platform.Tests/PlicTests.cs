using Vbase.Platform.Devices;
using Vbase.Platform.Tests.Support;

namespace Vbase.Platform.Tests;

public sealed class PlicTests
{
    private const ulong ContextStride = VirtualPlic.ContextStride;
    private const ulong EnableStride = VirtualPlic.EnableStride;
    private const ulong Priority = 0, Pending = VirtualPlic.PendingBase, Enable = VirtualPlic.EnableBase;
    private const ulong Threshold = VirtualPlic.ContextBase + VirtualPlic.ThresholdOffset;
    private const ulong ClaimComplete = VirtualPlic.ContextBase + VirtualPlic.ClaimOffset;

    private static ulong Read(Plic plic, ulong offset)
    {
        Assert.True(plic.Read(offset, 4, out ulong value));
        return value;
    }

    private static void Write(Plic plic, ulong offset, ulong value) => Assert.True(plic.Write(offset, 4, value));

    private static ulong Claim(int context) => ClaimComplete + ((ulong)context * ContextStride);

    /// <summary>Reads mip through the hart (csrr a0, mip), the way software sees MEIP and SEIP.</summary>
    private static ulong Mip(HartRig rig)
    {
        rig.Load(Asm.Csrr(Asm.A0, Asm.Mip));
        rig.Hart.Pc = rig.Ram.Base;
        rig.Hart.Run(1);
        return rig.Hart.GetRegister(Asm.A0);
    }

    [Fact]
    public void AnEnabledSourceAboveThresholdIsClaimedAndCompleted()
    {
        using var rig = new HartRig();
        var plic = new Plic(rig.Hart);
        Write(plic, Priority + 4 * 10, 3);
        Write(plic, Enable, 1u << 10);

        plic.SetLevel(10, true);
        Assert.Equal(1UL << 10, Read(plic, Pending));
        Assert.Equal(1UL << 11, Mip(rig) & (1UL << 11)); // MEIP

        Assert.Equal(10UL, Read(plic, Claim(0)));
        Assert.Equal(0UL, Read(plic, Pending));
        Assert.Equal(0UL, Read(plic, Claim(0))); // in service: nothing more to claim
        Assert.Equal(0UL, Mip(rig) & (1UL << 11));

        plic.SetLevel(10, false);
        Write(plic, Claim(0), 10); // complete
        Assert.Equal(0UL, Read(plic, Pending));
    }

    [Fact]
    public void ALineStillHighAfterCompleteIsPendingAgain()
    {
        using var rig = new HartRig();
        var plic = new Plic(rig.Hart);
        Write(plic, Priority + 4 * 10, 1);
        Write(plic, Enable, 1u << 10);
        plic.SetLevel(10, true);
        Assert.Equal(10UL, Read(plic, Claim(0)));
        Write(plic, Claim(0), 10);
        Assert.Equal(1UL << 10, Read(plic, Pending));
        Assert.Equal(10UL, Read(plic, Claim(0)));
    }

    [Fact]
    public void ThresholdAndZeroPriorityMaskASource()
    {
        using var rig = new HartRig();
        var plic = new Plic(rig.Hart);
        Write(plic, Enable, 1u << 10);
        plic.SetLevel(10, true);
        Assert.Equal(0UL, Read(plic, Claim(0))); // priority 0 never interrupts

        Write(plic, Priority + 4 * 10, 2);
        Write(plic, Threshold, 2);
        Assert.Equal(2UL, Read(plic, Threshold));
        Assert.Equal(0, plic.Best(0));
        Write(plic, Threshold, 1);
        Assert.Equal(10, plic.Best(0));
    }

    [Fact]
    public void TheHighestPriorityWinsAndTiesGoToTheLowestSource()
    {
        using var rig = new HartRig();
        var plic = new Plic(rig.Hart);
        Write(plic, Enable, (1u << 3) | (1u << 5) | (1u << 9));
        Write(plic, Enable + 4, 1u << (40 - 32));
        foreach (int source in new[] { 3, 5, 9, 40 })
        {
            plic.SetLevel(source, true);
        }
        Write(plic, Priority + 4 * 3, 2);
        Write(plic, Priority + 4 * 5, 2);
        Write(plic, Priority + 4 * 9, 1);
        Write(plic, Priority + 4 * 40, 7);

        Assert.Equal(40UL, Read(plic, Claim(0)));
        Assert.Equal(3UL, Read(plic, Claim(0)));
        Assert.Equal(5UL, Read(plic, Claim(0)));
        Assert.Equal(9UL, Read(plic, Claim(0)));
    }

    [Fact]
    public void ContextOneIsTheSupervisorAndDrivesSeip()
    {
        using var rig = new HartRig();
        var plic = new Plic(rig.Hart);
        Write(plic, Priority + 4 * 10, 1);
        Write(plic, Enable + EnableStride, 1u << 10);
        plic.SetLevel(10, true);

        ulong mip = Mip(rig);
        Assert.Equal(1UL << 9, mip & ((1UL << 9) | (1UL << 11)));
        Assert.Equal(0UL, Read(plic, Claim(0))); // not enabled for M
        Assert.Equal(10UL, Read(plic, Claim(1)));
    }

    [Fact]
    public void SourceZeroDoesNotExistAndPrioritiesAreThreeBits()
    {
        using var rig = new HartRig();
        var plic = new Plic(rig.Hart);
        Write(plic, Enable, 0xFFFF_FFFF);
        Write(plic, Priority, 5);
        Write(plic, Priority + 4, 0xFF);
        Assert.Equal(0xFFFF_FFFEUL, Read(plic, Enable));
        Assert.Equal(0UL, Read(plic, Priority));
        Assert.Equal(7UL, Read(plic, Priority + 4));
        Assert.False(plic.Read(Priority, 1, out _));
    }
}
