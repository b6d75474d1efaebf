using System.Globalization;
using Vbase.Platform.Loading;

namespace Vbase.Testbed.Scenarios;

/// <summary>Memory sizes as scenarios write them: <c>16M</c>, <c>16MiB</c>, <c>512K</c>, <c>1G</c>, or bytes.</summary>
public static class Sizes
{
    /// <summary>Parses <paramref name="text"/>; suffixes K/M/G (optionally KiB/MiB/GiB, KB/MB/GB) are powers of 1024.</summary>
    public static bool TryParse(string text, out ulong bytes)
    {
        bytes = 0;
        string s = text.Trim();
        int split = s.Length;
        while (split > 0 && !char.IsAsciiDigit(s[split - 1]))
        {
            split--;
        }
        int shift;
        switch (s[split..].ToUpperInvariant())
        {
            case "": case "B": shift = 0; break;
            case "K": case "KB": case "KIB": shift = 10; break;
            case "M": case "MB": case "MIB": shift = 20; break;
            case "G": case "GB": case "GIB": shift = 30; break;
            default: return false;
        }
        if (split == 0 || !GroupedDigits.TryParse(s[..split], out ulong number)
            || number > ulong.MaxValue >> shift)
        {
            return false;
        }
        bytes = number << shift;
        return true;
    }

    /// <summary>The shortest exact spelling: <c>16M</c>, <c>4K</c>, <c>1000</c>.</summary>
    public static string Format(ulong bytes) =>
        bytes != 0 && bytes % (1UL << 30) == 0 ? $"{bytes >> 30}G"
        : bytes != 0 && bytes % (1UL << 20) == 0 ? $"{bytes >> 20}M"
        : bytes != 0 && bytes % (1UL << 10) == 0 ? $"{bytes >> 10}K"
        : bytes.ToString(CultureInfo.InvariantCulture);
}
