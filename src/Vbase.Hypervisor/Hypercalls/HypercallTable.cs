using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Hypercalls;

/// <summary>
/// Every hypercall in one place: number, name, who may call it, handler (Xen's <c>hypercall_table</c>).
/// SBI calls are answered by <see cref="SbiCalls"/> before this table is consulted.
/// </summary>
public static class HypercallTable
{
    public static IReadOnlyList<HypercallDefinition> All { get; } =
    [
        new(HypercallNumber.MemoryOp, "memory_op", false, MemoryOp.Handle),
        new(HypercallNumber.SetTimerOp, "set_timer_op", false, SetTimerOp.Handle),
        new(HypercallNumber.ConsoleIo, "console_io", false, ConsoleIo.Handle),
        new(HypercallNumber.GrantTableOp, "grant_table_op", false, GrantTableOp.Handle),
        new(HypercallNumber.VcpuOp, "vcpu_op", false, VcpuOp.Handle),
        new(HypercallNumber.SchedOp, "sched_op", false, SchedOp.Handle),
        new(HypercallNumber.EventChannelOp, "event_channel_op", false, EventChannelOp.Handle),
        new(HypercallNumber.Domctl, "domctl", true, Domctl.Handle),
        new(HypercallNumber.VbaseOp, "vbase_op", false, VbaseOp.Handle),
    ];

    private static readonly Dictionary<ulong, HypercallDefinition> ByNumber = All.ToDictionary(d => d.Number);

    public static HypercallDefinition? Find(ulong number) => ByNumber.GetValueOrDefault(number);
}
