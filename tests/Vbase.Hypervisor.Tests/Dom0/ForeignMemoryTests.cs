using Vbase.Hypervisor.Dom0;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Dom0;

public class ForeignMemoryTests
{
    [Fact]
    public void MapForeignReportsAnErrorPerPage()
    {
        using var rig = new Rig();
        DomainId d = rig.Add(GuestCode.New().Shutdown(), unpause: false);
        rig.Hv.Dom0.SetP2mEntry(d, new Gfn(0x90000), new P2mEntry(rig.Hv.Dom0.GetP2mEntry(d, new Gfn(0x80300)).Mfn, P2mType.GrantMapRo));
        ForeignMapping m = rig.Hv.Dom0.MapForeign(d, [new Gfn(0x80300), new Gfn(0x12345), new Gfn(0x80001), new Gfn(0x90000)], writable: true);
        Assert.Equal([0, (int)Errno.EFAULT, 0, (int)Errno.EPERM], m.Errors);
        m.Write(0, 16, [1, 2, 3]);
        Assert.Equal(0x030201UL, rig.ReadU64(d, 0x8030_0010));
        Assert.Equal("VBASEST1"u8.ToArray(), m.Read(2)[..8].ToArray());
        Assert.Throws<InvalidOperationException>(() => m.Read(1).Length);
        Assert.Equal((int)Errno.EFAULT, rig.Hv.Dom0.ReadGuest(d, new GuestPhysicalAddress(0x8000_0000 + (4UL << 20) - 4), new byte[8]));
        Assert.Equal((int)Errno.EFAULT, rig.Hv.Dom0.WriteGuest(d, new GuestPhysicalAddress(0x1000), [1]));
    }

    [Fact]
    public void Dom0ReadsAndWritesVcpuRegistersAndCsrs()
    {
        using var rig = new Rig();
        DomainId d = rig.Add(GuestCode.New().Emit(Csrr(S3, Sscratch)).ShutdownWith(S2), unpause: false);
        rig.Hv.Dom0.SetRegister(d, 0, S2, 42);
        Assert.True(rig.Hv.Dom0.TrySetCsr(d, 0, Sscratch, 0x77));
        Assert.Equal(GuestLayout.KernelBase, rig.Hv.Dom0.GetPc(d, 0));
        Assert.True(rig.Hv.Dom0.TryGetCsr(d, 0, Medeleg, out ulong medeleg));
        Assert.Equal(0UL, medeleg & (1UL << 9));
        Assert.NotEqual(0UL, medeleg & (1UL << 8));
        rig.Hv.Dom0.Unpause(d);
        rig.Run();
        Assert.Equal(42L, rig.Info(d).ExitCode);
        Assert.Equal(0x77UL, rig.Reg(d, S3));
        Assert.Throws<ArgumentOutOfRangeException>(() => rig.Hv.Dom0.GetRegister(d, 1, 0));
        Assert.Throws<ArgumentException>(() => rig.Hv.Dom0.GetInfo(new DomainId(77)));
    }
}
