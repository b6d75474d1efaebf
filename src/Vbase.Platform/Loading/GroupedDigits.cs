using System.Globalization;

namespace Vbase.Platform.Loading;

/// <summary>
/// Whole numbers as vbase's inputs write them (flags, scenario values, architecture parameters): decimal digits, or
/// <c>0x</c> and hex digits where hex is allowed, optionally grouped by single underscores between two digits
/// (<c>1_000_000</c>, <c>0x8000_0000</c>). Nothing else: no sign, no spaces, no <c>1__000</c>, <c>_1</c> or <c>1_</c>.
/// </summary>
public static class GroupedDigits
{
    /// <summary>
    /// The digits of <paramref name="text"/> without their underscores, or null when the grouping is not one
    /// underscore between two digits (or there are no digits).
    /// </summary>
    public static string? Ungroup(string text, bool hex = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return null;
        }
        var digits = new System.Text.StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '_')
            {
                if (i == 0 || i == text.Length - 1 || !IsDigit(text[i - 1], hex) || !IsDigit(text[i + 1], hex))
                {
                    return null;
                }
                continue;
            }
            if (!IsDigit(c, hex))
            {
                return null;
            }
            digits.Append(c);
        }
        return digits.ToString();
    }

    /// <summary>Parses a decimal whole number (grouping allowed); false for anything else, or a value that does not fit.</summary>
    public static bool TryParse<T>(string text, out T value)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        value = default;
        return Ungroup(text) is string digits && T.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Parses decimal, or hex after <c>0x</c>/<c>0X</c> (grouping allowed in either).</summary>
    public static bool TryParseDecimalOrHex(string text, out ulong value)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = 0;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return Ungroup(text[2..], hex: true) is string hexDigits
                && ulong.TryParse(hexDigits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
        return TryParse(text, out value);
    }

    private static bool IsDigit(char c, bool hex) => hex ? char.IsAsciiHexDigit(c) : char.IsAsciiDigit(c);
}
