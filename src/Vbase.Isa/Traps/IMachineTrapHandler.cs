namespace Vbase.Isa.Traps;

/// <summary>Host code that plays the hart's M-mode: it receives every trap not delegated to S.</summary>
public interface IMachineTrapHandler
{
    /// <summary>
    /// Handles a trap that would have entered M-mode (<paramref name="cause"/> has bit 63 set for interrupts).
    /// Returns the pc at which the hart continues, in whatever privilege the handler leaves it
    /// (typically <paramref name="epc"/> + 4 after an ecall). The handler may stop the hart with
    /// <see cref="Harts.Hart.RequestStop"/>.
    /// </summary>
    ulong HandleMachineTrap(Harts.Hart hart, ulong cause, ulong tval, ulong epc);
}
