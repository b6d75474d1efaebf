namespace Vbase.Cli.Tests.Support;

/// <summary>A fact that needs Debian's gdb-multiarch (<see cref="ToolFactAttribute"/>).</summary>
public sealed class GdbFactAttribute() : ToolFactAttribute(Executable)
{
    public const string Executable = "gdb-multiarch";
}
