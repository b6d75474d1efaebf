namespace Vbase.Testbed.Running;

/// <summary>
/// Drives a run in its own way instead of running the guests straight to the end: the attack suite's Controller
/// runs them in steps and acts between steps.
/// </summary>
public interface IRunDriver
{
    /// <summary>After every domain is built and unpaused, before the first instruction.</summary>
    void Start(IGuestHost host, IReadOnlyList<int> domainIds);

    /// <summary>Runs the guests (within <paramref name="maxInstructions"/>) and says why it stopped.</summary>
    HostStop Drive(IGuestHost host, ulong maxInstructions);
}
