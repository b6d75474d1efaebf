using System.Text;
using Vbase.Platform.Loading;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.Apps;

/// <summary>Applications as manifests: the built-in ones, a user's outside the tree, and every mistake as one located line.</summary>
public sealed class AppManifestTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-apps-").FullName;
    private readonly string vault;

    public AppManifestTests()
    {
        vault = Path.Combine(directory, "my-vault.elf");
        File.Copy(AppCatalogue.Find("vault")!.ProgramPath, vault);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Manifest(string yaml)
    {
        string path = Path.Combine(directory, $"app-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void TheBuiltInApplicationsAreManifests()
    {
        SecureApp paper = AppCatalogue.Find("paper")!;
        Assert.True(paper.BuiltIn);
        Assert.Equal(("secure-app.elf", 0, 64, 0UL), (paper.Program, paper.Block, paper.OtherBlock, paper.Delay));
        Assert.Equal(BitConverter.GetBytes(654321), Assert.Single(paper.Secrets).Bytes);
        SecureApp v = AppCatalogue.Find("vault")!;
        Assert.Equal(("vault.elf", 64, 128, 200_000UL, 64), (v.Program, v.Block, v.OtherBlock, v.Delay, v.ReplayBlock));
        Assert.Equal("VAULT-SECRET-7f3a9c2e-launch-code", Encoding.ASCII.GetString(Assert.Single(v.Secrets).Bytes));
    }

    [Fact]
    public void AManifestOutsideTheTreeDescribesEverything()
    {
        SecureApp app = AppManifestLoader.Load(Manifest("""
            name: mine
            description: my vault
            program: my-vault.elf
            secrets:
              - name: phrase
                text: VAULT-SECRET-7f3a9c2e-launch-code
              - name: raw
                hex: "de ad be ef"
              - name: number
                u64: 0x1122334455667788
              - name: masked
                symbol: secret_masked
                length: 8
            block: 192
            splice_source: 256
            replay_block: 320
            delay: 1_000
            """));
        Assert.False(app.BuiltIn);
        Assert.Equal(vault, app.ProgramPath);
        Assert.Equal((192, 256, 320, 1000UL), (app.Block, app.OtherBlock, app.ReplayBlock, app.Delay));
        Assert.Equal([0xde, 0xad, 0xbe, 0xef], app.Secrets[1].Bytes);
        Assert.Equal(BitConverter.GetBytes(0x1122334455667788UL), app.Secrets[2].Bytes);
        ElfImage image = ElfImage.Read(vault);
        Assert.True(image.TryGetSymbol("secret_masked", out ulong at));
        ElfSegment segment = image.Segments.Single(s => at >= s.Address && at < s.Address + (ulong)s.FileData.Length);
        Assert.Equal(segment.FileData.AsSpan((int)(at - segment.Address), 8).ToArray(), app.Secrets[3].Bytes);
    }

    [Fact]
    public void CandidateBlocksAndAWindowAreWhatASeedPicksFrom()
    {
        SecureApp app = AppManifestLoader.Load(Manifest("""
            name: mine
            program: my-vault.elf
            secrets:
              - {name: phrase, text: VAULT-SECRET-7f3a9c2e-launch-code}
            blocks: [192, 64, 4096]
            delay: 1_000
            delay_window: 50_000
            """));
        Assert.Equal([192, 64, 4096], app.Blocks);
        Assert.Equal((192, 256, 192, false, 50_000UL), (app.Block, app.OtherBlock, app.ReplayBlock, app.HasReplayBlock, app.DelayWindow));
        SecureApp single = AppManifestLoader.Load(Manifest("name: one\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\nblock: 128\n"));
        Assert.Equal([128], single.Blocks);
        Assert.Equal(0UL, single.DelayWindow);
    }

    [Fact]
    public void AnAttackRunsAgainstAManifestsApplication()
    {
        string path = Manifest("name: mine\nprogram: my-vault.elf\nsecrets:\n  - name: phrase\n    text: VAULT-SECRET-7f3a9c2e-launch-code\nblock: 64\ndelay: 200_000\n");
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest("none", "phys-snoop", path, 1, null));
        Assert.True(r.Verdict == Verdict.Breached, $"{r.Verdict.Name()}: {r.Evidence}");
        Assert.Contains("phrase", r.Evidence);
    }

    [Theory]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets: []\n", 3, 10, "secrets", "expected a list of secrets")]
    [InlineData("name: a\nprogram: nowhere.elf\nsecrets:\n  - {name: s, text: x}\n", 2, 10, "program", "'nowhere.elf' not found")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecret:\n  - {name: s, text: x}\n", 3, 1, "secret", "did you mean 'secrets'?")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x, hex: ab}\n", 4, 5, "secrets[0]", "give one of text, hex, u32, u64, symbol, not text and hex")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s}\n", 4, 5, "secrets[0]", "give the secret's bytes")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, hex: xyz}\n", 4, 20, "secrets[0].hex", "'xyz' is not hex bytes")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, symbol: nope, length: 4}\n", 4, 23, "secrets[0].symbol", "no symbol 'nope' in my-vault.elf")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x, length: 4}\n", 4, 32, "secrets[0].length", "length goes with symbol only")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, symbol: secret_masked}\n", 4, 5, "secrets[0].length", "missing: how many bytes")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\nblock: 65\n", 5, 8, "block", "65 is not a multiple of 64")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\nblock: 64\nsplice_source: 64\n", 6, 16, "splice_source", "must be another block")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\ndelay: -1\n", 5, 8, "delay", "'-1' is not a number of instructions")]
    [InlineData("- a\n", 1, 1, "", "expected the application as 'key: value' lines")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\nblocks: []\n", 5, 9, "blocks", "expected a list of 1 to 256 blocks")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\nblocks: 64\n", 5, 9, "blocks", "expected a list of 1 to 256 blocks")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\nblocks: [64, 100]\n", 5, 14, "blocks[1]", "100 is not a multiple of 64")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\nblocks: [64, 64]\n", 5, 14, "blocks[1]", "64 is listed twice")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\nblocks: [64, 128]\nblock: 192\n", 6, 8, "block", "192 is not one of 'blocks'")]
    [InlineData("name: a\nprogram: my-vault.elf\nsecrets:\n  - {name: s, text: x}\ndelay_window: lots\n", 5, 15, "delay_window", "'lots' is not a number of instructions")]
    public void EveryMistakeIsOneLocatedLine(string yaml, int line, int column, string field, string problem)
    {
        string path = Manifest(yaml);
        AppManifestException e = Assert.Throws<AppManifestException>(() => AppManifestLoader.Load(path));
        Assert.Equal((line, column, field), (e.Line, e.Column, e.Field));
        Assert.Contains(problem, e.Problem);
        Assert.StartsWith($"{path}:{line}:{column}: ", e.Message);
    }

    [Fact]
    public void AMissingManifestIsOneLine()
    {
        AppManifestException e = Assert.Throws<AppManifestException>(() => AppCatalogue.Find(Path.Combine(directory, "none.yaml")));
        Assert.Equal(0, e.Line);
    }

    [Fact]
    public void ANameIsNotAPath() => Assert.Null(AppCatalogue.Find("no-such-app"));
}
