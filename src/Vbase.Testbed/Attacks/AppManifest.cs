using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Vbase.Platform.Loading;
using Vbase.Testbed.Yaml;
using YamlDotNet.RepresentationModel;

namespace Vbase.Testbed.Attacks;

/// <summary>An application manifest that cannot be used: <c>file:line:col: field: problem</c>.</summary>
public sealed class AppManifestException(string file, int line, int column, string field, string problem)
    : LocatedYamlException(file, line, column, field, problem);

/// <summary>
/// Reads an application manifest (docs/apps.md): what the attack suite needs to know about a secure application —
/// its program (and kernel), the secrets the Oracle searches for, the block attacks target, the splice source, the
/// replay target, the default delay. The built-in applications are manifests too, shipped inside the tool, whose
/// images are the embedded ones.
/// </summary>
public static class AppManifestLoader
{
    /// <summary>A manifest is text of at most 1 MiB; a declared secret at most 4 KiB.</summary>
    public const long MaxFileBytes = InputFiles.MaxTextBytes;
    public const int MaxSecretBytes = 4096;
    /// <summary>Blocks are 64-byte lines inside the first 2 MiB of the region.</summary>
    public const int BlockBytes = 64, MaxBlock = (2 << 20) - BlockBytes;
    /// <summary>At most this many candidate blocks (<c>blocks</c>).</summary>
    public const int MaxCandidates = 256;

    private static readonly string[] Keys =
        ["name", "description", "program", "kernel", "initrd", "command", "secrets", "block", "blocks", "splice_source", "replay_block", "delay", "delay_window", "network"];
    private static readonly string[] NetworkKeys = ["client", "protocol", "server_nic", "client_nic", "key"];
    private static readonly string[] NicKeys = ["mac", "ip"];
    private static readonly string[] SecretKeys = ["name", "text", "hex", "u32", "u64", "symbol", "length"];

