using System.Reflection;
using Vbase.Architectures;
using Vbase.Sapi;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>The SAPI is one project a plug-in references; the hypervisor implements it, never the other way round.</summary>
public sealed class SapiSurfaceTests
{
    private static string[] References(Assembly a) => [.. a.GetReferencedAssemblies().Select(n => n.Name ?? "")];

    [Fact]
    public void TheSapiKnowsNothingOfTheHypervisor() =>
        Assert.DoesNotContain("Vbase.Hypervisor", References(typeof(ISecureArchitecture).Assembly));

    [Fact]
    public void TheArchitecturesReferenceTheSapiAlone()
    {
        string[] refs = References(typeof(BuiltInArchitectures).Assembly);
        Assert.Contains("Vbase.Sapi", refs);
        Assert.DoesNotContain("Vbase.Hypervisor", refs);
        Assert.DoesNotContain("Vbase.Testbed", refs);
    }
}
