using Vbase.Sapi.Registry;

namespace Vbase.Testbed.Attacks;

/// <summary>Where an adversary stands (docs/design.md, "attack positions").</summary>
public enum AttackPosition
{
    /// <summary>Below every MMU, p2m and plug-in: reads and writes machine memory (bus probe, DRAM tampering).</summary>
    Physical,
    /// <summary>The application VM's kernel: kernel-privilege accesses through its own page tables, p2m and plug-in.</summary>
    GuestKernel,
    /// <summary>Dom0's administrator: the privileged API (foreign mapping, p2m changes).</summary>
    Dom0,
    /// <summary>Guest code in another VM, with the hypercalls an unprivileged VM has.</summary>
    CoResidentVm,
    /// <summary>Dom0 on the wire: its bridge's tap reads, drops, holds, rewrites and injects frames (docs/network-attacks.md).</summary>
    Network,
}

/// <summary>What an attack is after.</summary>
public enum AttackGoal
{
    Confidentiality,
    Integrity,
    /// <summary>Stopping the service (net-drop).</summary>
    Availability,
}

/// <summary>A parameter of an attack, with its default (scenario and campaign may override it).</summary>
public sealed record AttackParameter(string Name, string Default, string Description);

/// <summary>One attack of the catalogue (<c>vbase list attacks</c>).</summary>
public sealed record AttackSpec(string Id, AttackPosition Position, AttackGoal Goal, string Description, IReadOnlyList<AttackParameter> Parameters)
{
    /// <summary>The principal an architecture's threat model must distrust for this attack to be inside it.</summary>
    public Principal Principal => Position switch
    {
        AttackPosition.Physical => Principal.Physical,
        AttackPosition.GuestKernel => Principal.GuestKernel,
        AttackPosition.Dom0 or AttackPosition.Network => Principal.Dom0,
        _ => Principal.OtherVms,
    };

    public static string Name(AttackPosition p) => p switch
    {
        AttackPosition.Physical => "physical",
        AttackPosition.GuestKernel => "guest kernel",
        AttackPosition.Dom0 => "Dom0",
        AttackPosition.Network => "network",
        _ => "co-resident VM",
    };
}
