using Vbase.Architectures.Tests.Sapi;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Tests.Infrastructure;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;

namespace Vbase.Architectures.Tests.Xom;

/// <summary>
/// Drives a plug-in's DRAM-boundary hooks by hand on a real registered region: <see cref="SecureProcessGuest"/> runs
/// until its <c>vbase_op(enter)</c> has protected one page and Dom0 gets VIRQ_VBASE; at that moment (the owner waiting
/// in its hypercall, no line of the page on chip yet) the test fills lines from DRAM and writes lines back as the chip
/// would, asks who sees what, and tampers with DRAM and the metadata area like a physical attacker. Shared by the xom
/// and aegis mechanism tests.
/// </summary>
internal sealed class RegionProbe
{
    private const int Line = ChipOptions.LineBytes;

    private RegionProbe(Rig rig, ISecureArchitecture architecture, ProtectedRegion region)
    {
        Rig = rig;
        Architecture = architecture;
        Region = region;
    }

    public Rig Rig { get; }
    public ISecureArchitecture Architecture { get; }
    public ProtectedRegion Region { get; }
    public CostCounters Cost => Rig.Hv.Sapi.Cost;

    /// <summary>Runs the guest under <paramref name="architecture"/> and calls <paramref name="probe"/> once, at registration.</summary>
    public static Rig Run(ISecureArchitecture architecture, Action<RegionProbe> probe)
    {
        var rig = new Rig();
        rig.Hv.Plug(architecture);
        bool probed = false;
        rig.Hv.Dom0.BindVirq(Virq.Vbase, _ =>
        {
            if (!probed)
            {
                probed = true;
                probe(new RegionProbe(rig, architecture, rig.Hv.Sapi.Regions[0]));
            }
        });
        rig.Add(SecureProcessGuest.Build(), memory: 4UL << 20);
        rig.Run(1_000_000);
        Assert.True(probed, "the guest never registered its region");
        return rig;
    }

    /// <summary>The 64-byte line <paramref name="line"/> of the region's page in machine memory: what a bus probe sees.</summary>
    public Span<byte> DramLine(int line) => Rig.Hv.Machine.Frame(Region.Mfns[0]).Slice(line * Line, Line);

    /// <summary>Physical tampering: <paramref name="bytes"/> written straight into DRAM at <paramref name="line"/>.</summary>
    public void Tamper(int line, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(DramLine(line));
        Rig.Hv.Sapi.NotifyDramWritten(Region.Mfns[0]);
    }

    /// <summary>The chip's fill of <paramref name="line"/>: false if the plug-in refused it (a violation, unless inspecting).</summary>
    public bool Fill(int line, Span<byte> plaintext, bool inspection = false) =>
        Architecture.OnFill(Context(line, inspection), DramLine(line), plaintext);

    /// <summary>The first 8 bytes of <paramref name="line"/> as the chip would fill them; null if the fill was refused.</summary>
    public ulong? FillU64(int line, bool inspection = false)
    {
        Span<byte> plaintext = stackalloc byte[Line];
        return Fill(line, plaintext, inspection) ? BitConverter.ToUInt64(plaintext) : null;
    }

    /// <summary>The chip writes back <paramref name="line"/> holding <paramref name="value"/> in its first 8 bytes (zeros after).</summary>
    public void WriteBack(int line, ulong value)
    {
        Span<byte> plaintext = stackalloc byte[Line];
        plaintext.Clear();
        BitConverter.TryWriteBytes(plaintext, value);
        Architecture.OnWriteBack(Context(line, inspection: false), plaintext, DramLine(line));
    }

    /// <summary>What <paramref name="accessor"/> sees of the page (the owner: U-mode in its own address space).</summary>
    public PageView View(Accessor accessor, AccessKind kind = AccessKind.Load) => Architecture.DecideView(new MemoryAccessContext
    {
        Accessor = accessor,
        Kind = kind,
        Domain = Region.Domain,
        Initiator = accessor == Accessor.Dom0 ? DomainId.Dom0 : Region.Domain,
        Vcpu = accessor is Accessor.GuestUser or Accessor.GuestKernel ? Region.Vcpu : null,
        Satp = accessor == Accessor.GuestUser ? Region.Satp : Region.Satp ^ 1,
        Gfn = Region.Gfns[0],
        Mfn = Region.Mfns[0],
        Offset = 0,
        Region = Region,
        RegionPage = 0,
        Time = Rig.Hv.Now,
    });

    /// <summary>The off-chip metadata of <paramref name="line"/>, as the plug-in describes it to physical attacks.</summary>
    public IReadOnlyList<MetadataRange> Metadata(int line) => Architecture.DescribeMetadata(Region, 0, line);

    /// <summary>Machine memory under <paramref name="range"/>.</summary>
    public unsafe Span<byte> Bytes(MetadataRange range) =>
        new(Rig.Hv.Machine.HostPointer(new Mfn(range.MachineAddress >> PageSize.Shift)) + (range.MachineAddress & PageSize.Mask), range.Length);

    /// <summary>A snapshot of <paramref name="line"/> in DRAM and of every byte of its metadata (the first half of phys-rollback).</summary>
    public (byte[] Line, List<(MetadataRange Range, byte[] Bytes)> Metadata) Snapshot(int line)
    {
        Architecture.FlushMetadata();
        return (DramLine(line).ToArray(), [.. Metadata(line).Select(r => (r, Bytes(r).ToArray()))]);
    }

    /// <summary>Puts a <see cref="Snapshot"/> back (the metadata cache emptied first, as an attacker forces eviction).</summary>
    public void Restore(int line, (byte[] Line, List<(MetadataRange Range, byte[] Bytes)> Metadata) snapshot)
    {
        Architecture.FlushMetadata();
        Tamper(line, snapshot.Line);
        foreach ((MetadataRange range, byte[] bytes) in snapshot.Metadata)
        {
            bytes.CopyTo(Bytes(range));
        }
    }

    /// <summary>How many violations the plug-in has reported so far.</summary>
    public int Violations => Rig.Events.Count(e => e.Kind == EventKind.Violation);

    private LineContext Context(int line, bool inspection) => new()
    {
        Region = Region,
        RegionPage = 0,
        Line = line,
        Mfn = Region.Mfns[0],
        Time = Rig.Hv.Now,
        Inspection = inspection,
    };
}
