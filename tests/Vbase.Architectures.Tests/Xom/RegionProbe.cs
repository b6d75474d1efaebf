using Vbase.Architectures.Tests.Sapi;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Abi;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.Sapi;
using Vbase.Hypervisor.Tests.Infrastructure;

namespace Vbase.Architectures.Tests.Xom;

/// <summary>
/// Drives a plug-in's VMMU hooks by hand on a real registered region: <see cref="SecureProcessGuest"/> runs until
/// its <c>vbase_op(enter)</c> has protected one page and Dom0 gets VIRQ_VBASE; at that moment (the owner waiting in its
/// hypercall) the test reads and writes as the owner or anyone else, and tampers with DRAM like a physical attacker.
/// Shared by the xom and aegis mechanism tests.
/// </summary>
internal sealed class RegionProbe
{
    private RegionProbe(Rig rig, ISecureArchitecture architecture, ProtectedRegion region)
    {
        Rig = rig;
        Architecture = architecture;
        Region = region;
    }

    public Rig Rig { get; }
    public ISecureArchitecture Architecture { get; }
    public ProtectedRegion Region { get; }

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
    public Span<byte> DramLine(int line) => Rig.Hv.Machine.Frame(Region.Mfns[0]).Slice(line * 64, 64);

    /// <summary>Physical tampering: <paramref name="bytes"/> written straight into DRAM at <paramref name="line"/>.</summary>
    public void Tamper(int line, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(DramLine(line));
        Rig.Hv.Sapi.NotifyDramWritten(Region.Mfns[0]);
    }

    public AccessVerdict OwnerRead(int offset, Span<byte> data) => Architecture.OnRead(Access(Accessor.GuestUser, AccessKind.Load, offset), data);

    public AccessVerdict OwnerWrite(int offset, ReadOnlySpan<byte> data) => Architecture.OnWrite(Access(Accessor.GuestUser, AccessKind.Store, offset), data);

    /// <summary>The owner's 8-byte load at <paramref name="offset"/>; null if the plug-in refused it.</summary>
    public ulong? OwnerReadU64(int offset)
    {
        Span<byte> data = stackalloc byte[8];
        DramLine(offset / 64).Slice(offset % 64, 8).CopyTo(data);
        return OwnerRead(offset, data) == AccessVerdict.Fault ? null : BitConverter.ToUInt64(data);
    }

    public AccessVerdict OwnerWriteU64(int offset, ulong value) => OwnerWrite(offset, BitConverter.GetBytes(value));

    /// <summary>An access by <paramref name="accessor"/> (not the owner: the guest kernel, Dom0, a device, inspection).</summary>
    public AccessVerdict OtherRead(Accessor accessor, int offset, Span<byte> data)
    {
        DramLine(offset / 64).Slice(offset % 64, data.Length).CopyTo(data);
        return Architecture.OnRead(Access(accessor, AccessKind.Load, offset), data);
    }

    /// <summary>A store by <paramref name="accessor"/>; on <see cref="AccessVerdict.Pass"/> it lands in DRAM, as the hypervisor would store it.</summary>
    public AccessVerdict OtherWrite(Accessor accessor, int offset, ReadOnlySpan<byte> data)
    {
        AccessVerdict verdict = Architecture.OnWrite(Access(accessor, AccessKind.Store, offset), data);
        if (verdict == AccessVerdict.Pass)
        {
            data.CopyTo(DramLine(offset / 64)[(offset % 64)..]);
        }
        return verdict;
    }

    /// <summary>How many violations the plug-in has reported so far.</summary>
    public int Violations => Rig.Events.Count(e => e.Kind == EventKind.Violation);

    private MemoryAccessContext Access(Accessor accessor, AccessKind kind, int offset) => new()
    {
        Accessor = accessor,
        Kind = kind,
        Domain = Region.Domain,
        Initiator = accessor == Accessor.Dom0 ? DomainId.Dom0 : Region.Domain,
        Vcpu = accessor is Accessor.GuestUser or Accessor.GuestKernel ? Region.Vcpu : null,
        // The owner runs in its own address space; the kernel's accesses here are made from another one.
        Satp = accessor == Accessor.GuestUser ? Region.Satp : Region.Satp ^ 1,
        Gfn = Region.Gfns[0],
        Mfn = Region.Mfns[0],
        Offset = offset,
        Region = Region,
        RegionPage = 0,
        Time = Rig.Hv.Now,
    };
}
