using System.Globalization;
using System.Text;
using Vbase.Architectures;
using Vbase.Hypervisor.Boot;
using Vbase.Platform.Loading;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Plugins;
using Vbase.Testbed.Yaml;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vbase.Testbed.Scenarios;

/// <summary>
/// Reads and checks a scenario file (docs/scenarios.md). Every problem becomes one <see cref="ScenarioException"/>
/// that names the file, line, column and field; unknown keys are errors, so a typo never passes silently.
/// </summary>
public static class ScenarioLoader
{
    public const int MaxDomains = 64;
    /// <summary>The shared-info page has room for 8 vCPUs (docs/abi.md).</summary>
    public const int MaxVcpus = SharedInfoLayout.MaxVcpus;
    /// <summary>The start-info page lists at most 16 modules, each named in 47 bytes and a NUL (docs/abi.md).</summary>
    public const int MaxPrograms = StartInfoLayout.MaxModules;
    public const int MaxModuleNameBytes = StartInfoLayout.ModuleNameBytes - 1;
    /// <summary>Modules are packed from 0x8001_0000 up to the kernel at 0x8020_0000.</summary>
    public const ulong ModuleAreaBytes = GuestLayout.ModulesEnd - GuestLayout.ModulesBase;
    public const int MaxCmdlineBytes = StartInfoLayout.CmdlineBytes - 1;
    public const ulong MinMemory = 4UL << 20, MaxMemory = 4UL << 30, MemoryGranule = 4096;
    public const ulong DefaultMemory = GuestLayout.DefaultRamBytes;
    /// <summary>Machine memory is allocated and cleared up front: all domains together stay well inside the host.</summary>
    public const ulong MaxTotalMemory = 8UL << 30;
    public const ulong MinSliceInstructions = 100, MaxSliceInstructions = 100_000_000;
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(24);
    /// <summary>A scenario file is text of at most 1 MiB.</summary>
    public const long MaxFileBytes = InputFiles.MaxTextBytes;
    /// <summary>A kernel ELF: at most 256 MiB (it is read whole before the domain is built).</summary>
    public const long MaxKernelBytes = InputFiles.MaxElfBytes;

    private static readonly string[] RootKeys = ["name", "plugins", "arch", "arch_parameters", "chip", "seed", "limits", "network", "domains"];
    private static readonly string[] NetworkKeys = ["latency"];
    private static readonly string[] NicKeys = ["mac", "ip"];
    /// <summary>Every other card is in a card's ARP table, which has room for this many (docs/abi.md).</summary>
    public const int MaxNics = StartInfoLayout.MaxArp + 1;
    public const ulong MinLatency = 1, MaxLatency = 1_000_000_000_000;
    private static readonly string[] ChipKeys = ["cache", "ways", "latencies"];
    private static readonly string[] LatencyKeys = ["hit", "dram", "cipher", "mac"];
    private static readonly string[] LimitKeys = ["max_instructions", "slice_instructions", "timeout"];
    private static readonly string[] DomainKeys = ["name", "memory", "vcpus", "kernel", "programs", "cmdline", "console_input", "initrd", "bootargs", "nic", "console", "watchdog"];

    /// <summary>
    /// Loads the scenario in <paramref name="path"/>; relative image and plug-in paths are relative to its folder.
    /// <paramref name="plugins"/> (<c>--plugin</c>) come before the scenario's own <c>plugins:</c>.
    /// </summary>
    public static Scenario Load(string path, IReadOnlyList<string>? plugins = null)
    {
        string text;
        try
        {
            text = InputFiles.ReadText(path, MaxFileBytes);
        }
        catch (InputFileException e)
        {
            throw new ScenarioException(path, 0, 0, "", e.Message);
        }
        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        return Parse(text, path, directory, plugins);
    }

