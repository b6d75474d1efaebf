namespace Vbase.Testbed.Attacks;

/// <summary>Every attack Vbase knows (<c>vbase list attacks</c>), in the order reports show them.</summary>
public static class AttackCatalogue
{
    private static readonly AttackParameter Delay = new("delay", "app", "instructions after the region is registered before the attack fires (app: the application's delay, or the seed's pick in its window)");
    private static readonly AttackParameter Repeat = new("repeat", "1", "how many times the attack fires");
    private static readonly AttackParameter Interval = new("interval", "100000", "instructions between repeated firings");
    private static readonly AttackParameter Block = new("block", "app", "offset in the region of the 64-byte block attacked (app: the application's block, or the seed's pick among its candidates)");
    private static readonly AttackParameter Data = new("data", "0x41", "the byte the attacker writes, repeated");

    private static readonly AttackParameter Amount = new("amount", "500", "the forged transfer's amount, alice to mallory");

    private static readonly IReadOnlyList<AttackParameter> Timing = [Delay, Repeat, Interval];

    public static readonly IReadOnlyList<AttackSpec> All =
    [
        new("phys-snoop", AttackPosition.Physical, AttackGoal.Confidentiality,
            "read the target's frames straight from machine memory and search them for the secret", Timing),
        new("phys-spoof", AttackPosition.Physical, AttackGoal.Integrity,
            "overwrite a 64-byte block of a protected frame in machine memory with chosen data", [.. Timing, Block, Data]),
        new("phys-splice", AttackPosition.Physical, AttackGoal.Integrity,
            "copy a 64-byte block from another protected address of the application over the target block", [.. Timing, Block,
                new AttackParameter("source", "app", "offset in the region of the block copied (app: the application's default)")]),
        new("phys-replay", AttackPosition.Physical, AttackGoal.Integrity,
            "snapshot a 64-byte block, wait until the application has written it again, restore the snapshot", [Delay, Block,
                new AttackParameter("wait", "5000000", "instructions to wait for the application's write before giving up")]),
        new("phys-meta-spoof", AttackPosition.Physical, AttackGoal.Integrity,
            "overwrite the off-chip metadata (counters, MACs, tree nodes) covering a 64-byte block with chosen data", [.. Timing, Block, Data]),
        new("phys-rollback", AttackPosition.Physical, AttackGoal.Integrity,
            "snapshot a 64-byte block with all its off-chip metadata, wait until the application has written it, put everything back", [Delay, Block,
                new AttackParameter("wait", "5000000", "instructions to wait for the application's write before giving up")]),
        new("os-read", AttackPosition.GuestKernel, AttackGoal.Confidentiality,
            "the guest kernel reads the application's protected page through its own page tables", Timing),
        new("os-write", AttackPosition.GuestKernel, AttackGoal.Integrity,
            "the guest kernel writes chosen data over a block of the protected page through its own page tables", [.. Timing, Block, Data]),
        new("os-remap", AttackPosition.GuestKernel, AttackGoal.Integrity,
            "the guest kernel points the application's virtual page at a fresh frame holding chosen data", [Delay, Data]),
        new("dom0-read", AttackPosition.Dom0, AttackGoal.Confidentiality,
            "Dom0 maps the protected frames with the foreign-memory API and reads them", Timing),
        new("dom0-write", AttackPosition.Dom0, AttackGoal.Integrity,
            "Dom0 writes chosen data over a block of a protected frame through the foreign-memory API", [.. Timing, Block, Data]),
        new("dom0-remap", AttackPosition.Dom0, AttackGoal.Integrity,
            "Dom0 changes the application domain's p2m so that a protected GFN maps another frame holding chosen data", [Delay, Data]),
        new("vm-map-foreign", AttackPosition.CoResidentVm, AttackGoal.Confidentiality,
            "guest code in the Attacker VM tries every hypercall an unprivileged VM has (foreign map, forged grant references, grant copy) on the protected frames", [Delay]),
        new("net-sniff", AttackPosition.Network, AttackGoal.Confidentiality,
            "Dom0's bridge tap reads every frame between the client and the server and searches them for the secrets", [Delay]),
        new("net-spoof", AttackPosition.Network, AttackGoal.Integrity,
            "inject a forged transfer to the attacker's account with the next sequence number, as if from the client", [Delay, After("2"), Amount]),
        new("net-replay", AttackPosition.Network, AttackGoal.Integrity,
            "keep one of the client's requests and send it again later", [Delay,
                new AttackParameter("request", "3", "the client's request (its seq) kept and sent again (3: the first transfer)"), After("5")]),
        new("net-splice", AttackPosition.Network, AttackGoal.Integrity,
            "drop one of the client's requests and send its header with the body of an earlier one", [Delay,
                new AttackParameter("source", "3", "the client's request (seq) whose body is spliced in (3: the first transfer)"),
                new AttackParameter("target", "4", "the client's request (seq) whose header carries it; the original is dropped")]),
        new("net-drop", AttackPosition.Network, AttackGoal.Availability,
            "drop one direction's frames for a while", [Delay, After("3"),
                new AttackParameter("replies", "0", "0: drop the client's requests (to the server); 1: drop the server's replies (to the client)"),
                new AttackParameter("duration", "20000000", "ticks of virtual time the frames are dropped (the client gives up after 5 tries of 2,000,000)")]),
        new("combo-key-forge", AttackPosition.Network, AttackGoal.Integrity,
            "read the session key from memory (physical DRAM, then the guest kernel), then forge a sealed transfer with it on the wire", [Delay, After("2"), Amount]),
    ];

    private static AttackParameter After(string seq) => new("after", seq, "the client's request (its seq) after which the attack acts on the wire");

    public static AttackSpec? Find(string id) => All.FirstOrDefault(a => a.Id == id);

    /// <summary>The implementation of an attack (a fresh object per run).</summary>
    internal static Attack Create(AttackSpec spec) => spec.Id switch
    {
        "phys-snoop" => new PhysicalSnoop(spec),
        "phys-spoof" => new PhysicalSpoof(spec),
        "phys-splice" => new PhysicalSplice(spec),
        "phys-replay" => new PhysicalReplay(spec),
        "phys-meta-spoof" => new PhysicalMetadataSpoof(spec),
        "phys-rollback" => new PhysicalRollback(spec),
        "os-read" => new KernelRead(spec),
        "os-write" => new KernelWrite(spec),
        "os-remap" => new KernelRemap(spec),
        "dom0-read" => new Dom0Read(spec),
        "dom0-write" => new Dom0Write(spec),
        "dom0-remap" => new Dom0Remap(spec),
        "vm-map-foreign" => new ForeignVmSweep(spec),
        "net-sniff" => new NetworkSniff(spec),
        "net-spoof" => new NetworkSpoof(spec),
        "net-replay" => new NetworkReplay(spec),
        "net-splice" => new NetworkSplice(spec),
        "net-drop" => new NetworkDrop(spec),
        "combo-key-forge" => new ComboKeyForge(spec),
        _ => throw new ArgumentException($"no implementation for attack {spec.Id}", nameof(spec)),
    };
}
