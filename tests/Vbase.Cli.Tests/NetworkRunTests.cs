using System.Buffers.Binary;
using System.Diagnostics;
using Vbase.Cli.Tests.Support;

namespace Vbase.Cli.Tests;

/// <summary>tshark on PATH (Wireshark's command line; .ci/run installs it).</summary>
public sealed class TsharkFactAttribute() : ToolFactAttribute("tshark");

/// <summary>
/// The network end to end (docs/network.md): <c>vbase run scenarios/udp-echo.yaml</c> boots two guest VMs whose
/// kernels drive their virtio-net cards through Dom0's bridge; the client's four datagrams come back, and the run's
/// <c>network.pcap</c> holds every frame, the same on every run and under both engines.
/// </summary>
public sealed class NetworkRunTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-net-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static string Scenario => Path.Combine(Repository.Root, "scenarios", "udp-echo.yaml");

    private string RunEcho(string name, params string[] extra)
    {
        string outDirectory = Path.Combine(directory, name);
        CliResult r = CliRunner.Run(["run", Scenario, "--out", outDirectory, .. extra]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}\n{r.Stdout}");
        Assert.Contains("[client] udp-echo-client: 4 of 4 echoes", r.Stdout);
        Assert.Contains("[server] udp-echo-server: done", r.Stdout);
        return outDirectory;
    }

    /// <summary>The pcap's records: (timestamp in ns, frame).</summary>
    private static List<(ulong Ns, byte[] Frame)> Records(string pcap)
    {
        byte[] b = File.ReadAllBytes(pcap);
        Assert.Equal(0xa1b2_3c4du, BinaryPrimitives.ReadUInt32LittleEndian(b));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)));   // LINKTYPE_ETHERNET
        var records = new List<(ulong, byte[])>();
        for (int at = 24; at < b.Length;)
        {
            ulong ns = (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)) * 1_000_000_000UL) + BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at + 4));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at + 8));
            records.Add((ns, b.AsSpan(at + 16, length).ToArray()));
            at += 16 + length;
        }
        return records;
    }

    [Fact]
    public void Two_VMs_exchange_UDP_and_every_frame_is_in_the_capture_in_virtual_time()
    {
        string outDirectory = RunEcho("a");
        List<(ulong Ns, byte[] Frame)> records = Records(Path.Combine(outDirectory, "network.pcap"));
        Assert.Equal(8, records.Count);   // four requests, four echoes
        for (int i = 0; i < records.Count; i++)
        {
            byte[] f = records[i].Frame;
            Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)));   // IPv4
            Assert.Equal(17, f[14 + 9]);                                                 // UDP
            byte[] src = f[26..30], dst = f[30..34];
            Assert.Equal(i % 2 == 0 ? [10, 0, 0, 2] : new byte[] { 10, 0, 0, 1 }, src);
            Assert.Equal(i % 2 == 0 ? [10, 0, 0, 1] : new byte[] { 10, 0, 0, 2 }, dst);
            Assert.Equal($"ping {i / 2}", System.Text.Encoding.ASCII.GetString(f, 42, f.Length - 42));
            Assert.True(i == 0 || records[i].Ns > records[i - 1].Ns, "timestamps are virtual time, in order");
        }
        string[] events = File.ReadAllLines(Path.Combine(outDirectory, "events.jsonl"));
        Assert.Equal(2, events.Count(e => e.Contains("\"kind\":\"net.attached\"", StringComparison.Ordinal)));
        Assert.Equal(8, events.Count(e => e.Contains("\"kind\":\"net.frame\"", StringComparison.Ordinal)));
        Assert.DoesNotContain(events, e => e.Contains("\"kind\":\"net.frame_dropped\"", StringComparison.Ordinal));
    }

    [Fact]
    public void The_same_scenario_gives_the_same_events_and_capture_byte_for_byte_under_both_engines()
    {
        string first = RunEcho("a"), second = RunEcho("b"), interpreted = RunEcho("c", "--engine", "interpreter");
        foreach (string file in new[] { "events.jsonl", "network.pcap", "console-client.log" })
        {
            byte[] expected = File.ReadAllBytes(Path.Combine(first, file));
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(second, file)));
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(interpreted, file)));
        }
    }

    [TsharkFact]
    public void Tshark_opens_the_capture_and_finds_both_UDP_flows()
    {
        string pcap = Path.Combine(RunEcho("a"), "network.pcap");
        var start = new ProcessStartInfo("tshark", ["-r", pcap, "-Y", "udp", "-T", "fields", "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process tshark = Process.Start(start)!;
        string output = tshark.StandardOutput.ReadToEnd();
        string errors = tshark.StandardError.ReadToEnd();
        Assert.True(tshark.WaitForExit(60_000), "tshark did not finish");
        Assert.True(tshark.ExitCode == 0, $"tshark exit {tshark.ExitCode}: {errors}");
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(8, lines.Length);
        Assert.Equal(4, lines.Count(l => l == "10.0.0.2\t49152\t10.0.0.1\t7"));
        Assert.Equal(4, lines.Count(l => l == "10.0.0.1\t7\t10.0.0.2\t49152"));
    }

    /// <summary>The networked bank's capture (docs/network-attacks.md): its requests and replies on port 7070, as tshark sees them.</summary>
    [TsharkFact]
    public void Tshark_finds_the_networked_banks_UDP_flow()
    {
        string outDirectory = Path.Combine(directory, "bank");
        CliResult r = CliRunner.Run(["run", Path.Combine(Repository.Root, "scenarios", "net-sealed.yaml"), "--out", outDirectory]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}\n{r.Stdout}");
        var start = new ProcessStartInfo("tshark", ["-r", Path.Combine(outDirectory, "network.pcap"), "-Y", "udp.port == 7070", "-T", "fields",
            "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process tshark = Process.Start(start)!;
        string output = tshark.StandardOutput.ReadToEnd();
        string errors = tshark.StandardError.ReadToEnd();
        Assert.True(tshark.WaitForExit(60_000), "tshark did not finish");
        Assert.True(tshark.ExitCode == 0, $"tshark exit {tshark.ExitCode}: {errors}");
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Count(l => l == "10.0.0.2\t49152\t10.0.0.1\t7070") >= 8, output);   // eight requests (the first may go twice)
        Assert.Equal(8, lines.Count(l => l == "10.0.0.1\t7070\t10.0.0.2\t49152"));          // eight replies
    }
}
