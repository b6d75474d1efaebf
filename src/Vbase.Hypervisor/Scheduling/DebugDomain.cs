using Vbase.Hypervisor.Domains;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using Vbase.Isa.Memory;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Scheduling;

/// <summary>A protected page a debugger read touched: which region, how the architecture showed it, to whom.</summary>
/// <param name="View">The architecture's view for the reading context (null: it does not decide this page).</param>
/// <param name="Accessor">The context the read was made as: the vCPU's privilege now (guest_user or guest_kernel).</param>
public readonly record struct DebugReadNote(ulong VirtualAddress, int Region, PageView? View, Accessor Accessor);

/// <summary>
/// A debugger's handle on one guest domain (the GDB stub of <c>vbase run --gdb</c>): its vCPUs' harts, and memory at
/// guest-virtual addresses as a vCPU sees it now: its satp's page tables (Sv39, read through the p2m), the p2m, and
/// for protected frames the plugged-in architecture's view for the vCPU's current context, read without side effects
/// (docs/debugging.md). Call it only while the hypervisor is not running a slice, or from inside a stop callback.
/// </summary>
public sealed class DebugDomain
{
    private readonly Hypervisor hv;
    private readonly Domain domain;

    private DebugDomain(Hypervisor hv, Domain domain)
    {
        this.hv = hv;
        this.domain = domain;
    }

    /// <summary>The guest domain named <paramref name="nameOrId"/> (its name, or its id as a number); null if none.</summary>
    public static DebugDomain? Find(Hypervisor hv, string nameOrId)
    {
        foreach (Domain d in hv.Domains)
        {
            if (!d.Privileged && (d.Name == nameOrId || d.Id.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) == nameOrId))
            {
                return new DebugDomain(hv, d);
            }
        }
        return null;
    }

    /// <summary>The first guest domain (the default when no domain is named).</summary>
    public static DebugDomain? First(Hypervisor hv) =>
        hv.Domains.Where(d => !d.Privileged).OrderBy(d => d.Id.Value).Select(d => new DebugDomain(hv, d)).FirstOrDefault();

    public DomainId Id => domain.Id;
    public string Name => domain.Name;
    public bool IsShutdown => domain.IsShutdown;
    public long? ExitCode => domain.ExitCode;
    public IReadOnlyList<Hart> Harts => [.. domain.Vcpus.Select(v => v.Hart)];

    /// <summary>The guest-physical address of <paramref name="va"/> for the vCPU now; false if its page tables do not map it.</summary>
    public bool TryTranslate(int vcpu, ulong va, out ulong gpa)
    {
        Hart hart = domain.Vcpus[vcpu].Hart;
        if (hart.Satp >> 60 == 0)
        {
            gpa = va; // Bare
            return true;
        }
        Sv39Mapping m = Sv39Walker.Lookup(new P2mPteReader(domain), hart.Satp, va);
        gpa = m.PhysicalAddress;
        return m.IsMapped;
    }

    /// <summary>
    /// Reads at guest-virtual <paramref name="va"/> as vCPU <paramref name="vcpu"/> would now; returns the bytes read
    /// before the first unmapped, unreadable or refused page. Each protected page touched adds a note.
    /// </summary>
    public int Read(int vcpu, ulong va, Span<byte> dest, List<DebugReadNote> notes)
    {
        Vcpu v = domain.Vcpus[vcpu];
        int done = 0;
        while (done < dest.Length)
        {
            ulong at = va + (ulong)done;
            int offset = (int)(at & PageSize.Mask);
            int n = Math.Min(PageSize.Bytes - offset, dest.Length - done);
            if (!TryTranslate(vcpu, at, out ulong gpa))
            {
                break;
            }
            P2mEntry e = domain.P2m.Lookup(new Gfn(gpa >> PageSize.Shift));
            if (!e.Type.IsReadable())
            {
                break;
            }
            bool ok = hv.Sapi.DebugRead(v, at, e.Mfn, offset, dest.Slice(done, n), out ProtectedRegion? region, out PageView? view);
            if (region is not null)
            {
                notes.Add(new DebugReadNote(at, region.Id, view, v.Hart.Privilege == Privilege.User ? Accessor.GuestUser : Accessor.GuestKernel));
            }
            if (!ok)
            {
                break;
            }
            done += n;
        }
        return done;
    }

    /// <summary>
    /// Writes at guest-virtual <paramref name="va"/> through the vCPU's page tables, as Dom0 writes guest memory
    /// (the p2m and the architecture decide; the harts drop decoded code there). False if a page is unmapped or refused.
    /// </summary>
    public bool Write(int vcpu, ulong va, ReadOnlySpan<byte> source)
    {
        int done = 0;
        while (done < source.Length)
        {
            ulong at = va + (ulong)done;
            int n = Math.Min(PageSize.Bytes - (int)(at & PageSize.Mask), source.Length - done);
            if (!TryTranslate(vcpu, at, out ulong gpa) || hv.Dom0.WriteGuest(domain.Id, new GuestPhysicalAddress(gpa), source.Slice(done, n)) != 0)
            {
                return false;
            }
            done += n;
        }
        return true;
    }

    /// <summary>Page-table entries read through the domain's p2m, straight from machine memory (no plug-in: page tables are not protected data).</summary>
    private readonly unsafe struct P2mPteReader(Domain domain) : IPteReader
    {
        public bool TryReadPte(ulong address, out ulong pte)
        {
            P2mEntry e = domain.P2m.Lookup(new Gfn(address >> PageSize.Shift));
            if (!e.Type.IsReadable() || (address & 7) != 0)
            {
                pte = 0;
                return false;
            }
            pte = *(ulong*)(domain.Machine.HostPointer(e.Mfn) + (address & PageSize.Mask));
            return true;
        }
    }
}
