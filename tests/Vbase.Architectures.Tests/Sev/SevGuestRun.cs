using Vbase.Architectures.Tests.Sapi;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using static Vbase.Architectures.Tests.Sapi.SecureProcessGuest;

namespace Vbase.Architectures.Tests.Sev;

/// <summary>
/// <see cref="SecureProcessGuest"/> (process A registers one page, the kernel reads and writes it, process B reads
/// it, A reads it again, exit) under a plug-in of the SEV family, with a Dom0 action at the moment of registration
/// (VIRQ_VBASE, while A waits in its hypercall): what an attacker in Dom0 can do before A runs on.
/// </summary>
internal sealed class SevGuestRun : IDisposable
{
    public const ulong SecretGfn = SecretGpa >> PageSize.Shift;

    private SevGuestRun(Rig rig) => Rig = rig;

    public Rig Rig { get; }
    public DomainId Domain { get; private set; }
    /// <summary>The result slots of <see cref="SecureProcessGuest"/>.</summary>
    public ulong[] Slots { get; } = new ulong[9];
    /// <summary>The protected page's machine frame.</summary>
    public Mfn Mfn { get; private set; }
    /// <summary>The protected page as DRAM held it right after registration (before the Dom0 action).</summary>
    public byte[] DramAtEnter { get; } = new byte[PageSize.Bytes];
    /// <summary>The protected page as DRAM held it right after the Dom0 action.</summary>
    public byte[] DramAfterDom0 { get; } = new byte[PageSize.Bytes];
    /// <summary>What the architecture told the Monitor about the region at registration.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> StateAtEnter { get; private set; } = [];

    public IEnumerable<HypervisorEvent> Of(string kind) => Rig.Events.Where(e => e.Kind == kind);

    /// <param name="atEnter">Dom0's action while the region is freshly registered (the application's domain is 1).</param>
    public static SevGuestRun Start(ISecureArchitecture arch, Action<SevGuestRun>? atEnter = null)
    {
        var run = new SevGuestRun(new Rig());
        run.Rig.Hv.Plug(arch);
        run.Domain = new DomainId(1);
        run.Rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
        {
            RegionReport region = Assert.Single(run.Rig.Hv.Dom0.QueryRegions());
            run.Mfn = region.Mfns[0];
            run.StateAtEnter = region.State;
            Assert.Equal(0, run.Rig.Hv.Dom0.ReadRegion(region.Id, 0, run.DramAtEnter, MemoryView.Dram));
            atEnter?.Invoke(run);
            Assert.Equal(0, run.Rig.Hv.Dom0.ReadRegion(region.Id, 0, run.DramAfterDom0, MemoryView.Dram));
        });
        Assert.Equal(run.Domain, run.Rig.Add(Build(), memory: 4UL << 20));
        HypervisorRunResult r = run.Rig.Run(1_000_000);
        Assert.Equal(HypervisorStop.AllShutDown, r.Stop);
        for (int i = 0; i < run.Slots.Length; i++)
        {
            run.Slots[i] = run.Rig.ReadU64(run.Domain, GuestCode.Results + (ulong)i * 8);
        }
        return run;
    }

    public void Dispose() => Rig.Dispose();
}
