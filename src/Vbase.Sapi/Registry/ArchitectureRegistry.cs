using System.Reflection;
using Vbase.Hypervisor.Sapi;

namespace Vbase.Sapi.Registry;

/// <summary>
/// Marks a plug-in class for the registry. The class derives from <see cref="ISecureArchitecture"/> and has a
/// public constructor taking <see cref="ArchitectureOptions"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ArchitectureAttribute(string name, string description, Principal trusts) : Attribute
{
    public string Name { get; } = name;
    public string Description { get; } = description;
    public Principal Trusts { get; } = trusts;
}

/// <summary>What a plug-in instance is built with: the run's seed (keys derive from it) and free parameters.</summary>
public sealed record ArchitectureOptions
{
    public ulong Seed { get; init; }
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}

/// <summary>One registered architecture: its name, description, threat model and how to build one.</summary>
public sealed record ArchitectureInfo(string Name, string Description, ThreatModel ThreatModel, Type Type)
{
    public ISecureArchitecture Create(ArchitectureOptions options) =>
        (ISecureArchitecture)Activator.CreateInstance(Type, options)!;
}

/// <summary>Architectures by name. Plug-ins are found by their <see cref="ArchitectureAttribute"/>.</summary>
public sealed class ArchitectureRegistry
{
    private readonly SortedDictionary<string, ArchitectureInfo> byName = new(StringComparer.Ordinal);

    /// <summary>Registers every <see cref="ArchitectureAttribute"/> class of <paramref name="assembly"/>.</summary>
    public ArchitectureRegistry Scan(Assembly assembly)
    {
        foreach (Type t in assembly.GetTypes())
        {
            if (t.GetCustomAttribute<ArchitectureAttribute>() is not null)
            {
                Register(t);
            }
        }
        return this;
    }

    public ArchitectureRegistry Register(Type type)
    {
        ArchitectureAttribute a = type.GetCustomAttribute<ArchitectureAttribute>()
            ?? throw new ArgumentException($"{type} has no [Architecture] attribute", nameof(type));
        if (!typeof(ISecureArchitecture).IsAssignableFrom(type) || type.GetConstructor([typeof(ArchitectureOptions)]) is null)
        {
            throw new ArgumentException($"{type} must implement ISecureArchitecture and have a constructor (ArchitectureOptions)", nameof(type));
        }
        if (!byName.TryAdd(a.Name, new ArchitectureInfo(a.Name, a.Description, new ThreatModel(a.Trusts | Principal.Hypervisor), type)))
        {
            throw new ArgumentException($"two architectures are named {a.Name}", nameof(type));
        }
        return this;
    }

    /// <summary>Every architecture, by name.</summary>
    public IReadOnlyList<ArchitectureInfo> All => [.. byName.Values];

    public ArchitectureInfo? Find(string name) => byName.GetValueOrDefault(name);

    /// <summary>The architecture called <paramref name="name"/>, or an error naming the known ones.</summary>
    public ArchitectureInfo Get(string name) =>
        Find(name) ?? throw new KeyNotFoundException($"unknown architecture '{name}' (known: {string.Join(", ", byName.Keys)})");
}
