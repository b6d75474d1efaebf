using Vbase.Hypervisor;
using Vbase.Isa.Harts;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Testbed.Adversarial;

namespace Vbase.Testbed.Tests.Adversarial;

/// <summary>The fuzz machine's event hash (what the engines are compared on) covers the typed fields, not the message.</summary>
public sealed class FuzzMachineTests
{
    /// <summary>An event whose message is worded freely, as a rewording would.</summary>
    private sealed record Worded(int Region, string Wording) : EventData
    {
        public override string Kind => "test.worded";
        public override void WriteFields(IEventFieldWriter w) => w.Write(EventField.Of("region", Region));
        public override string Message() => Wording;
    }

    private static ulong Hash(params EventData[] events)
    {
        using var machine = new FuzzMachine("none", 1, ExecutionEngine.Interpreter, null, 10_000);
        ulong before = machine.EventHash;
        foreach (EventData e in events)
        {
            machine.Record(new HypervisorEvent(7, new DomainId(1), 0, e));
        }
        Assert.NotEqual(before, machine.EventHash);
        return machine.EventHash;
    }

    [Fact]
    public void RewordingAMessageKeepsTheHashAndChangingAFieldDoesNot()
    {
        ulong first = Hash(new Worded(1, "region one"));
        Assert.Equal(first, Hash(new Worded(1, "the first region")));
        Assert.NotEqual(first, Hash(new Worded(2, "region one")));
    }

    [Fact]
    public void FieldsAreHashedWithTheirNamesAndTypes()
    {
        ulong number = Hash(new PlugInEventData("test.a", [EventField.Of("x", 1)]));
        Assert.NotEqual(number, Hash(new PlugInEventData("test.a", [EventField.Hex("x", 1)])));
        Assert.NotEqual(number, Hash(new PlugInEventData("test.a", [EventField.Of("y", 1)])));
        Assert.NotEqual(Hash(new PlugInEventData("test.a", [EventField.Of("x", "ab"), EventField.Of("y", "c")])),
            Hash(new PlugInEventData("test.a", [EventField.Of("x", "a"), EventField.Of("y", "bc")])));
    }
}
