using System.Globalization;
using System.Xml.Linq;
using Vbase.Platform.Machines;
using Vbase.Testbed.Debugging;

namespace Vbase.Testbed.Tests.Debugging;

/// <summary>
/// The GDB stub against the bare-metal machine running guest/bin/debugme.elf (built with -g), driven by a scripted
/// client over a real loopback socket: registers, memory, breakpoints, steps, watchpoints, detach, kill, and a
/// hostile connection (garbage, bad checksums, huge lengths, random packets, a close mid-packet) that never stops
/// the program from reaching its exit code, 7.
/// </summary>
public sealed class GdbStubTests
{
    private static string DebugmePath => Path.Combine(ExampleScenarioTests.ScenariosFolder(), "..", "guest", "bin", "debugme.elf");

    /// <summary>A machine under a listening stub, run on a thread: its result and the stub's log.</summary>
    private sealed class Session : IDisposable
    {
        public readonly Machine Machine;
        public readonly GdbStub Stub;
        public readonly List<string> Log = [];
        private readonly Thread runner;
        public MachineRunResult? Result;
        public Exception? Failure;

        public Session()
        {
            Machine = MachineBuilder.Build(new MachineConfig { ElfPath = DebugmePath, ConsoleOutput = Stream.Null, TranslationThreshold = 1 });
            Stub = GdbStub.Listen(new MachineDebugTarget(Machine), 0, line =>
            {
                lock (Log)
                {
                    Log.Add(line);
                }
            });
            Stub.Attach();
            runner = new Thread(() =>
            {
                try
                {
                    // A budget no test reaches in its time: the Ctrl-C test's endless loop must still run when the
                    // interrupt comes (a translated self-loop retires 50 M instructions in well under 300 ms).
                    Result = Machine.Run(100_000_000_000);
                    Stub.Finish(Result.Reason == MachineStopReason.Exited ? Result.ExitCode : null);
                }
                catch (Exception e)
                {
                    Failure = e;
                }
            });
            runner.Start();
        }

        public ulong Symbol(string name) => Machine.Image.TryGetSymbol(name, out ulong a) ? a : throw new KeyNotFoundException(name);

        public MachineRunResult Wait()
        {
            Assert.True(runner.Join(60_000), "the program did not end");
            Assert.Null(Failure);
            return Result!;
        }

        public void Dispose()
        {
            Stub.Dispose();
            Machine.Dispose();
        }
    }

    private static ulong Register(string reply, int index) =>
        BitConverter.ToUInt64(Convert.FromHexString(reply.Substring(index * 16, 16)));

    [Fact]
    public void RegistersMemoryBreakpointsStepsAndWatchpoints()
    {
        using var s = new Session();
        using var gdb = new RspClient(s.Stub.Port);

        Assert.Contains("PacketSize=4000", gdb.Send("qSupported:multiprocess+;swbreak+;xmlRegisters=riscv"));
        Assert.Equal("T05thread:1;", gdb.Send("?"));
        Assert.Equal("1", gdb.Send("qAttached"));
        Assert.Equal("m1", gdb.Send("qfThreadInfo"));
        Assert.Equal("QC1", gdb.Send("qC"));
        string xml = ReadTargetXml(gdb);
        XDocument doc = XDocument.Parse(xml);
        Assert.Equal(["org.gnu.gdb.riscv.cpu", "org.gnu.gdb.riscv.fpu", "org.gnu.gdb.riscv.csr", "org.gnu.gdb.riscv.virtual"],
            doc.Root!.Elements("feature").Select(f => (string)f.Attribute("name")!));
        string regs = gdb.Send("g");
        Assert.Equal(33 * 16, regs.Length);
        Assert.Equal(s.Machine.Image.Entry, Register(regs, 32));
        Assert.Equal("0300000000000000", gdb.Send("p1041")); // priv (4161): M-mode
        Assert.Equal(8, gdb.Send("p44").Length); // fcsr (68): 32 bits

        // A breakpoint at the function, continue: stopped there, nothing of it run.
        ulong function = s.Symbol("sum_of_squares");
        Assert.Equal("OK", gdb.Send($"Z0,{function:x},2"));
        Assert.Equal("T05swbreak:;thread:1;", gdb.Send("c"));
        Assert.Equal(function, Register(gdb.Send("g"), 32));
        Assert.Equal(5UL, Register(gdb.Send("g"), 10)); // a0 = n
        // Memory at the pc is the function's code, as in the ELF.
        string code = gdb.Send($"m{function:x},4");
        Assert.Equal(Convert.ToHexStringLower(s.Machine.Ram.GetSpan(function, 4)), code);
        // A step runs one instruction; the breakpoint it leaves does not fire again.
        Assert.Equal("T05thread:1;", gdb.Send("vCont;s:1"));
        Assert.NotEqual(function, Register(gdb.Send("g"), 32));
        Assert.Equal("OK", gdb.Send($"z0,{function:x},2"));

        // A write watchpoint on 'progress': stops after each store, with its address.
        ulong progress = s.Symbol("progress");
        Assert.Equal("OK", gdb.Send($"Z2,{progress:x},4"));
        Assert.Equal($"T05watch:{progress:x};thread:1;", gdb.Send("c"));
        Assert.Equal("01000000", gdb.Send($"m{progress:x},4")); // 1*1
        Assert.Equal($"T05watch:{progress:x};thread:1;", gdb.Send("c"));
        Assert.Equal("05000000", gdb.Send($"m{progress:x},4")); // 1 + 4
        Assert.Equal("OK", gdb.Send($"z2,{progress:x},4"));

        // Memory writes: patch 'progress', read it back.
        Assert.Equal("OK", gdb.Send($"M{progress:x},4:2a000000"));
        Assert.Equal("2a000000", gdb.Send($"m{progress:x},4"));
        // Unknown packets get the empty reply, bad ones an error.
        Assert.Equal("", gdb.Send("vMustReplyEmpty"));
        Assert.Equal("E01", gdb.Send("m12"));
        Assert.Equal("E14", gdb.Send("m10,4")); // no RAM there

        Assert.Equal($"W07", gdb.Send("c"));
        Assert.Equal(7, s.Wait().ExitCode);
    }

