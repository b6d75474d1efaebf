namespace Vbase.Cli.Tests.Support;

/// <summary>
/// A fact that needs qemu-system-riscv64. Skipped where QEMU is not on PATH, except under CI (CI=true), where a
/// missing QEMU must fail the run rather than quietly skip the comparison.
/// </summary>
public sealed class QemuFactAttribute : FactAttribute
{
    public const string Executable = "qemu-system-riscv64";

    public QemuFactAttribute()
    {
        if (FindOnPath(Executable) is null && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = $"{Executable} is not on PATH (under CI=true this test runs and fails instead)";
        }
    }

    public static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
