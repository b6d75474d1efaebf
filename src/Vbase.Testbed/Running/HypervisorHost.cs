using System.Text;
using Hv = Vbase.Hypervisor.Hypervisor;
using HvDomainState = Vbase.Hypervisor.Domains.DomainState;
using HvShutdownReason = Vbase.Sapi.Abi.ShutdownReason;
using Vbase.Architectures;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Scenarios;

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
            MachineMemory = Math.Max(settings.MachineMemoryBytes, 1UL << 20),
            // Always installed: Dom0 programs (the Monitor) subscribe after the hypervisor is built.
            EventSink = new EventForwarder(settings.Events, subscribers),
            Engine = settings.Engine,
            TranslationThreshold = settings.TranslationThreshold,
            Chip = settings.Chip,
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
        hypervisor.Dom0.Network.LatencyTicks = settings.Network.LatencyTicks;
        if (settings.CapturePath is string capture)
        {
            try
            {
                hypervisor.Dom0.Network.Capture = new Vbase.Hypervisor.Network.PcapWriter(File.Create(capture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                hypervisor.Dispose();
                throw new TestbedException(TestbedStage.Outputs, $"cannot write {capture}: {Testbed.OneLine(e.Message)}");
            }
        }
        if (settings.Architecture is string arch)
        {
            ArchitectureInfo info = (settings.Registry ?? BuiltInArchitectures.CreateRegistry()).Find(arch)
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
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is Exception cause)
            {
                // The plug-in's own constructor threw something other than a parameter error: its failure, not ours.
                hypervisor.Dispose();
                throw new ArchitectureFailedException(info.Name, "constructor", cause);
            }
            try
            {
                hypervisor.Plug(architecture);
            }
            catch (ArchitectureFailedException)
            {
                hypervisor.Dispose();
                throw;
            }
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
            Initrd = images.Initrd,
            Modules = [.. images.Modules.Select(m => new DomainModule(m.Name, m.Image))],
            Cmdline = images.Spec.Cmdline,
            ConsoleOutput = (_, bytes) => console(bytes),
            VirtioConsole = images.Spec.VirtioConsole,
            WatchdogInstructions = images.Spec.Watchdog,
            Network = images.Spec.Nic is NicSpec nic
                ? new DomainNetInfo(nic.Ip, [.. nic.Arp.Select(a => new ArpEntry(a.Ip, a.Mac.ToBytes()))])
                : null,
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
        if (images.Spec.Nic is NicSpec card)
        {
            hypervisor.Dom0.AttachNic(handle.Id, card.Mac);
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

    public Vbase.Sapi.Chip.DramTraffic FinishChip()
    {
        hypervisor.Sapi.FlushChip();
        Vbase.Sapi.Chip.DramTraffic traffic = hypervisor.Sapi.Traffic();
        hypervisor.Sapi.RecordDramTraffic(traffic);
        return traffic;
    }

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
        return new DomainOutcome(state, reason, info.ExitCode, info.Instructions,
            info.Wedge is { } w ? new WatchdogStop(w.Vcpu, w.Pc, w.Instructions) : null);
    }

    public void Dispose()
    {
        hypervisor.Dom0.Network.Capture?.Dispose();
        hypervisor.Dispose();
        (architecture as IDisposable)?.Dispose();
    }

    private static DomainId Id(int domainId) => new(checked((ushort)domainId));

    private sealed class EventForwarder(Action<HostEvent>? events, List<IHypervisorEventSink> subscribers) : IHypervisorEventSink
    {
        public void Record(HypervisorEvent e)
        {
            events?.Invoke(new HostEvent(e.Time, e.Domain?.Value, e.Vcpu, e.Data));
            // A subscriber may record events of its own while handling this one; they go through here again.
            foreach (IHypervisorEventSink sink in subscribers.ToList())
            {
                sink.Record(e);
            }
        }
    }
}
