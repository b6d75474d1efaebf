namespace Vbase.Testbed.Attacks;

/// <summary>A secret the scenario declares: the Oracle searches every attacker's observations for it.</summary>
public sealed record DeclaredSecret(string Name, byte[] Bytes);

/// <summary>Which variant of the networked bank's protocol (docs/network-attacks.md) an application speaks.</summary>
public enum NetBankProtocol
{
    /// <summary>Plaintext: acts on every well-formed request.</summary>
    Plain,
    /// <summary>ChaCha20-Poly1305 under the session key, with a per-direction sequence number.</summary>
    Sealed,
}

/// <summary>A card of a networked application's domain: its MAC and IPv4 address.</summary>
public sealed record AppNic(Vbase.Hypervisor.Network.MacAddress Mac, byte[] Ip);

/// <summary>
/// What a networked application needs besides its server program (the manifest's <c>network:</c>, docs/apps.md): the
/// client program, run in a second VM; the two domains' cards; the protocol the Oracle decodes and the network attacks
/// speak; where the session key lies in the server's region (what <c>combo-key-forge</c> reads).
/// </summary>
/// <param name="Client">The client's ELF, as <see cref="SecureApp.Program"/>.</param>
/// <param name="KeyOffset">Region offset of the 32-byte session key.</param>
public sealed record NetworkApp(string Client, NetBankProtocol Protocol, AppNic Server, AppNic ClientNic, int KeyOffset)
{
    public const int KeyBytes = 32;

    public static readonly AppNic DefaultServer = new(new(0x0200_0000_0001UL), [10, 0, 0, 1]);
    public static readonly AppNic DefaultClient = new(new(0x0200_0000_0002UL), [10, 0, 0, 2]);
}

/// <summary>A secure application the attack suite runs: a manifest (docs/apps.md), built-in or the user's.</summary>
/// <param name="Program">The program ELF: an embedded image's name for a built-in application, else a full path.</param>
/// <param name="Block">Offset in its region of the block physical and write attacks target by default.</param>
/// <param name="OtherBlock">Offset of another block of the same region (the splice source).</param>
/// <param name="Delay">Instructions after the region is registered before attacks fire, by default.</param>
public sealed record SecureApp(string Name, string Program, string Description, IReadOnlyList<DeclaredSecret> Secrets,
    int Block, int OtherBlock, ulong Delay)
{
    /// <summary>Shipped with the tool: <see cref="Program"/> and <see cref="Kernel"/> name embedded images.</summary>
    public bool BuiltIn { get; init; }

    /// <summary>The guest kernel ELF (as <see cref="Program"/>), or a Linux Image with <see cref="Initrd"/>; null: the testbed's own kernel.</summary>
    public string? Kernel { get; init; }

    /// <summary>
    /// A Linux-hosted application (docs/linux.md): the initramfs its Linux <see cref="Kernel"/> boots (as
    /// <see cref="Program"/>: an embedded image's name for a built-in application, else a full path); null: the
    /// application runs under the small kernel.
    /// </summary>
    public string? Initrd { get; init; }

    /// <summary>A Linux-hosted application's shell command, which the initramfs's /init runs (<c>vbase_cmd</c>).</summary>
    public string? Command { get; init; }

    /// <summary>Whether the application runs under Linux (<see cref="Initrd"/>) rather than the small kernel.</summary>
    public bool IsLinux => Initrd is not null;

    /// <summary>RAM of the application's domain: Linux needs room for the kernel, the initramfs and the device tree.</summary>
    public ulong MemoryBytes => IsLinux ? 64UL << 20 : 16UL << 20;

    /// <summary>A Linux-hosted application's kernel command line: the SBI console, a panic ends the run, /init runs the command.</summary>
    public string Bootargs => IsLinux ? $"console=hvc0 earlycon=sbi panic=-1 vbase_cmd=\"{Command}\"" : "";

    /// <summary>A file holding the initramfs, for the scenario.</summary>
    public string? InitrdPath => Initrd is null ? null : BuiltIn ? GuestImages.PathOf(Initrd) : Initrd;

    /// <summary>The block replay attacks snapshot and put back (default: <see cref="Block"/>).</summary>
    public int ReplayBlock
    {
        get => replayBlock ?? Block;
        init => replayBlock = value;
    }

    private readonly int? replayBlock;

    /// <summary>The manifest names the replay target itself (<c>replay_block</c>): the seed does not pick it.</summary>
    public bool HasReplayBlock => replayBlock is not null;

    /// <summary>
    /// The candidate target blocks (the manifest's <c>blocks</c>), of which the seed picks one per attack; just
    /// <see cref="Block"/> when the manifest names one block.
    /// </summary>
    public IReadOnlyList<int> Blocks
    {
        get => blocks ?? [Block];
        init => blocks = value;
    }

    private readonly IReadOnlyList<int>? blocks;

    /// <summary>
    /// The firing window (the manifest's <c>delay_window</c>): the seed picks a delay from <see cref="Delay"/> to
    /// <see cref="Delay"/> + this; 0: always <see cref="Delay"/>.
    /// </summary>
    public ulong DelayWindow { get; init; }

    /// <summary>The application's network (a client VM, the cards, the protocol); null: it has none.</summary>
    public NetworkApp? Network { get; init; }

    /// <summary>A file holding the client program, for the scenario; null without a network.</summary>
    public string? ClientPath => Network is null ? null : BuiltIn ? GuestImages.PathOf(Network.Client) : Network.Client;

    /// <summary>A file holding the program, for the scenario (a Linux-hosted application's lives in its initramfs).</summary>
    public string ProgramPath => BuiltIn ? GuestImages.PathOf(Program) : Program;

    /// <summary>A file holding the kernel, for the scenario.</summary>
    public string KernelPath => Kernel is null ? GuestImages.PathOf("kernel.elf") : BuiltIn ? GuestImages.PathOf(Kernel) : Kernel;
}

