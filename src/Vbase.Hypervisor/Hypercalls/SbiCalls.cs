using Vbase.Hypervisor.Scheduling;
using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>
/// The SBI a standard RISC-V kernel expects from its M-mode firmware: base, TIME, DBCN and the legacy v0.1
/// calls. Results go to a0 (error) and a1 (value).
/// </summary>
internal static class SbiCalls
{
    public static bool IsSbi(ulong a7) => a7 == Sbi.Base || a7 >= Sbi.FirstExtension || a7 <= Sbi.LegacyLast;

    /// <summary>Answers an SBI call; returns whether a1 is part of the result (legacy calls leave it alone).</summary>
    public static (long Error, ulong Value, bool HasValue) Handle(in HypercallContext c, ulong extension, ulong function)
    {
        if (extension <= Sbi.LegacyLast)
        {
            return (Legacy(c, extension), 0, false);
        }
        return extension switch
        {
            Sbi.Base => Base(function, c.Arg(0)),
            Sbi.Time when function == 0 => SetTimer(c, c.Arg(0)),
            Sbi.Dbcn => Dbcn(c, function),
            _ => (Sbi.ErrNotSupported, 0, true),
        };
    }

    private static long Legacy(in HypercallContext c, ulong call)
    {
        switch (call)
        {
            case Sbi.LegacySetTimer:
                SetTimer(c, c.Arg(0));
                return 0;
            case Sbi.LegacyPutchar:
                c.Domain.WriteConsole([(byte)c.Arg(0)]);
                return 0;
            case Sbi.LegacyGetchar:
                return c.Domain.ConsoleInput.Count > 0 ? c.Domain.ConsoleInput.Dequeue() : -1;
            case Sbi.LegacyShutdown:
                c.Domain.Shutdown(ShutdownReason.Poweroff, 0);
                return 0;
            default:
                return Sbi.ErrNotSupported;
        }
    }

    private static (long, ulong, bool) Base(ulong function, ulong a0) => function switch
    {
        0 => (0, Sbi.SpecVersion, true),
        1 => (0, 0xFFFF, true), // implementation id: not a registered one
        2 => (0, Sbi.ImplementationId, true),
        3 => (0, a0 is Sbi.Base or Sbi.Time or Sbi.Dbcn ? 1UL : 0UL, true),
        4 or 5 or 6 => (0, 0, true), // mvendorid, marchid, mimpid
        _ => (Sbi.ErrNotSupported, 0, true),
    };

    private static (long, ulong, bool) SetTimer(in HypercallContext c, ulong deadline)
    {
        Vcpu v = c.Vcpu;
        v.SetSbiTimer(deadline, c.Now);
        v.Hart.RequestStop();
        return (0, 0, true);
    }

    private static (long, ulong, bool) Dbcn(in HypercallContext c, ulong function)
    {
        ulong count = c.Arg(0), lo = c.Arg(1), hi = c.Arg(2);
        switch (function)
        {
            case 0:
            case 1:
                if (hi != 0 || count > ConsoleIo.MaxBytes)
                {
                    return (Sbi.ErrInvalidParam, 0, true);
                }
                if (function == 0)
                {
                    byte[] bytes = new byte[count];
                    if (!c.TryRead(lo, bytes))
                    {
                        return (Sbi.ErrInvalidAddress, 0, true);
                    }
                    c.Domain.WriteConsole(bytes);
                    return (0, count, true);
                }
                int n = (int)Math.Min(count, (ulong)c.Domain.ConsoleInput.Count);
                byte[] input = [.. c.Domain.ConsoleInput.Take(n)];
                if (!c.TryWrite(lo, input))
                {
                    return (Sbi.ErrInvalidAddress, 0, true);
                }
                for (int i = 0; i < n; i++)
                {
                    c.Domain.ConsoleInput.Dequeue();
                }
                return (0, (ulong)n, true);
            case 2:
                c.Domain.WriteConsole([(byte)count]);
                return (0, 0, true);
            default:
                return (Sbi.ErrNotSupported, 0, true);
        }
    }
}
