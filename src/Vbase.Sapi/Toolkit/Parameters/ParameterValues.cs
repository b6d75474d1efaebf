using Vbase.Platform.Loading;

namespace Vbase.Sapi.Toolkit.Parameters;

/// <summary>Reading an architecture's <c>arch_parameters</c> (kebab-case names, text values), the same way in each.</summary>
public static class ParameterValues
{
    /// <summary>
    /// <paramref name="value"/> as an integer from <paramref name="min"/> to <paramref name="max"/>; digits may be
    /// grouped with single underscores between digits (<c>32_768</c>; not <c>1__000</c>), and nothing else is allowed
    /// (no sign, no spaces).
    /// </summary>
    /// <exception cref="ArgumentException">Not an integer, or out of range (the message names <paramref name="name"/>).</exception>
    public static int Integer(string name, string value, int min, int max)
    {
        ArgumentNullException.ThrowIfNull(value);
        return GroupedDigits.TryParse(value, out int v) && v >= min && v <= max
            ? v
            : throw new ArgumentException($"{name} is an integer from {min} to {max}, not '{value}'", nameof(value));
    }

    /// <summary><paramref name="value"/> as a boolean: true, yes, on, 1 or false, no, off, 0 (any case).</summary>
    /// <exception cref="ArgumentException">Anything else (the message names <paramref name="name"/>).</exception>
    public static bool Boolean(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToLowerInvariant() switch
        {
            "true" or "yes" or "on" or "1" => true,
            "false" or "no" or "off" or "0" => false,
            _ => throw new ArgumentException($"{name}: '{value}' is not a boolean", nameof(value)),
        };
    }

    /// <summary>The error for a parameter <paramref name="architecture"/> does not have, listing the ones it has.</summary>
    public static ArgumentException Unknown(string architecture, string name, IEnumerable<string> known) =>
        new($"{architecture} has no parameter '{name}' (it has: {string.Join(", ", known)})", "options");
}
