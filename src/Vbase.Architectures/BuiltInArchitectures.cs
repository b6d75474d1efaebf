using Vbase.Sapi.Registry;

namespace Vbase.Architectures;

/// <summary>The architectures that ship with Vbase: one folder each in this library.</summary>
public static class BuiltInArchitectures
{
    /// <summary>A registry holding every built-in architecture.</summary>
    public static ArchitectureRegistry CreateRegistry() => new ArchitectureRegistry().Scan(typeof(BuiltInArchitectures).Assembly);
}
