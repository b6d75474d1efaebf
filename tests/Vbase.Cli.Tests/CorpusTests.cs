using System.Runtime.InteropServices;
using System.Text;
using Vbase.Cli.Tests.Support;
using Vbase.Testbed.Tests.Support;
using Vbase.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>
/// The malformed-input corpus (Corpus/): every case is refused with its recorded exit code and one
/// <c>vbase: error: …</c> line that starts with the recorded message; never a stack trace, a hang or exit 70.
/// Scenarios (Corpus/scenarios/*.yaml) run as <c>vbase run FILE</c>, monitoring scripts (Corpus/monitor/*.yaml) as
/// <c>vbase run ok.yaml --monitor FILE</c>, each with a first line <c># expect: CODE MESSAGE</c>; command lines are in
/// Corpus/cmdlines.txt. Runs in-process; the scripted stand-in hypervisor is set, though no case gets that far.
/// </summary>
public sealed class CorpusTests : IClassFixture<CorpusTests.Fixture>
{
    private readonly Fixture fixture;

    public CorpusTests(Fixture fixture)
    {
        this.fixture = fixture;
        RunCommand.Hosts = settings => new ScriptedHost(settings);
    }

    private static string CorpusDirectory => Path.Combine(AppContext.BaseDirectory, "Corpus");

    public static TheoryData<string> ScenarioCases() => Cases("scenarios");

    public static TheoryData<string> MonitorCases() => Cases("monitor");

    public static TheoryData<int> CommandLineCases()
    {
        var data = new TheoryData<int>();
        foreach (int line in CommandLines().Select(c => c.Line))
        {
            data.Add(line);
        }
        return data;
    }

