namespace Vbase.Cli.Tests.Support;

/// <summary>
/// A fact that needs the guest cross compiler (Debian's gcc-riscv64-unknown-elf) and make. Skipped where they are not
/// on PATH, except under CI (CI=true), where .ci/run installs them and a missing one must fail the run.
/// </summary>
public sealed class CrossCompilerFactAttribute : FactAttribute
{
    public const string Compiler = "riscv64-unknown-elf-gcc";

    public CrossCompilerFactAttribute()
    {
        if ((QemuFactAttribute.FindOnPath(Compiler) is null || QemuFactAttribute.FindOnPath("make") is null)
            && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = $"{Compiler} or make is not on PATH (under CI=true this test runs and fails instead)";
        }
    }
}
