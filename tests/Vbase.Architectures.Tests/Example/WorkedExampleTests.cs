using MyDesign;
using Vbase.Architectures.Tests.Sapi;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.Tests.Example;

/// <summary>docs/architectures.md's worked example, which is the design the plug-in template starts from
/// (templates/vbase-architecture, compiled into this project): it is shown verbatim, and it does what the page says.</summary>
public sealed class WorkedExampleTests
{
    [Fact]
    public void ThePageShowsThisFileVerbatim()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Vbase.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Vbase.sln not found");
        }
        string page = File.ReadAllText(Path.Combine(root, "docs", "architectures.md"));
        int start = page.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        string shown = page[start..page.IndexOf("```", start, StringComparison.Ordinal)];
        string file = File.ReadAllText(Path.Combine(root, "templates", "vbase-architecture", "MyDesign", "MyDesignArchitecture.cs"));
        Assert.Equal(file.ReplaceLineEndings("\n"), shown);
    }

    [Fact]
    public void TheOwnerReadsAndWritesPlaintextOthersCiphertextAndTamperingIsAViolation()
    {
        using var rig = new Rig();
        using var arch = new MyDesignArchitecture(new ArchitectureOptions { Seed = 5 });
        rig.Hv.Plug(arch);
        byte[]? dom0Saw = null;
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
            dom0Saw = rig.Hv.Dom0.MapForeign(new DomainId(1), [new Gfn(SecureProcessGuest.SecretGpa >> 12)], false).Read(0)[..8].ToArray());
        DomainId d = rig.Add(SecureProcessGuest.Build());
        rig.Run();
        ulong Slot(int i) => rig.ReadU64(d, GuestCode.Results + (ulong)i * 8);
        Assert.Equal(SecureProcessGuest.Secret, Slot(1));             // the owner reads plaintext
        Assert.Equal(SecureProcessGuest.AppWrite, Slot(2));           // and its own write lands
        Assert.NotEqual(SecureProcessGuest.AppWrite, Slot(3));        // the kernel reads ciphertext
        Assert.NotEqual(SecureProcessGuest.Secret, BitConverter.ToUInt64(dom0Saw!));
        // The kernel's raw write broke the line's MAC: the owner's next read is a violation.
        Assert.Contains(rig.Events, e => e.Data is ViolationData { Reason: "line MAC mismatch" });
    }

    [Fact]
    public void CountersAndMacsLiveInDramWhereChosenBytesOverThemAreAViolation()
    {
        using var rig = new Rig();
        using var arch = new MyDesignArchitecture(new ArchitectureOptions { Seed = 5 });
        rig.Hv.Plug(arch);
        IReadOnlyList<MetadataRange> ranges = [];
        ulong counterAtEnter = 0;
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
        {
            ProtectedRegion region = rig.Hv.Sapi.Regions[0];
            ranges = arch.DescribeMetadata(region, 0, 0);
            arch.FlushMetadata();
            Span<byte> counter = Dram(rig, ranges[0]);
            counterAtEnter = BitConverter.ToUInt64(counter);
            counter.Fill(0x41);   // a physical attacker's bytes over line 0's counter: its MAC no longer verifies
        });
        DomainId d = rig.Add(SecureProcessGuest.Build());
        rig.Run();
        Assert.Equal(["counter", "mac"], ranges.Select(r => r.What));
        Assert.Equal(1UL, counterAtEnter);   // sealed under counter 1, written straight to DRAM
        Assert.All(ranges, r => Assert.True(r.MachineAddress >> 12 >= rig.Hv.Machine.FrameCount - 256));   // the top MiB
        Assert.NotEqual(SecureProcessGuest.Secret, rig.ReadU64(d, GuestCode.Results + 8));   // the owner's read faulted
        Assert.Contains(rig.Events, e => e.Data is ViolationData { Reason: "line MAC mismatch" });
        Assert.True(rig.Hv.Sapi.Cost.MetadataReads > 0 && rig.Hv.Sapi.Cost.MacOps > 0);
    }

    private static Span<byte> Dram(Rig rig, MetadataRange range) =>
        rig.Hv.Machine.Frame(new Mfn(range.MachineAddress >> 12)).Slice((int)(range.MachineAddress & 0xFFF), range.Length);
}
