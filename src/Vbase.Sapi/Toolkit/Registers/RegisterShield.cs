namespace Vbase.Sapi.Toolkit.Registers;

/// <summary>
/// Keeps a secure process's registers from its kernel, as SGX's asynchronous exit (AEX: the state saved inside the
/// enclave, a synthetic one shown to the OS) and a security monitor (Keystone's SM) do: when the process loses the
/// hart, its integer registers and — if its kernel has the FPU enabled for it — f0–f31 and fcsr are saved out of the
/// guest's reach and scrubbed, before the kernel's trap handler can save them; when it gets the hart back, they are
/// put back over whatever the kernel restored. What a kernel needs survives: sp, gp and tp (they say where the
/// process's stack and thread are, nothing secret), and for the process's own <c>ecall</c> its arguments a0–a7 on
/// the way in and the kernel's result a0 on the way back. Everything else the kernel sees is zero, and nothing it
/// writes there reaches the process.
/// </summary>
/// <remarks>
/// A plug-in calls <see cref="OnTransition"/> from its <see cref="IVcpuHooks.OnSecureTransition"/>. It allocates once
/// per secure context, never per transition.
/// </remarks>
public sealed class RegisterShield
{
    /// <summary>The trap cause of an <c>ecall</c> from U-mode.</summary>
    public const ulong EcallFromUser = 8;

    private const int Sp = 2, Gp = 3, Tp = 4, A0 = 10, A7 = 17;

    /// <summary>Saves and scrubs at <see cref="SecureTransitionKind.Suspend"/>, restores at Resume and Leave.</summary>
    public void OnTransition(SecureTransition transition)
    {
        if (transition.Registers is not { } registers)
        {
            return;
        }
        switch (transition.Kind)
        {
            case SecureTransitionKind.Suspend:
                Save(transition.Context.Shielded ??= new ShieldedRegisters(), registers);
                break;
            case SecureTransitionKind.Resume:
            case SecureTransitionKind.Leave:
                if (transition.Context.Shielded is { Held: true } saved)
                {
                    Restore(saved, registers);
                }
                break;
        }
    }

    private static void Save(ShieldedRegisters saved, VcpuRegisters r)
    {
        saved.Cause = r.TrapCause;
        bool ecall = saved.Cause == EcallFromUser;
        for (int i = 1; i < 32; i++)
        {
            saved.X[i] = r.GetX(i);
            if (i is not (Sp or Gp or Tp) && !(ecall && i is >= A0 and <= A7))
            {
                r.SetX(i, 0);
            }
        }
        // With FS Off the f registers hold whatever another process left there, not this one's: nothing to keep.
        saved.HasFp = r.FpEnabled;
        if (saved.HasFp)
        {
            for (int i = 0; i < 32; i++)
            {
                saved.F[i] = r.GetF(i);
                r.SetF(i, 0);
            }
            saved.Fcsr = r.Fcsr;
            r.Fcsr = 0;
        }
        saved.Held = true;
    }

    private static void Restore(ShieldedRegisters saved, VcpuRegisters r)
    {
        bool ecall = saved.Cause == EcallFromUser;
        for (int i = 1; i < 32; i++)
        {
            if (!(ecall && i == A0))
            {
                r.SetX(i, saved.X[i]);
            }
        }
        if (saved.HasFp)
        {
            for (int i = 0; i < 32; i++)
            {
                r.SetF(i, saved.F[i]);
            }
            r.Fcsr = saved.Fcsr;
        }
        saved.Held = false;
    }
}

/// <summary>A suspended process's registers as <see cref="RegisterShield"/> keeps them (per secure context).</summary>
internal sealed class ShieldedRegisters
{
    public readonly ulong[] X = new ulong[32];
    public readonly ulong[] F = new ulong[32];
    public uint Fcsr;
    public ulong Cause;
    public bool HasFp;
    /// <summary>Saved at a suspension and not yet put back.</summary>
    public bool Held;
}
