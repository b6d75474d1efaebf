using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Isa.Encoding;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;

namespace Vbase.Hypervisor.Tests.Infrastructure;

/// <summary>A hypervisor with recorded events and consoles, for one test.</summary>
internal sealed class Rig : IDisposable, IHypervisorEventSink
{
    public Rig(ulong slice = 10_000, ulong machineMemory = 64UL << 20, ChipOptions? chip = null, Isa.Harts.ExecutionEngine engine = Isa.Harts.ExecutionEngine.Translator, int? translationThreshold = null) =>
        Hv = new Hypervisor(new HypervisorOptions
        {
            MachineMemory = machineMemory,
            SliceInstructions = slice,
            EventSink = this,
            Chip = chip ?? new ChipOptions(),
            Engine = engine,
            TranslationThreshold = translationThreshold,
        });

    public Hypervisor Hv { get; }
    public List<HypervisorEvent> Events { get; } = [];

    /// <summary>Called for each event as it is recorded (a Dom0 program's moment: e.g. before a region's shadow is freed).</summary>
    public Action<HypervisorEvent>? OnEvent { get; set; }

    public void Record(HypervisorEvent e)
    {
        Events.Add(e);
        OnEvent?.Invoke(e);
    }

    public DomainId Add(ProgramBuilder program, string name = "guest", ulong memory = 4UL << 20, int vcpus = 1,
        bool unpause = true, IReadOnlyList<DomainModule>? modules = null, string cmdline = "") =>
        Add(program.ToArray(), name, memory, vcpus, unpause, modules, cmdline);

    public DomainId Add(byte[] kernel, string name = "guest", ulong memory = 4UL << 20, int vcpus = 1,
        bool unpause = true, IReadOnlyList<DomainModule>? modules = null, string cmdline = "")
    {
        DomainHandle h = Hv.Dom0.CreateDomain(new DomainConfig
        {
            Name = name,
            Kernel = kernel,
            MemoryBytes = memory,
            VcpuCount = vcpus,
            Modules = modules ?? [],
            Cmdline = cmdline,
        });
        if (unpause)
        {
            Hv.Dom0.Unpause(h.Id);
        }
        return h.Id;
    }

    public HypervisorRunResult Run(ulong max = 10_000_000) => Hv.Run(max);

    public ulong Reg(DomainId d, int reg, int vcpu = 0) => Hv.Dom0.GetRegister(d, vcpu, reg);

    public DomainInfo Info(DomainId d) => Hv.Dom0.GetInfo(d);

    public string Console(DomainId d) => Hv.Dom0.ReadConsole(d);

    public ulong ReadU64(DomainId d, ulong gpa)
    {
        byte[] b = new byte[8];
        Assert.Equal(0, Hv.Dom0.ReadGuest(d, new GuestPhysicalAddress(gpa), b));
        return BitConverter.ToUInt64(b);
    }

    public void Dispose() => Hv.Dispose();
}
