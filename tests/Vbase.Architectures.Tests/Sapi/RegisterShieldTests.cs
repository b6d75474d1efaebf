using Vbase.Hypervisor;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// What a secure process leaves on its hart when its kernel takes it (issue: FP registers are part of it): the
/// designs that keep registers from the kernel (sgx-mee's AEX, pmp's security monitor, xom, aegis) scrub the integer
/// and FP registers before the kernel's handler runs and put them back when the process runs again; the others leave
/// them to the kernel. <see cref="SecureProcessGuest"/>'s process A leaves a mark in s1 and f8 before its ecall and
/// reads them back when it runs again.
/// </summary>
public sealed class RegisterShieldTests
{
    private sealed record Seen(ulong KernelS1, ulong KernelF8, ulong KernelA0, ulong[] Slots);


    private static Seen Run(string arch)
    {
        var rig = new Rig();
        rig.Hv.Plug(BuiltInArchitectures.CreateRegistry().Get(arch).Create(new ArchitectureOptions { Seed = 3 }));
        ulong? s1 = null, f8 = null, a0 = null;
        var dom = new DomainId(1);
        bool sawSuspend = false;
        rig.OnEvent = e =>
        {
            // The first resume of A (after the kernel ran B): recorded before the plug-in hears of it, so the hart
            // holds what the kernel left there, which is what it found when A trapped (it never touches s1 or f8).
            if (e.Kind == EventKind.SecureResume && e.Time > 0 && s1 is null && sawSuspend)
            {
                (s1, f8, a0) = (rig.Reg(dom, S1), rig.Hv.Dom0.GetFloatRegister(dom, 0, 8), rig.Reg(dom, A0));
            }
            sawSuspend |= e.Kind == EventKind.SecureSuspend;
        };
        Assert.Equal(dom, rig.Add(Build(), memory: 4UL << 20));
        HypervisorStop stop = rig.Run(1_000_000).Stop;
        Assert.Equal(HypervisorStop.AllShutDown, stop);
        ulong[] slots = new ulong[11];
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i] = rig.ReadU64(dom, GuestCode.Results + (ulong)i * 8);
        }
        Assert.NotNull(s1);
        return new Seen(s1.Value, f8!.Value, a0!.Value, slots);
    }

    [Theory]
    [InlineData("sgx-mee")]
    [InlineData("pmp")]
    [InlineData("xom")]
    [InlineData("aegis")]
    public void ShieldingDesignsHideTheRegistersFromTheKernelAndGiveThemBack(string arch)
    {
        Seen seen = Run(arch);
        Assert.Equal(0UL, seen.KernelS1);
        Assert.Equal(0UL, seen.KernelF8);
        Assert.Equal(RegisterMark, seen.Slots[9]);     // A has them again
        Assert.Equal(FpMark, seen.Slots[10]);
        Assert.Equal(0UL, seen.Slots[6]);              // and the rest of the story held (exit succeeded)
    }

    [Theory]
    [InlineData("none")]
    [InlineData("vbase")]
    [InlineData("sev")]
    [InlineData("sev-snp")]
    [InlineData("bmt")]
    public void OtherDesignsLeaveTheRegistersToTheKernel(string arch)
    {
        Seen seen = Run(arch);
        Assert.Equal(RegisterMark, seen.KernelS1);
        Assert.Equal(FpMark, seen.KernelF8);
        Assert.Equal(RegisterMark, seen.Slots[9]);
        Assert.Equal(FpMark, seen.Slots[10]);
    }
}