    /// <summary>Parses scenario text; <paramref name="path"/> is only quoted in messages.</summary>
    public static Scenario Parse(string yaml, string path, string baseDirectory, IReadOnlyList<string>? plugins = null) =>
        new Reader(path, baseDirectory, plugins ?? []).Read(yaml);

    private sealed class Reader(string file, string baseDirectory, IReadOnlyList<string> commandLinePlugins) : YamlFields
    {
        private ArchitectureRegistry registry = BuiltInArchitectures.CreateRegistry();
        private readonly List<string> plugins = [.. commandLinePlugins.Select(Path.GetFullPath)];

        public Scenario Read(string yaml)
        {
            YamlStream stream = YamlText.Load(yaml, (line, column, problem) => new ScenarioException(file, line, column, "", problem));
            if (stream.Documents.Count == 0)
            {
                throw new ScenarioException(file, 0, 0, "", "the file is empty; a scenario needs at least 'name' and 'domains'");
            }
            if (stream.Documents.Count > 1)
            {
                YamlNode second = stream.Documents[1].RootNode;
                throw Error(second, "", "more than one YAML document; a scenario file holds one");
            }
            YamlMappingNode root = Mapping(stream.Documents[0].RootNode, "", "the scenario");
            CheckKeys(root, "", RootKeys);

            string name = Name(Required(root, "", "name", "every scenario needs a name"), "name");
            ulong seed = Get(root, "seed") is YamlNode seedNode ? Seed(seedNode) : 0;
            ScenarioLimits limits = Get(root, "limits") is YamlNode limitsNode ? Limits(limitsNode) : ScenarioLimits.None;
            Plugins(Get(root, "plugins"));
            string? arch = Get(root, "arch") is YamlNode archNode ? Architecture(archNode) : null;
            IReadOnlyDictionary<string, string> parameters = Get(root, "arch_parameters") is YamlNode p
                ? ArchitectureParameters(p, arch)
                : new Dictionary<string, string>();
            ChipOptions chip = Get(root, "chip") is YamlNode chipNode ? Chip(chipNode) : new ChipOptions();
            NetworkSpec network = Get(root, "network") is YamlNode networkNode ? Network(networkNode) : NetworkSpec.Default;
            IReadOnlyList<DomainSpec> domains = Domains(Required(root, "", "domains", "a scenario needs at least one domain"));
            return new Scenario(file, name, seed, limits, domains)
            {
                Architecture = arch,
                ArchitectureParameters = parameters,
                Chip = chip,
                Plugins = plugins,
                Network = network,
            };
        }

        private NetworkSpec Network(YamlNode node)
        {
            YamlMappingNode map = Mapping(node, "network", "the bridge's settings (latency)");
            CheckKeys(map, "network", NetworkKeys);
            return Get(map, "latency") is YamlNode l
                ? new NetworkSpec(WholeNumber(l, "network.latency", MinLatency, MaxLatency, "a number of ticks from 1 to 1_000_000_000_000"))
                : NetworkSpec.Default;
        }

