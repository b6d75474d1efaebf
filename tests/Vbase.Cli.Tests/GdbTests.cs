using System.Diagnostics;
using Vbase.Cli.Tests.Support;
using Vbase.Platform.Loading;
using Vbase.Testbed.Tests.Debugging;

namespace Vbase.Cli.Tests;

/// <summary>
/// <c>vbase exec --gdb</c> and <c>vbase run --gdb</c> (docs/debugging.md): Debian's gdb-multiarch in batch mode against
/// both, a scripted debugger whose session leaves a run's events.jsonl exactly as without it, and the options' errors.
/// </summary>
public sealed class GdbTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-gdb-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Guest(string path) => Path.Combine(Repository.Root, "guest", path);

    private static string Scenario(string name) => Path.Combine(Repository.Root, "scenarios", name);

    /// <summary>Runs gdb-multiarch -batch on <paramref name="elf"/> with the commands; its stdout and stderr together.</summary>
    private static string Gdb(string elf, params string[] commands)
    {
        var start = new ProcessStartInfo(GdbFactAttribute.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repository.Root,
        };
        foreach (string a in new[] { "-batch", "-nx", "-ex", "set confirm off", "-ex", "set pagination off" })
        {
            start.ArgumentList.Add(a);
        }
        foreach (string c in commands)
        {
            start.ArgumentList.Add("-ex");
            start.ArgumentList.Add(c);
        }
        start.ArgumentList.Add(elf);
        using Process gdb = Process.Start(start)!;
        Task<string> stdout = gdb.StandardOutput.ReadToEndAsync(), stderr = gdb.StandardError.ReadToEndAsync();
        if (!gdb.WaitForExit(120_000))
        {
            gdb.Kill(entireProcessTree: true);
            Assert.Fail("gdb-multiarch did not finish: " + stdout.Result + stderr.Result);
        }
        return stdout.Result + stderr.Result;
    }

    [GdbFact]
    public void GdbBreaksStepsReadsLocalsAndSeesTheExitCodeOfAnExecProgram()
    {
        var vbase = new BackgroundVbase("exec", Guest("bin/debugme.elf"), "--gdb", "0");
        int port = vbase.GdbPort();

        string output = Gdb(Guest("bin/debugme.elf"), "directory guest", $"target remote :{port}", "break sum_of_squares", "continue",
            "next", "next", "info locals", "print n", "finish", "info registers pc", "continue");

        Assert.Contains("Breakpoint 1, sum_of_squares (n=n@entry=5) at programs/debugme.c:10", output);
        Assert.Contains("i = 1", output);
        Assert.Contains("total = 0", output);
        Assert.Contains("$1 = 5", output);
        Assert.Contains("Value returned is $2 = 55", output);
        Assert.Contains("[Inferior 1 (Remote target) exited with code 07]", output);
        Assert.Equal(7, vbase.Wait());
        Assert.Equal("debugme: done\n", vbase.Stdout);
    }

    /// <summary>
    /// The paper's secure-app under vbase: stopped in the application after it protected its page, gdb reads the secret
    /// (654321) as the owner sees it; stopped in the guest kernel (same address space, S-mode), it reads the
    /// ciphertext in DRAM, and the stub says which view each read got.
    /// </summary>
    [GdbFact]
    public void GdbReadsAProtectedRegionAsItsOwnerAndAsTheKernelUnderRun()
    {
        var vbase = new BackgroundVbase("run", Scenario("paper.yaml"), "--gdb", "0");
        int port = vbase.GdbPort();

        string output = Gdb(Guest("bin/apps/secure-app.elf"), $"target remote :{port}", "info threads", "break sys_vbase", "continue", "finish",
            "print $priv", "x/wx &secure_mem", "monitor view 0x12000 4",
            "add-symbol-file guest/bin/kernel.elf", "break trap_handler", "continue", "print $priv", "x/wx &secure_mem", "monitor view 0x12000 4",
            "delete", "continue");

        Assert.Contains("Thread 1 (vcpu 0 Supervisor-mode)", output);
        Assert.Contains("Breakpoint 1, 0x", output);
        Assert.Contains("$1 = 0", output); // U-mode
        Assert.Contains("0x12000 <secure_mem>:\t0x0009fbf1", output); // 654321
        Assert.Contains("vbase: 0x12000 is in protected region 1: vcpu 0 in user mode (satp 0x", output);
        Assert.Contains("sees plaintext", output);
        Assert.Contains("Breakpoint 2, 0x", output);
        Assert.Contains("$2 = 1", output); // S-mode
        Assert.Contains("vcpu 0 in the kernel (satp 0x", output);
        Assert.Contains("sees the bytes in DRAM (not the plaintext)", output);
        Assert.Equal(1, output.Split("<secure_mem>:\t0x0009fbf1").Length - 1); // the kernel read something else
        Assert.Contains("[Inferior 1 (Remote target) exited normally]", output);
        Assert.Equal(0, vbase.Wait());
        Assert.Contains("[app] secure-app: The secret_key after system call is: 654321", vbase.Stdout);
    }

    /// <summary>
    /// Determinism: a run stopped at breakpoints, stepped, inspected, and then left by a debugger that hangs up in the
    /// middle of it writes the same events.jsonl and console, byte for byte, as the run without a debugger.
    /// </summary>
    [Fact]
    public void ADebuggedRunReplaysTheUndebuggedOneExactlyAndOutlivesADroppedConnection()
    {
        string plain = Path.Combine(directory, "plain"), debugged = Path.Combine(directory, "debugged");
        CliResult expected = CliRunner.Run("run", Scenario("paper.yaml"), "--out", plain);
        Assert.Equal(0, expected.ExitCode);
        ElfImage app = ElfImage.Read(Guest("bin/apps/secure-app.elf"));
        ulong sysVbase = app.Symbols["sys_vbase"], printf = app.Symbols["vb_printf"];

        var vbase = new BackgroundVbase("run", Scenario("paper.yaml"), "--gdb", "0", "--out", debugged);
        using (var gdb = new RspClient(vbase.GdbPort()))
        {
            Assert.Equal("T05thread:1;", gdb.Send("?"));
            Assert.Equal("OK", gdb.Send($"Z0,{sysVbase:x},2"));
            Assert.Equal("OK", gdb.Send($"Z0,{printf:x},2"));
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal("T05swbreak:;thread:1;", gdb.Send("c"));
                Assert.Equal(33 * 16, gdb.Send("g").Length);
                for (int s = 0; s < 4; s++)
                {
                    Assert.Equal("T05thread:1;", gdb.Send("s"));
                }
                Assert.Equal(8, gdb.Send("m12000,4").Length);
            }
            Assert.Equal("OK", gdb.Send($"Z2,12000,4")); // a watchpoint on the secret, then away
            gdb.Post("c");
            Thread.Sleep(50);
        }
        Assert.Equal(0, vbase.Wait());
        Assert.Contains("connection closed; the run goes on to its end", vbase.Stderr);
        Assert.Equal(expected.Stdout, vbase.Stdout);
        Assert.Equal(File.ReadAllBytes(Path.Combine(plain, "events.jsonl")), File.ReadAllBytes(Path.Combine(debugged, "events.jsonl")));
    }

    /// <summary>gdb's kill under <c>run</c> ends the run where it stands: exit code 3, and stderr says who stopped it.</summary>
    [Fact]
    public void KillFromGdbStopsARun()
    {
        var vbase = new BackgroundVbase("run", Scenario("paper.yaml"), "--gdb", "0");
        using (var gdb = new RspClient(vbase.GdbPort()))
        {
            Assert.Equal("T05thread:1;", gdb.Send("s"));
            gdb.Post("k");
            gdb.DrainToClose();
        }
        Assert.Equal(3, vbase.Wait());
        Assert.Contains("vbase: stopped by the monitor (gdb killed the program); still running: app", vbase.Stderr);
        Assert.Equal("", vbase.Stdout);
    }

    [Fact]
    public void DebugOptionErrorsAreUsageErrors()
    {
        CliResult r = CliRunner.Run("run", Scenario("paper.yaml"), "--gdb", "0", "--gdb-domain", "nope");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("vbase: error: --gdb-domain: no domain 'nope' in the scenario (its domains: app)", r.StderrLines.Single());
        r = CliRunner.Run("run", Scenario("paper.yaml"), "--gdb-domain", "app");
        Assert.Equal("vbase: error: --gdb-domain needs --gdb PORT", r.StderrLines.Single());
        r = CliRunner.RunWithInput("quit\n", "run", Scenario("paper.yaml"), "--gdb", "0", "--monitor-repl");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--gdb and the Monitor's commands", r.Stderr);
        r = CliRunner.Run("exec", Guest("bin/debugme.elf"), "--gdb", "70000");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--gdb", r.Stderr);
        r = CliRunner.Run("run", Scenario("paper.yaml"), "--trace-domain", "app");
        Assert.Equal("vbase: error: --trace-domain needs --trace FILE", r.StderrLines.Single());
    }

    /// <summary><c>run --trace</c>: exec's line format, each line prefixed by its vCPU, every instruction of the domain.</summary>
    [Fact]
    public void RunTraceWritesEveryInstructionOfTheDomainPerVcpu()
    {
        string trace = Path.Combine(directory, "trace.txt");
        CliResult r = CliRunner.Run("run", Scenario("paper.yaml"), "--trace", trace, "--trace-domain", "app", "--max-instructions", "20000");
        Assert.Equal(124, r.ExitCode);
        string[] lines = File.ReadAllLines(trace);
        // The kernel's first instruction sets gp (_start); its offset moves with the kernel's size.
        Assert.Matches(@"^vcpu0 0000000080200000 [0-9a-f]{5}197 auipc gp, 0x[0-9a-f]+  gp=00000000802[0-9a-f]{5}$", lines[0]);
        Assert.All(lines, l => Assert.StartsWith("vcpu0 ", l));
        Assert.Equal(20000, lines.Count(l => !l.StartsWith("vcpu0   trap: ", StringComparison.Ordinal)));
    }
}
