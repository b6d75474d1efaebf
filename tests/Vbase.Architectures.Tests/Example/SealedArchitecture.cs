using System.Buffers.Binary;
using Vbase.Hypervisor.Abi;
using Vbase.Hypervisor.Domains;
using Vbase.Hypervisor.Memory;
using Vbase.Hypervisor.Sapi;
using Vbase.Sapi.Calls;
using Vbase.Sapi.Registry;
using Vbase.Sapi.Toolkit.Crypto;
using Vbase.Sapi.Toolkit.Macs;
using Vbase.Sapi.Toolkit.Metadata;

namespace Vbase.Architectures.Sealed;

[Architecture("sealed", "example: per-line AES-CTR + HMAC with a counter, checked on the owner's reads", Principal.Application)]
public sealed class SealedArchitecture : SecureArchitectureBase, IDisposable
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

    protected override void OnAttached() => Host.ClaimVirq(Virq.Vbase);

    public override long OnVbaseOp(VbaseOpCall call)
    {
        if (call.Command == VbaseOpCommand.Exit)
        {
            foreach (ProtectedRegion r in Host.RegionsOf(call.Caller, call.VcpuId, call.Satp).ToList())
            {
                foreach (Mfn m in r.Mfns) { Transform(m, seal: false); }
                Host.Release(r);
            }
            return 0;
        }
        if (call.Command != VbaseOpCommand.Enter) return Errno.ENOSYS;
        long rc = FrameList.TryRead(call, out RegionRequest? request);   // a1 list GPA, a2 count, a4 VA
        if (rc < 0) return rc;
        if (Host.Protect(request!) is not ProtectedRegion region) return Errno.EBUSY;   // shadow taken now
        foreach (Mfn m in region.Mfns) { Transform(m, seal: true); }                     // then encrypt
        Host.SendVirq(DomainId.Dom0, Virq.Vbase);
        return region.Id;
    }

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
        ulong address = LineAddress(a.Mfn, a.Offset);
        (ulong counter, _) = lines[address];
        SealLine(a.Mfn, a.Offset - a.Offset % Line, plain, counter + 1);
        cache.Access(address, isWrite: true);
        return AccessVerdict.Transformed;
    }

    public override MetadataTraffic Traffic => new(accesses, cache.Statistics.DramReads, cache.Statistics.Writebacks,
        cache.Statistics.Hits, cache.Statistics.Misses);

    public void Dispose() { cipher.Dispose(); mac.Dispose(); }

    private static ulong LineAddress(Mfn m, int offset) => (m.Value << PageSize.Shift) + (ulong)(offset - offset % Line);

    /// <summary>Checks the line's MAC and decrypts it into <paramref name="plain"/>.</summary>
    private bool OpenLine(in MemoryAccessContext a, Span<byte> plain, bool count)
    {
        ulong address = LineAddress(a.Mfn, a.Offset);
        ReadOnlySpan<byte> cipherLine = Host.Dram.Frame(a.Mfn).Slice(a.Offset - a.Offset % Line, Line);
        (ulong counter, byte[] tag) = lines[address];
        if (count) { accesses++; cache.Access(address, isWrite: false); }
        if (!mac.Verify(cipherLine, address, counter, tag)) return false;
        cipher.Transform(cipherLine, plain, address, counter);
        return true;
    }

    private void SealLine(Mfn m, int lineOffset, ReadOnlySpan<byte> plain, ulong counter)
    {
        ulong address = (m.Value << PageSize.Shift) + (ulong)lineOffset;
        Span<byte> cipherLine = Host.Dram.Frame(m).Slice(lineOffset, Line);
        cipher.Transform(plain, cipherLine, address, counter);
        byte[] tag = new byte[mac.TagBytes];
        mac.Compute(cipherLine, address, counter, tag);
        lines[address] = (counter, tag);
    }

    /// <summary>Encrypts a frame's plaintext at enter, or decrypts it at exit.</summary>
    private void Transform(Mfn m, bool seal)
    {
        Span<byte> plain = stackalloc byte[Line];
        for (int off = 0; off < PageSize.Bytes; off += Line)
        {
            ulong address = (m.Value << PageSize.Shift) + (ulong)off;
            Span<byte> bytes = Host.Dram.Frame(m).Slice(off, Line);
            if (seal) { bytes.CopyTo(plain); SealLine(m, off, plain, 1); }
            else { cipher.Transform(bytes, bytes, address, lines[address].Counter); lines.Remove(address); }
        }
        Host.NotifyDramWritten(m);
    }
}
