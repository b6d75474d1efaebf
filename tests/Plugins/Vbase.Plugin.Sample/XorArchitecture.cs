using Vbase.Sapi;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Lifecycle;

namespace Vbase.Plugin.Sample;

/// <summary>
/// A deliberately weak design from outside the tree: each protected line is XORed with one key byte in DRAM (no MAC),
/// the owner sees plaintext on chip. Enough to tell, from the outside, that the plug-in was really plugged in.
/// </summary>
[Architecture("sample-xor", "sample plug-in: protected lines XORed with a key byte in DRAM, no integrity", Principal.Application)]
public sealed class XorArchitecture(ArchitectureOptions options) : RegionArchitectureBase
{
    private readonly byte key = (byte)(0x5A ^ options.Seed);

    public override string Name => "sample-xor";

    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        ForEachLine(region, 64, line => Xor(line.Bytes, line.Bytes));
        Host.MarkSealed(region);
        Host.Record("sample.sealed", call.Caller, call.VcpuId, Vbase.Sapi.Logging.EventField.Of("region", region.Id));
    }

    protected override void Unseal(VbaseOpCall call, ProtectedRegion region) => ForEachLine(region, 64, line => Xor(line.Bytes, line.Bytes));

    public override PageView DecideView(in MemoryAccessContext access) => access.IsApplication ? PageView.Plaintext : PageView.Dram;

    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        Xor(dram, plaintext);
        return true;
    }

    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram) => Xor(plaintext, dram);

    private void Xor(ReadOnlySpan<byte> from, Span<byte> to)
    {
        for (int i = 0; i < from.Length; i++)
        {
            to[i] = (byte)(from[i] ^ key);
        }
    }
}