        /// <summary>Each card's MAC and address, unique across the scenario; then every card's ARP table of the others.</summary>
        private void Nics(YamlSequenceNode list, List<DomainSpec> domains)
        {
            var cards = new List<(int Domain, Vbase.Hypervisor.Network.MacAddress Mac, byte[] Ip)>();
            var macs = new Dictionary<ulong, int>();
            var ips = new Dictionary<uint, int>();
            for (int i = 0; i < domains.Count; i++)
            {
                var map = (YamlMappingNode)list.Children[i];
                if (Get(map, "nic") is not YamlNode node)
                {
                    continue;
                }
                string at = $"domains[{i}].nic";
                YamlMappingNode nic = Mapping(node, at, "a network card (mac, ip)");
                CheckKeys(nic, at, NicKeys);
                if (cards.Count == MaxNics)
                {
                    throw Error(node, at, $"more than {MaxNics} domains with a NIC (a card's ARP table holds the other {MaxNics - 1})");
                }
                // Without a MAC, a card gets 02:00:00:00:00:<its domain's position + 1> (locally administered).
                var mac = new Vbase.Hypervisor.Network.MacAddress(0x0200_0000_0000UL + (ulong)i + 1);
                if (Get(nic, "mac") is YamlNode macNode)
                {
                    string text = Text(macNode, $"{at}.mac");
                    if (!Vbase.Hypervisor.Network.MacAddress.TryParse(text, out Vbase.Hypervisor.Network.MacAddress? parsed))
                    {
                        throw Error(macNode, $"{at}.mac", $"'{text}' is not a MAC address (six hex pairs: 02:00:00:00:00:01)");
                    }
                    if (parsed.Value.IsGroup || parsed.Value.Value == 0 || parsed.Value == Vbase.Hypervisor.Network.NetworkBridge.DefaultDom0Mac)
                    {
                        throw Error(macNode, $"{at}.mac", $"{text} is not a usable unicast MAC (the group bit, all zeros, or Dom0's {Vbase.Hypervisor.Network.NetworkBridge.DefaultDom0Mac})");
                    }
                    mac = parsed.Value;
                }
                if (macs.TryGetValue(mac.Value, out int other))
                {
                    throw Error(Get(nic, "mac") ?? node, $"{at}.mac", $"{mac} is already the MAC of domains[{other}]");
                }
                macs.Add(mac.Value, i);
                YamlNode ipNode = Required(nic, at, "ip", "a NIC needs an IPv4 address (ip: 10.0.0.1)");
                string ipText = Text(ipNode, $"{at}.ip");
                if (!System.Net.IPAddress.TryParse(ipText, out System.Net.IPAddress? address)
                    || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || ipText.Count(c => c == '.') != 3)
                {
                    throw Error(ipNode, $"{at}.ip", $"'{ipText}' is not an IPv4 address (a.b.c.d)");
                }
                byte[] ip = address.GetAddressBytes();
                uint key = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(ip);
                if (key == 0 || key == uint.MaxValue || ip[0] >= 224 || ip[0] == 127)
                {
                    throw Error(ipNode, $"{at}.ip", $"{ipText} is not a unicast host address");
                }
                if (ips.TryGetValue(key, out int owner))
                {
                    throw Error(ipNode, $"{at}.ip", $"{ipText} is already the address of domains[{owner}]");
                }
                ips.Add(key, i);
                cards.Add((i, mac, ip));
            }
            foreach (var card in cards)
            {
                domains[card.Domain] = domains[card.Domain] with
                {
                    Nic = new NicSpec(card.Mac, card.Ip, [.. cards.Where(c => c.Domain != card.Domain).Select(c => (c.Ip, c.Mac))]),
                };
            }
        }

        /// <summary>
        /// The plug-ins' architectures join the registry before <c>arch</c> is looked up: the command line's, then the
        /// file's (paths relative to it), each an assembly or a project folder.
        /// </summary>
        private void Plugins(YamlNode? node)
        {
            if (node is YamlSequenceNode list)
            {
                for (int i = 0; i < list.Children.Count; i++)
                {
                    string relative = Text(list.Children[i], $"plugins[{i}]");
                    if (relative.Length == 0)
                    {
                        throw Error(list.Children[i], $"plugins[{i}]", "an empty path; give the plug-in's .dll or project folder, relative to the scenario file");
                    }
                    plugins.Add(Path.GetFullPath(Path.Combine(baseDirectory, relative)));
                }
            }
            else if (node is not null && !(node is YamlScalarNode empty && IsNull(empty)))
            {
                throw Error(node, "plugins", $"expected a list of plug-in paths (.dll or project folder), not {Kind(node)}");
            }
            try
            {
                registry = PluginCatalog.Registry(plugins);
            }
            catch (PluginException e)
            {
                throw node is not null ? Error(node, "plugins", e.Message) : new ScenarioException(file, 0, 0, "plugins", e.Message);
            }
        }

