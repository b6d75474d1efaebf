using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.Network;

/// <summary>A manifest's <c>network:</c> (docs/apps.md): a user's networked application, and each mistake as one located line.</summary>
public sealed class NetworkManifestTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-netapps-").FullName;

    public NetworkManifestTests()
    {
        File.Copy(GuestImages.PathOf("net-sealed-server.elf"), Path.Combine(directory, "server.elf"));
        File.Copy(GuestImages.PathOf("net-sealed-client.elf"), Path.Combine(directory, "client.elf"));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private const string Head = """
        name: my-bank
        program: server.elf
        secrets:
          - name: token
            text: NETBANK-TOKEN-9d4e17b2-alice-0042
        block: 128
        """;

    private string Manifest(string network)
    {
        string path = Path.Combine(directory, $"app-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"{Head}\n{network}");
        return path;
    }

    [Fact]
    public void AUsersNetworkedAppIsAttackedLikeTheBuiltInOne()
    {
        string path = Manifest("""
            network:
              client: client.elf
              protocol: sealed
              client_nic: {mac: "02:00:00:00:00:07", ip: 10.0.0.2}
            """);
        SecureApp app = AppManifestLoader.Load(path);
        Assert.Equal(Path.Combine(directory, "client.elf"), app.ClientPath);
        Assert.Equal(0x0200_0000_0007UL, app.Network!.ClientNic.Mac.Value);
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("none", "net-replay", path, 1, null));
        Assert.True(r.Verdict == Verdict.Detected, r.Evidence);
    }

    [Theory]
    [InlineData("network:\n  protocol: plain\n", 8, 3, "network.client", "missing: the client program")]
    [InlineData("network:\n  client: client.elf\n  protocol: tls\n", 9, 13, "network.protocol", "'tls' is not a protocol: plain or sealed")]
    [InlineData("network:\n  client: nothere.elf\n  protocol: plain\n", 8, 11, "network.client", "'nothere.elf' not found")]
    [InlineData("network:\n  client: client.elf\n  protocol: plain\n  server_nic: {mac: \"01:00:00:00:00:01\", ip: 10.0.0.1}\n", 10, 21, "network.server_nic.mac", "not a usable unicast MAC")]
    [InlineData("network:\n  client: client.elf\n  protocol: plain\n  client_nic: {mac: \"02:00:00:00:00:09\", ip: 10.0.0.1}\n", 10, 15, "network.client_nic", "another address than the server's")]
    [InlineData("network:\n  client: client.elf\n  protocol: plain\n  client_nic: {mac: \"02:00:00:00:00:09\", ip: 10.0.0}\n", 10, 46, "network.client_nic.ip", "not an IPv4 address")]
    [InlineData("network:\n  client: client.elf\n  protocol: plain\n  cleint: x\n", 10, 3, "network.cleint", "did you mean")]
    public void EveryMistakeIsOneLocatedLine(string network, int line, int column, string field, string problem)
    {
        string path = Manifest(network);
        AppManifestException e = Assert.Throws<AppManifestException>(() => AppManifestLoader.Load(path));
        Assert.Contains(problem, e.Problem);
        Assert.Equal((line, column, field), (e.Line, e.Column, e.Field));
    }
}
