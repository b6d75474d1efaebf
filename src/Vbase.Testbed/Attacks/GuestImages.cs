using System.Security.Cryptography;

namespace Vbase.Testbed.Attacks;

/// <summary>The guest images embedded in the harness (the committed guest/bin files), extracted once per content.</summary>
internal static class GuestImages
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, string> Extracted = [];

    public static byte[] Bytes(string name)
    {
        using Stream stream = typeof(GuestImages).Assembly.GetManifestResourceStream($"Vbase.Testbed.Images.{name}")
            ?? throw new InvalidOperationException($"guest image {name} is missing from the harness");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>A file holding the image (the testbed reads images from files), named by its content's hash.</summary>
    public static string PathOf(string name)
    {
        lock (Gate)
        {
            if (Extracted.TryGetValue(name, out string? known) && File.Exists(known))
            {
                return known;
            }
            byte[] bytes = Bytes(name);
            string hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
            string directory = Path.Combine(Path.GetTempPath(), "vbase-images", hash);
            string path = Path.Combine(directory, name);
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(directory);
                string temporary = $"{path}.{Environment.ProcessId}.tmp";
                File.WriteAllBytes(temporary, bytes);
                File.Move(temporary, path, overwrite: true);
            }
            Extracted[name] = path;
            return path;
        }
    }
}
