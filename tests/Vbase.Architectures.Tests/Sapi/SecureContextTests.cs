using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Csrs;
using Vbase.Isa.Encoding;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Calls;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// A plug-in written outside the library, against the SAPI only: it records every secure transition and keeps
/// one secure register per secure process, reachable only through its own sub-calls.
/// </summary>
[Architecture("recording", "test plug-in: records transitions, one secure register", Principal.Application)]
public sealed class RecordingArchitecture(ArchitectureOptions options) : SecureArchitectureBase
{
    public const ulong SetRegister = VbaseOpCommand.FirstPlugin, GetRegister = VbaseOpCommand.FirstPlugin + 1;

    public ArchitectureOptions Options { get; } = options;
    public List<SecureTransitionKind> Transitions { get; } = [];

    public override string Name => "recording";
    public override int SecureRegisterCount => 1;

    public override long OnVbaseOp(VbaseOpCall call)
    {
        switch (call.Command)
        {
            case VbaseOpCommand.Enter:
                long rc = FrameList.TryRead(call, out RegionRequest? request);
                if (rc < 0 || Host.Protect(request!) is not ProtectedRegion r)
                {
                    return rc < 0 ? rc : Errno.EBUSY;
                }
                Host.SendVirq(DomainId.Dom0, Virq.Vbase);
                return r.Id;
            case VbaseOpCommand.Exit:
                foreach (ProtectedRegion mine in Host.RegionsOf(call.Caller, call.VcpuId, call.Satp).ToList())
                {
                    Host.Release(mine);
                }
                return 0;
            case SetRegister when Host.ContextOf(call) is SecureContext c:
                c.Registers[0] = call.Arg(1);
                return 0;
            case GetRegister when Host.ContextOf(call) is SecureContext c:
                return (long)c.Registers[0];
            case SetRegister or GetRegister:
                return Errno.EPERM;   // not a secure process: its kernel cannot reach anyone's secure registers
            default:
                return Errno.ENOSYS;
        }
    }

    public override void OnSecureTransition(SecureTransition transition) => Transitions.Add(transition.Kind);

    /// <summary>(accessor, virtual address) of every read of a protected frame.</summary>
    public List<(Accessor Accessor, ulong? Va)> Reads { get; } = [];

    public bool RefuseRemaps { get; set; }

    public override AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data)
    {
        Reads.Add((access.Accessor, access.VirtualAddress));
        return AccessVerdict.Pass;
    }

    public override bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester) =>
        !RefuseRemaps || !Host.Regions.Any(r => r.IsActive && r.Domain == domain && r.Gfns.Contains(gfn));
}

public sealed class SecureContextTests
{
    [Fact]
    public void ThePlugInSeesEveryTransitionOfTheSecureProcess()
    {
        using var rig = new Rig();
        var arch = new RecordingArchitecture(new ArchitectureOptions());
        rig.Hv.Plug(arch);
        rig.Add(SecureProcessGuest.Build());
        rig.Run();
        Assert.Equal(
        [
            SecureTransitionKind.Enter,
            SecureTransitionKind.Resume, SecureTransitionKind.Suspend,   // A runs, then its ecall
            SecureTransitionKind.Resume, SecureTransitionKind.Suspend,   // A again after B
            SecureTransitionKind.Exit,
        ], arch.Transitions);
    }

