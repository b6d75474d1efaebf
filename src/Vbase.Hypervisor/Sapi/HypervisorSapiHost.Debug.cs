using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Harts;
using Vbase.Isa.Traps;
using Vbase.Sapi;
using Vbase.Sapi.Memory;

namespace Vbase.Hypervisor.Sapi;

// A debugger's reads (Scheduling/DebugDomain.cs): what the stopped vCPU's current context would read, decided by
// the plugged-in architecture as for the hart itself, with no side effects (no events, no shadow comparison, no
// plug-in state change), as the Monitor's inspection reads.
public sealed partial class HypervisorSapiHost
{
    /// <summary>
    /// Reads <paramref name="data"/>.Length bytes at <paramref name="offset"/> of frame <paramref name="mfn"/> as
    /// <paramref name="vcpu"/> would now (its privilege and satp) at virtual address <paramref name="va"/>. False:
    /// the architecture refuses that context the page (an access fault for the hart). <paramref name="region"/> and
    /// <paramref name="view"/> say whether the frame is protected and how the architecture shows it.
    /// </summary>
    internal bool DebugRead(Vcpu vcpu, ulong va, Mfn mfn, int offset, Span<byte> data, out ProtectedRegion? region, out PageView? view)
    {
        region = null;
        view = null;
        ReadOnlySpan<byte> dram = hv.Machine.Frame(mfn).Slice(offset, data.Length);
        if (interposed[mfn.Value] != Protected || !regionOfMfn.TryGetValue(mfn.Value, out var owner))
        {
            dram.CopyTo(data);
            return true;
        }
        region = owner.Region;
        Accessor accessor = vcpu.Hart.Privilege == Privilege.User ? Accessor.GuestUser : Accessor.GuestKernel;
        MemoryAccessContext ctx = Context(accessor, AccessKind.Load, vcpu.Domain.Id, vcpu, mfn, offset) with { VirtualAddress = va };
        view = ViewOf(ctx);
        switch (view)
        {
            case PageView.Plaintext:
                InspectRange(owner.Region, owner.Page, offset, data);
                return true;
            case PageView.Abort:
                data.Fill(0xFF);
                return true;
            case PageView.Fault:
                return false;
            default:
                // DRAM, or a page whose every access the plug-in sees: the bytes in DRAM (no plug-in call, no side effect).
                dram.CopyTo(data);
                return true;
        }
    }
}