        /// <summary>The on-chip boundary: the last-level cache's size and ways, and the cost model's latencies.</summary>
        private ChipOptions Chip(YamlNode node)
        {
            YamlMappingNode map = Mapping(node, "chip", "the on-chip boundary (cache, ways, latencies)");
            CheckKeys(map, "chip", ChipKeys);
            var chip = new ChipOptions();
            if (Get(map, "cache") is YamlNode c)
            {
                string text = Text(c, "chip.cache");
                if (!Sizes.TryParse(text, out ulong bytes) || bytes > int.MaxValue)
                {
                    throw Error(c, "chip.cache", $"'{text}' is not a cache size (use e.g. 1M or 256K)");
                }
                chip = chip with { CacheBytes = (int)bytes };
            }
            if (Get(map, "ways") is YamlNode w)
            {
                chip = chip with { Ways = (int)WholeNumber(w, "chip.ways", 1, 64, "a number of ways from 1 to 64") };
            }
            if (Get(map, "latencies") is YamlNode l)
            {
                YamlMappingNode lat = Mapping(l, "chip.latencies", "cycles per hit, DRAM line, cipher and MAC");
                CheckKeys(lat, "chip.latencies", LatencyKeys);
                int Cycles(string key, int fallback) => Get(lat, key) is YamlNode n
                    ? (int)WholeNumber(n, $"chip.latencies.{key}", 0, 1_000_000, "a number of cycles from 0 to 1_000_000")
                    : fallback;
                CostLatencies d = chip.Latencies;
                chip = chip with
                {
                    Latencies = new CostLatencies
                    {
                        HitCycles = Cycles("hit", d.HitCycles),
                        DramCycles = Cycles("dram", d.DramCycles),
                        CipherCycles = Cycles("cipher", d.CipherCycles),
                        MacCycles = Cycles("mac", d.MacCycles),
                    },
                };
            }
            if (chip.Problem() is string problem)
            {
                throw Error(map, "chip", problem);
            }
            return chip;
        }

        /// <summary>
        /// A flat map of names to values, handed to the plug-in as it is; checked now by building the plug-in with
        /// them (each design checks its own), so a bad value is refused before anything runs.
        /// </summary>
        private Dictionary<string, string> ArchitectureParameters(YamlNode node, string? arch)
        {
            if (arch is null)
            {
                throw Error(node, "arch_parameters", "parameters without 'arch': name the architecture they are for");
            }
            YamlMappingNode map = Mapping(node, "arch_parameters", "the architecture's parameters");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            var nodes = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var (key, value) in map.Children)
            {
                string k = Text(key, "arch_parameters");
                result[k] = Text(value, $"arch_parameters.{k}");
                nodes[k] = value;
            }
            try
            {
                registry.Get(arch).CheckParameters(result);
            }
            catch (ArchitectureParameterException e)
            {
                throw e.Parameter is string bad && nodes.TryGetValue(bad, out YamlNode? at)
                    ? Error(at, $"arch_parameters.{bad}", e.Message)
                    : Error(map, "arch_parameters", e.Message);
            }
            return result;
        }

        private string Architecture(YamlNode node)
        {
            string name = Text(node, "arch");
            return registry.Find(name) is null
                ? throw Error(node, "arch", $"unknown architecture '{name}' (known: {string.Join(", ", registry.All.Select(a => a.Name))})")
                : name;
        }

        private ScenarioLimits Limits(YamlNode node)
        {
            YamlMappingNode map = Mapping(node, "limits", "the run's limits");
            CheckKeys(map, "limits", LimitKeys);
            ulong? max = null, slice = null;
            TimeSpan? timeout = null;
            if (Get(map, "max_instructions") is YamlNode m)
            {
                max = WholeNumber(m, "limits.max_instructions", 1, ulong.MaxValue, "a number of instructions from 1 up");
            }
            if (Get(map, "slice_instructions") is YamlNode s)
            {
                slice = WholeNumber(s, "limits.slice_instructions", MinSliceInstructions, MaxSliceInstructions,
                    $"a number of instructions from {MinSliceInstructions} to {MaxSliceInstructions:N0}".Replace(",", "_", StringComparison.Ordinal));
            }
            if (Get(map, "timeout") is YamlNode t)
            {
                timeout = Timeout(t, "limits.timeout");
            }
            return new ScenarioLimits(max, slice, timeout);
        }

