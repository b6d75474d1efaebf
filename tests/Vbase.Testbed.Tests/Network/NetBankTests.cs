using System.Text;
using Vbase.Isa.Harts;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests.Network;

/// <summary>
/// The networked bank (guest/apps/net-bank.c, docs/network-attacks.md) end to end: the guest's ChaCha20-Poly1305
/// against RFC 8439's vectors, and both variants' round trips, byte for byte the same under both engines.
/// </summary>
public sealed class NetBankTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-netbank-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static (TestbedResult Result, string Console) Run(Scenario scenario, string? outDirectory, TestbedOptions? options = null)
    {
        var console = new MemoryStream();
        TestbedResult result = new Running.Testbed(scenario, HypervisorHost.Create)
            .Run((options ?? new TestbedOptions(Stream.Null)) with { Console = console, OutDirectory = outDirectory });
        return (result, Encoding.UTF8.GetString(console.ToArray()));
    }

    [Fact]
    public void TheGuestsChaCha20Poly1305GivesRfc8439sTestVectors()
    {
        string root = Path.GetDirectoryName(ExampleScenarioTests.ScenariosFolder())!;
        var scenario = new Scenario("(net-aead-test)", "net-aead-test", 1, new ScenarioLimits(50_000_000, null, null),
            [new DomainSpec("app", 16UL << 20, 1, Path.Combine(root, "guest", "bin", "kernel.elf"),
                [Path.Combine(root, "guest", "bin", "apps", "net-aead-test.elf")], "", "")]);
        (TestbedResult result, string console) = Run(scenario, null);
        Assert.True(result.Succeeded, console);
        foreach (string vector in new[] { "2.3.2 block", "2.4.2 cipher", "2.5.2 poly1305", "A.3 #5", "A.3 #6", "A.3 #7", "A.3 #9", "A.3 #10",
            "2.8.2 aead ciphertext", "2.8.2 aead tag", "2.8.2 aead open", "tampered tag, ciphertext, aad refused" })
        {
            Assert.Contains($"net-aead-test: {vector}: ok", console);
        }
        Assert.Contains("net-aead-test: 0 failures", console);
    }

    [Theory]
    [InlineData("net-plain.yaml")]
    [InlineData("net-sealed.yaml")]
    public void TheRoundTripIsByteIdenticalUnderBothEngines(string name)
    {
        Scenario scenario = ScenarioLoader.Load(Path.Combine(ExampleScenarioTests.ScenariosFolder(), name));
        string interpreted = Path.Combine(directory, "interpreted"), translated = Path.Combine(directory, "translated");
        (TestbedResult reference, string console1) = Run(scenario, interpreted, new TestbedOptions(Stream.Null) { Engine = ExecutionEngine.Interpreter });
        (TestbedResult second, string console2) = Run(scenario, translated, new TestbedOptions(Stream.Null) { TranslationThreshold = 1 });
        Assert.True(reference.Succeeded && second.Succeeded, console1);
        Assert.Contains("client: 8 of 8 replies as expected", console1);
        Assert.Contains("server: 8 acted on, 0 rejected", console1);
        Assert.Equal(console1, console2);
        foreach (string file in new[] { "events.jsonl", "network.pcap", "console-client.log", "console-server.log" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(interpreted, file)), File.ReadAllBytes(Path.Combine(translated, file)));
        }
        // The token crosses the wire in the clear only in the plain variant.
        byte[] pcap = File.ReadAllBytes(Path.Combine(interpreted, "network.pcap"));
        bool clear = pcap.AsSpan().IndexOf("NETBANK-TOKEN-9d4e17b2-alice-0042"u8) >= 0;
        Assert.Equal(name == "net-plain.yaml", clear);
    }

    [Fact]
    public void TheBuiltInNetworkedAppsDescribeTheirNetwork()
    {
        SecureApp plain = AppCatalogue.Find("net-plain")!, sealedApp = AppCatalogue.Find("net-sealed")!;
        Assert.Equal(NetBankProtocol.Plain, plain.Network!.Protocol);
        Assert.Equal(NetBankProtocol.Sealed, sealedApp.Network!.Protocol);
        Assert.Equal(("net-sealed-server.elf", "net-sealed-client.elf", 0), (sealedApp.Program, sealedApp.Network.Client, sealedApp.Network.KeyOffset));
        Assert.Equal(new byte[] { 10, 0, 0, 1 }, sealedApp.Network.Server.Ip);
        Assert.Null(AppCatalogue.Find("vault")!.Network);
    }
}
