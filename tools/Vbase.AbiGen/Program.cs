using Vbase.AbiGen;

// Writes the C# constants, the guest C header and the docs tables from src/Vbase.Sapi/Abi/abi.yaml;
// --check writes nothing and fails if any of them is out of date (CI).
bool check = args is ["--check"];
if (args.Length > 0 && !check)
{
    Console.Error.WriteLine("usage: dotnet run --project tools/Vbase.AbiGen [-- --check]");
    return 2;
}
string? root = AbiGenerator.FindRepoRoot(Environment.CurrentDirectory) ?? AbiGenerator.FindRepoRoot(AppContext.BaseDirectory);
if (root is null)
{
    Console.Error.WriteLine($"abigen: no Vbase.sln with {AbiModel.DeclarationPath} above {Environment.CurrentDirectory}");
    return 2;
}
try
{
    if (check)
    {
        var wrong = AbiGenerator.OutOfDate(root);
        foreach (string f in wrong)
        {
            Console.Error.WriteLine($"abigen: {f} is out of date; run {Emitters.RegenerateCommand}");
        }
        return wrong.Count == 0 ? 0 : 1;
    }
    var files = AbiGenerator.Generate(root);
    foreach (string stale in AbiGenerator.Stale(root, files))
    {
        File.Delete(Path.Combine(root, stale));
        Console.WriteLine($"abigen: removed {stale}");
    }
    foreach (var (path, text) in files)
    {
        string full = Path.Combine(root, path);
        if (!File.Exists(full) || File.ReadAllText(full) != text)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
            Console.WriteLine($"abigen: wrote {path}");
        }
    }
    return 0;
}
catch (AbiException e)
{
    Console.Error.WriteLine($"abigen: {e.Message}");
    return 1;
}