    [Fact]
    public void SecureRegistersBelongToTheSecureProcessAndNoOtherAddressSpaceReachesThem()
    {
        const ulong List = 0x8030_1000, Page = 0x8030_0000, RootA = 0x8030_2000, RootB = 0x8030_3000;
        using var rig = new Rig();
        rig.Hv.Plug(new RecordingArchitecture(new ArchitectureOptions()));
        ProgramBuilder p = GuestCode.New().WithResults();
        p.Li(T0, (long)List).Li(T1, (long)(Page >> 12)).Emit(Sd(T1, T0, 0));
        // Two address spaces (two roots, same kernel gigapage); satp decides who "the caller" is.
        foreach (ulong root in new[] { RootA, RootB })
        {
            p.Li(T0, (long)root).Li(T1, (0x80000L << 10) | 0xCF).Emit(Sd(T1, T0, 2 * 8));
        }
        void SwitchTo(ulong root) => p.Li(T0, (long)((8UL << 60) | (root >> 12))).Emit(Csrrw(Zero, CsrAddress.Satp, T0), SfenceVma());
        SwitchTo(RootA);
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)List, 1).Save(0);
        p.Call(HypercallNumber.VbaseOp, (long)RecordingArchitecture.SetRegister, 0x5EC0E7).Save(1);
        SwitchTo(RootB);
        p.Call(HypercallNumber.VbaseOp, (long)RecordingArchitecture.GetRegister).Save(2);     // another process
        p.Call(HypercallNumber.VbaseOp, (long)RecordingArchitecture.SetRegister, 666).Save(3);
        SwitchTo(RootA);
        p.Call(HypercallNumber.VbaseOp, (long)RecordingArchitecture.GetRegister).Save(4);     // the secure one again
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Exit).Save(5);
        p.Call(HypercallNumber.VbaseOp, (long)RecordingArchitecture.GetRegister).Save(6);     // after exit: gone
        DomainId d = rig.Add(p.Shutdown());
        rig.Run();
        ulong Slot(int i) => rig.ReadU64(d, GuestCode.Results + (ulong)i * 8);
        Assert.Equal(1UL, Slot(0));
        Assert.Equal(0UL, Slot(1));
        Assert.Equal(unchecked((ulong)Errno.EPERM), Slot(2));
        Assert.Equal(unchecked((ulong)Errno.EPERM), Slot(3));
        Assert.Equal(0x5EC0E7UL, Slot(4));
        Assert.Equal(unchecked((ulong)Errno.EPERM), Slot(6));
    }

    [Fact]
    public void TheVmmuHookSeesTheVirtualAddressOfGuestAccessesAndNoneForDom0()
    {
        using var rig = new Rig();
        var arch = new RecordingArchitecture(new ArchitectureOptions());
        rig.Hv.Plug(arch);
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ => rig.Hv.Dom0.MapForeign(new DomainId(1), [new Gfn(SecureProcessGuest.SecretGpa >> 12)], false).Read(0));
        rig.Add(SecureProcessGuest.Build());
        rig.Run();
        ulong userVa = SecureProcessGuest.SecretGpa - 0x8000_0000;
        Assert.Contains((Accessor.Dom0, (ulong?)null), arch.Reads);
        Assert.Contains((Accessor.GuestUser, (ulong?)userVa), arch.Reads);                        // process A's load
        Assert.Contains((Accessor.GuestKernel, (ulong?)SecureProcessGuest.SecretGpa), arch.Reads); // the kernel's, through its mapping
    }

    [Fact]
    public void APlugInCanRefuseP2mChangesOfItsFrames()
    {
        using var rig = new Rig();
        var arch = new RecordingArchitecture(new ArchitectureOptions()) { RefuseRemaps = true };
        rig.Hv.Plug(arch);
        var page = new Gfn(SecureProcessGuest.SecretGpa >> 12);
        UnauthorizedAccessException? refused = null;
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
        {
            P2mEntry e = rig.Hv.Dom0.GetP2mEntry(new DomainId(1), page);
            refused = Assert.Throws<UnauthorizedAccessException>(() =>
                rig.Hv.Dom0.SetP2mEntry(new DomainId(1), page, new P2mEntry(new Mfn(e.Mfn.Value + 1), P2mType.RamRw)));
            // A frame outside the region may still be remapped.
            var other = new Gfn(page.Value + 8);
            rig.Hv.Dom0.SetP2mEntry(new DomainId(1), other, rig.Hv.Dom0.GetP2mEntry(new DomainId(1), other));
        });
        rig.Add(SecureProcessGuest.Build());
        rig.Run();
        Assert.NotNull(refused);
        Assert.Contains(rig.Events, e => e.Data is P2mChangeRefusedData { By: Accessor.Dom0 });
    }

    [Fact]
    public void TheRegistryFindsPlugInsByTheirAttributeAndRefusesDuplicatesAndMisfits()
    {
        ArchitectureRegistry registry = BuiltInArchitectures.CreateRegistry().Register(typeof(RecordingArchitecture));
        Assert.Equal(registry.All.Select(a => a.Name).Order(StringComparer.Ordinal), registry.All.Select(a => a.Name));
        Assert.Subset(registry.All.Select(a => a.Name).ToHashSet(), new HashSet<string> { "none", "recording", "vbase" });
        ArchitectureInfo vbase = registry.Get("vbase");
        Assert.True(vbase.ThreatModel.Covers(Principal.GuestKernel));
        Assert.True(vbase.ThreatModel.Covers(Principal.Dom0));
        Assert.False(vbase.ThreatModel.Covers(Principal.Application));
        Assert.IsType<Vbase.VbaseArchitecture>(vbase.Create(new ArchitectureOptions { Seed = 1 }));
        Assert.Throws<ArgumentException>(() => registry.Register(typeof(RecordingArchitecture)));
        Assert.Throws<ArgumentException>(() => registry.Register(typeof(SecureContextTests)));
        KeyNotFoundException e = Assert.Throws<KeyNotFoundException>(() => registry.Get("sgx"));
        Assert.Contains("known: ", e.Message);
        Assert.Contains("recording", e.Message);
    }
}
