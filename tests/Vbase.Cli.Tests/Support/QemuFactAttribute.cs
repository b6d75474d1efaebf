namespace Vbase.Cli.Tests.Support;

/// <summary>A fact that needs qemu-system-riscv64 (<see cref="ToolFactAttribute"/>).</summary>
public sealed class QemuFactAttribute() : ToolFactAttribute(Executable)
{
    public const string Executable = "qemu-system-riscv64";
}
