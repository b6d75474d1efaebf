using System.Diagnostics;
using Vbase.Isa.Harts;
using Vbase.Platform.Devices;
using Vbase.Platform.Loading;

namespace Vbase.Platform.Machines;

/// <summary>Why <see cref="Machine.Run"/> returned.</summary>
public enum MachineStopReason
{
    /// <summary>The program ended through the test finisher or HTIF; see <see cref="MachineRunResult.ExitCode"/>.</summary>
    Exited,
    /// <summary>The instruction budget ran out first.</summary>
    InstructionLimit,
    /// <summary>The hart waits in WFI and nothing can ever wake it: no timer armed, no interrupt to come, no more input.</summary>
    IdleForever,
}

/// <summary>The outcome of one <see cref="Machine.Run"/>.</summary>
/// <param name="Instructions">Instructions retired during this run.</param>
/// <param name="Pc">Where the hart stopped.</param>
public sealed record MachineRunResult(MachineStopReason Reason, int ExitCode, ulong Instructions, TimeSpan WallTime, ulong Pc)
{
    /// <summary>Millions of retired instructions per wall-clock second.</summary>
    public double Mips => WallTime.TotalSeconds > 0 ? Instructions / WallTime.TotalSeconds / 1e6 : 0;
}

/// <summary>
/// A bare-metal QEMU-virt-like machine with one hart, built paused by <see cref="MachineBuilder"/>. The run
/// proceeds in slices; between slices the machine moves host input into the UART and flushes console output,
/// so the hart's hot loop never calls out for them.
/// </summary>
public sealed class Machine : IDisposable
{
    /// <summary>Instructions per slice: about 10 ms of guest time, short enough for interactive console latency.</summary>
    private const ulong SliceInstructions = 1 << 20;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(50);

    private readonly ExitLatch exit;
    private readonly Stream output;
    private readonly IConsoleInput input;
    private bool disposed;

    internal Machine(ElfImage image, Ram ram, Bus bus, Hart hart, ExitLatch exit, Uart16550 uart, Clint clint, Plic plic,
        TestFinisher finisher, Htif? htif, Stream output, IConsoleInput input)
    {
        Image = image;
        Ram = ram;
        Bus = bus;
        Hart = hart;
        this.exit = exit;
        Uart = uart;
        Clint = clint;
        Plic = plic;
        Finisher = finisher;
        Htif = htif;
        this.output = output;
        this.input = input;
    }

    public ElfImage Image { get; }
    public Ram Ram { get; }
    public Bus Bus { get; }
    public Hart Hart { get; }
    public Uart16550 Uart { get; }
    public Clint Clint { get; }
    public Plic Plic { get; }
    public TestFinisher Finisher { get; }
    public Htif? Htif { get; }

    /// <summary>
    /// Runs until the program exits, <paramref name="maxInstructions"/> have executed (counting cycles the hart
    /// skipped while waiting for its timer, as mtime does), or the hart idles with nothing left to wake it.
    /// Can be called again after an instruction limit to continue.
    /// </summary>
    public MachineRunResult Run(ulong maxInstructions = ulong.MaxValue)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var clock = Stopwatch.StartNew();
        TimeSpan lastFlush = TimeSpan.Zero;
        ulong startInstret = Hart.Instret;
        ulong budget = maxInstructions;
        Uart.PollInput();
        try
        {
            while (true)
            {
                if (exit.HasExited)
                {
                    return Result(MachineStopReason.Exited);
                }
                if (budget == 0)
                {
                    return Result(MachineStopReason.InstructionLimit);
                }
                ulong before = Hart.Cycle;
                HartExit hartExit = Hart.Run(Math.Min(budget, SliceInstructions));
                budget -= Math.Min(budget, Hart.Cycle - before);

                // Input that arrived during the slice may raise the UART's interrupt; a sleeping hart then
                // gets to look at it before the machine decides that nothing can wake it.
                bool inputArrived = Uart.PollInput() > 0;
                Htif?.Poll();
                if (clock.Elapsed - lastFlush >= FlushInterval)
                {
                    output.Flush();
                    lastFlush = clock.Elapsed;
                }
                if (hartExit == HartExit.Idle && !exit.HasExited && !inputArrived && !AwaitWakeUp())
                {
                    return Result(MachineStopReason.IdleForever);
                }
            }
        }
        finally
        {
            output.Flush();
        }

        MachineRunResult Result(MachineStopReason reason) => new(reason, reason == MachineStopReason.Exited ? exit.ExitCode : 0,
            Hart.Instret - startInstret, clock.Elapsed, Hart.Pc);
    }

    /// <summary>
    /// The hart sleeps in WFI and only host input could still change anything: wait for a byte and hand it to
    /// the UART, whose interrupt may wake the hart. False when no byte will ever come or the UART cannot take
    /// one, so the hart would sleep forever. Each true return has moved a byte, so an idle loop always ends.
    /// </summary>
    private bool AwaitWakeUp()
    {
        output.Flush();
        if (!Uart.CanReceive)
        {
            return false;
        }
        input.WaitForInput();
        return Uart.PollInput() > 0;
    }

    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            Hart.Dispose();
            Ram.Dispose();
        }
    }
}
