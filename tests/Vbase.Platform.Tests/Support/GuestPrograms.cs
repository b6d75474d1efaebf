namespace Vbase.Tests.Support;

/// <summary>Finds the committed guest images (guest/bin/*.elf) by walking up from the test assembly.</summary>
internal static class GuestPrograms
{
    private static readonly Lazy<string> BinDirectory = new(() =>
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "guest", "bin");
            if (File.Exists(System.IO.Path.Combine(candidate, "hello.elf")))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"guest/bin/hello.elf not found above {AppContext.BaseDirectory}");
    });

    public static string Path(string name) => System.IO.Path.Combine(BinDirectory.Value, name);

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path(name));
}
