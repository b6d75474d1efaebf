using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Tests.Apps;

/// <summary>Linux-hosted applications' manifests: a Linux Image, its initramfs and the command /init runs.</summary>
public sealed class LinuxAppManifestTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-linux-apps-").FullName;

    public LinuxAppManifestTests()
    {
        string guest = Path.Combine(ExampleScenarioTests.ScenariosFolder(), "..", "guest");
        File.Copy(Path.Combine(guest, "linux", "Image"), Path.Combine(directory, "Image"));
        File.Copy(Path.Combine(guest, "linux", "initramfs.cpio"), Path.Combine(directory, "initramfs.cpio"));
        File.Copy(AppCatalogue.Find("vault")!.ProgramPath, Path.Combine(directory, "vault.elf"));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Manifest(string yaml)
    {
        string path = Path.Combine(directory, $"app-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void TheBuiltInLinuxApplicationsBootTheCommittedGuest()
    {
        SecureApp paper = AppCatalogue.Find("paper-linux")!;
        Assert.True(paper.IsLinux);
        Assert.Equal(("Image", "initramfs.cpio", "/bin/secure-app"), (paper.Kernel, paper.Initrd, paper.Command));
        Assert.Equal(BitConverter.GetBytes(654321), Assert.Single(paper.Secrets).Bytes);
        Assert.Equal(64UL << 20, paper.MemoryBytes);
        Assert.Contains("vbase_cmd=\"/bin/secure-app\"", paper.Bootargs);
        // The embedded images are the committed ones.
        Assert.Equal(File.ReadAllBytes(Path.Combine(directory, "Image")), File.ReadAllBytes(paper.KernelPath));
        Assert.Equal(File.ReadAllBytes(Path.Combine(directory, "initramfs.cpio")), File.ReadAllBytes(paper.InitrdPath!));
        SecureApp vault = AppCatalogue.Find("vault-linux")!;
        Assert.Equal(("/bin/vault", 64, 200_000UL), (vault.Command, vault.Block, vault.Delay));
        Assert.False(AppCatalogue.Find("vault")!.IsLinux);
    }

    [Fact]
    public void AUsersLinuxManifestNeedsNoProgram()
    {
        SecureApp app = AppManifestLoader.Load(Manifest(
            "name: mine\nkernel: Image\ninitrd: initramfs.cpio\ncommand: /bin/vault\nsecrets:\n  - {name: s, text: VAULT}\n"));
        Assert.True(app.IsLinux);
        Assert.Equal(Path.Combine(directory, "initramfs.cpio"), app.InitrdPath);
        Assert.Equal(Path.Combine(directory, "Image"), app.KernelPath);
    }

    [Theory]
    [InlineData("name: a\nkernel: Image\ninitrd: initramfs.cpio\nsecrets:\n  - {name: s, text: x}\n", 3, 9, "initrd", "needs 'command'")]
    [InlineData("name: a\ninitrd: initramfs.cpio\ncommand: /bin/vault\nsecrets:\n  - {name: s, text: x}\n", 2, 9, "initrd", "goes with 'kernel'")]
    [InlineData("name: a\nkernel: vault.elf\ninitrd: initramfs.cpio\ncommand: /bin/vault\nsecrets:\n  - {name: s, text: x}\n", 2, 9, "kernel", "is not a RISC-V Linux Image")]
    [InlineData("name: a\nkernel: Image\ninitrd: nowhere.cpio\ncommand: /bin/vault\nsecrets:\n  - {name: s, text: x}\n", 3, 9, "initrd", "'nowhere.cpio' not found")]
    [InlineData("name: a\nprogram: vault.elf\ncommand: /bin/vault\nsecrets:\n  - {name: s, text: x}\n", 3, 10, "command", "it needs 'initrd'")]
    [InlineData("name: a\nkernel: Image\ninitrd: initramfs.cpio\ncommand: 'echo \"hi\"'\nsecrets:\n  - {name: s, text: x}\n", 4, 10, "command", "without '\"'")]
    [InlineData("name: a\nkernel: Image\ninitrd: initramfs.cpio\ncommand: /bin/vault\nsecrets:\n  - {name: s, symbol: vault, length: 4}\n", 6, 23, "secrets[0].symbol", "needs 'program'")]
    public void EveryMistakeIsOneLocatedLine(string yaml, int line, int column, string field, string problem)
    {
        string path = Manifest(yaml);
        AppManifestException e = Assert.Throws<AppManifestException>(() => AppManifestLoader.Load(path));
        Assert.Equal((line, column, field), (e.Line, e.Column, e.Field));
        Assert.Contains(problem, e.Problem);
        Assert.StartsWith($"{path}:{line}:{column}: ", e.Message);
    }
}
