using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests;

/// <summary>The scenario loader: a valid file's values, and one located message for every kind of mistake.</summary>
public sealed class ScenarioLoaderTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-scenario-").FullName;

    public ScenarioLoaderTests()
    {
        Directory.CreateDirectory(Path.Combine(directory, "bin", "apps"));
        WriteElf("bin/kernel.elf");
        WriteElf("bin/apps/hello.elf");
        WriteElf("bin/apps/counter.elf");
        File.WriteAllText(Path.Combine(directory, "bin", "notes.txt"), "not an elf");
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private void WriteElf(string relative, int size = 64)
    {
        byte[] bytes = new byte[size];
        "\u007fELF"u8.CopyTo(bytes);
        File.WriteAllBytes(Path.Combine(directory, relative), bytes);
    }

    private const string Valid = """
        # a comment
        name: hello
        seed: 0x2a
        limits:
          max_instructions: 50_000_000
          slice_instructions: 10000
          timeout: 30s
        domains:
          - name: app
            memory: 64MiB
            vcpus: 2
            kernel: bin/kernel.elf
            programs:
              - bin/apps/hello.elf
              - bin/apps/counter.elf
              - bin/apps/counter.elf
            cmdline: "quiet init=hello"
            console_input: "yes\n"
          - name: other
            kernel: bin/kernel.elf
        """;

    [Fact]
    public void TheArchitectureAndItsParametersAreRead()
    {
        Scenario s = ScenarioLoader.Load(Write("name: a\narch: aegis\narch_parameters:\n  metadata-cache-bytes: 4096\n  tree-arity: 2\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n"));
        Assert.Equal("aegis", s.Architecture);
        Assert.Equal(new Dictionary<string, string> { ["metadata-cache-bytes"] = "4096", ["tree-arity"] = "2" }, s.ArchitectureParameters);
        Assert.Empty(ScenarioLoader.Load(Write(Valid)).ArchitectureParameters);
        ScenarioException e = Fails("name: a\narch_parameters:\n  x: 1\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n");
        Assert.Contains("arch_parameters", e.Message);
        Assert.Contains("without 'arch'", e.Message);
    }

    private string Write(string yaml, string name = "x.yaml")
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    private ScenarioException Fails(string yaml)
    {
        string path = Write(yaml);
        return Assert.Throws<ScenarioException>(() => ScenarioLoader.Load(path));
    }

    [Fact]
    public void AValidFileGivesEveryValue()
    {
        string path = Write(Valid);
        Scenario s = ScenarioLoader.Load(path);
        Assert.Equal(path, s.Path);
        Assert.Equal("hello", s.Name);
        Assert.Equal(42UL, s.Seed);
        Assert.Equal(new ScenarioLimits(50_000_000, 10_000, TimeSpan.FromSeconds(30)), s.Limits);
        Assert.Equal(2, s.Domains.Count);

        DomainSpec app = s.Domains[0];
        Assert.Equal("app", app.Name);
        Assert.Equal(64UL << 20, app.MemoryBytes);
        Assert.Equal(2, app.Vcpus);
        Assert.Equal(Path.Combine(directory, "bin", "kernel.elf"), app.Kernel);
        Assert.Equal(
            [Path.Combine(directory, "bin", "apps", "hello.elf"), Path.Combine(directory, "bin", "apps", "counter.elf"), Path.Combine(directory, "bin", "apps", "counter.elf")],
            app.Programs);
        Assert.Equal("quiet init=hello", app.Cmdline);
        Assert.Equal("yes\n", app.ConsoleInput);

        DomainSpec other = s.Domains[1];
        Assert.Equal(new DomainSpec("other", ScenarioLoader.DefaultMemory, 1, Path.Combine(directory, "bin", "kernel.elf"), [], "", ""),
            other with { Programs = [] });
        Assert.Empty(other.Programs);
    }

    [Fact]
    public void DefaultsWhenOnlyTheRequiredFieldsAreGiven()
    {
        Scenario s = ScenarioLoader.Load(Write("name: min\ndomains:\n  - name: a\n    kernel: bin/kernel.elf\n"));
        Assert.Equal(0UL, s.Seed);
        Assert.Equal(ScenarioLimits.None, s.Limits);
        Assert.Equal(16UL << 20, Assert.Single(s.Domains).MemoryBytes);
        Assert.Null(s.Domains[0].Watchdog);   // the hypervisor's default
    }

    [Theory]
    [InlineData("1_000_000", 1_000_000UL)]
    [InlineData("off", 0UL)]
    public void AWatchdogIsAnInstructionCountOrOff(string value, ulong expected) =>
        Assert.Equal(expected, Assert.Single(ScenarioLoader.Load(Write($"name: w\ndomains:\n  - name: a\n    kernel: bin/kernel.elf\n    watchdog: {value}\n")).Domains).Watchdog);

    [Fact]
    public void PathsAreRelativeToTheScenarioFileNotTheCurrentFolder()
    {
        Directory.CreateDirectory(Path.Combine(directory, "scenarios"));
        string path = Write("name: rel\ndomains:\n  - name: a\n    kernel: ../bin/kernel.elf\n", Path.Combine("scenarios", "rel.yaml"));
        Assert.Equal(Path.Combine(directory, "bin", "kernel.elf"), ScenarioLoader.Load(path).Domains[0].Kernel);
    }

    [Theory]
    [InlineData("16M", 16UL << 20)]
    [InlineData("16MiB", 16UL << 20)]
    [InlineData("16mb", 16UL << 20)]
    [InlineData("1G", 1UL << 30)]
    [InlineData("8192K", 8UL << 20)]
    [InlineData("16777216", 16UL << 20)]
    [InlineData("16_777_216", 16UL << 20)]
    public void MemorySizes(string text, ulong bytes)
    {
        Scenario s = ScenarioLoader.Load(Write($"name: m\ndomains:\n  - name: a\n    memory: {text}\n    kernel: bin/kernel.elf\n"));
        Assert.Equal(bytes, s.Domains[0].MemoryBytes);
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("30s", 30)]
    [InlineData("2m", 120)]
    [InlineData("1h", 3600)]
    [InlineData("45", 45)]
    [InlineData("1.5s", 1.5)]
    public void Timeouts(string text, double seconds)
    {
        Scenario s = ScenarioLoader.Load(Write($"name: t\nlimits:\n  timeout: {text}\ndomains:\n  - name: a\n    kernel: bin/kernel.elf\n"));
        Assert.Equal(TimeSpan.FromSeconds(seconds), s.Limits.Timeout);
    }

    [Fact]
    public void TheMessageNamesFileLineColumnAndField()
    {
        string yaml = Valid.Replace("  - name: other\n    kernel: bin/kernel.elf", "  - name: other\n    memory: 12Q\n    kernel: bin/kernel.elf", StringComparison.Ordinal);
        ScenarioException e = Fails(yaml);
        string path = Path.Combine(directory, "x.yaml");
        Assert.Equal($"{path}:20:13: domains[1].memory: '12Q' is not a size (use e.g. 16M)", e.Message);
        Assert.Equal((20, 13, "domains[1].memory"), (e.Line, e.Column, e.Field));
    }

    [Theory]
    // unknown keys, at every level, with a suggestion when one is close
    [InlineData("name: a\nseeed: 1\ndomains: []\n", 2, 1, "seeed", "unknown key (did you mean 'seed'?")]
    [InlineData("name: a\nlimits:\n  max_instruction: 5\ndomains: []\n", 3, 3, "limits.max_instruction", "unknown key (did you mean 'max_instructions'?")]
    [InlineData("name: a\ndomains:\n  - name: d\n    memroy: 16M\n    kernel: bin/kernel.elf\n", 4, 5, "domains[0].memroy", "unknown key (did you mean 'memory'?")]
    [InlineData("name: a\nextra: 1\ndomains: []\n", 2, 1, "extra", "unknown key (known keys: name, plugins, arch, arch_parameters, chip, seed, limits, network, domains)")]
    [InlineData("name: a\narch: sgx-foo\ndomains: []\n", 2, 7, "arch", "unknown architecture 'sgx-foo' (known: ")]
    // required fields
    [InlineData("seed: 1\ndomains: []\n", 1, 1, "name", "missing")]
    [InlineData("name: a\n", 1, 1, "domains", "missing")]
    [InlineData("name: a\ndomains: []\n", 2, 10, "domains", "the list is empty")]
    [InlineData("name: a\ndomains:\n  - name: d\n", 3, 5, "domains[0].kernel", "missing")]
    [InlineData("name: a\ndomains:\n  - kernel: bin/kernel.elf\n", 3, 5, "domains[0].name", "missing")]
    // values
    [InlineData("name: a b\ndomains: []\n", 1, 7, "name", "'a b' is not a name")]
    [InlineData("name: a\nseed: -1\ndomains: []\n", 2, 7, "seed", "'-1' is not a seed")]
    [InlineData("name: a\ndomains:\n  - name: d\n    vcpus: 9\n    kernel: bin/kernel.elf\n", 4, 12, "domains[0].vcpus", "9 is out of range: expected a number of vCPUs from 1 to 8")]
    [InlineData("name: a\ndomains:\n  - name: d\n    vcpus: two\n    kernel: bin/kernel.elf\n", 4, 12, "domains[0].vcpus", "'two' is not a number of vCPUs")]
    [InlineData("name: a\ndomains:\n  - name: d\n    memory: 1M\n    kernel: bin/kernel.elf\n", 4, 13, "domains[0].memory", "1M is out of range: a domain has from 4M to 4G")]
    [InlineData("name: a\ndomains:\n  - name: d\n    memory: 5000000\n    kernel: bin/kernel.elf\n", 4, 13, "domains[0].memory", "is not a whole number of 4K pages")]
    [InlineData("name: a\ndomains:\n  - name: d\n    memory: [16M]\n    kernel: bin/kernel.elf\n", 4, 13, "domains[0].memory", "expected a single value, not a list")]
    [InlineData("name: a\ndomains:\n  - name: d\n    memory:\n    kernel: bin/kernel.elf\n", 4, 12, "domains[0].memory", "has no value")]
    [InlineData("name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n    cmdline: [a]\n", 5, 14, "domains[0].cmdline", "expected a single value")]
    [InlineData("name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n    watchdog: soon\n", 5, 15, "domains[0].watchdog", "'soon' is not a number of instructions from 1 up, or off")]
    [InlineData("name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n    watchdog: 0\n", 5, 15, "domains[0].watchdog", "0 is out of range")]
    // limits out of range
    [InlineData("name: a\nlimits:\n  max_instructions: 0\ndomains: []\n", 3, 21, "limits.max_instructions", "0 is out of range")]
    [InlineData("name: a\nlimits:\n  slice_instructions: 10\ndomains: []\n", 3, 23, "limits.slice_instructions", "10 is out of range: expected a number of instructions from 100 to 100_000_000")]
    [InlineData("name: a\nlimits:\n  timeout: 0s\ndomains: []\n", 3, 12, "limits.timeout", "0s is out of range")]
    [InlineData("name: a\nlimits:\n  timeout: 25h\ndomains: []\n", 3, 12, "limits.timeout", "25h is out of range")]
    [InlineData("name: a\nlimits:\n  timeout: soon\ndomains: []\n", 3, 12, "limits.timeout", "'soon' is not a duration")]
    [InlineData("name: a\nlimits: 5\ndomains: []\n", 2, 9, "limits", "expected the run's limits as 'key: value' lines, not a single value")]
    // structure
    [InlineData("name: a\ndomains:\n  name: d\n", 3, 3, "domains", "expected a list of domains, not a mapping")]
    [InlineData("name: a\ndomains:\n  - d\n", 3, 5, "domains[0]", "expected a domain as 'key: value' lines, not a single value")]
    [InlineData("- a\n- b\n", 1, 1, "", "expected the scenario as 'key: value' lines, not a list")]
    public void EveryMistakeIsOneLocatedMessage(string yaml, int line, int column, string field, string problem)
    {
        ScenarioException e = Fails(yaml);
        Assert.True((line, column, field) == (e.Line, e.Column, e.Field), $"got {e.Line}:{e.Column} {e.Field}: {e.Message}");
        Assert.Contains(problem, e.Problem);
        string where = $"{Path.Combine(directory, "x.yaml")}:{line}:{column}: ";
        Assert.StartsWith(where + (field.Length > 0 ? field + ": " : ""), e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void AllDomainsTogetherHaveAtMost8G()
    {
        ScenarioException e = Fails("name: a\ndomains:\n  - name: d\n    memory: 4G\n    kernel: bin/kernel.elf\n  - name: e\n    memory: 4G\n    kernel: bin/kernel.elf\n  - name: f\n    kernel: bin/kernel.elf\n");
        Assert.Equal((9, 5, "domains[2].memory"), (e.Line, e.Column, e.Field));
        Assert.Equal("the domains up to this one have 8208M of memory together, more than the 8G a run may use", e.Problem);
    }

    [Fact]
    public void DuplicateDomainNames()
    {
        ScenarioException e = Fails("name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n  - name: d\n    kernel: bin/kernel.elf\n");
        Assert.Equal((5, 11, "domains[1].name"), (e.Line, e.Column, e.Field));
        Assert.Equal("'d' is already the name of domains[0]; domain names must be unique", e.Problem);
    }

    [Fact]
    public void AMissingKernel()
    {
        ScenarioException e = Fails("name: a\ndomains:\n  - name: d\n    kernel: bin/nope.elf\n");
        Assert.Equal((4, 13, "domains[0].kernel"), (e.Line, e.Column, e.Field));
        Assert.Equal($"'bin/nope.elf' not found (no file {Path.Combine(directory, "bin", "nope.elf")})", e.Problem);
    }

    [Fact]
    public void AMissingProgram()
    {
        ScenarioException e = Fails("name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n    programs:\n      - bin/apps/hello.elf\n      - bin/apps/gone.elf\n");
        Assert.Equal((7, 9, "domains[0].programs[1]"), (e.Line, e.Column, e.Field));
        Assert.StartsWith("'bin/apps/gone.elf' not found", e.Problem);
    }

    [Fact]
    public void AProgramThatIsNotAnElf()
    {
        ScenarioException e = Fails("name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n    programs: [bin/notes.txt]\n");
        Assert.Equal((5, 16, "domains[0].programs[0]"), (e.Line, e.Column, e.Field));
        Assert.Equal("'bin/notes.txt' is not an ELF file", e.Problem);
    }

    [Fact]
    public void AKernelThatIsAFolder()
    {
        ScenarioException e = Fails("name: a\ndomains:\n  - name: d\n    kernel: bin\n");
        Assert.Equal("'bin' is a folder, not an ELF file", e.Problem);
    }

    [Fact]
    public void ProgramsThatDoNotFitTheModuleArea()
    {
        WriteElf("bin/apps/big.elf", 1 << 20);
        ScenarioException e = Fails("name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n    programs: [bin/apps/big.elf, bin/apps/hello.elf, bin/apps/big.elf]\n");
        Assert.Equal("domains[0].programs[2]", e.Field);
        Assert.Contains("more than the 2031616 bytes of the module area", e.Problem);
    }

    [Fact]
    public void MoreThanSixteenPrograms()
    {
        string list = string.Join(", ", Enumerable.Repeat("bin/apps/hello.elf", 17));
        ScenarioException e = Fails($"name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n    programs: [{list}]\n");
        Assert.Equal("domains[0].programs", e.Field);
        Assert.Contains("more than 16 programs", e.Problem);
    }

    [Fact]
    public void ACmdlineLongerThanTheStartInfoHolds()
    {
        ScenarioException e = Fails($"name: a\ndomains:\n  - name: d\n    kernel: bin/kernel.elf\n    cmdline: {new string('x', 256)}\n");
        Assert.Equal("domains[0].cmdline", e.Field);
        Assert.Equal("longer than 255 bytes", e.Problem);
    }

    [Fact]
    public void DuplicateKeysAreAnError()
    {
        ScenarioException e = Fails("name: a\nname: b\ndomains: []\n");
        Assert.Equal(2, e.Line);
        Assert.Contains("name", e.Message);
    }

    [Fact]
    public void BrokenYamlIsOneLocatedMessage()
    {
        ScenarioException e = Fails("name: a\ndomains:\n  - name: [d\n");
        Assert.True(e.Line > 0);
        Assert.StartsWith("not valid YAML: ", e.Problem);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void AnEmptyFile()
    {
        ScenarioException e = Fails("# nothing here\n");
        Assert.Equal($"{Path.Combine(directory, "x.yaml")}: the file is empty; a scenario needs at least 'name' and 'domains'", e.Message);
    }

    [Fact]
    public void AMissingScenarioFile()
    {
        string path = Path.Combine(directory, "none.yaml");
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load(path));
        Assert.Equal($"{path}: no such file", e.Message);
    }

    [Fact]
    public void TwoDocumentsAreAnError()
    {
        ScenarioException e = Fails("name: a\ndomains: []\n---\nname: b\n");
        Assert.Equal(4, e.Line);
        Assert.Contains("more than one YAML document", e.Problem);
    }

    private const string OneDomain = "domains:\n  - name: d\n    kernel: bin/kernel.elf\n";

    [Theory]
    [InlineData("arch: sgx-mee\narch_parameters:\n  tree-arity: 1000\n", 3, 15, "arch_parameters.tree-arity", "tree-arity is an integer from 2 to 8, not '1000'")]
    [InlineData("arch: bmt\narch_parameters:\n  metadata-cache-ways: 67108864\n", 3, 24, "arch_parameters.metadata-cache-ways", "bmt parameter metadata-cache-ways = 67108864: expected 1 to 1024")]
    [InlineData("arch: vbase\narch_parameters:\n  tree-arity: 4\n", 3, 15, "arch_parameters.tree-arity", "vbase has no parameter 'tree-arity' (it takes none)")]
    [InlineData("arch: aegis\narch_parameters:\n  tree-arity: 1__6\n", 3, 15, "arch_parameters.tree-arity", "tree-arity is an integer from 2 to 64, not '1__6'")]
    public void ArchitectureParametersAreCheckedByThePlugInWhenTheScenarioLoads(string yaml, int line, int column, string field, string problem)
    {
        ScenarioException e = Fails("name: a\n" + yaml + OneDomain);
        Assert.Equal((line + 1, column, field, problem), (e.Line, e.Column, e.Field, e.Problem));
    }

    [Theory]
    [InlineData("name: a\n? &k [*k]\n: 1\n" + OneDomain, 2, "a key must be a single value, not a list")]
    [InlineData("name: a\ndomains: &d [*d]\n", 2, "the alias *d is inside the node &d it names (a node cannot contain itself)")]
    [InlineData("name: !foo a\n" + OneDomain, 1, "unknown YAML tag '!foo'")]
    [InlineData("name: a\nlimits:\n  timeout: NaN\n" + OneDomain, 3, "'NaN' is not a duration")]
    [InlineData("name: a\nlimits:\n  max_instructions: 1__000\n" + OneDomain, 3, "'1__000' is not a number of instructions")]
    [InlineData("name: a\nlimits: {timeout: 1s\n" + OneDomain, 2, "not valid YAML after this point: the '{' at line 2, column 9 is not closed")]
    public void YamlAndValuesThatOnceCrashedOrPassedAreLocatedErrors(string yaml, int line, string problem)
    {
        ScenarioException e = Fails(yaml);
        Assert.Equal(line, e.Line);
        Assert.StartsWith(problem, e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepNestingIsRefusedBeforeItCanOverflowTheStack()
    {
        ScenarioException e = Fails("name: a\ndomains: " + new string('[', 100_000) + "\n");
        Assert.Equal("lists and mappings nested more than 32 deep", e.Problem);
    }

    [Fact]
    public void AKernelThatIsADeviceIsRefusedWithoutOpeningIt()
    {
        ScenarioException e = Fails("name: a\ndomains:\n  - name: d\n    kernel: /dev/zero\n");
        Assert.Equal("'/dev/zero' is a character device, not a regular file", e.Problem);
    }

    [Fact]
    public void AScenarioFileLargerThanTheLimitIsRefused()
    {
        string path = Write("# " + new string('x', (int)ScenarioLoader.MaxFileBytes) + "\n");
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load(path));
        Assert.StartsWith("too large: ", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1__0M")]
    [InlineData("_16M")]
    [InlineData("16_M")]
    public void SizesGroupDigitsWithSingleUnderscores(string text)
    {
        Assert.False(Sizes.TryParse(text, out _));
        Assert.True(Sizes.TryParse("1_024K", out ulong bytes));
        Assert.Equal(1UL << 20, bytes);
    }

    [Theory]
    [InlineData("12Q")]
    [InlineData("")]
    [InlineData("M")]
    [InlineData("16 MiB extra")]
    [InlineData("99999999999999999999")]
    [InlineData("17179869184G")]
    public void NotSizes(string text) => Assert.False(Sizes.TryParse(text, out _));

    [Theory]
    [InlineData(16UL << 20, "16M")]
    [InlineData(1UL << 30, "1G")]
    [InlineData(4096, "4K")]
    [InlineData(1000, "1000")]
    public void SizesFormatShortest(ulong bytes, string text) => Assert.Equal(text, Sizes.Format(bytes));
}
