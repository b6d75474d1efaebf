using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Hypervisor.Tests.Dom0;

public class PrivilegedGuestTests
{
    [Fact]
    public void APrivilegedGuestMayMapForeignFramesIntoHolesOnly()
    {
        using var rig = new Rig();
        DomainId victim = rig.Add(GuestCode.New().Hang(), "victim", unpause: false);
        Assert.Equal(0, rig.Hv.Dom0.WriteGuest(victim, new GuestPhysicalAddress(0x8030_0000), BitConverter.GetBytes(0xFEEDUL)));
        var p = GuestCode.New().WithResults();
        p.Call(HypercallNumber.MemoryOp, (long)MemoryOpCommand.MapForeign, 1, 0x80300, 0x90000).Save(0);
        p.Li(T0, 0x9000_0000).Emit(Ld(A0, T0, 0)).Save(1);
        p.Call(HypercallNumber.MemoryOp, (long)MemoryOpCommand.MapForeign, 1, 0x80300, 0x90000).Save(2); // taken
        p.Call(HypercallNumber.MemoryOp, (long)MemoryOpCommand.MapForeign, 1, 0x12345, 0x90001).Save(3); // not RAM
        p.Call(HypercallNumber.MemoryOp, (long)MemoryOpCommand.MapForeign, 9, 0x80300, 0x90001).Save(4); // no domain
        p.Call(HypercallNumber.MemoryOp, (long)MemoryOpCommand.MapForeign, 2, 0x80300, 0x90001).Save(5); // itself
        p.Call(HypercallNumber.Domctl, 0).Save(6);
        p.Shutdown();
        DomainHandle h = rig.Hv.Dom0.CreateDomain(new DomainConfig { Name = "tool", Kernel = p.ToArray(), MemoryBytes = 4UL << 20, Privileged = true });
        rig.Hv.Dom0.Unpause(h.Id);
        rig.Run();
        long[] r = [.. Enumerable.Range(0, 7).Select(i => (long)rig.ReadU64(h.Id, GuestCode.Results + (ulong)(i * 8)))];
        Assert.Equal([0, 0xFEED, Errno.EBUSY, Errno.EINVAL, Errno.ESRCH, Errno.ESRCH, Errno.ENOSYS], r);
        P2mEntry e = rig.Hv.Dom0.GetP2mEntry(h.Id, new Gfn(0x90000));
        Assert.Equal(P2mType.MapForeignRw, e.Type);
        Assert.Equal(victim, rig.Hv.Machine.OwnerOf(e.Mfn));
    }
}
