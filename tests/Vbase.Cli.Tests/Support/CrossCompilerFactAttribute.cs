namespace Vbase.Cli.Tests.Support;

/// <summary>A fact that needs the guest cross compiler (Debian's gcc-riscv64-unknown-elf) and make (<see cref="ToolFactAttribute"/>).</summary>
public sealed class CrossCompilerFactAttribute() : ToolFactAttribute(Compiler, "make")
{
    public const string Compiler = "riscv64-unknown-elf-gcc";
}
