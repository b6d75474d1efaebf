using Vbase.Architectures.SgxMee;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.Tests.SgxMee;

public sealed class SgxMeeParametersTests
{
    [Fact]
    public void DefaultsAreTheMeesShape()
    {
        SgxMeeParameters p = SgxMeeParameters.Parse(new Dictionary<string, string>());
        Assert.Equal(32 * 1024, p.MetadataCacheBytes);
        Assert.Equal(8, p.MetadataCacheWays);
        Assert.Equal(8, p.TreeArity);
        Assert.Equal(EpcmPermissions.Read | EpcmPermissions.Write | EpcmPermissions.Execute, p.Permissions);
        Assert.True(p.RefuseEpcRemap);
        Assert.True(p.CheckMappingsOnResume);
    }

    [Fact]
    public void KeysAreReadAndBadValuesNamed()
    {
        SgxMeeParameters p = SgxMeeParameters.Parse(new Dictionary<string, string>
        {
            [SgxMeeParameters.CacheBytesKey] = "4_096",
            [SgxMeeParameters.CacheWaysKey] = "2",
            [SgxMeeParameters.PermissionsKey] = "r-x",
            [SgxMeeParameters.CheckMappingsKey] = "off",
            ["some-other-arch-key"] = "ignored",
        });
        Assert.Equal(4096, p.MetadataCacheBytes);
        Assert.Equal(2, p.MetadataCacheWays);
        Assert.Equal(EpcmPermissions.Read | EpcmPermissions.Execute, p.Permissions);
        Assert.False(p.CheckMappingsOnResume);
        ArgumentException e = Assert.Throws<ArgumentException>(() =>
            SgxMeeParameters.Parse(new Dictionary<string, string> { [SgxMeeParameters.PermissionsKey] = "rwz" }));
        Assert.Contains(SgxMeeParameters.PermissionsKey, e.Message);
    }

    [Fact]
    public void TheRegistryKnowsItAndItTrustsOnlyTheApplication()
    {
        ArchitectureInfo info = BuiltInArchitectures.CreateRegistry().Get("sgx-mee");
        Assert.Equal(typeof(SgxMeeArchitecture), info.Type);
        Assert.Equal(Principal.Application | Principal.Hypervisor, info.ThreatModel.Trusted);
    }
}
