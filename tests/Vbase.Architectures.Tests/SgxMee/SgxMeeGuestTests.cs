using Vbase.Architectures.SgxMee;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Dom0;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;
using Vbase.Sapi.Registry;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.SgxMee;

/// <summary>
/// <c>sgx-mee</c> with real guest code: the enclave (process A of <see cref="Sapi.SecureProcessGuest"/>) reads and
/// writes its page, everyone else meets the abort page and dropped writes, the EPCM checks permissions and virtual
/// addresses, Dom0 cannot remap an enclave GFN, and a kernel's remap is reported at the enclave's next resume.
/// </summary>
public sealed class SgxMeeGuestTests
{
    private const ulong Abort = ulong.MaxValue;

    private sealed record Outcome(Rig Rig, DomainId Domain, ulong[] Slots, SgxMeeArchitecture Arch)
    {
        public byte[]? Dom0Read { get; set; }
        public string? Dom0Remap { get; set; }
        public HypervisorEvent[] Of(string kind) => [.. Rig.Events.Where(e => e.Kind == kind)];
    }

    private static SgxMeeArchitecture Arch(params (string Key, string Value)[] parameters) => new(new ArchitectureOptions
    {
        Seed = 11,
        Parameters = parameters.ToDictionary(p => p.Key, p => p.Value),
    });

