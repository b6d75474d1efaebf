using Vbase.Architectures.Pmp;
using Vbase.Architectures.SgxMee;
using Vbase.Architectures.Tests.SgxMee;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Registry;

namespace Vbase.Architectures.Tests.Sapi;

/// <summary>
/// The resume-time re-walks of <c>sgx-mee</c> and <c>pmp</c> use the ISA's Sv39 walker, so a PTE the hart refuses is
/// refused by the plug-in too: the kernel of <see cref="RemapGuest"/> points the enclave's first page at a plain frame
/// with a malformed PTE, the enclave's read page-faults, and no plug-in takes the PTE for a mapping of that frame.
/// </summary>
public sealed class ResumeWalkTests
{
    /// <summary>Bit 60 is reserved (§4.4.1): the hart page-faults; sgx-mee's old walker ignored it.</summary>
    private const long ReservedBit = RemapGuest.UserRwx | (1L << 60);
    /// <summary>W without R is reserved: the hart page-faults; pmp's old walker took it for a leaf.</summary>
    private const long WriteWithoutRead = RemapGuest.UserRwx & ~0x2L;

    private static (Rig Rig, HypervisorEvent[] Violations, ulong RogueRead) Run(SecureArchitectureBase arch, long rogueFlags)
    {
        var rig = new Rig();
        rig.Hv.Plug(arch);
        var dom = rig.Add(RemapGuest.Build(rogueFlags), memory: 4UL << 20);
        rig.Run(2_000_000);
        return (rig, [.. rig.Events.Where(e => e.Kind == EventKind.Violation)],
            rig.ReadU64(dom, GuestCode.Results + (2 * 8)));
    }

    [Fact]
    public void SgxMeeDoesNotReportAPteTheHartRefusesAsARemap()
    {
        var (rig, violations, rogueRead) = Run(new SgxMeeArchitecture(new ArchitectureOptions { Seed = 11 }), ReservedBit);
        using (rig)
        {
            Assert.Equal(0UL, rogueRead);                                              // the enclave's read page-faulted
            Assert.DoesNotContain(violations, v => v.Message.Contains($"0x{RemapGuest.RogueGpa:x}", StringComparison.Ordinal));
            Assert.Contains("the EPC page of va 0x401000", violations[0].Message);    // the next, well-formed remap is
        }
    }

    [Fact]
    public void PmpReportsAPteTheHartRefusesAsUnmappedNotAsTheFrameItNames()
    {
        var (rig, violations, rogueRead) = Run(new PmpArchitecture(new ArchitectureOptions()), WriteWithoutRead);
        using (rig)
        {
            Assert.Equal(0UL, rogueRead);
            Assert.Contains("va=0x400000 is no longer mapped", violations[0].Message);
            Assert.DoesNotContain(violations, v => v.Message.Contains($"gfn 0x{RemapGuest.RogueGpa >> 12:x}", StringComparison.Ordinal));
        }
    }
}
