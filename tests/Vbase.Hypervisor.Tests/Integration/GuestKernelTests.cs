using System.Text;
using Vbase.Hypervisor.Domains;
using Vbase.Sapi.Domains;

namespace Vbase.Hypervisor.Tests.Integration;

/// <summary>The committed guest kernel (guest/bin/kernel.elf) and its user programs, run by this hypervisor.</summary>
public class GuestKernelTests
{
    private static string GuestBin(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vbase.sln")))
            {
                return Path.Combine(dir.FullName, "guest", "bin", file);
            }
        }
        throw new FileNotFoundException("Vbase.sln not found above the test directory");
    }

    private static (string Left, string Right, string Interleaving, ulong LeftInstructions, ulong Now) RunTwoKernels()
    {
        using var hv = new Hypervisor(new HypervisorOptions { MachineMemory = 64UL << 20 });
        var order = new StringBuilder();
        byte[] kernel = File.ReadAllBytes(GuestBin("kernel.elf"));
        DomainId Add(string name, params string[] apps)
        {
            DomainHandle h = hv.Dom0.CreateDomain(new DomainConfig
            {
                Name = name,
                Kernel = kernel,
                Modules = [.. apps.Select(a => new DomainModule(a, File.ReadAllBytes(GuestBin(Path.Combine("apps", a)))))],
                ConsoleLine = (id, line) => order.Append(id).Append(": ").Append(line).Append('\n'),
            });
            hv.Dom0.Unpause(h.Id);
            return h.Id;
        }
        DomainId left = Add("left", "hello.elf", "counter.elf"), right = Add("right", "counter.elf");
        HypervisorRunResult r = hv.Run(400_000_000);
        Assert.Equal(HypervisorStop.AllShutDown, r.Stop);
        Assert.Equal(0L, hv.Dom0.GetInfo(left).ExitCode);
        Assert.Equal(0L, hv.Dom0.GetInfo(right).ExitCode);
        return (hv.Dom0.ReadConsole(left), hv.Dom0.ReadConsole(right), order.ToString(), hv.Dom0.GetInfo(left).Instructions, hv.Now);
    }

    [Fact]
    public void TwoKernelDomainsRunTheirProcessesDeterministically()
    {
        var first = RunTwoKernels();
        var second = RunTwoKernels();
        Assert.Equal(first, second);
        Assert.Contains("hello from pid 1", first.Left);
        Assert.Contains("counter done", first.Left);
        Assert.Contains("counter done", first.Right);
        Assert.Contains("d1: ", first.Interleaving);
        Assert.Contains("d2: ", first.Interleaving);
    }
}
