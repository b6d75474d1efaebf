using Vbase.Architectures;
using Vbase.Hypervisor;
using Vbase.Hypervisor.Domains;
using Vbase.Isa.Harts;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Registry;

namespace Vbase.Testbed.Adversarial;

/// <summary>
/// One fuzz case's machine: a hypervisor with the architecture plugged in and the canary started (domain 1).
/// Events are counted and hashed, not kept (a fuzzer may raise millions).
/// </summary>
internal sealed class FuzzMachine : IDisposable, IHypervisorEventSink, IEventFieldWriter
{
    private readonly ISecureArchitecture architecture;

    public FuzzMachine(string architectureName, ulong seed, ExecutionEngine engine, int? translationThreshold, ulong slice)
    {
        ArchitectureInfo info = BuiltInArchitectures.CreateRegistry().Get(architectureName);
        Hv = new Hypervisor.Hypervisor(new HypervisorOptions
        {
            MachineMemory = 16UL << 20,
            SliceInstructions = slice,
            EventSink = this,
            Engine = engine,
            TranslationThreshold = translationThreshold,
        });
        architecture = info.Create(new ArchitectureOptions { Seed = seed });
        Hv.Plug(architecture);
        Canary = new Canary(seed);
    }

    public Hypervisor.Hypervisor Hv { get; }
    public Canary Canary { get; }
    public ulong EventCount { get; private set; }
    /// <summary>FNV-1a over every event's time, kind, domain, vCPU and typed fields (names, types, values), in order.</summary>
    public ulong EventHash { get; private set; } = 0xCBF2_9CE4_8422_2325UL;
    /// <summary>Events per kind.</summary>
    public SortedDictionary<string, ulong> EventKinds { get; } = new(StringComparer.Ordinal);

    public void Record(HypervisorEvent e)
    {
        EventCount++;
        EventKinds[e.Kind] = EventKinds.GetValueOrDefault(e.Kind) + 1;
        Mix(e.Time);
        Mix(e.Kind);
        Mix(e.Domain is DomainId d ? d.Value : ulong.MaxValue);
        Mix(e.Vcpu is int v ? (ulong)v : ulong.MaxValue);
        // The fields, not the message: rewording a message must not change a fuzz case's result.
        e.Data.WriteFields(this);
        Mix('\n');
    }

    void IEventFieldWriter.Write(in EventField field)
    {
        Mix(field.Name);
        Mix((ulong)field.Type);
        if (field.Type == EventFieldType.Text)
        {
            Mix(field.Text ?? "\0");
        }
        else
        {
            Mix(field.Unsigned);
        }
    }

    private void Mix(ulong value)
    {
        ulong h = EventHash;
        for (int i = 0; i < 8; i++, value >>= 8)
        {
            h = (h ^ (byte)value) * 0x0000_0100_0000_01B3UL;
        }
        EventHash = h;
    }

    private void Mix(string text)
    {
        ulong h = EventHash;
        foreach (char c in text)
        {
            h = (h ^ c) * 0x0000_0100_0000_01B3UL;
        }
        EventHash = (h ^ 0xFF) * 0x0000_0100_0000_01B3UL;   // ends the text, so "ab"+"c" differs from "a"+"bc"
    }

    public void Dispose()
    {
        Hv.Dispose();
        (architecture as IDisposable)?.Dispose();
    }
}
