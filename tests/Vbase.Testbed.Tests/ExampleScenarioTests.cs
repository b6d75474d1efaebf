using Vbase.Testbed.Scenarios;

namespace Vbase.Testbed.Tests;

/// <summary>The example scenarios in scenarios/ are well-formed: every key known, every value in range.</summary>
public sealed class ExampleScenarioTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-examples-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    public static TheoryData<string> Examples() => new(Directory.GetFiles(ScenariosFolder(), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    internal static string ScenariosFolder()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "scenarios");
            if (File.Exists(Path.Combine(candidate, "hello.yaml")))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"scenarios/hello.yaml not found above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// Loads a copy of the example beside stand-in images at the same relative paths, so that the file itself is
    /// checked whether or not the guest images are built.
    /// </summary>
    [Theory]
    [MemberData(nameof(Examples))]
    public void TheExampleIsWellFormed(string name)
    {
        Directory.CreateDirectory(Path.Combine(directory, "scenarios"));
        string copy = Path.Combine(directory, "scenarios", name);
        File.Copy(Path.Combine(ScenariosFolder(), name), copy);
        foreach (string line in File.ReadLines(copy))
        {
            string trimmed = line.Trim().TrimStart('-').Trim();
            int colon = trimmed.IndexOf(':');
            string value = colon >= 0 ? trimmed[(colon + 1)..].Trim() : trimmed;
            if (value.EndsWith(".elf", StringComparison.Ordinal))
            {
                string image = Path.GetFullPath(Path.Combine(directory, "scenarios", value));
                Directory.CreateDirectory(Path.GetDirectoryName(image)!);
                File.WriteAllBytes(image, "\u007fELF"u8.ToArray());
            }
            else if (value.StartsWith("../guest/linux/", StringComparison.Ordinal))
            {
                // A Linux Image is checked by its header (and the RAM it needs): the committed one is copied.
                string image = Path.GetFullPath(Path.Combine(directory, "scenarios", value));
                Directory.CreateDirectory(Path.GetDirectoryName(image)!);
                File.Copy(Path.GetFullPath(Path.Combine(ScenariosFolder(), value)), image, overwrite: true);
            }
        }
        Scenario scenario = ScenarioLoader.Load(copy);
        Assert.Equal(Path.GetFileNameWithoutExtension(name), scenario.Name);
        Assert.NotEmpty(scenario.Domains);
    }
}
