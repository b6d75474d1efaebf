using System.CommandLine;
using System.Globalization;
using System.Text;
using TestbedRun = Vbase.Testbed.Running.Testbed;
using Vbase.Hypervisor;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.P2m;
using Vbase.Testbed.Monitoring;
using Vbase.Testbed.Running;
using Vbase.Testbed.Scenarios;

namespace Vbase.Cli;

/// <summary>
/// <c>vbase demo</c>: the paper's story end to end. The application VM boots the guest kernel with the paper's
/// secure application under the <c>vbase</c> architecture; the Monitor runs in Dom0; a narrator maps what the
/// hypervisor logs to the steps of Algorithm 1 as they happen. The guest images travel inside the tool. With
/// <c>--linux</c> the application VM is Linux 6.1 (guest/linux): its boot is quiet (<c>quiet</c> on the command line),
/// /init loads vbase.ko, the paper's kernel module, and runs the same secure-app built for Linux.
/// </summary>
internal static class DemoCommand
{
    public const string DefaultOut = "out/demo";
    private const string Kernel = "kernel.elf", App = "secure-app.elf", LinuxKernel = "Image", LinuxInitrd = "initramfs.cpio";

    /// <summary>
    /// demo --linux's kernel command line: the SBI console, no boot messages (<c>quiet</c>: the story is the steps),
    /// a panic ends the run, /init runs secure-app.
    /// </summary>
    internal const string LinuxBootargs = "console=hvc0 quiet panic=-1 vbase_cmd=/bin/secure-app";

    public static Command Create(CliConsole console)
    {
        var outDirectory = new Option<string>("--out")
        {
            Description = $"Where the event log, consoles, summary and images go (default: {DefaultOut}).",
            HelpName = "DIR",
            DefaultValueFactory = _ => DefaultOut,
        };
        var plugins = VbaseCli.PluginOption();
        var architecture = new Option<string>("--arch")
        {
            Description = "The architecture the story runs under (default vbase): a built-in one or a --plugin's (vbase list archs).",
            HelpName = "NAME",
            DefaultValueFactory = _ => "vbase",
        };
        var linux = new Option<bool>("--linux")
        {
            Description = "The application VM runs Linux 6.1 with vbase.ko, the paper's kernel module, instead of the small Vbase kernel.",
        };
        var command = new Command("demo", "The paper's secure application under the vbase architecture (or --arch), step by step, with the Monitor.")
        {
            outDirectory, plugins, architecture, linux,
        };
        command.SetAction(parsed => Run(console, parsed.GetValue(outDirectory)!, parsed.GetValue(architecture)!,
            [.. (parsed.GetValue(plugins) ?? []).Select(Path.GetFullPath)], parsed.GetValue(linux)));
        return command;
    }

