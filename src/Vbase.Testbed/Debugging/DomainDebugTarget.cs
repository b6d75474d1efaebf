using System.Globalization;
using Vbase.Hypervisor.Scheduling;
using Vbase.Isa.Harts;
using Vbase.Sapi;
using Vbase.Testbed.Running;

namespace Vbase.Testbed.Debugging;

/// <summary>
/// A guest domain of <c>vbase run</c> as a debug target: a thread per vCPU, memory at virtual addresses through
/// the vCPU's page tables and the domain's p2m, and protected frames as the plugged-in architecture shows them to
/// the vCPU's current context (<see cref="DebugDomain"/>); each protected page a read touches is named in a note.
/// </summary>
public sealed class DomainDebugTarget(DebugDomain domain, IGuestHost host) : IDebugTarget
{
    public string Name => string.Create(CultureInfo.InvariantCulture, $"dom {domain.Id.Value} ({domain.Name})");

    public IReadOnlyList<Hart> Threads { get; } = domain.Harts;

    public DebugDomain Domain => domain;

    public int Read(int thread, ulong address, Span<byte> dest, List<string> notes)
    {
        var found = new List<DebugReadNote>();
        int n = domain.Read(thread, address, dest, found);
        foreach (DebugReadNote note in found)
        {
            string who = note.Accessor == Accessor.GuestUser ? "user mode" : "the kernel";
            string how = note.View switch
            {
                PageView.Plaintext => "plaintext",
                PageView.Dram => "the bytes in DRAM (not the plaintext)",
                PageView.Abort => "an abort page (all ones)",
                PageView.Fault => "refused (an access fault for the vCPU)",
                PageView.EveryAccess => "the bytes in DRAM (the architecture checks every access of this page)",
                _ => "the bytes in DRAM",
            };
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"vbase: 0x{note.VirtualAddress & ~0xFFFUL:x} is in protected region {note.Region}: vcpu {thread} in {who} (satp 0x{Threads[thread].Satp:x}) sees {how}"));
        }
        return n;
    }

    public bool Write(int thread, ulong address, ReadOnlySpan<byte> source) => domain.Write(thread, address, source);

    public void Kill() => host.RequestStop();
}