    /// <exception cref="AppManifestException">Unreadable, malformed, or naming something that is not there.</exception>
    public static SecureApp Load(string path)
    {
        string text;
        try
        {
            text = InputFiles.ReadText(path, MaxFileBytes);
        }
        catch (InputFileException e)
        {
            throw new AppManifestException(path, 0, 0, "", e.Message);
        }
        return new Reader(path, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", embedded: false).Read(text);
    }

    /// <summary>A built-in manifest: its program and kernel are the images embedded in the testbed.</summary>
    internal static SecureApp LoadEmbedded(string name, string text) => new Reader(name, "", embedded: true).Read(text);

    private sealed class Reader(string file, string baseDirectory, bool embedded) : YamlFields
    {
        protected override AppManifestException Error(YamlNode node, string field, string problem) =>
            new(file, (int)node.Start.Line, (int)node.Start.Column, field, problem);

        public SecureApp Read(string yaml)
        {
            YamlStream stream = YamlText.Load(yaml, (line, column, problem) => new AppManifestException(file, line, column, "", problem));
            if (stream.Documents.Count != 1)
            {
                throw new AppManifestException(file, 0, 0, "", stream.Documents.Count == 0
                    ? "the file is empty; a manifest needs at least 'name', 'program' and 'secrets'"
                    : "more than one YAML document; a manifest holds one");
            }
            YamlMappingNode root = Mapping(stream.Documents[0].RootNode, "", "the application");
            CheckKeys(root, "", Keys);
            string name = Name(Required(root, "", "name", "every application needs a name"), "name");
            string description = Get(root, "description") is YamlNode d ? Text(d, "description") : name;
            // A Linux-hosted application (docs/linux.md): a Linux Image, its initramfs, and the command /init runs; the
            // program ELF, if named, only serves symbol secrets (the one that runs is inside the initramfs).
            YamlNode? initrdNode = Get(root, "initrd");
            string? initrd = initrdNode is null ? null : DataFile(initrdNode, "initrd");
            string? command = Get(root, "command") is YamlNode c ? Command(c, initrdNode) : null;
            string program = initrdNode is not null && Get(root, "program") is null
                ? ""
                : Image(Required(root, "", "program", "the application's ELF"), "program");
            string? kernel = Get(root, "kernel") is YamlNode k
                ? initrdNode is null ? Image(k, "kernel") : LinuxKernel(k)
                : initrdNode is null ? null : throw Error(initrdNode, "initrd", "an initrd goes with 'kernel': the Linux Image that boots it");
            if (initrdNode is not null && command is null)
            {
                throw Error(initrdNode, "initrd", "a Linux-hosted application needs 'command': what /init runs (e.g. /bin/vault)");
            }
            IReadOnlyList<DeclaredSecret> secrets = Secrets(Required(root, "", "secrets", "the Oracle needs at least one declared secret"), program);
            IReadOnlyList<int>? blocks = Get(root, "blocks") is YamlNode blocksNode ? Candidates(blocksNode) : null;
            int block = Block(root, "block", blocks?[0] ?? 0);
            if (blocks is not null && !blocks.Contains(block))
            {
                throw Error(Get(root, "block")!, "block", $"{block} is not one of 'blocks' (with both, block must be one of the candidates)");
            }
            int splice = Block(root, "splice_source", block + BlockBytes);
            int replay = Block(root, "replay_block", block);
            if (splice == block)
            {
                throw Error(Get(root, "splice_source") ?? root, "splice_source", "the splice source must be another block than the target");
            }
            ulong delay = Get(root, "delay") is YamlNode delayNode
                ? WholeNumber(delayNode, "delay", 0, 1_000_000_000, "a number of instructions from 0 to 1_000_000_000")
                : 0;
            ulong window = Get(root, "delay_window") is YamlNode windowNode
                ? WholeNumber(windowNode, "delay_window", 0, 1_000_000_000, "a number of instructions from 0 to 1_000_000_000")
                : 0;
            var app = new SecureApp(name, program, description, secrets, block, splice, delay)
            {
                Blocks = blocks ?? [block],
                DelayWindow = window,
                BuiltIn = embedded,
                Kernel = kernel,
                Initrd = initrd,
                Command = command,
                Network = Get(root, "network") is YamlNode networkNode ? Network(networkNode) : null,
            };
            if (app.IsLinux && Get(root, "network") is YamlNode linuxNetwork)
            {
                // The Linux guest has no virtio-net driver yet (docs/linux.md): its server could not answer.
                throw Error(linuxNetwork, "network", "a Linux-hosted application cannot have a network yet (its kernel has no virtio-net driver)");
            }
            // Only a replay target the manifest names is fixed; otherwise replay aims where the seed points the others.
            return Get(root, "replay_block") is null ? app : app with { ReplayBlock = replay };
        }

        /// <summary>The manifest's <c>network:</c>: a client program, the protocol, the two cards, the key's offset.</summary>
        private NetworkApp Network(YamlNode node)
        {
            YamlMappingNode map = Mapping(node, "network", "the application's network (client, protocol, server_nic, client_nic, key)");
            CheckKeys(map, "network", NetworkKeys);
            string client = Image(Required(map, "network", "client", "the client program, run in a second VM"), "network.client");
            YamlNode protocolNode = Required(map, "network", "protocol", "the protocol the Oracle decodes: plain or sealed");
            NetBankProtocol protocol = Text(protocolNode, "network.protocol") switch
            {
                "plain" => NetBankProtocol.Plain,
                "sealed" => NetBankProtocol.Sealed,
                string other => throw Error(protocolNode, "network.protocol", $"'{other}' is not a protocol: plain or sealed (the networked bank's variants)"),
            };
            AppNic server = Get(map, "server_nic") is YamlNode s ? Nic(s, "network.server_nic") : NetworkApp.DefaultServer;
            AppNic clientNic = Get(map, "client_nic") is YamlNode c ? Nic(c, "network.client_nic") : NetworkApp.DefaultClient;
            if (server.Mac == clientNic.Mac || server.Ip.AsSpan().SequenceEqual(clientNic.Ip))
            {
                throw Error(Get(map, "client_nic") ?? map, "network.client_nic", "the client's card needs another MAC and another address than the server's");
            }
            int key = 0;
            if (Get(map, "key") is YamlNode keyNode)
            {
                key = (int)WholeNumber(keyNode, "network.key", 0, MaxBlock, $"a byte offset in the region from 0 to {MaxBlock}");
            }
            return new NetworkApp(client, protocol, server, clientNic, key);
        }

        private AppNic Nic(YamlNode node, string at)
        {
            YamlMappingNode map = Mapping(node, at, "a network card (mac, ip)");
            CheckKeys(map, at, NicKeys);
            YamlNode macNode = Required(map, at, "mac", "the card's MAC (02:00:00:00:00:01)");
            string macText = Text(macNode, $"{at}.mac");
            if (!Vbase.Hypervisor.Network.MacAddress.TryParse(macText, out Vbase.Hypervisor.Network.MacAddress? mac)
                || mac.Value.IsGroup || mac.Value.Value == 0 || mac.Value == Vbase.Hypervisor.Network.NetworkBridge.DefaultDom0Mac)
            {
                throw Error(macNode, $"{at}.mac", $"'{macText}' is not a usable unicast MAC (six hex pairs, not a group address, not Dom0's)");
            }
            YamlNode ipNode = Required(map, at, "ip", "the card's IPv4 address (10.0.0.1)");
            string ipText = Text(ipNode, $"{at}.ip");
            if (!System.Net.IPAddress.TryParse(ipText, out System.Net.IPAddress? address)
                || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || ipText.Count(ch => ch == '.') != 3)
            {
                throw Error(ipNode, $"{at}.ip", $"'{ipText}' is not an IPv4 address (a.b.c.d)");
            }
            byte[] ip = address.GetAddressBytes();
            if (ip[0] is 0 or 127 or >= 224)
            {
                throw Error(ipNode, $"{at}.ip", $"{ipText} is not a unicast host address");
            }
            return new AppNic(mac.Value, ip);
        }

        private int Block(YamlMappingNode root, string key, int fallback)
        {
            if (Get(root, key) is not YamlNode node)
            {
                return fallback;
            }
            ulong offset = WholeNumber(node, key, 0, MaxBlock, $"a byte offset in the region from 0 to {MaxBlock}");
            return offset % BlockBytes == 0 ? (int)offset
                : throw Error(node, key, $"{offset} is not a multiple of {BlockBytes}: blocks are whole lines");
        }

        /// <summary>The candidate blocks: a list of 1 to <see cref="MaxCandidates"/> distinct blocks.</summary>
        private List<int> Candidates(YamlNode node)
        {
            if (node is not YamlSequenceNode list || list.Children.Count == 0 || list.Children.Count > MaxCandidates)
            {
                throw Error(node, "blocks", $"expected a list of 1 to {MaxCandidates} blocks (region offsets, multiples of {BlockBytes})");
            }
            var blocks = new List<int>();
            for (int i = 0; i < list.Children.Count; i++)
            {
                YamlNode item = list.Children[i];
                string field = $"blocks[{i}]";
                ulong offset = WholeNumber(item, field, 0, MaxBlock, $"a byte offset in the region from 0 to {MaxBlock}");
                if (offset % BlockBytes != 0)
                {
                    throw Error(item, field, $"{offset} is not a multiple of {BlockBytes}: blocks are whole lines");
                }
                if (blocks.Contains((int)offset))
                {
                    throw Error(item, field, $"{offset} is listed twice");
                }
                blocks.Add((int)offset);
            }
            return blocks;
        }

        /// <summary>An ELF next to the manifest (or, for a built-in one, an embedded image's name).</summary>
        private string Image(YamlNode node, string field)
        {
            string relative = Text(node, field);
            if (embedded)
            {
                return relative;
            }
            string full = Path.GetFullPath(Path.Combine(baseDirectory, relative));
            try
            {
                ElfImage.Read(full);
            }
            catch (Exception e) when (e is ElfLoadException or IOException or UnauthorizedAccessException)
            {
                throw Error(node, field, File.Exists(full) ? $"'{relative}': {Running.Testbed.OneLine(e.Message)}" : $"'{relative}' not found (no file {full})");
            }
            return full;
        }

        /// <summary>A Linux Image next to the manifest (or an embedded image's name).</summary>
        private string LinuxKernel(YamlNode node)
        {
            string relative = Text(node, "kernel");
            if (embedded)
            {
                return relative;
            }
            string full = DataFile(node, "kernel");
            Span<byte> header = stackalloc byte[Vbase.Hypervisor.Boot.LinuxImage.HeaderBytes];
            int read;
            using (FileStream stream = File.OpenRead(full))
            {
                read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            }
            if (!Vbase.Hypervisor.Boot.LinuxImage.IsImage(header[..read]))
            {
                throw Error(node, "kernel", $"'{relative}' is not a RISC-V Linux Image (an initrd needs one)");
            }
            return full;
        }

        /// <summary>A file next to the manifest (or an embedded image's name), that exists.</summary>
        private string DataFile(YamlNode node, string field)
        {
            string relative = Text(node, field);
            if (embedded)
            {
                return relative;
            }
            string full = Path.GetFullPath(Path.Combine(baseDirectory, relative));
            return File.Exists(full) ? full : throw Error(node, field, $"'{relative}' not found (no file {full})");
        }

        /// <summary>The shell command /init runs: one line, no double quote (it is quoted on the kernel command line).</summary>
        private string Command(YamlNode node, YamlNode? initrd)
        {
            string command = Text(node, "command");
            if (initrd is null)
            {
                throw Error(node, "command", "'command' is for a Linux-hosted application: it needs 'initrd' (and a Linux 'kernel')");
            }
            if (command.Length == 0 || command.Length > 200 || command.Any(ch => ch is '"' or '\n' or '\0'))
            {
                throw Error(node, "command", "expected one line of 1 to 200 characters without '\"' (it goes into the kernel command line)");
            }
            return command;
        }

        private List<DeclaredSecret> Secrets(YamlNode node, string program)
        {
            if (node is not YamlSequenceNode list || list.Children.Count == 0)
            {
                throw Error(node, "secrets", "expected a list of secrets (name and one of text, hex, u32, u64, symbol)");
            }
            var secrets = new List<DeclaredSecret>();
            for (int i = 0; i < list.Children.Count; i++)
            {
                string at = $"secrets[{i}]";
                YamlMappingNode map = Mapping(list.Children[i], at, "a secret");
                CheckKeys(map, at, SecretKeys);
                string name = Name(Required(map, at, "name", "what the evidence calls it"), $"{at}.name");
                string[] given = [.. new[] { "text", "hex", "u32", "u64", "symbol" }.Where(k => Get(map, k) is not null)];
                if (given.Length != 1)
                {
                    throw Error(map, at, given.Length == 0
                        ? "give the secret's bytes: one of text, hex, u32, u64, or symbol with length"
                        : $"give one of text, hex, u32, u64, symbol, not {string.Join(" and ", given)}");
                }
                YamlNode value = Get(map, given[0])!;
                string field = $"{at}.{given[0]}";
                byte[] bytes = given[0] switch
                {
                    "text" => Encoding.UTF8.GetBytes(Text(value, field)),
                    "hex" => Hex(value, field),
                    "u32" => BitConverter.GetBytes((uint)Number(value, field, uint.MaxValue, "a 32-bit unsigned number")),
                    "u64" => BitConverter.GetBytes(Number(value, field, ulong.MaxValue, "a 64-bit unsigned number")),
                    _ => Symbol(value, field, map, at, program),
                };
                if (given[0] != "symbol" && Get(map, "length") is YamlNode stray)
                {
                    throw Error(stray, $"{at}.length", "length goes with symbol only");
                }
                if (bytes.Length == 0 || bytes.Length > MaxSecretBytes)
                {
                    throw Error(value, field, $"a secret is 1 to {MaxSecretBytes} bytes, not {bytes.Length}");
                }
                secrets.Add(new DeclaredSecret(name, bytes));
            }
            return secrets;
        }

        /// <summary>A number in decimal (digits grouped with '_' allowed) or 0x hex, stored little-endian as the hart does.</summary>
        private ulong Number(YamlNode node, string field, ulong max, string what)
        {
            string text = Text(node, field);
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                return ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong hex) && hex <= max
                    ? hex
                    : throw Error(node, field, $"'{text}' is not {what}");
            }
            return WholeNumber(node, field, 0, max, what);
        }

