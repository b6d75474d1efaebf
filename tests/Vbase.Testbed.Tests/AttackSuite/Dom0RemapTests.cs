using System.Globalization;
using System.Text.Json;
using Vbase.Sapi.Abi;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.AttackSuite;

/// <summary>
/// dom0-remap's frame is a fresh one Dom0 adds to the domain at a hole above its RAM (populate_physmap), never a frame
/// of the guest's own: so under Linux, which uses all its RAM, the attack meets the small kernel's verdicts.
/// </summary>
public sealed class Dom0RemapTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("vbase-dom0-remap-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static ulong Hex(JsonElement fields, string name) =>
        ulong.Parse(fields.GetProperty(name).GetString()!.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("none", "vault")]
    [InlineData("sev-snp", "vault")]
    [InlineData("none", "vault-linux")]
    public void DomZeroWritesOnlyTheFrameItAddedAboveTheGuestsRam(string arch, string app)
    {
        string dir = Path.Combine(directory, $"{arch}-{app}");
        AttackRunner.Run(new AttackRunRequest(arch, "dom0-remap", app, 1, dir));
        JsonElement[] events = [.. File.ReadLines(Path.Combine(dir, "events.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)];
        JsonElement Fields(JsonElement e) => e.GetProperty("fields");
        string Kind(JsonElement e) => e.GetProperty("kind").GetString()!;
        int fired = Array.FindIndex(events, e => Kind(e) == "attack.fired");
        JsonElement[] after = events[fired..];
        JsonElement added = Assert.Single(after, e => Kind(e) == "p2m.changed" && Fields(e).GetProperty("old_type").GetString() == "invalid");
        ulong gfn = Hex(Fields(added), "gfn");
        ulong ramEnd = (GuestLayout.RamBase + AppCatalogue.Find(app)!.MemoryBytes) >> 12;
        Assert.True(gfn >= ramEnd, $"gfn {gfn:x} is inside the guest's RAM (ends at {ramEnd:x})");
        JsonElement write = Assert.Single(after, e => Kind(e) == "dom0.foreign_write");
        Assert.Equal(gfn << 12, Hex(Fields(write), "gpa"));
        string act = Assert.Single(after, e => Kind(e) == "attack.action").GetProperty("message").GetString()!;
        // The RMP lets the frame in (it is nobody's) and refuses moving the protected GFN's home onto it.
        Assert.Contains(arch == "sev-snp" ? "refused" : $"a fresh frame Dom0 added at gfn {gfn:x} with populate_physmap", act);
    }

    [Theory]
    [InlineData("none", Verdict.Breached)]
    [InlineData("sev-snp", Verdict.Prevented)]
    public void UnderLinuxTheVerdictIsTheSmallKernels(string arch, Verdict expected)
    {
        AttackRunResult r = AttackRunner.Run(new AttackRunRequest(arch, "dom0-remap", "vault-linux", 1, null));
        Assert.True(r.Verdict == expected, $"{r.Verdict.Name()}: {r.Evidence}");
        if (expected == Verdict.Breached)
        {
            Assert.Equal(Impact.Integrity, r.Impact);
            Assert.Contains("The application read 4141414141414141", r.Evidence);
        }
        else
        {
            Assert.Contains("refused", r.Evidence);
        }
    }
}