        private List<DomainSpec> Domains(YamlNode node)
        {
            if (node is not YamlSequenceNode list)
            {
                throw Error(node, "domains", $"expected a list of domains, not {Kind(node)}");
            }
            if (list.Children.Count == 0)
            {
                throw Error(node, "domains", "the list is empty; a scenario needs at least one domain");
            }
            if (list.Children.Count > MaxDomains)
            {
                throw Error(list.Children[MaxDomains], "domains", $"more than {MaxDomains} domains");
            }
            var domains = new List<DomainSpec>();
            ulong total = 0;
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < list.Children.Count; i++)
            {
                string at = $"domains[{i}]";
                YamlMappingNode map = Mapping(list.Children[i], at, "a domain");
                CheckKeys(map, at, DomainKeys);
                YamlNode nameNode = Required(map, at, "name", "every domain needs a name");
                string name = Name(nameNode, $"{at}.name");
                if (seen.TryGetValue(name, out int first))
                {
                    throw Error(nameNode, $"{at}.name", $"'{name}' is already the name of domains[{first}]; domain names must be unique");
                }
                seen.Add(name, i);

                ulong memory = DefaultMemory;
                YamlNode? memoryNode = Get(map, "memory");
                if (memoryNode is not null)
                {
                    memory = Memory(memoryNode, $"{at}.memory");
                }
                total += memory;
                if (total > MaxTotalMemory)
                {
                    throw Error(memoryNode ?? map, $"{at}.memory",
                        $"the domains up to this one have {Sizes.Format(total)} of memory together, more than the {Sizes.Format(MaxTotalMemory)} a run may use");
                }
                int vcpus = 1;
                if (Get(map, "vcpus") is YamlNode vcpuNode)
                {
                    vcpus = (int)WholeNumber(vcpuNode, $"{at}.vcpus", 1, MaxVcpus, $"a number of vCPUs from 1 to {MaxVcpus}");
                }
                ulong? watchdog = null;
                if (Get(map, "watchdog") is YamlNode watchdogNode)
                {
                    watchdog = watchdogNode is YamlScalarNode { Value: "off" } ? 0
                        : WholeNumber(watchdogNode, $"{at}.watchdog", 1, ulong.MaxValue, "a number of instructions from 1 up, or off");
                }
                YamlNode kernelNode = Required(map, at, "kernel", "every domain needs a kernel (an ELF or a Linux Image)");
                string kernel = ImageFile(kernelNode, $"{at}.kernel", out LinuxImage? linux);
                if (linux is not null)
                {
                    domains.Add(LinuxDomain(map, at, name, memory, memoryNode, vcpus, kernel, kernelNode, linux) with { Watchdog = watchdog });
                    continue;
                }
                foreach (string key in (string[])["initrd", "bootargs", "console"])
                {
                    if (Get(map, key) is YamlNode linuxOnly)
                    {
                        throw Error(linuxOnly, $"{at}.{key}", $"only a Linux Image kernel takes '{key}' ({Path.GetFileName(kernel)} is an ELF)");
                    }
                }
                List<string> programs = Programs(map, at);
                string cmdline = "";
                if (Get(map, "cmdline") is YamlNode cmdlineNode)
                {
                    cmdline = Text(cmdlineNode, $"{at}.cmdline");
                    if (cmdline.Contains('\0', StringComparison.Ordinal))
                    {
                        throw Error(cmdlineNode, $"{at}.cmdline", "holds a NUL character, where the guest would see the command line end");
                    }
                    if (Encoding.UTF8.GetByteCount(cmdline) > MaxCmdlineBytes)
                    {
                        throw Error(cmdlineNode, $"{at}.cmdline", $"longer than {MaxCmdlineBytes} bytes");
                    }
                }
                string input = Get(map, "console_input") is YamlNode inputNode ? Text(inputNode, $"{at}.console_input") : "";
                domains.Add(new DomainSpec(name, memory, vcpus, kernel, programs, cmdline, input) { Watchdog = watchdog });
            }
            Nics(list, domains);
            return domains;
        }

        /// <summary>
        /// A domain whose kernel is a Linux Image: <c>initrd:</c> and <c>bootargs:</c> instead of programs and a
        /// cmdline, and RAM enough for the kernel, the initrd and the device tree (checked here, with the line).
        /// </summary>
        private DomainSpec LinuxDomain(YamlMappingNode map, string at, string name, ulong memory, YamlNode? memoryNode, int vcpus,
            string kernel, YamlNode kernelNode, LinuxImage image)
        {
            foreach (string key in (string[])["programs", "cmdline"])
            {
                if (Get(map, key) is YamlNode node)
                {
                    throw Error(node, $"{at}.{key}", key == "cmdline"
                        ? "a Linux kernel's command line is 'bootargs'"
                        : "a Linux kernel takes an 'initrd', not programs");
                }
            }
            string? initrd = null;
            long initrdBytes = 0;
            if (Get(map, "initrd") is YamlNode initrdNode)
            {
                initrd = DataFile(initrdNode, $"{at}.initrd", "initrd");
                initrdBytes = new FileInfo(initrd).Length;
            }
            string bootargs = "";
            if (Get(map, "bootargs") is YamlNode bootargsNode)
            {
                bootargs = Text(bootargsNode, $"{at}.bootargs");
                if (bootargs.Contains('\0', StringComparison.Ordinal))
                {
                    throw Error(bootargsNode, $"{at}.bootargs", "holds a NUL character, where Linux would see the command line end");
                }
                if (Encoding.UTF8.GetByteCount(bootargs) > LinuxBoot.MaxBootargsBytes)
                {
                    throw Error(bootargsNode, $"{at}.bootargs", $"longer than {LinuxBoot.MaxBootargsBytes} bytes (Linux's COMMAND_LINE_SIZE)");
                }
            }
            bool virtioConsole = false;
            if (Get(map, "console") is YamlNode consoleNode)
            {
                string console = Text(consoleNode, $"{at}.console");
                virtioConsole = console switch
                {
                    "sbi" => false,
                    "virtio" => true,
                    _ => throw Error(consoleNode, $"{at}.console", $"'{console}' is not a console: sbi (the default) or virtio"),
                };
            }
            if (virtioConsole)
            {
                // The hypervisor names the console; a second console= would print every kernel message twice.
                if (bootargs.Split(' ').Any(a => a.StartsWith("console=", StringComparison.Ordinal)))
                {
                    throw Error(Get(map, "bootargs")!, $"{at}.bootargs", $"names a console, which 'console: virtio' sets ({LinuxBoot.VirtioConsoleArgument})");
                }
                bootargs = bootargs.Length == 0 ? LinuxBoot.VirtioConsoleArgument : $"{bootargs} {LinuxBoot.VirtioConsoleArgument}";
                if (Encoding.UTF8.GetByteCount(bootargs) > LinuxBoot.MaxBootargsBytes)
                {
                    throw Error(Get(map, "bootargs")!, $"{at}.bootargs", $"longer than {LinuxBoot.MaxBootargsBytes} bytes (Linux's COMMAND_LINE_SIZE) with {LinuxBoot.VirtioConsoleArgument}");
                }
            }
            try
            {
                var devices = new LinuxDevices(Nic: Get(map, "nic") is not null, Console: virtioConsole);
                byte[] dtb = LinuxBoot.DeviceTree(memory, vcpus, bootargs, 0, (ulong)initrdBytes, devices);
                LinuxBoot.Plan(image, (ulong)initrdBytes, (ulong)dtb.Length, memory);
            }
            catch (FormatException e)
            {
                throw Error(memoryNode ?? kernelNode, $"{at}.memory", e.Message);
            }
            string input = Get(map, "console_input") is YamlNode inputNode ? Text(inputNode, $"{at}.console_input") : "";
            return new DomainSpec(name, memory, vcpus, kernel, [], bootargs, input, initrd) { IsLinux = true, VirtioConsole = virtioConsole };
        }

        /// <summary>A data file (an initrd): a regular file, relative to the scenario, within the image size limit.</summary>
        private string DataFile(YamlNode node, string field, string what) => InputFile(node, field, what, "an image");

        /// <summary>
        /// A regular file <paramref name="field"/> names, relative to the scenario, no larger than an image may be; every
        /// refusal names it as <paramref name="what"/> ("ELF", "initrd") and the limit as that of <paramref name="limitOf"/>.
        /// </summary>
        private string InputFile(YamlNode node, string field, string what, string limitOf)
        {
            string relative = Text(node, field);
            if (relative.Length == 0)
            {
                throw Error(node, field, $"an empty path; give the {what} file's path, relative to the scenario file");
            }
            string full;
            try
            {
                full = Path.GetFullPath(Path.Combine(baseDirectory, relative));
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                throw Error(node, field, $"'{relative}' is not a usable path");
            }
            InputFileKind kind = InputFiles.KindOf(full);
            if (kind != InputFileKind.Regular)
            {
                throw Error(node, field, kind switch
                {
                    InputFileKind.Missing => $"'{relative}' not found (no file {full})",
                    InputFileKind.Directory => $"'{relative}' is a folder, not an {what} file",
                    _ => $"'{relative}' {InputFiles.Refusal(kind)}",
                });
            }
            long length = new FileInfo(full).Length;
            if (length > MaxKernelBytes)
            {
                throw Error(node, field, $"'{relative}' is {length} bytes, more than the {MaxKernelBytes >> 20} MiB {limitOf} may have");
            }
            return full;
        }

        private List<string> Programs(YamlMappingNode domain, string at)
        {
            var programs = new List<string>();
            if (Get(domain, "programs") is not YamlNode node)
            {
                return programs;
            }
            string field = $"{at}.programs";
            if (node is YamlScalarNode empty && IsNull(empty))
            {
                return programs;
            }
            if (node is not YamlSequenceNode list)
            {
                throw Error(node, field, $"expected a list of ELF paths, not {Kind(node)}");
            }
            if (list.Children.Count > MaxPrograms)
            {
                throw Error(list.Children[MaxPrograms], field, $"more than {MaxPrograms} programs (the start info lists at most {MaxPrograms} modules)");
            }
            ulong packed = 0;
            for (int i = 0; i < list.Children.Count; i++)
            {
                string itemField = $"{field}[{i}]";
                string path = ImageFile(list.Children[i], itemField);
                int nameBytes = Encoding.UTF8.GetByteCount(Path.GetFileName(path));
                if (nameBytes > MaxModuleNameBytes)
                {
                    throw Error(list.Children[i], itemField, $"the file name is longer than {MaxModuleNameBytes} bytes (a module's name in the start info)");
                }
                packed = ((packed + 7) & ~7UL) + (ulong)new FileInfo(path).Length;
                if (packed > ModuleAreaBytes)
                {
                    throw Error(list.Children[i], itemField,
                        $"the programs up to this one take {packed} bytes, more than the {ModuleAreaBytes} bytes of the module area");
                }
                programs.Add(path);
            }
            return programs;
        }

        private string ImageFile(YamlNode node, string field) => ImageFile(node, field, out _, allowLinux: false);

        /// <summary>An ELF file or (for a kernel) a RISC-V Linux Image, whose header is read and checked here.</summary>
        private string ImageFile(YamlNode node, string field, out LinuxImage? linux, bool allowLinux = true)
        {
            linux = null;
            string full = InputFile(node, field, "ELF", "an ELF image");
            string relative = Text(node, field);
            long length = new FileInfo(full).Length;
            Span<byte> magic = stackalloc byte[LinuxImage.HeaderBytes];
            int read;
            try
            {
                using FileStream stream = File.OpenRead(full);
                read = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Error(node, field, $"'{relative}' cannot be read: {e.Message.ReplaceLineEndings(" ").Trim()}");
            }
            if (allowLinux && LinuxImage.IsImage(magic[..read]))
            {
                try
                {
                    linux = LinuxImage.Parse(magic[..read]);
                }
                catch (FormatException e)
                {
                    throw Error(node, field, $"'{relative}' is not a bootable Linux Image: {e.Message}");
                }
                if (linux.ImageSize < (ulong)length)
                {
                    throw Error(node, field, $"'{relative}' is not a bootable Linux Image: its image_size 0x{linux.ImageSize:x} is smaller than the file ({length} bytes)");
                }
                return full;
            }
            if (read < 4 || !magic[..4].SequenceEqual("\u007fELF"u8))
            {
                throw Error(node, field, $"'{relative}' is not an ELF file");
            }
            return full;
        }

        private ulong Memory(YamlNode node, string field)
        {
            string text = Text(node, field);
            if (!Sizes.TryParse(text, out ulong bytes))
            {
                throw Error(node, field, $"'{text}' is not a size (use e.g. 16M)");
            }
            if (bytes < MinMemory || bytes > MaxMemory)
            {
                throw Error(node, field, $"{text} is out of range: a domain has from {Sizes.Format(MinMemory)} to {Sizes.Format(MaxMemory)}");
            }
            if (bytes % MemoryGranule != 0)
            {
                throw Error(node, field, $"{text} is not a whole number of 4K pages");
            }
            return bytes;
        }

        private ulong Seed(YamlNode node)
        {
            string text = Text(node, "seed");
            return GroupedDigits.TryParseDecimalOrHex(text, out ulong seed)
                ? seed
                : throw Error(node, "seed", $"'{text}' is not a seed (a whole number from 0 to 2^64-1, decimal or 0x hex)");
        }

        private TimeSpan Timeout(YamlNode node, string field)
        {
            string text = Text(node, field);
            string s = text.Trim();
            (string digits, double unit) = s.EndsWith("ms", StringComparison.Ordinal) ? (s[..^2], 0.001)
                : s.EndsWith('s') ? (s[..^1], 1)
                : s.EndsWith('m') ? (s[..^1], 60)
                : s.EndsWith('h') ? (s[..^1], 3600)
                : (s, 1);
            if (!IsDecimal(digits) || !double.TryParse(digits, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double amount)
                || !double.IsFinite(amount))
            {
                throw Error(node, field, $"'{text}' is not a duration (use e.g. 30s, 5m, 500ms)");
            }
            double seconds = amount * unit;
            if (seconds <= 0 || seconds > MaxTimeout.TotalSeconds)
            {
                throw Error(node, field, $"{text} is out of range: more than 0 and at most 24h");
            }
            return TimeSpan.FromSeconds(seconds);
        }

        /// <summary>Digits (grouped by single underscores), with at most one decimal point between digits: 1.5, 1_000.</summary>
        private static bool IsDecimal(string text)
        {
            int dot = text.IndexOf('.', StringComparison.Ordinal);
            return dot < 0
                ? GroupedDigits.Ungroup(text) is not null
                : GroupedDigits.Ungroup(text[..dot]) is not null && GroupedDigits.Ungroup(text[(dot + 1)..]) is not null;
        }

        protected override ScenarioException Error(YamlNode node, string field, string problem) =>
            new(file, (int)node.Start.Line, (int)node.Start.Column, field, problem);
    }
}
