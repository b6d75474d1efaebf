using System.Reflection;
using Vbase.Sapi;

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

    /// <summary>
    /// Checks <paramref name="parameters"/> the way a run will use them, before anything runs: builds the plug-in
    /// with them (so its own parsing and range checks run, and nothing else has to know them), then throws it away.
    /// A parameter the plug-in never looked at is refused too, so a parameter it does not have never passes silently.
    /// </summary>
    /// <exception cref="ArchitectureParameterException">A value the plug-in refuses, or a parameter it does not have.</exception>
    public void CheckParameters(IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var watched = new WatchedParameters(parameters);
        object? built;
        try
        {
            built = Activator.CreateInstance(Type, new ArchitectureOptions { Parameters = watched });
        }
        catch (TargetInvocationException e) when (e.InnerException is Exception refused)
        {
            string message = refused is ArgumentException a && a.ParamName is string name
                ? a.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal)
                : refused.Message;
            message = message.ReplaceLineEndings(" ").Trim();
            if (refused is not ArgumentException)
            {
                message = $"{Name} cannot be built with these parameters ({refused.GetType().Name}: {message})";
            }
            throw new ArchitectureParameterException(Blamed(parameters.Keys, message), message);
        }
        (built as IDisposable)?.Dispose();
        if (!watched.Enumerated && parameters.Keys.FirstOrDefault(k => !watched.Asked.Contains(k)) is string unused)
        {
            string has = watched.Asked.Count == 0 ? "it takes none" : $"it has: {string.Join(", ", watched.Asked.Order(StringComparer.Ordinal))}";
            throw new ArchitectureParameterException(unused, $"{Name} has no parameter '{unused}' ({has})");
        }
    }

    /// <summary>The parameter a message is about: the one it names first.</summary>
    private static string? Blamed(IEnumerable<string> keys, string message) =>
        keys.Select(k => (Key: k, At: message.IndexOf(k, StringComparison.Ordinal)))
            .Where(x => x.At >= 0)
            .OrderBy(x => x.At).ThenByDescending(x => x.Key.Length)
            .Select(x => x.Key)
            .FirstOrDefault();

    /// <summary>The parameters, noting which names the plug-in asked for.</summary>
    private sealed class WatchedParameters(IReadOnlyDictionary<string, string> inner) : IReadOnlyDictionary<string, string>
    {
        public HashSet<string> Asked { get; } = new(StringComparer.Ordinal);
        /// <summary>The plug-in went through every parameter itself (and so refuses those it does not have).</summary>
        public bool Enumerated { get; private set; }

        public string this[string key]
        {
            get
            {
                Asked.Add(key);
                return inner[key];
            }
        }

        public IEnumerable<string> Keys
        {
            get
            {
                Enumerated = true;
                return inner.Keys;
            }
        }

        public IEnumerable<string> Values
        {
            get
            {
                Enumerated = true;
                return inner.Values;
            }
        }

        public int Count => inner.Count;

        public bool ContainsKey(string key)
        {
            Asked.Add(key);
            return inner.ContainsKey(key);
        }

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value)
        {
            Asked.Add(key);
            return inner.TryGetValue(key, out value);
        }

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
        {
            Enumerated = true;
            return inner.GetEnumerator();
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>An architecture's parameters that a run could not use (<see cref="ArchitectureInfo.CheckParameters"/>).</summary>
/// <param name="parameter">The parameter the problem is about, when one is named; null: the set as a whole.</param>
public sealed class ArchitectureParameterException(string? parameter, string message) : ArgumentException(message)
{
    public string? Parameter { get; } = parameter;
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