    private static Outcome RunSecureProcess(SgxMeeArchitecture arch)
    {
        var rig = new Rig();
        rig.Hv.Plug(arch);
        var outcome = new Outcome(rig, new DomainId(1), new ulong[9], arch);
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
        {
            // While the enclave waits in its hypercall: Dom0 maps the EPC frame (allowed) and reads it, then tries to
            // point the enclave's GFN at another frame (refused).
            var gfn = new Gfn(SecretGpa >> 12);
            ForeignMapping m = rig.Hv.Dom0.MapForeign(new DomainId(1), [gfn], writable: false);
            outcome.Dom0Read = m.Read(0)[..8].ToArray();
            P2mEntry spare = rig.Hv.Dom0.GetP2mEntry(new DomainId(1), new Gfn(gfn.Value + 16));
            try
            {
                rig.Hv.Dom0.SetP2mEntry(new DomainId(1), gfn, spare);
                outcome.Dom0Remap = "allowed";
            }
            catch (UnauthorizedAccessException e)
            {
                outcome.Dom0Remap = e.Message;
            }
        });
        DomainId dom = rig.Add(Build(), memory: 4UL << 20);
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run(1_000_000).Stop);
        for (int i = 0; i < outcome.Slots.Length; i++)
        {
            outcome.Slots[i] = rig.ReadU64(dom, GuestCode.Results + ((ulong)i * 8));
        }
        return outcome;
    }

    [Fact]
    public void TheEnclaveReadsAndWritesItsPageAndEveryoneElseMeetsTheAbortPage()
    {
        Outcome run = RunSecureProcess(Arch());
        Assert.Equal(1UL, run.Slots[0]);                    // enclave (region) 1
        Assert.Equal(Secret, run.Slots[1]);                 // the enclave reads plaintext
        Assert.Equal(AppWrite, run.Slots[2]);               // and its own write lands (read-modify-write of the line)
        Assert.Equal(Abort, run.Slots[3]);                  // the kernel reads all 0xFF
        Assert.Equal(Abort, run.Slots[4]);                  // so does another process of the same VM
        Assert.Equal(AppWrite, run.Slots[5]);               // the kernel's write was dropped
        Assert.Equal(0UL, run.Slots[6]);                    // exit
        Assert.Equal(AppWrite, run.Slots[7]);               // after exit DRAM holds the plaintext the enclave wrote
        Assert.Equal((ulong)FunctionResult, run.Slots[8]);  // code in the EPC page ran (fetched at its EPCM address)
        Assert.Equal(Abort, BitConverter.ToUInt64(run.Dom0Read));
        HypervisorEvent drop = Assert.Single(run.Of(EventKind.ProtectedWriteDropped));
        Assert.Equal(Accessor.GuestKernel, Assert.IsType<WriteDroppedData>(drop.Data).Accessor);
        Assert.Empty(run.Of(EventKind.Violation));
        Assert.Empty(run.Rig.Hv.Dom0.ShadowMismatches);
    }

    [Fact]
    public void DramHoldsCiphertextWhileTheEnclaveLives()
    {
        var arch = Arch();
        var rig = new Rig();
        rig.Hv.Plug(arch);
        byte[]? dram = null;
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
        {
            ProtectedRegion r = rig.Hv.Sapi.Regions[0];
            dram = rig.Hv.Machine.Frame(r.Mfns[0])[..8].ToArray();
        });
        rig.Add(Build(), memory: 4UL << 20);
        rig.Run(1_000_000);
        Assert.NotNull(dram);
        Assert.NotEqual(Secret, BitConverter.ToUInt64(dram));
        Assert.NotEqual(Abort, BitConverter.ToUInt64(dram));
    }

    [Fact]
    public void Dom0CannotRemapAnEnclaveGfn()
    {
        Outcome run = RunSecureProcess(Arch());
        Assert.NotEqual("allowed", run.Dom0Remap);
        HypervisorEvent refused = Assert.Single(run.Of(EventKind.P2mChangeRefused));
        Assert.Equal(Accessor.Dom0, Assert.IsType<P2mChangeRefusedData>(refused.Data).By);
        Assert.Contains(run.Arch.DescribeRegion(run.Rig.Hv.Sapi.Regions[0]), kv => kv is { Key: "remaps_refused", Value: "1" });

        Outcome allowed = RunSecureProcess(Arch((SgxMeeParameters.RefuseEpcRemapKey, "false")));
        Assert.Equal("allowed", allowed.Dom0Remap);
    }

    [Fact]
    public void WithoutExecutePermissionTheEnclavesFetchFaultsAndIsReported()
    {
        Outcome run = RunSecureProcess(Arch((SgxMeeParameters.PermissionsKey, "rw")));
        Assert.Equal(AppWrite, run.Slots[2]);
        Assert.Equal(0UL, run.Slots[8]);                    // the function never ran
        ViolationData v = Assert.IsType<ViolationData>(Assert.Single(run.Of(EventKind.Violation)).Data);
        Assert.Equal(AccessKind.Fetch, v.Access);
        Assert.Contains("epcm: Execute denied", v.Reason);
    }

    [Fact]
    public void TheEnclavesLinesCrossTheChipBoundaryThroughTheMeeWithItsMetadataInDram()
    {
        Outcome run = RunSecureProcess(Arch());
        var cost = run.Rig.Hv.Sapi.Cost;
        Assert.True(cost.DataReads > 0, "the enclave's lines were filled from DRAM");
        Assert.True(cost.CipherOps >= cost.DataReads + 64, $"{cost.CipherOps}");   // sealing, every fill, write-backs
        Assert.True(cost.MacOps >= cost.DataReads, $"{cost.MacOps}");
        Assert.True(cost.MetadataReads > 0, $"{cost.MetadataReads}");          // version, MAC and tree lines came from DRAM
        var area = run.Arch.MetadataArea;
        Assert.Equal(run.Rig.Hv.Machine.FrameCount - area.Frames, area.First.Value);   // the MEE region: the top of machine memory
        Assert.Equal(run.Rig.Hv.Sapi.MetadataBudget / 4096, area.Frames);
    }

    [Fact]
    public void AKernelRemapOfAnEnclavePageIsReportedAtResumeAndAWrongVirtualAddressFaults()
    {
        var arch = Arch();
        var rig = new Rig();
        rig.Hv.Plug(arch);
        DomainId dom = rig.Add(RemapGuest.Build(), memory: 4UL << 20);
        Assert.Equal(HypervisorStop.AllShutDown, rig.Run(2_000_000).Stop);
        ulong Slot(int i) => rig.ReadU64(dom, GuestCode.Results + ((ulong)i * 8));

        Assert.Equal(1UL, Slot(0));
        Assert.Equal(RemapGuest.Page0Value, Slot(1));
        // (1) A plain frame: the plug-in cannot fault the enclave's read there (the frame is not interposed)…
        Assert.Equal(RemapGuest.RogueValue, Slot(2));
        // (2) the enclave's own second page at the first page's VA: the EPCM check faults the read (load access fault).
        Assert.Equal(RemapGuest.NotRead, Slot(3));
        Assert.Equal(5UL, Slot(4));
        // (3) put back: reads its page again.
        Assert.Equal(RemapGuest.Page0Value, Slot(5));
        Assert.Equal(0UL, Slot(6));

        ViolationData[] violations = [.. rig.Events.Select(e => e.Data).OfType<ViolationData>()];
        Assert.True(violations.Length == 3, string.Join("\n", violations.Select(v => v.Message())));
        // … but it was reported at the resume before: a page walk that found the rogue frame.
        Assert.Equal(AccessKind.PageWalk, violations[0].Access);
        Assert.Equal(RemapGuest.RogueGpa, violations[0].Address.Value);
        Assert.Contains("at resume", violations[0].Reason);
        Assert.Contains("a frame outside the EPC", violations[0].Reason);
        Assert.Contains("at resume", violations[1].Reason);
        Assert.Contains("the EPC page of va 0x401000", violations[1].Reason);
        Assert.Equal(AccessKind.Load, violations[2].Access);
        Assert.Contains("wrong linear address", violations[2].Reason);
    }
}