        private byte[] Hex(YamlNode node, string field)
        {
            string text = Text(node, field).Replace(" ", "", StringComparison.Ordinal);
            try
            {
                return Convert.FromHexString(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text);
            }
            catch (FormatException)
            {
                throw Error(node, field, $"'{text}' is not hex bytes (e.g. f1fb0900)");
            }
        }

        /// <summary>The initial bytes of a symbol in the program's loadable data (a key compiled in, say).</summary>
        private byte[] Symbol(YamlNode node, string field, YamlMappingNode map, string at, string program)
        {
            string symbol = Text(node, field);
            YamlNode lengthNode = Required(map, at, "length", "how many bytes from the symbol");
            int length = (int)WholeNumber(lengthNode, $"{at}.length", 1, MaxSecretBytes, $"a number of bytes from 1 to {MaxSecretBytes}");
            if (program.Length == 0)
            {
                throw Error(node, field, "a symbol secret needs 'program': the ELF whose symbol it is");
            }
            ElfImage image = embedded ? ElfImage.Parse(program, GuestImages.Bytes(program)) : ElfImage.Read(program);
            if (!image.TryGetSymbol(symbol, out ulong address))
            {
                throw Error(node, field, $"no symbol '{symbol}' in {Path.GetFileName(program)}");
            }
            foreach (ElfSegment segment in image.Segments)
            {
                if (address >= segment.Address && address + (ulong)length <= segment.Address + segment.MemorySize)
                {
                    var bytes = new byte[length];
                    ulong offset = address - segment.Address;
                    if (offset < (ulong)segment.FileData.Length)
                    {
                        segment.FileData.AsSpan((int)offset, (int)Math.Min((ulong)length, (ulong)segment.FileData.Length - offset)).CopyTo(bytes);
                    }
                    return bytes;
                }
            }
            throw Error(node, field, string.Create(CultureInfo.InvariantCulture,
                $"'{symbol}' (0x{address:x}, {length} bytes) is not inside a loadable segment of {Path.GetFileName(program)}"));
        }
    }
}
