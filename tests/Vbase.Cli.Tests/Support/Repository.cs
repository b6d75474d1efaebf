namespace Vbase.Cli.Tests.Support;

/// <summary>The clone the tests run in: the folder holding Vbase.sln, above the test assembly.</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Vbase.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Vbase.sln not found above " + AppContext.BaseDirectory);
        }
        return root;
    }
}
