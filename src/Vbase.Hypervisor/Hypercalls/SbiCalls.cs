using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Csrs;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>
/// The SBI a standard RISC-V kernel (Linux) expects from its M-mode firmware: base, TIME, IPI, RFENCE, HSM, SRST,
/// DBCN and the legacy v0.1 console, timer and shutdown calls. Results go to a0 (error) and a1 (value). Hart
/// ids are the domain's vCPU ids; a hart mask names them as in the spec (bit i = hart mask_base + i, mask_base
/// = -1: every hart).
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
            Sbi.Ipi when function == Sbi.IpiSendIpi => SendIpi(c, c.Arg(0), c.Arg(1)),
            Sbi.Rfence => Rfence(c, function),
            Sbi.Hsm => Hsm(c, function),
            Sbi.Srst when function == Sbi.SrstSystemReset => SystemReset(c, c.Arg(0), c.Arg(1)),
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
        3 => (0, a0 is Sbi.Base or Sbi.Time or Sbi.Ipi or Sbi.Rfence or Sbi.Hsm or Sbi.Srst or Sbi.Dbcn ? 1UL : 0UL, true),
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

    /// <summary>
    /// The vCPUs a hart mask names, as a bit set over vCPU ids; false if it names a hart the domain does not have
    /// (SBI_ERR_INVALID_PARAM).
    /// </summary>
    private static bool TryTargets(in HypercallContext c, ulong mask, ulong maskBase, out ulong targets)
    {
        int count = c.Domain.Vcpus.Count;
        ulong all = count >= 64 ? ulong.MaxValue : (1UL << count) - 1;
        if (maskBase == ulong.MaxValue)
        {
            targets = all;
            return true;
        }
        targets = 0;
        for (int i = 0; i < 64; i++)
        {
            if (((mask >> i) & 1) == 0)
            {
                continue;
            }
            ulong hart = maskBase + (ulong)i;
            if (hart < maskBase || hart >= (ulong)count)
            {
                return false;
            }
            targets |= 1UL << (int)hart;
        }
        return true;
    }

    /// <summary>send_ipi: a supervisor software interrupt (sip.SSIP) on each target; one waiting in WFI wakes.</summary>
    private static (long, ulong, bool) SendIpi(in HypercallContext c, ulong mask, ulong maskBase)
    {
        if (!TryTargets(c, mask, maskBase, out ulong targets))
        {
            return (Sbi.ErrInvalidParam, 0, true);
        }
        foreach (Vcpu v in c.Domain.Vcpus)
        {
            if (((targets >> v.Id) & 1) == 0)
            {
                continue;
            }
            v.Hart.TrySetCsr(CsrAddress.Sip, 1UL << (int)InterruptCause.SupervisorSoftware);
            if (v.InWfi)
            {
                v.Blocked = false;
                v.InWfi = false;
            }
        }
        // The caller may have sent one to itself: end its slice so that the interrupt is taken next.
        c.Vcpu.Hart.RequestStop();
        return (0, 0, true);
    }

    /// <summary>remote fence.i / sfence.vma (with or without an ASID: every translation is dropped either way).</summary>
    private static (long, ulong, bool) Rfence(in HypercallContext c, ulong function)
    {
        if (function is not (Sbi.RfenceFenceI or Sbi.RfenceSfenceVma or Sbi.RfenceSfenceVmaAsid))
        {
            // 3..6 are the hypervisor-extension fences: no guest has the H extension.
            return (Sbi.ErrNotSupported, 0, true);
        }
        if (!TryTargets(c, c.Arg(0), c.Arg(1), out ulong targets))
        {
            return (Sbi.ErrInvalidParam, 0, true);
        }
        foreach (Vcpu v in c.Domain.Vcpus)
        {
            if (((targets >> v.Id) & 1) == 0)
            {
                continue;
            }
            if (function == Sbi.RfenceFenceI)
            {
                v.Hart.FlushDecodeCache();
            }
            else
            {
                v.Hart.FlushTranslationCaches();
            }
        }
        c.Vcpu.Hart.RequestStop();
        return (0, 0, true);
    }

    private static (long, ulong, bool) Hsm(in HypercallContext c, ulong function)
    {
        List<Vcpu> vcpus = c.Domain.Vcpus;
        ulong hart = c.Arg(0);
        switch (function)
        {
            case Sbi.HsmHartStart:
                if (hart >= (ulong)vcpus.Count)
                {
                    return (Sbi.ErrInvalidParam, 0, true);
                }
                Vcpu target = vcpus[(int)hart];
                if (!target.Stopped)
                {
                    return (Sbi.ErrAlreadyAvailable, 0, true);
                }
                ulong start = c.Arg(1);
                if (start < GuestLayout.RamBase || start - GuestLayout.RamBase >= c.Domain.Config.MemoryBytes)
                {
                    return (Sbi.ErrInvalidAddress, 0, true);
                }
                // As the spec starts a hart: S-mode at start_addr, a0 = hartid, a1 = opaque, MMU off, interrupts off.
                Hart h = target.Hart;
                h.TrySetCsr(CsrAddress.Satp, 0);
                h.TrySetCsr(CsrAddress.Sstatus, 0);
                h.Enter(Privilege.Supervisor, start);
                h.SetRegister(10, hart);
                h.SetRegister(11, c.Arg(2));
                target.Blocked = false;
                target.InWfi = false;
                target.Stopped = false;
                return (0, 0, true);
            case Sbi.HsmHartStop:
                c.Vcpu.Stopped = true;
                c.Vcpu.Hart.RequestStop();
                return (0, 0, true);
            case Sbi.HsmHartGetStatus:
                return hart >= (ulong)vcpus.Count
                    ? (Sbi.ErrInvalidParam, 0UL, true)
                    : (0L, vcpus[(int)hart].Stopped ? Sbi.HsmStopped : Sbi.HsmStarted, true);
            default:
                // hart_suspend (3) and anything newer.
                return (Sbi.ErrNotSupported, 0, true);
        }
    }

    /// <summary>
    /// system_reset: a shutdown ends the domain (exit code 0, or 1 for "system failure"); a cold or warm reboot
    /// ends it with the reboot reason (a run has no second boot), the SRST reason as the exit code.
    /// </summary>
    private static (long, ulong, bool) SystemReset(in HypercallContext c, ulong type, ulong reason)
    {
        // Reserved types and reasons are invalid; platform-specific types (0xF000_0000..) are not offered.
        if (type > uint.MaxValue || reason > uint.MaxValue || (reason > Sbi.SrstReasonSystemFailure && reason < 0xE000_0000))
        {
            return (Sbi.ErrInvalidParam, 0, true);
        }
        if (type > Sbi.SrstWarmReboot)
        {
            return type >= 0xF000_0000 ? (Sbi.ErrNotSupported, 0UL, true) : (Sbi.ErrInvalidParam, 0UL, true);
        }
        long code = reason == Sbi.SrstReasonNone ? 0 : type == Sbi.SrstShutdown ? 1 : (long)reason;
        c.Domain.Shutdown(type == Sbi.SrstShutdown ? ShutdownReason.Poweroff : ShutdownReason.Reboot, code);
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
