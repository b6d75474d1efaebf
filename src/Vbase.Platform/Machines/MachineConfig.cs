using Vbase.Isa.Harts;
using Vbase.Platform.Devices;
using Vbase.Platform.Loading;

namespace Vbase.Platform.Machines;

/// <summary>
/// Everything needed to build a bare-metal machine, declared up front (Firecracker style): the builder turns
/// it into a paused machine or says, with one typed error, which stage failed.
/// </summary>
public sealed record MachineConfig
{
    /// <summary>The ELF to run. Exactly one of this and <see cref="Image"/> must be set.</summary>
    public string? ElfPath { get; init; }

    /// <summary>An already parsed program (e.g. one embedded in the CLI).</summary>
    public ElfImage? Image { get; init; }

    /// <summary>Bytes of RAM at 0x8000_0000; a non-zero multiple of 4 KiB, at most <see cref="MaxRamSize"/>.</summary>
    public ulong RamSize { get; init; } = Ram.DefaultSize;

    /// <summary>Watch the program's <c>tohost</c> symbol for Spike/HTIF commands (exit, console).</summary>
    public bool Htif { get; init; }

    /// <summary>Where the console (UART, HTIF) output goes; null discards it. Flushed as the run goes and at its end.</summary>
    public Stream? ConsoleOutput { get; init; }

    /// <summary>What the console receives; null means no input at all.</summary>
    public IConsoleInput? ConsoleInput { get; init; }

    /// <summary>How the hart runs code: the translator (the default) or the interpreter alone, the reference lockstep tests compare against.</summary>
    public ExecutionEngine Engine { get; init; } = ExecutionEngine.Translator;

    /// <summary>The hart's <see cref="HartOptions.TranslationThreshold"/>; null keeps the hart's default.</summary>
    public int? TranslationThreshold { get; init; }

    /// <summary>A sanity bound: RAM is host memory, allocated whole (lazily zeroed) up front.</summary>
    public const ulong MaxRamSize = 64UL << 30;
}

/// <summary>The configuration itself is wrong (no program, an impossible RAM size).</summary>
public sealed class MachineConfigException(string message) : Exception(message);
