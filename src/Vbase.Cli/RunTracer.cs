using System.Text;
using Vbase.Hypervisor.Scheduling;
using Vbase.Testbed.Running;

namespace Vbase.Cli;

/// <summary>
/// <c>vbase run --trace FILE [--trace-domain NAME]</c>: every instruction the traced domain's vCPUs execute, in the
/// order the scheduler runs them, one line each in <c>exec --trace</c>'s format (<see cref="TraceWriter"/>) prefixed by
/// the vCPU (<c>vcpu0 </c>). Wraps the run's other driver (the GDB stub) if there is one.
/// </summary>
internal sealed class RunTracer : IRunDriver, IDisposable
{
    private readonly StreamWriter file;
    private readonly string? domainName;
    private readonly IRunDriver? inner;

    /// <exception cref="IOException">The file cannot be created (and the other exceptions of <see cref="StreamWriter"/>'s constructor).</exception>
    public RunTracer(string path, string? domainName, IRunDriver? inner)
    {
        file = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 20);
        this.domainName = domainName;
        this.inner = inner;
    }

    public void Start(IGuestHost host, IReadOnlyList<int> domainIds)
    {
        inner?.Start(host, domainIds);
        if (host is not HypervisorHost real)
        {
            throw new TestbedException(TestbedStage.Host, "--trace needs the real hypervisor");
        }
        DebugDomain domain = (domainName is null ? DebugDomain.First(real.Hypervisor) : DebugDomain.Find(real.Hypervisor, domainName))
            ?? throw new TestbedException(TestbedStage.Host, $"--trace-domain: no guest domain '{domainName}'");
        for (int i = 0; i < domain.Harts.Count; i++)
        {
            var writer = new TraceWriter(file, $"vcpu{i} ");
            domain.Harts[i].Tracer = r =>
            {
                try
                {
                    writer.Write(r);
                }
                catch (IOException e)
                {
                    throw new TraceFailedException(e);
                }
            };
        }
    }

    public HostStop Drive(IGuestHost host, ulong maxInstructions)
    {
        HostStop stop = inner?.Drive(host, maxInstructions) ?? host.Run(maxInstructions);
        try
        {
            file.Flush();
        }
        catch (IOException e)
        {
            throw new TraceFailedException(e);
        }
        return stop;
    }

    public void Dispose()
    {
        try
        {
            file.Dispose();
        }
        catch (IOException)
        {
            // Reported by the flush at the end of the run, or by the write that failed.
        }
    }
}