/// <summary>The applications: the built-in manifests (src/Vbase.Testbed/Attacks/Apps) and manifest files by path.</summary>
public static class AppCatalogue
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, SecureApp> Manifests = new(StringComparer.Ordinal);

    public static readonly IReadOnlyList<SecureApp> All =
        [Embedded("paper"), Embedded("vault"), Embedded("paper-linux"), Embedded("vault-linux"), Embedded("net-plain"), Embedded("net-sealed")];

    public static IReadOnlyList<string> Names => [.. All.Select(a => a.Name)];

    private static SecureApp Embedded(string name)
    {
        using Stream stream = typeof(AppCatalogue).Assembly.GetManifestResourceStream($"Vbase.Testbed.Apps.{name}.yaml")
            ?? throw new InvalidOperationException($"the built-in manifest {name}.yaml is missing from the testbed");
        using var reader = new StreamReader(stream);
        return AppManifestLoader.LoadEmbedded($"{name}.yaml", reader.ReadToEnd());
    }

    /// <summary>Whether <paramref name="nameOrPath"/> names a manifest file rather than a built-in application.</summary>
    public static bool IsManifestPath(string nameOrPath) =>
        nameOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || nameOrPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
        || nameOrPath.Contains('/') || nameOrPath.Contains(Path.DirectorySeparatorChar);

    /// <summary>A built-in application by name, or the manifest at a path (read once per process); null: neither.</summary>
    /// <exception cref="AppManifestException">A manifest path whose file cannot be used.</exception>
    public static SecureApp? Find(string nameOrPath)
    {
        if (All.FirstOrDefault(a => a.Name == nameOrPath) is SecureApp builtIn)
        {
            return builtIn;
        }
        if (!IsManifestPath(nameOrPath))
        {
            return null;
        }
        string full = Path.GetFullPath(nameOrPath);
        lock (Gate)
        {
            if (Manifests.TryGetValue(full, out SecureApp? known))
            {
                return known;
            }
        }
        SecureApp app = AppManifestLoader.Load(nameOrPath);
        lock (Gate)
        {
            Manifests[full] = app;
        }
        return app;
    }
}
