using System.Text;
using Vbase.Hypervisor;
using Vbase.Architectures;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Registry;
using HvDomainState = Vbase.Hypervisor.Domains.DomainState;
using HvShutdownReason = Vbase.Hypervisor.Abi.ShutdownReason;
using Hv = Vbase.Hypervisor.Hypervisor;

namespace Vbase.Testbed.Running;

/// <summary>
/// The real hypervisor (src/Vbase.Hypervisor) behind <see cref="IGuestHost"/>: domains are built and unpaused
/// through its Dom0 API, consoles arrive through each domain's console callback.
/// </summary>
public sealed class HypervisorHost : IGuestHost
{
    private readonly Hv hypervisor;

    private HypervisorHost(HostSettings settings)
    {
        var options = new HypervisorOptions
        {
            // A quarter more than the domains' RAM: room at the top for an architecture's metadata area
            // (SapiHost.ReserveMetadata); domains are allocated lowest first and keep their frames.
            MachineMemory = Math.Max(settings.MachineMemoryBytes + ((settings.MachineMemoryBytes / 4) & ~0xFFFUL), 1UL << 20),
            // Always installed: Dom0 programs (the Monitor) subscribe after the hypervisor is built.
            EventSink = new EventForwarder(settings.Events, subscribers),
            Engine = settings.Engine,
            TranslationThreshold = settings.TranslationThreshold,
        };
        if (settings.SliceInstructions is ulong slice)
        {
            options = options with { SliceInstructions = slice };
        }
        try
        {
            hypervisor = new Hv(options);
        }
        catch (Exception e) when (e is OutOfMemoryException or ArgumentException)
        {
            throw new TestbedException(TestbedStage.Host,
                $"cannot build the hypervisor with {settings.MachineMemoryBytes} bytes of machine memory: {Testbed.OneLine(e.Message)}");
        }
        if (settings.Architecture is string arch)
        {
            ArchitectureInfo info = BuiltInArchitectures.CreateRegistry().Find(arch)
                ?? throw new TestbedException(TestbedStage.Host, $"unknown architecture '{arch}'");
            try
            {
                architecture = info.Create(new ArchitectureOptions { Seed = settings.Seed, Parameters = settings.ArchitectureParameters });
            }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is ArgumentException bad)
            {
                hypervisor.Dispose();
                throw new TestbedException(TestbedStage.Host, $"architecture {arch}: {Testbed.OneLine(bad.Message)}");
            }
            hypervisor.Plug(architecture);
        }
    }

    private readonly ISecureArchitecture? architecture;
    private readonly List<IHypervisorEventSink> subscribers = [];

    /// <summary>
    /// Adds a receiver of the hypervisor's event stream (after <see cref="HostSettings.Events"/>, in the order
    /// added), e.g. the Monitor.
    /// </summary>
    public void AddEventSink(IHypervisorEventSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        subscribers.Add(sink);
    }

    /// <summary>The hypervisor itself, for Dom0 programs (the Monitor, the Controller, the Oracle).</summary>
    public Hv Hypervisor => hypervisor;

    /// <summary>Builds an empty hypervisor for a run.</summary>
    /// <exception cref="TestbedException">The hypervisor cannot be built (<see cref="TestbedStage.Host"/>).</exception>
    public static IGuestHost Create(HostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new HypervisorHost(settings);
    }

    public ulong VirtualTime => hypervisor.Now;

    public int CreateDomain(DomainImages images, Action<ReadOnlySpan<byte>> console)
    {
        var config = new DomainConfig
        {
            Name = images.Spec.Name,
            MemoryBytes = images.Spec.MemoryBytes,
            VcpuCount = images.Spec.Vcpus,
            Kernel = images.Kernel,
            Modules = [.. images.Modules.Select(m => new DomainModule(m.Name, m.Image))],
            Cmdline = images.Spec.Cmdline,
            ConsoleOutput = (_, bytes) => console(bytes),
        };
        DomainHandle handle;
        try
        {
            handle = hypervisor.Dom0.CreateDomain(config);
        }
        catch (DomainBuildException e)
        {
            throw new TestbedException(TestbedStage.Images, $"domain {images.Spec.Name}: {Testbed.OneLine(e.Message)}");
        }
        if (images.Spec.ConsoleInput.Length > 0)
        {
            hypervisor.Dom0.PushConsoleInput(handle.Id, Encoding.UTF8.GetBytes(images.Spec.ConsoleInput));
        }
        return handle.Id.Value;
    }

    public void Unpause(int domainId) => hypervisor.Dom0.Unpause(Id(domainId));

    public HostStop Run(ulong maxInstructions) => hypervisor.Run(maxInstructions).Stop switch
    {
        HypervisorStop.AllShutDown => HostStop.AllShutDown,
        HypervisorStop.InstructionLimit => HostStop.InstructionLimit,
        HypervisorStop.Idle => HostStop.Idle,
        _ => HostStop.Stopped,
    };

    public void RequestStop() => hypervisor.RequestStop();

    public DomainOutcome Outcome(int domainId)
    {
        DomainInfo info = hypervisor.Dom0.GetInfo(Id(domainId));
        DomainState state = info.State switch
        {
            HvDomainState.Paused => DomainState.Paused,
            HvDomainState.Running => DomainState.Running,
            HvDomainState.Blocked => DomainState.Blocked,
            HvDomainState.Shutdown => DomainState.Shutdown,
            _ => DomainState.Destroyed,
        };
        ShutdownReason? reason = info.Reason switch
        {
            null => null,
            HvShutdownReason.Poweroff => ShutdownReason.Poweroff,
            HvShutdownReason.Reboot => ShutdownReason.Reboot,
            HvShutdownReason.Suspend => ShutdownReason.Suspend,
            _ => ShutdownReason.Crash,
        };
        return new DomainOutcome(state, reason, info.ExitCode, info.Instructions);
    }

    public void Dispose()
    {
        hypervisor.Dispose();
        (architecture as IDisposable)?.Dispose();
    }

    private static DomainId Id(int domainId) => new(checked((ushort)domainId));

    private sealed class EventForwarder(Action<HostEvent>? events, List<IHypervisorEventSink> subscribers) : IHypervisorEventSink
    {
        public void Record(HypervisorEvent e)
        {
            events?.Invoke(new HostEvent(e.Time, e.Kind, e.Domain?.Value, e.Vcpu, e.Details));
            // A subscriber may record events of its own while handling this one; they go through here again.
            foreach (IHypervisorEventSink sink in subscribers.ToList())
            {
                sink.Record(e);
            }
        }
    }
}
