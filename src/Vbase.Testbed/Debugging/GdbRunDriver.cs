using System.Globalization;
using System.Net.Sockets;
using Vbase.Hypervisor.Scheduling;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Debugging;

/// <summary>
/// <c>vbase run --gdb PORT [--gdb-domain NAME]</c>: once the domains are built, attaches a <see cref="GdbStub"/> to one
/// guest domain's vCPUs (the first guest domain unless named), which stops before that domain's first instruction
/// and waits for gdb on <paramref name="listener"/>; then runs the guests to their end as a plain run does (the
/// stub takes over at each stop, on the run's thread), and tells gdb how the domain ended.
/// </summary>
public sealed class GdbRunDriver(TcpListener listener, string? domainName, Action<string> log) : IRunDriver, IDisposable
{
    private GdbStub? stub;
    private DomainDebugTarget? target;

    /// <summary>Whether gdb killed the program (the run then ends stopped).</summary>
    public bool Killed => stub?.Killed == true;

    public void Start(IGuestHost host, IReadOnlyList<int> domainIds)
    {
        if (host is not HypervisorHost real)
        {
            throw new TestbedException(TestbedStage.Host, "--gdb needs the real hypervisor");
        }
        DebugDomain domain = (domainName is null ? DebugDomain.First(real.Hypervisor) : DebugDomain.Find(real.Hypervisor, domainName))
            ?? throw new TestbedException(TestbedStage.Host, $"--gdb-domain: no guest domain '{domainName}'");
        target = new DomainDebugTarget(domain, host);
        stub = new GdbStub(target, () =>
        {
            TcpClient client = listener.AcceptTcpClient();
            listener.Stop(); // one debugger per run
            client.NoDelay = true;
            return client.GetStream();
        }, log);
        log(string.Create(CultureInfo.InvariantCulture,
            $"vbase: gdb: waiting on localhost:{Port(listener)} for {target.Name}, {domain.Harts.Count} vcpu(s) as threads, before its first instruction (gdb: target remote :{Port(listener)})"));
        stub.Attach();
    }

    public HostStop Drive(IGuestHost host, ulong maxInstructions)
    {
        HostStop stop = host.Run(maxInstructions);
        stub?.Finish(target is { Domain.IsShutdown: true } t ? t.Domain.ExitCode : null);
        return stop;
    }

    /// <summary>The port <paramref name="listener"/> listens on.</summary>
    public static int Port(TcpListener listener) => ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;

    public void Dispose()
    {
        stub?.Dispose();
        listener.Stop();
    }
}
