using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Registry;
using static Vbase.Isa.Csrs.CsrAddress;
using static Vbase.Isa.Encoding.Assembler;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// The p2m type and a mapping's permission are the hypervisor's to enforce, whatever the plug-in answers: a page
/// granted read-only and then registered as a protected region stays unwritable for the grantee, and a guest's
/// own read-only start-info page stays read-only after it registers it, under every architecture.
/// </summary>
public sealed class ReadOnlyMappingTests
{
    private const ulong Page = 0x8030_0000, Table = 0x8030_1000, FrameList = 0x8030_2000, GrantGfn = 0x9_0000;
    private const ulong Original = 0x1111_1111_1111_1111, Forged = 0x4242_4242_4242_4242;

    public static TheoryData<string> Architectures()
    {
        var data = new TheoryData<string>();
        foreach (ArchitectureInfo a in BuiltInArchitectures.CreateRegistry().All)
        {
            data.Add(a.Name);
        }
        return data;
    }

    private static ISecureArchitecture Create(string name) =>
        BuiltInArchitectures.CreateRegistry().Find(name)!.Create(new ArchitectureOptions { Seed = 3 });

    /// <summary>Writes the page, grants it read-only to domain 2, registers it (vbase_op enter), then sleeps.</summary>
    private static ProgramBuilder Granter()
    {
        ProgramBuilder p = GuestCode.New().WithResults();
        p.Li(T0, (long)Page).Li(T1, unchecked((long)Original)).Emit(Sd(T1, T0, 0));
        p.Li(T0, (long)Table);
        p.Li(T1, (long)(GrantEntryLayout.PermitAccess | GrantEntryLayout.ReadOnly) | (2L << 16) | ((long)(Page >> 12) << 32)).Emit(Sd(T1, T0, 0));
        p.Call(HypercallNumber.GrantTableOp, (long)GrantTableCommand.SetupTable, (long)Table, 1);
        p.Li(T0, (long)FrameList).Li(T1, (long)(Page >> 12)).Emit(Sd(T1, T0, 0));
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)FrameList, 1, 0, (long)Page).Save(0);
        p.Label("sleep").Call(HypercallNumber.SchedOp, (long)SchedOpCommand.Block).J("sleep");
        return p;
    }

    /// <summary>Maps the grant read-only, stores over it and reads it back; any trap ends it with 99.</summary>
    private static ProgramBuilder Grantee()
    {
        ProgramBuilder p = GuestCode.New().WithResults();
        p.La(T0, "trap").Emit(Csrw(Stvec, T0));
        p.Call(HypercallNumber.GrantTableOp, (long)GrantTableCommand.MapGrantRef, 1, 0, (long)GrantGfn, (long)GrantEntryLayout.MapFlagReadOnly).Save(0);
        p.Li(T0, (long)(GrantGfn << 12)).Li(T1, unchecked((long)Forged)).Emit(Sd(T1, T0, 0), Ld(A0, T0, 0)).Save(1);
        p.Shutdown(0);
        p.Align(4).Label("trap").Shutdown(99);
        return p;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void AStoreThroughAReadOnlyGrantOfAProtectedPageNeverLands(string arch)
    {
        using var rig = new Rig();
        rig.Hv.Plug(Create(arch));
        byte[]? before = null;
        rig.OnEvent = e =>
        {
            // The grantee's first move: the frame as the granter's architecture left it.
            if (e.Kind is EventKind.GrantMapped or EventKind.GrantRefused or EventKind.P2mChangeRefused && before is null)
            {
                before = rig.Hv.Machine.Frame(rig.Hv.Sapi.Regions[0].Mfns[0]).ToArray();
            }
        };
        DomainId granter = rig.Add(Granter());
        DomainId grantee = rig.Add(Grantee());
        rig.Run(2_000_000);

        Assert.True((long)rig.ReadU64(granter, GuestCode.Results) >= 1, $"{arch}: enter returned {(long)rig.ReadU64(granter, GuestCode.Results)}");
        Assert.NotNull(before);
        ProtectedRegion region = rig.Hv.Sapi.Regions[0];
        Assert.True(region.IsActive);
        Assert.Equal(before, rig.Hv.Machine.Frame(region.Mfns[0]).ToArray());
        byte[] plain = new byte[8];
        Assert.Equal(0, rig.Hv.Dom0.ReadRegion(region.Id, 0, plain, MemoryView.Shadow));
        Assert.Equal(Original, BitConverter.ToUInt64(plain));
        if ((long)rig.ReadU64(grantee, GuestCode.Results) >= 0 && rig.Info(grantee).ExitCode == 0)
        {
            // Mapped and not refused by the plug-in (pmp faults the access): the p2m dropped the store, and said so.
            Assert.Contains(rig.Events, e => e.Data is WriteDroppedData { By: DropCause.P2m } && e.Domain == granter);
            Assert.NotEqual(Forged, rig.ReadU64(grantee, GuestCode.Results + 8));
        }
    }

    /// <summary>Registers its own start-info page (ram_ro), stores over it, reads it back.</summary>
    [Theory]
    [MemberData(nameof(Architectures))]
    public void AGuestCannotWriteItsOwnReadOnlyStartInfoAfterRegisteringIt(string arch)
    {
        using var rig = new Rig();
        rig.Hv.Plug(Create(arch));
        ProgramBuilder p = GuestCode.New().WithResults();
        p.Li(T0, (long)GuestLayout.StartInfo).Emit(Ld(T1, T0, 0), Sd(T1, S11, 8));
        p.Li(T0, (long)FrameList).Li(T1, (long)(GuestLayout.StartInfo >> 12)).Emit(Sd(T1, T0, 0));
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)FrameList, 1, 0, (long)GuestLayout.StartInfo).Save(0);
        p.Li(T0, (long)GuestLayout.StartInfo).Li(T1, unchecked((long)Forged)).Emit(Sd(T1, T0, 0));
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Exit, (long)FrameList, 1, 0, (long)GuestLayout.StartInfo);
        p.Li(T0, (long)GuestLayout.StartInfo).Emit(Ld(T1, T0, 0), Sd(T1, S11, 16));
        p.Shutdown(0);
        DomainId d = rig.Add(p);
        rig.Run(2_000_000);

        Assert.Equal(0, rig.Info(d).ExitCode);
        Assert.NotEqual(Forged, rig.ReadU64(d, GuestCode.Results + 16));
        Assert.Equal(rig.ReadU64(d, GuestCode.Results + 8), rig.ReadU64(d, GuestCode.Results + 16));
    }
}
