namespace Vbase.Sapi.Registry;

/// <summary>The principals an architecture may trust (docs/design.md, "Threat model").</summary>
[Flags]
public enum Principal
{
    None = 0,
    /// <summary>The hypervisor with the plugged-in architecture (always trusted by Vbase itself).</summary>
    Hypervisor = 1 << 0,
    /// <summary>The secure application.</summary>
    Application = 1 << 1,
    /// <summary>The application VM's kernel.</summary>
    GuestKernel = 1 << 2,
    /// <summary>Other processes in the application VM.</summary>
    OtherProcesses = 1 << 3,
    /// <summary>Other VMs on the machine.</summary>
    OtherVms = 1 << 4,
    /// <summary>Dom0 and its administrator.</summary>
    Dom0 = 1 << 5,
    /// <summary>The bus and DRAM (physical attacks).</summary>
    Physical = 1 << 6,
}

/// <summary>What an architecture declares it defends against: everyone not in <see cref="Trusted"/>.</summary>
public sealed record ThreatModel(Principal Trusted)
{
    /// <summary>Is an attacker holding <paramref name="position"/> inside this model (i.e. not trusted)?</summary>
    public bool Covers(Principal position) => (Trusted & position) == 0;

    /// <summary>"trusts hypervisor, application; defends against guest kernel, …".</summary>
    public override string ToString()
    {
        var trusted = new List<string>();
        var untrusted = new List<string>();
        foreach (Principal p in Enum.GetValues<Principal>())
        {
            if (p != Principal.None)
            {
                ((Trusted & p) != 0 ? trusted : untrusted).Add(Describe(p));
            }
        }
        return $"trusts {string.Join(", ", trusted)}; defends against {(untrusted.Count == 0 ? "nobody" : string.Join(", ", untrusted))}";
    }

    public static string Describe(Principal p) => p switch
    {
        Principal.Hypervisor => "hypervisor",
        Principal.Application => "application",
        Principal.GuestKernel => "guest kernel",
        Principal.OtherProcesses => "other processes",
        Principal.OtherVms => "other VMs",
        Principal.Dom0 => "Dom0",
        Principal.Physical => "bus/DRAM",
        _ => p.ToString(),
    };
}
