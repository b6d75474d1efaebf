namespace Vbase.Cli.Tests.Support;

/// <summary>
/// A fact that needs programs from the machine (QEMU, the cross compiler, Chromium). Skipped where one is not on PATH,
/// except under CI (CI=true), where .ci/run installs them and a missing one must fail the run rather than quietly skip.
/// </summary>
public abstract class ToolFactAttribute : FactAttribute
{
    protected ToolFactAttribute(params string[] tools)
    {
        string[] missing = [.. tools.Where(t => FindOnPath(t) is null)];
        if (missing.Length > 0 && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = $"{string.Join(", ", missing)} not on PATH (under CI=true this test runs and fails instead)";
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