    private static TheoryData<string> Cases(string folder)
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Path.Combine(CorpusDirectory, folder), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Fact]
    public void TheCorpusIsAsLargeAsItsReadmeSays()
    {
        // A guard against a corpus that silently stops being copied to the test's output.
        Assert.True(ScenarioCases().Count >= 90, $"{ScenarioCases().Count} scenario cases");
        Assert.True(MonitorCases().Count >= 25, $"{MonitorCases().Count} monitor cases");
        Assert.True(CommandLines().Count >= 50, $"{CommandLines().Count} command lines");
    }

    [Theory]
    [MemberData(nameof(ScenarioCases))]
    public void AScenarioCase(string name)
    {
        // Copied beside the fixture's files, so that its relative image paths name them.
        string path = Path.Combine(fixture.Directory, name);
        File.Copy(Path.Combine(CorpusDirectory, "scenarios", name), path, overwrite: true);
        (int code, string message) = Expectation(path);
        AssertRefused(CliRunner.Run("run", path), code, Expand(message.Replace("{file}", path, StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(MonitorCases))]
    public void AMonitorCase(string name)
    {
        string path = Path.Combine(CorpusDirectory, "monitor", name);
        (int code, string message) = Expectation(path);
        AssertRefused(CliRunner.Run("run", fixture.Ok, "--monitor", path), code, Expand(message.Replace("{file}", path, StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(CommandLineCases))]
    public void ACommandLineCase(int line)
    {
        (_, int code, string message, string[] args) = CommandLines().Single(c => c.Line == line);
        AssertRefused(CliRunner.Run([.. args.Select(Expand)]), code, Expand(message));
    }

    /// <summary>Inputs a text file cannot hold, made by the test.</summary>
    [Theory]
    [InlineData("empty", "the file is empty; a scenario needs at least 'name' and 'domains'")]
    [InlineData("nul", "not a text file (a NUL byte at offset 6)")]
    [InlineData("latin1", "not UTF-8 text (a bad byte at offset 7)")]
    [InlineData("garbage", "not ")]
    [InlineData("large", "too large: 1048577 bytes, more than the 1 MiB this kind of file may have")]
    public void AScenarioThatIsNotText(string kind, string message)
    {
        string path = Path.Combine(fixture.Directory, $"generated-{kind}.yaml");
        File.WriteAllBytes(path, Generated(kind));
        AssertRefused(CliRunner.Run("run", path), RunExitCodes.ScenarioError, $"{path}: {message}");
    }

    [Theory]
    [InlineData("nul", "not a text file (a NUL byte at offset 6)")]
    [InlineData("latin1", "not UTF-8 text (a bad byte at offset 7)")]
    [InlineData("large", "too large: 1048577 bytes, more than the 1 MiB this kind of file may have")]
    public void AMonitorScriptOrCommandFileThatIsNotText(string kind, string message)
    {
        string path = Path.Combine(fixture.Directory, $"generated-{kind}.txt");
        File.WriteAllBytes(path, Generated(kind));
        AssertRefused(CliRunner.Run("run", fixture.Ok, "--monitor", path), RunExitCodes.ScenarioError, $"{path}: {message}");
        AssertRefused(CliRunner.Run("run", fixture.Ok, "--monitor-commands", path), RunExitCodes.ScenarioError, $"{path}: {message}");
    }

    [Fact]
    public void BinaryGarbageIsNeverMoreThanOneLine()
    {
        var random = new Random(12);
        for (int i = 0; i < 20; i++)
        {
            byte[] bytes = new byte[random.Next(1, 512)];
            random.NextBytes(bytes);
            string path = Path.Combine(fixture.Directory, $"garbage-{i}.yaml");
            File.WriteAllBytes(path, bytes);
            CliResult r = CliRunner.Run("run", path);
            Assert.True(r.ExitCode == RunExitCodes.ScenarioError, $"case {i}: exit {r.ExitCode}, stderr: {r.Stderr}");
            Assert.StartsWith($"vbase: error: {path}", Assert.Single(r.StderrLines));
        }
    }

    private static byte[] Generated(string kind) => kind switch
    {
        "empty" => [],
        "nul" => Encoding.ASCII.GetBytes("name: \0s\n"),
        "latin1" => [.. "name: s"u8, 0xE9, .. "\n"u8],
        "garbage" => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D],
        "large" => Encoding.ASCII.GetBytes("# " + new string('x', (1 << 20) - 2) + "\n"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private string Expand(string text) => text
        .Replace("{dir}", fixture.Directory, StringComparison.Ordinal)
        .Replace("{guest}", Path.GetDirectoryName(GuestPrograms.Path("hello.elf"))!, StringComparison.Ordinal);

    private static void AssertRefused(CliResult r, int code, string message)
    {
        Assert.True(code == r.ExitCode, $"exit code {r.ExitCode}, expected {code}; stderr: {r.Stderr}");
        string line = Assert.Single(r.StderrLines);
        Assert.StartsWith("vbase: error: " + message, line);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    /// <summary>The first line of a corpus file: <c># expect: CODE MESSAGE</c>.</summary>
    private static (int Code, string Message) Expectation(string path)
    {
        string first = File.ReadLines(path).First();
        const string Prefix = "# expect: ";
        Assert.StartsWith(Prefix, first);
        string rest = first[Prefix.Length..];
        int space = rest.IndexOf(' ', StringComparison.Ordinal);
        return (int.Parse(rest[..space], System.Globalization.CultureInfo.InvariantCulture), rest[(space + 1)..]);
    }

    private static List<(int Line, int Code, string Message, string[] Args)> CommandLines()
    {
        var cases = new List<(int, int, string, string[])>();
        string[] lines = File.ReadAllLines(Path.Combine(CorpusDirectory, "cmdlines.txt"));
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0 || lines[i].StartsWith('#'))
            {
                continue;
            }
            string[] parts = lines[i].Split(" | ", 3);
            cases.Add((i + 1, int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts[1],
                parts[2].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        }
        return cases;
    }

    /// <summary>The folder the cases name as {dir}: images, a scenario, a FIFO, a folder, a sparse 300 MiB file.</summary>
    public sealed class Fixture : IDisposable
    {
        public Fixture()
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("vbase-corpus-").FullName;
            File.WriteAllBytes(Path.Combine(Directory, "kernel.elf"), ScriptedHost.Kernel("exit 0"));
            File.WriteAllText(Path.Combine(Directory, "notes.txt"), "not an elf\n");
            File.WriteAllBytes(Path.Combine(Directory, "empty.elf"), []);
            using (var huge = new FileStream(Path.Combine(Directory, "huge.elf"), FileMode.Create))
            {
                huge.Write("\u007fELF"u8);
                huge.SetLength(300L << 20);
            }
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, "dir"));
            Ok = Path.Combine(Directory, "ok.yaml");
            File.WriteAllText(Ok, "name: ok\ndomains:\n  - name: app\n    kernel: kernel.elf\n  - name: db\n    kernel: kernel.elf\n");
            if (MakeFifo(Path.Combine(Directory, "fifo"), Convert.ToUInt32("600", 8)) != 0)
            {
                throw new InvalidOperationException($"mkfifo failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }

        public string Directory { get; }
        /// <summary>A valid scenario: domains app and db.</summary>
        public string Ok { get; }

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

        [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
        private static extern int MakeFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
    }
}