    private static string ReadTargetXml(RspClient gdb)
    {
        var xml = new System.Text.StringBuilder();
        while (true)
        {
            string part = gdb.Send($"qXfer:features:read:target.xml:{xml.Length:x},200");
            xml.Append(part[1..]);
            if (part[0] == 'l')
            {
                return xml.ToString();
            }
            Assert.Equal('m', part[0]);
        }
    }

    [Fact]
    public void DetachClearsBreakpointsAndTheProgramRunsToItsEnd()
    {
        using var s = new Session();
        using var gdb = new RspClient(s.Stub.Port);
        Assert.Equal("OK", gdb.Send($"Z0,{s.Symbol("sum_of_squares"):x},2"));
        Assert.Equal("OK", gdb.Send("D"));
        Assert.Equal(7, s.Wait().ExitCode);
        Assert.Contains(s.Log, l => l.Contains("detached", StringComparison.Ordinal));
    }

    [Fact]
    public void KillEndsTheProgram()
    {
        using var s = new Session();
        using var gdb = new RspClient(s.Stub.Port);
        Assert.Equal("T05swbreak:;thread:1;", Continue(gdb, s.Symbol("sum_of_squares")));
        gdb.Post("k");
        Assert.Equal(MachineDebugTarget.KilledExitCode, s.Wait().ExitCode);
        Assert.True(s.Stub.Killed);
    }

    private static string Continue(RspClient gdb, ulong breakpoint)
    {
        Assert.Equal("OK", gdb.Send($"Z0,{breakpoint:x},2"));
        return gdb.Send("c");
    }

    /// <summary>Ctrl-C while the program runs (in a loop of its own that never ends) stops it with SIGINT.</summary>
    [Fact]
    public void CtrlCStopsARunningProgram()
    {
        using var s = new Session();
        using var gdb = new RspClient(s.Stub.Port);
        // Make main loop forever: a jump to itself at the function's entry.
        ulong function = s.Symbol("sum_of_squares");
        Assert.Equal("OK", gdb.Send($"M{function:x},2:01a0")); // c.j 0
        gdb.Post("c");
        Thread.Sleep(300);
        gdb.SendRaw([0x03]);
        Assert.Equal("T02thread:1;", gdb.Reply());
        Assert.Equal(function, Register(gdb.Send("g"), 32));
        gdb.Post("k");
        Assert.Equal(MachineDebugTarget.KilledExitCode, s.Wait().ExitCode);
    }

    /// <summary>
    /// A hostile debugger: garbage bytes, bad checksums, oversized packets and lengths, thousands of random packets
    /// (no resume, kill or write commands among them), then a close in the middle of a packet: the stub answers
    /// what it can, and the program runs to its exit code. The counts are what the stub saw.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AHostileConnectionNeverStopsTheRun(int seed)
    {
        var random = new Random(seed);
        using var s = new Session();
        var gdb = new RspClient(s.Stub.Port);
        var garbage = new byte[100_000];
        random.NextBytes(garbage);
        for (int i = 0; i < garbage.Length; i++)
        {
            if (garbage[i] is (byte)'$' or 0x03)
            {
                garbage[i] = (byte)'x'; // packets come next, whole
            }
        }
        gdb.SendRaw(garbage);
        gdb.SendRaw("$qC#00"u8);
        gdb.SendRaw(System.Text.Encoding.ASCII.GetBytes("$" + new string('m', 70_000) + "#00"));
        Assert.Equal("E16", gdb.Reply()); // discarded whole
        Assert.Equal("E01", gdb.Send("mffffffffffffffffff,1")); // overflows a 64-bit address
        Assert.Equal("E14", gdb.Send("m0,ffffffffffffffff")); // nothing mapped, length capped
        Assert.Equal("E01", gdb.Send("M80000000,10:00"));
        Assert.Equal("E01", gdb.Send("Pzz=00"));
        Assert.Equal("E01", gdb.Send("Z9,0,0"));
        const string commands = "gpmqHTZz?Qqx!", alphabet = "0123456789abcdef,:;=-XSupported";
        int sent = 0;
        for (int i = 0; i < 3000; i++)
        {
            var packet = new System.Text.StringBuilder();
            packet.Append(commands[random.Next(commands.Length)]);
            int length = random.Next(0, 40);
            for (int j = 0; j < length; j++)
            {
                packet.Append(alphabet[random.Next(alphabet.Length)]);
            }
            gdb.Send(packet.ToString());
            sent++;
        }
        // The stub still answers, and its state is whole.
        Assert.Equal("T05thread:1;", gdb.Send("?"));
        gdb.SendRaw("$m8000"u8); // and the connection drops mid-packet
        gdb.Dispose();

        Assert.Equal(7, s.Wait().ExitCode);
        GdbStubCounters c = s.Stub.Counters;
        Assert.True(c.Packets >= sent + 6, $"{c.Packets} packets");
        Assert.True(c.BadChecksums >= 1);
        Assert.Equal(1, c.TooLong);
        Assert.True(c.Errors >= 5);
        Assert.Contains(s.Log, l => l.Contains("connection closed", StringComparison.Ordinal));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"hostile gdb (seed {seed}): {garbage.Length} garbage bytes, {c.Packets} packets, {c.BadChecksums} bad checksums, {c.TooLong} too long, {c.Errors} error replies"));
    }
}
