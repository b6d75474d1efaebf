using Vbase.Architectures.Pmp;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Isa.Encoding;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Pmp;

/// <summary>
/// <c>pmp</c> with real guest code (<see cref="Sapi.SecureProcessGuest"/>) and the hooks driven by hand at the moment
/// of registration: only the owner gets through, DRAM holds plaintext, the frames stay bound to their GFNs.
/// </summary>
public sealed class PmpArchitectureTests
{
    private static MemoryAccessContext Access(ProtectedRegion region, Accessor accessor, AccessKind kind, int? vcpu = 0, ulong? satp = null) => new()
    {
        Accessor = accessor,
        Kind = kind,
        Domain = region.Domain,
        Initiator = region.Domain,
        Vcpu = vcpu,
        Satp = satp ?? region.Satp,
        Gfn = region.Gfns[0],
        Mfn = region.Mfns[0],
        Offset = 0,
        Region = region,
        RegionPage = 0,
        Time = 0,
    };

    /// <summary>Runs the guest; <paramref name="probe"/> runs once, when the region is registered.</summary>
    /// <remarks>The guest's kernel later reads the page itself: under pmp that faults, and this guest's trap handler
    /// retries it, so the run ends at its instruction budget — the owner's part has run by then.</remarks>
    private static (Rig Rig, DomainId Dom) RunGuest(PmpArchitecture arch, Action<Rig, ProtectedRegion>? probe = null)
    {
        var rig = new Rig();
        rig.Hv.Plug(arch);
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ => probe?.Invoke(rig, rig.Hv.Sapi.Regions[0]));
        DomainId dom = rig.Add(Build(), memory: 4UL << 20);
        rig.Run(300_000);
        return (rig, dom);
    }

    [Fact]
    public void OnlyTheOwnerGetsThroughAndDramHoldsPlaintext()
    {
        var arch = new PmpArchitecture(new ArchitectureOptions());
        (Rig rig, DomainId dom) = RunGuest(arch, (rig, region) =>
        {
            // The PMP check is the page's view: the owner sees its lines on chip, everyone else faults.
            Assert.Equal(PageView.Plaintext, arch.DecideView(Access(region, Accessor.GuestUser, AccessKind.Load)));
            Assert.Equal(PageView.Plaintext, arch.DecideView(Access(region, Accessor.GuestUser, AccessKind.Store)));
            Assert.Equal(PageView.Plaintext, arch.DecideView(Access(region, Accessor.GuestUser, AccessKind.Fetch)));
            Assert.Equal(PageView.Fault, arch.DecideView(Access(region, Accessor.GuestUser, AccessKind.Load, satp: 0x1234)));   // another process
            Assert.Equal(PageView.Fault, arch.DecideView(Access(region, Accessor.GuestKernel, AccessKind.Load)));
            Assert.Equal(PageView.Fault, arch.DecideView(Access(region, Accessor.GuestKernel, AccessKind.Store)));
            Assert.Equal(PageView.Fault, arch.DecideView(Access(region, Accessor.GuestKernel, AccessKind.PageWalk)));
            Assert.Equal(PageView.Fault, arch.DecideView(Access(region, Accessor.Hypervisor, AccessKind.Load)));
            Assert.Equal(PageView.Fault, arch.DecideView(Access(region, Accessor.Device, AccessKind.Load, vcpu: null)));
            // DRAM holds plaintext: lines cross the boundary as they are.
            Span<byte> plain = stackalloc byte[64];
            ReadOnlySpan<byte> dram = rig.Hv.Machine.Frame(region.Mfns[0])[..64];
            var line = new LineContext { Region = region, RegionPage = 0, Line = 0, Mfn = region.Mfns[0], Time = 0, Inspection = true };
            Assert.True(arch.OnFill(line, dram, plain));
            Assert.True(plain.SequenceEqual(dram));
            Assert.Empty(arch.DescribeMetadata(region, 0, 0));
            var m = rig.Hv.Dom0.MapForeign(region.Domain, [region.Gfns[0]], writable: true);
            Assert.Throws<UnauthorizedAccessException>(() => m.Read(0));
            Assert.Throws<UnauthorizedAccessException>(() => m.Write(0, 0, new byte[8]));
            Assert.Equal(Secret, BitConverter.ToUInt64(rig.Hv.Machine.Frame(region.Mfns[0])));   // no encryption
        });
        using (rig)
        {
            Assert.Equal(1UL, rig.ReadU64(dom, GuestCode.Results));
            Assert.Equal(Secret, rig.ReadU64(dom, GuestCode.Results + 1 * 8));                 // the owner reads
            Assert.Equal(AppWrite, rig.ReadU64(dom, GuestCode.Results + 2 * 8));               // and writes
            Assert.Equal((ulong)FunctionResult, rig.ReadU64(dom, GuestCode.Results + 8 * 8));  // and runs code there
            Assert.Equal(0UL, rig.ReadU64(dom, GuestCode.Results + 3 * 8));                    // the kernel got nothing
            Assert.Contains(rig.Events, e => e.Data is AccessRefusedData { Accessor: Accessor.GuestKernel });
            Assert.Contains(rig.Events, e => e.Kind == "pmp.granted" && e.Data.Fields()["ranges"].Text!.StartsWith("napot[0x", StringComparison.Ordinal));
            Assert.DoesNotContain(rig.Events, e => e.Kind == EventKind.Violation);   // the owner resumed on its pinned mapping
            Assert.Empty(rig.Hv.Dom0.ShadowMismatches);
        }
    }

    [Fact]
    public void TheGrantedFramesStayBoundToTheirGfns()
    {
        var arch = new PmpArchitecture(new ArchitectureOptions());
        bool probed = false;
        (Rig rig, _) = RunGuest(arch, (rig, region) =>
        {
            P2mEntry e = rig.Hv.Dom0.GetP2mEntry(region.Domain, region.Gfns[0]);
            Assert.Throws<UnauthorizedAccessException>(() =>
                rig.Hv.Dom0.SetP2mEntry(region.Domain, region.Gfns[0], new P2mEntry(new Mfn(e.Mfn.Value + 1), P2mType.RamRw)));
            Assert.Equal(e, rig.Hv.Dom0.GetP2mEntry(region.Domain, region.Gfns[0]));
            Gfn other = new(region.Gfns[0].Value + 1);
            rig.Hv.Dom0.SetP2mEntry(region.Domain, other, rig.Hv.Dom0.GetP2mEntry(region.Domain, other));   // others are not the monitor's
            probed = true;
        });
        using (rig)
        {
            Assert.True(probed);
            Assert.Contains(rig.Hv.Dom0.QueryRegions()[0].State, kv => kv.Key == "p2m_changes_refused" && kv.Value == "1");
        }
    }

    [Fact]
    public void ARegionThatDoesNotFitThePmpIsRefused()
    {
        // 13 scattered frames need 13 entries; 8 hardware entries leave 6 to enclaves.
        const ulong list = 0x8030_0000;
        ProgramBuilder p = GuestCode.New().WithResults();
        for (int i = 0; i < 13; i++)
        {
            p.Li(Assembler.T0, (long)(list + (ulong)i * 8))
                .Li(Assembler.T1, (long)(0x80310UL + 2UL * (ulong)i))
                .Emit(Assembler.Sd(Assembler.T1, Assembler.T0, 0));
        }
        p.Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)list, 13, 0, 0x1000).Save(0)
            .Call(HypercallNumber.VbaseOp, (long)VbaseOpCommand.Enter, (long)list, 3, 0, 0x1000).Save(1)
            .Shutdown();
        using var rig = new Rig();
        rig.Hv.Plug(new PmpArchitecture(new ArchitectureOptions { Parameters = new Dictionary<string, string> { [PmpArchitecture.EntriesKey] = "8" } }));
        DomainId dom = rig.Add(p);
        rig.Run();
        Assert.Equal(unchecked((ulong)PmpArchitecture.NoEntriesLeft), rig.ReadU64(dom, GuestCode.Results));
        Assert.Equal(1UL, rig.ReadU64(dom, GuestCode.Results + 8));          // three frames fit
        Assert.Single(rig.Hv.Sapi.Regions);
        Assert.Contains(rig.Events, e => e.Kind == "pmp.no_entries");
    }
}
