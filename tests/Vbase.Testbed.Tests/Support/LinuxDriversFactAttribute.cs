using System.Text;

namespace Vbase.Testbed.Tests.Support;

/// <summary>
/// A fact that boots the committed guest/linux/Image and needs its virtio-mmio, virtio-console and SiFive PLIC
/// drivers. Whether the kernel has them is probed from the Image's bytes (each driver's device tree match string;
/// the Image carries no config of its own). Skipped when one is missing, naming its config symbol, except under CI
/// (CI=true), where the test runs and fails: the committed kernel is expected to have them there.
/// </summary>
public sealed class LinuxDriversFactAttribute : FactAttribute
{
    /// <summary>What each driver leaves in the Image (its of_device_id compatible or its name) and its config symbol.</summary>
    public static readonly (string Probe, string Config)[] Drivers =
    [
        ("virtio,mmio", "CONFIG_VIRTIO_MMIO"),
        ("virtio_console", "CONFIG_VIRTIO_CONSOLE"),
        ("sifive,plic-1.0.0", "CONFIG_SIFIVE_PLIC"),
    ];

    public LinuxDriversFactAttribute()
    {
        string[] missing = Missing();
        if (missing.Length > 0 && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = $"guest/linux/Image has no {string.Join(", ", missing)} (under CI=true this test runs and fails instead)";
        }
    }

    public static string ImagePath =>
        Path.GetFullPath(Path.Combine(ExampleScenarioTests.ScenariosFolder(), "..", "guest", "linux", "Image"));

    /// <summary>The config symbols whose drivers the committed Image lacks.</summary>
    public static string[] Missing()
    {
        byte[] image = File.Exists(ImagePath) ? File.ReadAllBytes(ImagePath) : [];
        return [.. Drivers.Where(d => image.AsSpan().IndexOf(Encoding.ASCII.GetBytes(d.Probe)) < 0).Select(d => d.Config)];
    }
}
