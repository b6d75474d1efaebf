namespace Vbase.AbiGen;

/// <summary>Every file the declaration generates, as it must be on disk (paths relative to the repository root).</summary>
public static class AbiGenerator
{
    public static SortedDictionary<string, string> Generate(string repoRoot)
    {
        var model = AbiModel.Load(Path.Combine(repoRoot, AbiModel.DeclarationPath));
        var files = Emitters.CSharp(model);
        files[Emitters.CHeaderPath] = Emitters.CHeader(model);
        files[Emitters.DocsPath] = Emitters.Docs(model, File.ReadAllText(Path.Combine(repoRoot, Emitters.DocsPath)));
        return files;
    }

    /// <summary>Generated C# files on disk that the declaration no longer produces (a type removed or renamed).</summary>
    public static IEnumerable<string> Stale(string repoRoot, IReadOnlyDictionary<string, string> files)
    {
        string dir = Path.Combine(repoRoot, Emitters.CsDirectory);
        return !Directory.Exists(dir) ? []
            : Directory.EnumerateFiles(dir, "*.g.cs").Select(f => Emitters.CsDirectory + "/" + Path.GetFileName(f))
                .Where(f => !files.ContainsKey(f)).Order(StringComparer.Ordinal);
    }

    /// <summary>The files that differ from what the declaration generates, or are stale.</summary>
    public static List<string> OutOfDate(string repoRoot)
    {
        var files = Generate(repoRoot);
        var wrong = files.Where(f => !File.Exists(Path.Combine(repoRoot, f.Key)) || File.ReadAllText(Path.Combine(repoRoot, f.Key)) != f.Value)
            .Select(f => f.Key).ToList();
        wrong.AddRange(Stale(repoRoot, files));
        return wrong;
    }

    /// <summary>The directory holding Vbase.sln, from <paramref name="start"/> upwards.</summary>
    public static string? FindRepoRoot(string start)
    {
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Vbase.sln")) && File.Exists(Path.Combine(d.FullName, AbiModel.DeclarationPath)))
            {
                return d.FullName;
            }
        }
        return null;
    }
}
