using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using Vbase.Architectures;
using Vbase.Sapi.Registry;

namespace Vbase.Testbed.Plugins;

/// <summary>A plug-in that cannot be used: missing, not .NET, failed to build, or without architectures. One line.</summary>
public sealed class PluginException(string path, string problem) : Exception($"plug-in {path}: {problem}")
{
    public string PluginPath { get; } = path;
    public string Problem { get; } = problem;
}

/// <summary>
/// Architectures from outside the tree (<c>--plugin PATH</c>, a scenario's <c>plugins:</c>): an assembly, or a project
/// directory (or <c>.csproj</c>) that is built first with the .NET SDK. Each plug-in gets its own load context for its
/// private dependencies, while the Vbase assemblies it was built against resolve to the host's own — one SAPI, so
/// its types are the hypervisor's. A process loads a plug-in once.
/// </summary>
public static class PluginCatalog
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Assembly> Loaded = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, ArchitectureRegistry> Registries = new(StringComparer.Ordinal);

    /// <summary>The built-in architectures plus those of <paramref name="plugins"/> (full or relative paths).</summary>
    /// <exception cref="PluginException">A plug-in that cannot be loaded, has no architecture, or reuses a name.</exception>
    public static ArchitectureRegistry Registry(IReadOnlyList<string> plugins)
    {
        if (plugins.Count == 0)
        {
            return BuiltInArchitectures.CreateRegistry();
        }
        string[] paths = [.. plugins.Select(Path.GetFullPath)];
        string key = string.Join('\n', paths);
        lock (Gate)
        {
            if (Registries.TryGetValue(key, out ArchitectureRegistry? cached))
            {
                return cached;
            }
        }
        ArchitectureRegistry registry = BuiltInArchitectures.CreateRegistry();
        foreach (string path in paths)
        {
            Assembly assembly = Load(path);
            int before = registry.All.Count;
            try
            {
                registry.Scan(assembly);
            }
            catch (Exception e) when (e is ArgumentException or ReflectionTypeLoadException or FileLoadException or FileNotFoundException)
            {
                throw new PluginException(path, Running.Testbed.OneLine(e is ReflectionTypeLoadException r && r.LoaderExceptions.FirstOrDefault() is Exception first ? first.Message : e.Message));
            }
            if (registry.All.Count == before)
            {
                throw new PluginException(path, $"{Path.GetFileName(assembly.Location)} has no class with an [Architecture] attribute");
            }
        }
        lock (Gate)
        {
            Registries[key] = registry;
        }
        return registry;
    }

    /// <summary>Loads the plug-in at <paramref name="path"/> (building it first if it is a project).</summary>
    public static Assembly Load(string path)
    {
        string full = Path.GetFullPath(path);
        lock (Gate)
        {
            if (Loaded.TryGetValue(full, out Assembly? done))
            {
                return done;
            }
        }
        string dll = full.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? full : Build(path, ProjectOf(path, full));
        if (!File.Exists(dll))
        {
            throw new PluginException(path, "no such file");
        }
        Assembly assembly;
        try
        {
            assembly = new PluginLoadContext(dll).LoadFromAssemblyPath(dll);
        }
        catch (BadImageFormatException)
        {
            throw new PluginException(path, "not a .NET assembly");
        }
        catch (Exception e) when (e is FileLoadException or IOException)
        {
            throw new PluginException(path, Running.Testbed.OneLine(e.Message));
        }
        lock (Gate)
        {
            Loaded[full] = assembly;
        }
        return assembly;
    }

    private static string ProjectOf(string path, string full)
    {
        if (full.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase))
        {
            return File.Exists(full) ? full : throw new PluginException(path, "no such file");
        }
        if (!Directory.Exists(full))
        {
            throw new PluginException(path, File.Exists(full) ? "neither an assembly (.dll) nor a project (.csproj or its folder)" : "no such file or folder");
        }
        string[] projects = Directory.GetFiles(full, "*.csproj");
        return projects.Length == 1 ? projects[0]
            : throw new PluginException(path, projects.Length == 0 ? "the folder holds no .csproj" : $"the folder holds {projects.Length} projects; name one");
    }

    /// <summary>Builds the project in Release with the SDK that runs vbase and returns its output assembly.</summary>
    private static string Build(string path, string project)
    {
        (int code, string output) = Dotnet("build", project, "-c", "Release", "-nologo", "-v:q", "-clp:NoSummary;ErrorsOnly");
        if (code != 0)
        {
            string first = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("error", StringComparison.Ordinal)) ?? output.Trim();
            throw new PluginException(path, $"dotnet build failed: {Running.Testbed.OneLine(first)}");
        }
        (code, output) = Dotnet("msbuild", project, "-nologo", "-getProperty:TargetPath", "-p:Configuration=Release");
        string target = output.Trim();
        return code == 0 && target.Length > 0 ? target : throw new PluginException(path, "the project names no output assembly (TargetPath)");
    }

    private static (int Code, string Output) Dotnet(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        try
        {
            using Process p = Process.Start(start) ?? throw new PluginException(arguments[1], "cannot start dotnet");
            Task<string> error = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output + error.Result);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new PluginException(arguments[1], "a project needs the .NET SDK (dotnet) on PATH to be built; give its .dll instead");
        }
    }

    /// <summary>
    /// The plug-in's private dependencies from its own folder (its .deps.json); the Vbase assemblies, and anything
    /// the host already has, from the host, so that a plug-in's ISecureArchitecture is the hypervisor's.
    /// </summary>
    private sealed class PluginLoadContext(string dll) : AssemblyLoadContext(Path.GetFileNameWithoutExtension(dll))
    {
        private readonly AssemblyDependencyResolver resolver = new(dll);

        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is string n && (n.StartsWith("Vbase.", StringComparison.Ordinal) || n == "Vbase"))
            {
                return null;   // the host's own
            }
            if (Default.Assemblies.Any(a => a.GetName().Name == name.Name))
            {
                return null;
            }
            return resolver.ResolveAssemblyToPath(name) is string path ? LoadFromAssemblyPath(path) : null;
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is string path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
