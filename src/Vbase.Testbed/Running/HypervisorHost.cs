namespace Vbase.Testbed.Running;

/// <summary>
/// The real hypervisor (src/Vbase.Hypervisor) behind <see cref="IGuestHost"/>: domains created and unpaused
/// through its Dom0 API, consoles read through its console callbacks.
/// </summary>
public static class HypervisorHost
{
    /// <summary>Builds an empty hypervisor for a run.</summary>
    /// <exception cref="TestbedException">The hypervisor is not available in this build.</exception>
    public static IGuestHost Create(HostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        throw new TestbedException(TestbedStage.Host,
            "the hypervisor (src/Vbase.Hypervisor) is not part of this build yet; scenarios can be checked but not run");
    }
}
