using System.Buffers.Binary;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Lines;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Sealed;

[Architecture("sealed", "example: per-line AES-CTR + HMAC with a counter, checked on the owner's reads", Principal.Application)]
public sealed class SealedArchitecture : RegionArchitectureBase, IDisposable
{
    private const int Line = 64;
    private readonly AesCtr cipher;
    private readonly TruncatedHmac mac;
    private readonly MetadataCache cache = new(32 * 1024, 8);
    private readonly Dictionary<ulong, (ulong Counter, byte[] Tag)> lines = [];   // off-chip metadata, by line address
    private long accesses;

    public SealedArchitecture(ArchitectureOptions options)
    {
        Span<byte> key = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(key, options.Seed);
        BinaryPrimitives.WriteUInt64LittleEndian(key[8..], ~options.Seed);
        cipher = new AesCtr(key);
        mac = new TruncatedHmac(key, tagBytes: 8);
    }

    public override string Name => "sealed";

    // enter: the base class has read the frame list, checked the frames and registered the region (its golden
    // shadow is the plaintext); Dom0 is told after this. exit: the base class releases the region after Unseal.
    protected override void Seal(VbaseOpCall call, ProtectedRegion region) =>
        ForEachLine(region, Line, line => SealLine(line.Address, line.Bytes, line.Bytes, counter: 1));

    protected override void Unseal(VbaseOpCall call, ProtectedRegion region) =>
        ForEachLine(region, Line, line =>
        {
            cipher.Transform(line.Bytes, line.Bytes, line.Address, lines[line.Address].Counter);
            lines.Remove(line.Address);
        });

    public override AccessVerdict OnRead(in MemoryAccessContext a, Span<byte> data)
    {
        if (!a.IsApplication && a.Accessor != Accessor.Inspection) return AccessVerdict.Pass;   // ciphertext
        Span<byte> plain = stackalloc byte[Line];
        if (!OpenLine(a, plain, count: a.Accessor != Accessor.Inspection))
        {
            Host.ReportViolation(a, "line MAC mismatch");
            return AccessVerdict.Fault;
        }
        plain.Slice(a.Offset % Line, data.Length).CopyTo(data);
        return AccessVerdict.Transformed;
    }

    public override AccessVerdict OnWrite(in MemoryAccessContext a, ReadOnlySpan<byte> data)
    {
        if (!a.IsApplication) return AccessVerdict.Pass;   // lands raw: the owner's next read catches it
        Span<byte> plain = stackalloc byte[Line];
        if (!OpenLine(a, plain, count: true))
        {
            Host.ReportViolation(a, "line MAC mismatch on write");
            return AccessVerdict.Fault;
        }
        data.CopyTo(plain[(a.Offset % Line)..]);
        ulong address = LineAddress(a);
        SealLine(address, DramLine(a), plain, lines[address].Counter + 1);
        cache.Access(address, isWrite: true);
        return AccessVerdict.Transformed;
    }

    public override MetadataTraffic Traffic => cache.Traffic(accesses);

    public void Dispose() { cipher.Dispose(); mac.Dispose(); }

    private static ulong LineAddress(in MemoryAccessContext a) => LineAddresses.Of(a.Mfn, a.Offset - a.Offset % Line);

    private Span<byte> DramLine(in MemoryAccessContext a) => Host.Dram.Frame(a.Mfn).Slice(a.Offset - a.Offset % Line, Line);

    /// <summary>Checks the line's MAC and decrypts it into <paramref name="plain"/>.</summary>
    private bool OpenLine(in MemoryAccessContext a, Span<byte> plain, bool count)
    {
        ulong address = LineAddress(a);
        (ulong counter, byte[] tag) = lines[address];
        if (count) { accesses++; cache.Access(address, isWrite: false); }
        if (!mac.Verify(DramLine(a), address, counter, tag)) return false;
        cipher.Transform(DramLine(a), plain, address, counter);
        return true;
    }

    /// <summary>Encrypts <paramref name="plain"/> into the line in DRAM under <paramref name="counter"/>; keeps its tag.</summary>
    private void SealLine(ulong address, Span<byte> dram, ReadOnlySpan<byte> plain, ulong counter)
    {
        cipher.Transform(plain, dram, address, counter);
        byte[] tag = new byte[mac.TagBytes];
        mac.Compute(dram, address, counter, tag);
        lines[address] = (counter, tag);
    }
}