    private static int Run(CliConsole console, string outDirectory, string architecture, IReadOnlyList<string> plugins, bool linux)
    {
        Vbase.Sapi.Registry.ArchitectureRegistry registry;
        try
        {
            registry = Vbase.Testbed.Plugins.PluginCatalog.Registry(plugins);
        }
        catch (Vbase.Testbed.Plugins.PluginException e)
        {
            return VbaseCli.Fail(console, ExitCodes.DataError, e.Message);
        }
        if (registry.Find(architecture) is not Vbase.Sapi.Registry.ArchitectureInfo arch)
        {
            return VbaseCli.Fail(console, ExitCodes.UsageError,
                $"--arch: unknown architecture '{architecture}' (known: {string.Join(", ", registry.All.Select(a => a.Name))}; a plug-in's needs --plugin)");
        }
        bool paper = arch.Name == "vbase";
        string images = Path.Combine(outDirectory, "images");
        try
        {
            Directory.CreateDirectory(images);
            foreach (string image in linux ? [LinuxKernel, LinuxInitrd] : (string[])[Kernel, App])
            {
                File.WriteAllBytes(Path.Combine(images, image), LoadBundled(image));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return VbaseCli.Fail(console, RunExitCodes.OutputError, $"cannot write to {outDirectory}: {VbaseCli.OneLine(e.Message)}");
        }
        string Image(string name) => Path.GetFullPath(Path.Combine(images, name));
        DomainSpec domain = linux
            ? new DomainSpec("app", 64UL << 20, 1, Image(LinuxKernel), [], LinuxBootargs, "", Image(LinuxInitrd)) { IsLinux = true }
            : new DomainSpec("app", 16UL << 20, 1, Image(Kernel), [Image(App)], "", "");
        var scenario = new Scenario("(demo)", linux ? "demo-linux" : "demo", Seed: 1, new ScenarioLimits(linux ? 500_000_000UL : 50_000_000UL, null, null), [domain])
        {
            Architecture = arch.Name,
        };

        var story = new Narrator(console.ProgramOutput, linux);
        story.Say($"Vbase demo: the paper's secure application (Algorithm 1, Listings 1-7) under the {arch.Name} architecture{(linux ? ", in a Linux App VM" : "")}.");
        story.Say("  hypervisor  emulated Xen-like hypervisor, one RV64 hart per vCPU, deterministic virtual time (t)");
        story.Say(linux
            ? "  domain app  Linux 6.1 (guest/linux; boot messages quiet), /init loads vbase.ko (/dev/vbase) and runs secure-app"
            : "  domain app  the Vbase guest kernel (S-mode, Sv39) running one process: secure-app");
        story.Say(paper
            ? "  plug-in     vbase: registered pages become read-only and encrypted in DRAM, plaintext only to their owner"
            : $"  plug-in     {arch.Name}: {arch.Description} (the paper's steps below are vbase's; they show where {arch.Name} does the same)");
        story.Say("  Dom0        the Monitor, bound to VIRQ_VBASE");
        story.Say("");

        HypervisorHost? host = null;
        var testbed = new TestbedRun(scenario, settings =>
        {
            host = (HypervisorHost)HypervisorHost.Create(settings with { Registry = registry });
            story.Attach(host.Hypervisor);
            host.AddEventSink(story);
            return host;
        });
        TestbedResult result;
        try
        {
            result = testbed.Run(new TestbedOptions(console.ProgramOutput, outDirectory, Monitor: new MonitorSetup()));
        }
        catch (TestbedException e)
        {
            return VbaseCli.Fail(console, e.Stage == TestbedStage.Outputs ? RunExitCodes.OutputError : RunExitCodes.InternalError, VbaseCli.OneLine(e.Message));
        }
        console.ProgramOutput.Flush();

        string events = Path.GetFullPath(Path.Combine(outDirectory, TestbedRun.EventsFile));
        story.Say("");
        story.Say(story.Conclusion(result, ReadConsoleLog(outDirectory)));
        story.Say($"Event log: {events}");
        story.Say($"Consoles and summary: {Path.GetFullPath(outDirectory)}");
        console.ProgramOutput.Flush();
        // The paper's story is vbase's; under another architecture the demo tells what happened, and fails only if the run did.
        if (!result.Succeeded || paper && !story.StoryHeld)
        {
            console.Error.WriteLine(paper ? "vbase: demo: the run did not go as the paper says (see the event log)"
                : $"vbase: demo: the run under {arch.Name} did not finish cleanly (see the event log)");
            return RunExitCodes.DomainFailed;
        }
        return ExitCodes.Success;
    }

    private static string ReadConsoleLog(string outDirectory)
    {
        try
        {
            return File.ReadAllText(Path.Combine(outDirectory, TestbedRun.ConsoleLogFile("app")));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>The bytes of a guest image embedded in this assembly (see the csproj).</summary>
    internal static byte[] LoadBundled(string name)
    {
        using Stream stream = typeof(DemoCommand).Assembly.GetManifestResourceStream($"Vbase.Cli.Programs.{name}")
            ?? throw new InvalidOperationException($"bundled program {name} is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Turns the hypervisor's events into the paper's steps, on the run's console stream, as they happen.</summary>
    private sealed class Narrator(Stream output, bool linux) : IHypervisorEventSink
    {
        private Hypervisor.Hypervisor? hv;
        private long dropped;
        private bool registered, virqToDom0;
        private string? droppedData, encryptedWith;

        public bool StoryHeld => registered && virqToDom0 && dropped > 0 && before == "654321" && after == "654321";

        private string? before, after;

        public void Attach(Hypervisor.Hypervisor hypervisor) => hv = hypervisor;

        public void Say(string line)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
            output.Write(bytes);
            output.Flush();
        }

        private void Step(string steps, string text) => Say($"  >> {steps,-10} {text}");

        public void Record(HypervisorEvent e)
        {
            switch (e.Data)
            {
                case RegionProtectedData r when linux:
                    registered = true;
                    // The boot in one line: everything before the registration was Linux starting and /init's work.
                    Step("boot", string.Create(CultureInfo.InvariantCulture,
                        $"Linux 6.1 booted (device tree, SBI), /init loaded vbase.ko and started secure-app: t={e.Time:N0}"));
                    Step("steps 3-6", $"secure-app (a Linux process) passed its secure page (va 0x{r.VirtualAddress:x}) to ioctl(/dev/vbase, ENTER); vbase.ko pinned it (pin_user_pages), took its PFN (GFN 0x{r.Gfn.Value:x}) and called HYPERVISOR_vbase_op");
                    Step("steps 7-8", $"the hypercall handler translated GFN 0x{r.Gfn.Value:x} to MFN 0x{r.Mfn.Value:x} (t={e.Time})");
                    break;
                case RegionProtectedData r:
                    registered = true;
                    Step("steps 3-6", $"secure-app passed its secure page (va 0x{r.VirtualAddress:x}) to the kernel's vbase syscall; the kernel module walked the page table (GFN 0x{r.Gfn.Value:x}) and called HYPERVISOR_vbase_op");
                    Step("steps 7-8", $"the hypercall handler translated GFN 0x{r.Gfn.Value:x} to MFN 0x{r.Mfn.Value:x} (t={e.Time})");
                    break;
                case P2mChangeData { New.Type: P2mType.RamRo }:
                    Step("step 9", $"the MFN is now read-only in the p2m ({e.Message})");
                    break;
                case PlugInEventData { Kind: "vbase.encrypted" } encrypted:
                    // Told at the VIRQ that follows: the plug-in reports while it seals, before the region is marked
                    // sealed, and until then the owner's view of a line not on chip is DRAM as it is.
                    encryptedWith = encrypted.Values.FirstOrDefault(f => f.Name == "cipher").Text ?? "?";
                    break;
                case VirqSentData { Virq: Virq.Vbase } v when v.To == DomainId.Dom0:
                    if (encryptedWith is not null)
                    {
                        Step("", $"the frame is encrypted in DRAM ({encryptedWith}): {DramVersusPlaintext()}");
                        encryptedWith = null;
                    }
                    virqToDom0 = true;
                    Step("step 10", $"VIRQ_VBASE sent to Dom0 at t={e.Time}, while secure-app waits in its system call; steps 11-13 are the Monitor's:");
                    break;
                case WriteDroppedData w:
                    dropped++;
                    droppedData ??= w.Data;
                    Step("", $"secure-app wrote {Value(w.Data)} to secret_key: the write was dropped ({w.P2m.ToXenName()}) and reported (t={e.Time})");
                    break;
                case WritesDroppedData counted:
                    dropped += counted.Count;
                    break;
                case RegionReleasedData:
                    Step("", "secure-app left secure mode (vbase exit): the frame is decrypted and writable again");
                    break;
            }
        }

        public string Conclusion(TestbedResult result, string console)
        {
            before = Printed(console, "before");
            after = Printed(console, "after");
            return string.Create(CultureInfo.InvariantCulture,
                $"Result: secret_key printed {before} before and {after} after; {dropped} write(s) dropped (tried: {Value(droppedData)}); {result.Instructions:N0} instructions, virtual time {result.VirtualTime:N0}.");
        }

        private static string Printed(string console, string when)
        {
            string marker = $"The secret_key {when} system call is: ";
            int at = console.IndexOf(marker, StringComparison.Ordinal);
            return at < 0 ? "?" : console[(at + marker.Length)..].Split('\n')[0].Trim();
        }

        /// <summary>The first bytes of the region as a physical attacker and as the owner see them.</summary>
        private string DramVersusPlaintext()
        {
            if (hv is null)
            {
                return "";
            }
            byte[] dram = new byte[8], plain = new byte[8];
            int id = hv.Sapi.Regions.Count;
            if (hv.Dom0.ReadRegion(id, 0, dram, MemoryView.Dram) != 0 || hv.Dom0.ReadRegion(id, 0, plain, MemoryView.Application) != 0)
            {
                return "";
            }
            return $"DRAM holds {Hex(dram)}, the owner reads {Hex(plain)} (secret_key = {BitConverter.ToInt32(plain)})";
        }

        private static string Hex(byte[] b) => string.Join(' ', b.Select(x => x.ToString("x2", CultureInfo.InvariantCulture)));

        /// <summary>A little-endian 32-bit store's data as a number ("40e20100" → 123456).</summary>
        private static string Value(string? hex) =>
            hex is { Length: 8 } ? BitConverter.ToInt32(Convert.FromHexString(hex)).ToString(CultureInfo.InvariantCulture) : hex ?? "?";
    }
}
